/**
 * IB Gateway's day through the engine (issue 17, SPEC 4 "gateway restart window", SPEC 17):
 * the real engine (SQLite file, FakeClock) on the real IbkrBroker over the TWS test server.
 *
 *   GATEWAY-1  inside the daily restart window entries are held (card says so, nothing sent)
 *              and the expected drop is INFO, never CRITICAL
 *   GATEWAY-2  a drop that outlasts the window becomes CRITICAL (once); a drop outside the
 *              window is CRITICAL at once
 *   GATEWAY-3  "waiting for login" (gateway up, no managed account) blocks entries and says
 *              "gateway waiting for login (2FA)" on the card and in /status; CRITICAL alert;
 *              after the login the held approval goes through
 *   GATEWAY-4  nextValidId rollback after a gateway restart: no order sent with a reused id,
 *              no duplicate, the earlier intent keeps its broker orders
 *   GATEWAY-5  the weekly 2FA login reminder goes through the alert pipeline once, on time
 *   GATEWAY-6  the window and reminder rules at their exact minutes (pure)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { gatewayDayOf } from '../../src/app.js';
import { renderCard } from '../../src/bot/render/card.js';
import { renderStatus } from '../../src/bot/render/lists.js';
import { visibleText } from '../../src/bot/html.js';
import { renderStatusText } from '../../src/cli/status.text.js';
import { entryHold, inRestartWindow, loginReminderDue, parseRestartWindow, parseWeeklyLogin, type GatewayDay } from '../../src/engine/gateway-day.js';
import { approver, cardOf, intentOf, testConfig } from '../support/harness.js';
import { makeIbEngine, until, type IbEngine } from '../support/ib-engine.js';
import { alertsOfType } from './helpers.js';

const TZ = 'America/New_York';
/** Tue 2026-11-24 23:50 New York (EST): inside the default window 23:45–00:05 */
const IN_WINDOW = '2026-11-25T04:50:00Z';
/** Wed 00:06 New York: one minute after the window */
const AFTER_WINDOW = '2026-11-25T05:06:00Z';
const DEFAULT_DAY: GatewayDay = gatewayDayOf(testConfig());
/** overnight futures: the session gate stays out of the way, so the gateway gate is what holds */
const OVERNIGHT = { session: { enforce: false } };

let ib: IbEngine | undefined;
afterEach(async () => {
  await ib?.close();
  ib = undefined;
});

const cardText = async (e: IbEngine, intentId: string) => visibleText(renderCard((await e.h.engine.cards.view((await cardOf(e.h, intentId)).id))!).html);
const severities = async (e: IbEngine) => (await e.h.app.db.alert.findMany({ orderBy: { createdAt: 'asc' } })).map((a) => `${a.type}:${a.severity}`);
async function propose(e: IbEngine): Promise<string> {
  const r = await e.h.engine.submitIntent(e.h.intent());
  if (r.kind !== 'accepted' || r.state !== 'PROPOSED') throw new Error(`not proposed: ${JSON.stringify(r)}`);
  return r.intentId;
}
const approve = async (e: IbEngine, intentId: string) => e.h.engine.decide((await cardOf(e.h, intentId)).id, 'APPROVE', approver);

describe('GATEWAY-1: the daily restart window holds entries and is INFO', () => {
  it('GATEWAY-1: at 23:50 ET the card says entries are held until 00:05, APPROVE waits and nothing reaches the gateway; its restart is one INFO alert (no CRITICAL), reconnects do not escalate, and the gateway back inside the window is INFO too', async () => {
    ib = await makeIbEngine({ clockStart: IN_WINDOW, constitution: OVERNIGHT, broker: (clock) => ({ inRestartWindow: () => inRestartWindow(clock.now(), DEFAULT_DAY, TZ) }) });
    const e = ib;
    const id = await propose(e);
    expect(await cardText(e, id)).toContain('ENTRIES HELD: IB Gateway daily restart window 23:45–00:05: entries held until 00:05 EST');
    const d = await approve(e, id);
    expect(d).toMatchObject({ kind: 'approved', submit: { kind: 'waiting' } });
    expect(JSON.stringify(d)).toContain('IB Gateway daily restart window 23:45–00:05');
    await e.settle();
    expect(e.server.placements).toHaveLength(0);
    expect((await intentOf(e.h, id)).state).toBe('APPROVED');
    const held = await cardText(e, id);
    expect(held).toMatch(/ENTRIES HELD: IB Gateway daily restart window 23:45–00:05: entries held until 00:05 EST .* — waiting; the approval lapses at \d{2}:\d{2} EST\. Nothing was sent\./);
    expect(held).not.toContain('Submitting to the broker');

    await e.server.stop(); // the gateway's nightly restart
    await until(() => (e.broker.health().state === 'DISCONNECTED' || e.broker.health().state === 'CONNECTING'), 'drop seen');
    await new Promise((r) => setTimeout(r, 700)); // several failed reconnects (30-200 ms apart)
    await e.h.settle();
    expect(e.broker.health().state).not.toBe('DOWN');
    await e.server.restart();
    await until(() => e.broker.health().state === 'READY', 'back', 5000);
    await e.settle();
    expect(await severities(e)).toEqual(['GATEWAY_RESTART:INFO', 'IBKR_RESTORED:INFO']);
    expect((await alertsOfType(e.h, 'GATEWAY_RESTART'))[0]?.payload).toMatch(/daily restart window 23:45–00:05: broker disconnected, as expected\. Entries held/);

    await e.h.engine.retryWaiting(); // still inside the window: still held
    await e.settle();
    expect(e.server.placements).toHaveLength(0);
  });
});

describe('GATEWAY-2: a drop that outlasts the window, or one outside it, is CRITICAL', () => {
  it('GATEWAY-2: the gateway still down at 00:06 ET → one IBKR_DISCONNECTED CRITICAL from the gateway-day job (after the INFO at 23:50), not repeated', async () => {
    ib = await makeIbEngine({ clockStart: IN_WINDOW, constitution: OVERNIGHT, broker: (clock) => ({ reconnect: { maxAttempts: 1, baseDelayMs: 20, maxDelayMs: 60_000 }, inRestartWindow: () => inRestartWindow(clock.now(), DEFAULT_DAY, TZ) }) });
    const e = ib;
    await e.server.stop();
    await until(() => e.broker.health().state === 'DISCONNECTED' && /restart window/.test(e.broker.health().detail ?? ''), 'a failed reconnect inside the window', 3000);
    await e.h.settle();
    expect(await e.h.engine.jobs.gatewayDay()).toMatchObject({ escalated: null });
    expect(await severities(e)).toEqual(['GATEWAY_RESTART:INFO']);
    await e.h.clock.set(AFTER_WINDOW);
    expect(await e.h.engine.jobs.gatewayDay()).toMatchObject({ escalated: 'IBKR_DISCONNECTED' });
    expect(await e.h.engine.jobs.gatewayDay()).toMatchObject({ escalated: null });
    expect(await severities(e)).toEqual(['GATEWAY_RESTART:INFO', 'IBKR_DISCONNECTED:CRITICAL']);
    expect((await alertsOfType(e.h, 'IBKR_DISCONNECTED'))[0]?.payload).toMatch(/IB Gateway not back after its daily restart window \(down since 23:50 EST\)/);
  });

  it('GATEWAY-2: at 10:00 ET (outside the window) the same drop is IBKR_DISCONNECTED CRITICAL at once, and nothing is INFO about it', async () => {
    ib = await makeIbEngine({ broker: (clock) => ({ inRestartWindow: () => inRestartWindow(clock.now(), DEFAULT_DAY, TZ) }) });
    const e = ib;
    await e.server.stop();
    await until(async () => (await alertsOfType(e.h, 'IBKR_DISCONNECTED')).length > 0, 'CRITICAL alert', 3000);
    expect(await alertsOfType(e.h, 'GATEWAY_RESTART')).toHaveLength(0);
    expect((await alertsOfType(e.h, 'IBKR_DISCONNECTED'))[0]?.severity).toBe('CRITICAL');
  });
});

describe('GATEWAY-3: waiting for login blocks entries and says so', () => {
  it('GATEWAY-3: gateway up with no managed account → WAITING_FOR_LOGIN, CRITICAL alert; the card and /status say "gateway waiting for login (2FA)"; APPROVE waits with nothing sent; after the login the approval goes through', async () => {
    ib = await makeIbEngine({ connect: false, broker: () => ({ loginPollMs: 100 }) });
    const e = ib;
    e.server.setLogin('no-accounts');
    e.server.movePrice('MES', 6010.25);
    await expect(e.broker.connect()).rejects.toThrow(/gateway waiting for login \(2FA\)/);
    await e.h.settle();
    expect(await severities(e)).toEqual(['GATEWAY_LOGIN_NEEDED:CRITICAL']);

    const status = visibleText(renderStatus(await e.h.engine.status()));
    expect(status).toContain('Broker: ibkr WAITING_FOR_LOGIN (not submitting) — gateway waiting for login (2FA)');
    expect(status).toContain('Entries held: gateway waiting for login (2FA): IB Gateway is up but nobody is logged in');
    expect(renderStatusText(await e.h.engine.status())).toContain('Entries held: gateway waiting for login (2FA)'); // phoenix status

    const id = await propose(e);
    expect(await cardText(e, id)).toContain('ENTRIES HELD: gateway waiting for login (2FA)');
    expect(await approve(e, id)).toMatchObject({ kind: 'approved', submit: { kind: 'waiting' } });
    expect(e.server.placements).toHaveLength(0);
    expect(await cardText(e, id)).toContain('ENTRIES HELD: gateway waiting for login (2FA)');

    e.server.setLogin('ok'); // someone approved the IB Key prompt
    await until(() => e.broker.health().state === 'READY', 'logged in', 5000);
    await e.h.settle();
    expect(await severities(e)).toEqual(['GATEWAY_LOGIN_NEEDED:CRITICAL', 'IBKR_RESTORED:INFO']);
    expect(visibleText(renderStatus(await e.h.engine.status()))).not.toContain('waiting for login');
    await e.h.engine.retryWaiting();
    await e.settle();
    await until(() => e.server.placements.filter((p) => p.orderRef === id).length === 3, 'the held bracket');
    expect(await cardText(e, id)).not.toContain('ENTRIES HELD');
  });
});

describe('GATEWAY-4: nextValidId rollback after a gateway restart', () => {
  it('GATEWAY-4: intent A sent with ids 1000-1002, the gateway restarts handing out nextValidId 1 → intent B gets ids above 1002; no id reused, no 103, every orderRef sent once; A keeps its broker orders', async () => {
    ib = await makeIbEngine({ server: { nextOrderId: 1000 }, constitution: { limits: { maxPositionPerInstrument: 2, maxTradesPerDay: 5 } }, broker: () => ({ reconnect: { maxAttempts: 3, baseDelayMs: 150, maxDelayMs: 1000 } }) });
    const e = ib;
    e.server.movePrice('MES', 6010.25);
    const a = await propose(e);
    expect(await approve(e, a)).toMatchObject({ submit: { kind: 'submitted' } });
    await e.settle();
    const aOrders = async () => (await e.h.app.store.tx((tx) => tx.orders.listByIntent(a))).map((o) => [o.role, o.brokerOrderId]).sort();
    const before = await aOrders();
    expect(before.map(([, id]) => Number(id)).sort()).toEqual([1000, 1001, 1002]);

    await e.server.stop();
    await new Promise((r) => setTimeout(r, 40));
    await e.server.restart({ nextValidId: 1 });
    await until(() => e.broker.health().state === 'READY', 'reconnected', 5000);
    await e.settle();

    const b = await propose(e);
    expect(await approve(e, b)).toMatchObject({ submit: { kind: 'submitted' } });
    await e.settle();
    await until(() => e.server.placements.length === 6, 'B at the server');
    const bIds = e.server.placements.filter((p) => p.orderRef === b).map((p) => p.orderId);
    expect(Math.min(...bIds)).toBeGreaterThan(1002);
    expect(e.server.idReuses).toBe(0);
    expect(e.server.duplicateIdErrors).toBe(0);
    expect(new Set(e.server.placements.map((p) => p.orderId)).size).toBe(6);
    expect(e.server.placements.filter((p) => p.orderRef === a)).toHaveLength(3);
    expect(await aOrders()).toEqual(before);
  });
});

describe('GATEWAY-5: the weekly login reminder', () => {
  it('GATEWAY-5: IB_WEEKLY_LOGIN=Sun 18:00, IB_LOGIN_REMINDER_MIN=60 → nothing at 16:59 ET, one WARNING at 17:00 ET naming the login time, not repeated, none after the login time', async () => {
    ib = await makeIbEngine({ clockStart: '2026-11-29T21:59:00Z', env: { IB_WEEKLY_LOGIN: 'Sun 18:00', IB_LOGIN_REMINDER_MIN: '60' } });
    const e = ib;
    const run = () => e.h.engine.jobs.gatewayDay();
    expect(await run()).toMatchObject({ reminded: false });
    await e.h.clock.advance(60_000);
    expect(await run()).toMatchObject({ reminded: true });
    expect(await run()).toMatchObject({ reminded: false });
    await e.h.clock.advance(59 * 60_000); // 17:59
    expect(await run()).toMatchObject({ reminded: false });
    await e.h.clock.advance(2 * 60_000); // 18:01: next week's login is far off
    expect(await run()).toMatchObject({ reminded: false });
    const sent = await alertsOfType(e.h, 'GATEWAY_LOGIN_REMINDER');
    expect(sent).toHaveLength(1);
    expect(sent[0]?.severity).toBe('WARNING');
    expect(sent[0]?.payload).toMatch(/weekly full login with 2FA at Sun 18:00 EST \(in 60 min\)/);
  });
});

describe('GATEWAY-6: the rules at their exact minutes', () => {
  const at = (iso: string) => Date.parse(iso);
  const day = DEFAULT_DAY;
  it('GATEWAY-6: window 23:45–00:05 ET: 23:44:59 out, 23:45 in, 00:04:59 in, 00:05 out; WAITING_FOR_LOGIN holds at any hour; a window inside one day works too', () => {
    expect(inRestartWindow(at('2026-11-25T04:44:59Z'), day, TZ)).toBe(false);
    expect(inRestartWindow(at('2026-11-25T04:45:00Z'), day, TZ)).toBe(true);
    expect(inRestartWindow(at('2026-11-25T05:04:59Z'), day, TZ)).toBe(true);
    expect(inRestartWindow(at('2026-11-25T05:05:00Z'), day, TZ)).toBe(false);
    expect(entryHold(at('2026-11-24T15:00:00Z'), day, TZ, { state: 'READY' })).toBeNull();
    expect(entryHold(at('2026-11-24T15:00:00Z'), day, TZ, { state: 'WAITING_FOR_LOGIN' })?.code).toBe('GATEWAY_LOGIN');
    expect(entryHold(at('2026-11-24T15:00:00Z'), null, TZ, { state: 'WAITING_FOR_LOGIN' })?.code).toBe('GATEWAY_LOGIN');
    expect(entryHold(at('2026-11-25T04:45:00Z'), null, TZ, { state: 'READY' })).toBeNull(); // no gateway (sim broker)
    const lunch = { ...day, restartWindow: parseRestartWindow('12:30-12:40') as GatewayDay['restartWindow'] };
    expect(inRestartWindow(at('2026-11-24T17:29:00Z'), lunch, TZ)).toBe(false);
    expect(inRestartWindow(at('2026-11-24T17:30:00Z'), lunch, TZ)).toBe(true);
    expect(inRestartWindow(at('2026-11-24T17:40:00Z'), lunch, TZ)).toBe(false);
  });

  it('GATEWAY-6: reminder window (16:59 no, 17:00 yes, 17:59 yes, 18:00 no); parsing refuses what it cannot mean', () => {
    expect(loginReminderDue(at('2026-11-29T21:59:00Z'), day, TZ)).toBeNull();
    expect(loginReminderDue(at('2026-11-29T22:00:00Z'), day, TZ)).toMatchObject({ inMinutes: 60, label: 'Sun 18:00 EST' });
    expect(loginReminderDue(at('2026-11-29T22:59:00Z'), day, TZ)).toMatchObject({ inMinutes: 1 });
    expect(loginReminderDue(at('2026-11-29T23:00:00Z'), day, TZ)).toBeNull();
    expect(loginReminderDue(at('2026-11-29T22:30:00Z'), { ...day, remindMinutesBefore: 0 }, TZ)).toBeNull();
    expect(parseRestartWindow('23:45-00:05')).toEqual({ from: 1425, to: 5 });
    expect(parseRestartWindow('off')).toBeNull();
    expect(parseRestartWindow('21:00-00:00')).toEqual({ from: 1260, to: 0 }); // 180 min: the longest allowed
    expect(parseRestartWindow('20:59-00:00')).toMatch(/at most 180 minutes long.*got 181 minutes/);
    expect(parseRestartWindow('10:00-10:00')).toMatch(/different start and end/);
    expect(parseRestartWindow('23:45')).toMatch(/HH:MM-HH:MM/);
    expect(parseWeeklyLogin('Sunday 18:00')).toEqual({ weekday: 0, at: 1080 });
    expect(parseWeeklyLogin('Sundae 18:00')).toMatch(/weekday and a time/);
    expect(parseWeeklyLogin('Sun 24:00')).toMatch(/weekday and a time/);
  });
});

/**
 * Reconciliation drift end to end (SPEC 8, 9, 10, 12; issue 6): the REAL grammY bot
 * long-polls the sandbox Bot API over HTTP, the REAL AlertSender delivers the outbox to the
 * same sandbox chat, and the REAL job table runs on a ClockScheduler; engine, jobs, sender
 * and the sandbox's clock all read one FakeClock (makeHarness: SQLite file, sim broker).
 *
 *   position opened through the bot (card → APPROVE → fill → MANAGED)
 *   → the broker's position is spoofed (h.sim.faults.spoofPosition)
 *   → position-watch / reconcile jobs find it → RECONCILIATION_DRIFT alert in the chat ≤ 60 s
 *   → /drift lists it with resolve buttons → a stranger's tap is refused and audited
 *   → the admin resolves it → RECONCILIATION_RESOLUTION bead names the admin
 *   → a drift nobody resolves → DRIFT_ESCALATION after 15 min, exactly once.
 * Phoenix never touches the position or its orders while doing any of this.
 *
 * Time moves in small steps; after every step the jobs, broker events and the sender's tick
 * (with its real HTTP) finish before the chat is looked at, so "seen at" is a clock-time
 * upper bound of when a message arrived.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AlertSender } from '../../src/alerts/sender.js';
import { createGrammyAlertTransport } from '../../src/bot/alert.transport.js';
import { createBot, type PhoenixBot } from '../../src/bot/bot.js';
import { startBot, type RunningBot } from '../../src/bot/runner.js';
import type { Instrument } from '../../src/engine/broker.port.js';
import type { StoredBead } from '../../src/engine/beads.js';
import type { DriftRecord } from '../../src/engine/store.port.js';
import { ClockScheduler, startJobs, type Jobs } from '../../src/jobs/index.js';
import { startSandbox, type Sandbox, type SandboxMessage, type SandboxUser } from '../../src/sandbox/server.js';
import { CHAT_ID, intentOf, makeHarness, type Harness } from '../support/harness.js';

const TOKEN = '123:phoenix-drift';
const CHAT = Number(CHAT_ID);
const MIN = 60_000;

const PEOPLE = {
  alice: { id: 1001, first_name: 'Alice', username: 'alice' }, // approver
  bob: { id: 1002, first_name: 'Bob', username: 'bob' }, // admin
  carol: { id: 1003, first_name: 'Carol', username: 'carol' }, // viewer
  mallory: { id: 666, first_name: 'Mallory', username: 'mallory' }, // stranger
} as const;

const AAPL: Instrument = { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD', multiplier: 1 };

interface Rig {
  readonly h: Harness;
  readonly sandbox: Sandbox;
  readonly phoenix: PhoenixBot;
  readonly running: RunningBot;
  readonly sender: AlertSender;
  readonly jobs: Jobs;
  readonly users: Record<keyof typeof PEOPLE, SandboxUser>;
}

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  // reverse start order: jobs, sender, bot (polling + syncer), sandbox, engine/database
  const errors: unknown[] = [];
  for (const c of cleanups.splice(0).reverse()) await c().catch((e: unknown) => errors.push(e)); // stop everything, then report
  if (errors.length) throw errors[0];
});

async function makeRig(): Promise<Rig> {
  const h = await makeHarness();
  cleanups.push(() => h.close());
  const sandbox = await startSandbox({ clock: { now: () => h.clock.now() } });
  cleanups.push(() => sandbox.close());
  sandbox.addChat({ id: CHAT, title: 'Phoenix desk' });
  const phoenix = createBot({
    engine: h.engine,
    logger: h.engine.logger,
    config: { token: TOKEN, apiRoot: sandbox.apiRoot, chatId: CHAT_ID, approvers: ['1001'], admins: ['1002'], viewers: ['1003'] },
    // the sandbox has no flood limits here: the bot's budget does not pace (order and 429s still apply)
    options: { runbooksDir: 'runbooks', startRetryMs: { min: 50, max: 500 }, pollTimeoutSeconds: 10, pacing: false },
  });
  cleanups.push(() => phoenix.syncer.stop());
  const running = await startBot(phoenix);
  cleanups.push(() => running.stop());
  await running.ready;
  const sender = new AlertSender({ store: h.app.store, clock: h.clock, transport: createGrammyAlertTransport({ token: TOKEN, apiRoot: sandbox.apiRoot }), chatId: CHAT_ID, logger: h.engine.logger });
  await sender.start();
  cleanups.push(() => sender.stop());
  const jobs = await startJobs({ engine: h.engine, scheduler: new ClockScheduler(h.clock, h.engine.random) });
  cleanups.push(() => jobs.stop());
  const users = Object.fromEntries(Object.entries(PEOPLE).map(([k, v]) => [k, sandbox.user(v)])) as Rig['users'];
  return { h, sandbox, phoenix, running, sender, jobs, users };
}

// === time and chat

const botMessages = (r: Rig): SandboxMessage[] => r.sandbox.chat(CHAT).filter((m) => m.from_bot);
const alertMessages = (r: Rig, title: string): SandboxMessage[] => botMessages(r).filter((m) => m.text.includes(title));
const DRIFT_TITLE = 'CRITICAL · Reconciliation drift';
const ESCALATION_TITLE = 'CRITICAL · Drift unresolved for 15 minutes';

/**
 * Move the FakeClock `ms` forward in `step`s; after each step let the jobs, broker events and
 * the alert sender's tick (real HTTP to the sandbox) finish, then call `each` with the time.
 */
async function run(r: Rig, ms: number, step = 1000, each?: (now: number) => void): Promise<void> {
  const { h, jobs, sender } = r;
  const end = h.clock.now() + ms;
  while (h.clock.now() < end) {
    await h.clock.advance(Math.min(step, end - h.clock.now()));
    await jobs.idle();
    await h.settle();
    await jobs.idle();
    await sender.settled();
    each?.(h.clock.now());
  }
}

/** Run in 1-s steps until `pred` holds (or `maxMs` of clock time passed); returns the clock time it was first seen. */
async function runUntil<T>(r: Rig, maxMs: number, pred: () => T | undefined | false): Promise<{ value: T; at: number }> {
  const start = r.h.clock.now();
  for (;;) {
    const v = pred();
    if (v) return { value: v, at: r.h.clock.now() };
    if (r.h.clock.now() - start >= maxMs) throw new Error(`not seen within ${maxMs / 1000} s of clock time`);
    await run(r, 1000);
  }
}

/** Send a command and wait (real time) for the bot's next message in the chat. */
async function ask(r: Rig, who: keyof typeof PEOPLE, text: string): Promise<SandboxMessage> {
  const before = Math.max(0, ...r.sandbox.chat(CHAT).map((m) => m.message_id));
  r.users[who].send(CHAT, text);
  return r.sandbox.waitFor(() => botMessages(r).find((m) => m.message_id > before), { timeoutMs: 5000, label: `reply to ${text}` });
}

const messageById = (r: Rig, id: number) => r.sandbox.chat(CHAT).find((m) => m.message_id === id);
const buttonsOf = (m: SandboxMessage | undefined) => m?.reply_markup?.inline_keyboard.flat() ?? [];

// === engine reads

const beads = async (r: Rig, type: string): Promise<StoredBead[]> => (await r.h.app.store.tx((tx) => tx.beads.page(0, 100_000))).filter((b) => b.type === type);
const payload = <T = Record<string, unknown>>(b: StoredBead): T => JSON.parse(b.payload) as T;
const drifts = async (r: Rig): Promise<DriftRecord[]> => {
  const rows = await r.h.app.db.drift.findMany({ orderBy: { detectedAt: 'asc' } });
  return Promise.all(rows.map(async (row) => (await r.h.app.store.tx((tx) => tx.drifts.get(row.id)))!));
};
const alertRows = (r: Rig, type: string) => r.h.app.db.alert.findMany({ where: { type } });

/** Everything a drift must never change: the intent's lifecycle fields, its order rows and fills, the broker's orders and executions. */
async function tradingState(r: Rig, intentId: string) {
  const i = await intentOf(r.h, intentId);
  return {
    intent: { state: i.state, quantity: i.quantity, filledQty: i.filledQty, exitQty: i.exitQty, avgFillPrice: i.avgFillPrice, realizedPnlCents: i.realizedPnlCents },
    orders: await r.h.app.store.tx((tx) => tx.orders.listByIntent(intentId)),
    fills: await r.h.app.store.tx((tx) => tx.fills.listByIntent(intentId)),
    intents: await r.h.app.db.intent.count(),
    brokerOrders: await r.h.broker.openOrders(),
    brokerExecutions: await r.h.broker.executions(),
  };
}

/** Propose an MES trade, wait for its card, tap APPROVE as alice; the sim fills it → MANAGED. */
async function openPosition(r: Rig): Promise<string> {
  const { h, sandbox } = r;
  const sub = await h.engine.submitIntent(h.intent());
  if (sub.kind !== 'accepted' || sub.state !== 'PROPOSED') throw new Error(`intent not proposed: ${JSON.stringify(sub)}`);
  const card = await h.app.store.tx((tx) => tx.cards.bySubject(sub.intentId, 'TRADE'));
  const message = await sandbox.waitFor(() => botMessages(r).find((m) => buttonsOf(m).some((b) => b.callback_data === `v1:a:${card!.id}`)), { label: 'trade card' });
  const tap = r.users.alice.tap(CHAT, message.message_id, 'APPROVE');
  await r.users.alice.waitAnswer(tap);
  await h.settle();
  await run(r, 5000); // the fill-triggered reconciliation (debounced 2 s) runs and finds nothing
  expect((await intentOf(h, sub.intentId)).state).toBe('MANAGED');
  expect(await drifts(r)).toHaveLength(0);
  return sub.intentId;
}

/** Spoof the broker's position of `target` and run the jobs until a new drift alert is in the chat. */
async function induceDrift(r: Rig, target: string | Instrument, qty: number): Promise<{ spoofAt: number; seenAt: number; message: SandboxMessage; drift: DriftRecord }> {
  const before = new Set((await drifts(r)).map((d) => d.id));
  const seen = new Set(alertMessages(r, DRIFT_TITLE).map((m) => m.message_id));
  r.h.sim!.faults.spoofPosition(target, qty);
  const spoofAt = r.h.clock.now();
  const { value: message, at: seenAt } = await runUntil(r, 2 * MIN, () => alertMessages(r, DRIFT_TITLE).find((m) => !seen.has(m.message_id)));
  const fresh = (await drifts(r)).filter((d) => !before.has(d.id));
  expect(fresh).toHaveLength(1);
  return { spoofAt, seenAt, message, drift: fresh[0]! };
}

describe('reconciliation drift over the real bot, alert sender and job table', () => {
  it('INV-RECONCILE-ALERT-1: drift appears → RECONCILIATION_DRIFT alert delivered to the chat within 60 s of clock time, with its runbook link (RB-002); Phoenix changes nothing', async () => {
    const r = await makeRig();
    const intentId = await openPosition(r);
    const untouched = await tradingState(r, intentId);
    // worst case: the broker's side changes right after a position watch saw nothing
    const watch = () => r.jobs.stats().find((j) => j.name === 'position-watch');
    await runUntil(r, 60_000, () => watch()?.lastStartedAt === r.h.clock.now() && watch()?.lastOutcome === 'OK');
    const positionBeadsBefore = (await beads(r, 'POSITION')).length;

    const { spoofAt, seenAt, message, drift } = await induceDrift(r, 'MES', 2);
    expect(seenAt - spoofAt).toBeLessThanOrEqual(60_000);
    expect(drift.detectedAt - spoofAt).toBeLessThanOrEqual(60_000);
    expect(message.date * 1000).toBeGreaterThanOrEqual(Math.floor(drift.detectedAt / 1000) * 1000); // delivered after detection, by the sandbox's (fake) clock
    expect(message.text).toContain('🔴 CRITICAL · Reconciliation drift');
    expect(message.text).toContain('MES: position sizes differ (Phoenix 1, broker 2)');
    expect(message.text).toContain('Phoenix changed nothing; resolve it with /drift');
    expect(message.text).toContain(`drift: ${drift.id}`);
    expect(message.text).toContain('found: position watch'); // the job table found it, nothing else asked
    expect(message.text).toContain('Runbook: RB-002 — /runbook RB-002');
    expect(message.parse_mode).toBe('HTML');
    expect(drift).toMatchObject({ type: 'POSITION_SIZE', severity: 'CRITICAL', resolvedAt: null });
    const driftBeads = (await beads(r, 'RECONCILIATION_DRIFT')).map((b) => payload(b));
    expect(driftBeads).toEqual([expect.objectContaining({ driftId: drift.id, driftType: 'POSITION_SIZE', severity: 'CRITICAL', local: expect.objectContaining({ quantity: 1 }), broker: expect.objectContaining({ quantity: 2 }) })]);

    // the mismatch persists for 5 more minutes (a periodic full reconciliation included): one drift, one alert
    await run(r, 5 * MIN, 2500);
    expect(await drifts(r)).toHaveLength(1);
    expect(await alertRows(r, 'RECONCILIATION_DRIFT')).toHaveLength(1);
    expect(alertMessages(r, DRIFT_TITLE)).toHaveLength(1);
    // INV-RECONCILE-READONLY-1 (here): the position and its orders are exactly as before
    expect(await tradingState(r, intentId)).toEqual(untouched);
    expect((await beads(r, 'POSITION')).length).toBe(positionBeadsBefore);
  });

  it('INV-RECONCILE-AUDIT-2: the admin sends /drift → the drift is listed in words → /drift ID shows it with three resolve buttons → a stranger\'s and a viewer\'s taps are refused and audited → the admin taps Acknowledge → resolved, RECONCILIATION_RESOLUTION bead names the admin; nothing else changes', async () => {
    const r = await makeRig();
    const intentId = await openPosition(r);
    const untouched = await tradingState(r, intentId);
    const { drift } = await induceDrift(r, 'MES', 2);
    await run(r, 30_000);

    const list = await ask(r, 'bob', '/drift');
    expect(list.text).toContain('Unresolved drifts: 1');
    expect(list.text).toContain('🚨 MES Dec26 · position size: Phoenix says long 1, broker says long 2.');
    expect(list.text).toContain(`/drift ${drift.id}`);
    expect(list.text).toContain('Phoenix never auto-corrects (RB-002)');
    expect(buttonsOf(list).map((b) => [b.text, b.callback_data])).toEqual([[expect.stringMatching(/check now/i), 'v1:r:now']]);
    const one = await ask(r, 'bob', `/drift ${drift.id}`);
    expect(one.text).toContain('🚨 CRITICAL drift · MES Dec26 · position size');
    expect(one.text).toContain('still seen at the last check');
    expect(buttonsOf(one).map((b) => [b.text, b.callback_data])).toEqual([
      ['👍 Acknowledge: known, leave it', `v1:k:${drift.id}`],
      ['🛠 Corrected in Phoenix', `v1:f:${drift.id}`],
      ['🏦 Corrected at the broker', `v1:b:${drift.id}`],
    ]);

    // a stranger in the group taps the resolve button: refused, audited, nothing resolved
    const strangerTap = r.users.mallory.tap(CHAT, one.message_id, 'Acknowledge');
    expect((await r.users.mallory.waitAnswer(strangerTap)).text).toBe('Not allowed.');
    // a viewer (known, but not allowed to resolve) likewise
    const viewerTap = r.users.carol.tap(CHAT, one.message_id, 'Corrected at the broker');
    expect((await r.users.carol.waitAnswer(viewerTap)).text).toBe('Not allowed: only approvers and admins resolve drift.');
    const denied = (await beads(r, 'ACCESS_DENIED')).map((b) => payload<{ userId: string; chatId: string | null; action: string; reason: string }>(b));
    expect(denied).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ userId: '666', chatId: CHAT_ID, reason: 'unknown user', action: `callback ${JSON.stringify(`v1:k:${drift.id}`)}` }),
        expect.objectContaining({ userId: '1003', chatId: CHAT_ID, reason: 'approver or admin role needed', action: `resolve drift ${drift.id}` }),
      ]),
    );
    expect((await drifts(r))[0]).toMatchObject({ id: drift.id, resolvedAt: null, resolvedBy: null });
    expect(await beads(r, 'RECONCILIATION_RESOLUTION')).toHaveLength(0);

    // the admin resolves it
    const resolvedAt = r.h.clock.now();
    const ack = r.users.bob.tap(CHAT, one.message_id, 'Acknowledge');
    expect((await r.users.bob.waitAnswer(ack)).text).toBe('Drift POSITION_SIZE marked ACKNOWLEDGED by @bob.');
    const refreshed = await r.sandbox.waitFor(() => {
      const m = messageById(r, one.message_id);
      return m?.text.includes('Resolved ACKNOWLEDGED by @bob') ? m : undefined;
    }, { label: '/drift ID message refreshed' });
    expect(buttonsOf(refreshed)).toEqual([]);
    expect((await ask(r, 'bob', '/drift')).text).toContain('Unresolved drifts: 0');
    expect((await drifts(r))[0]).toMatchObject({ id: drift.id, resolution: 'ACKNOWLEDGED', resolvedBy: '@bob', resolvedAt });
    const resolutions = (await beads(r, 'RECONCILIATION_RESOLUTION')).map((b) => payload(b));
    expect(resolutions).toEqual([{ driftId: drift.id, resolution: 'ACKNOWLEDGED', note: 'resolved from Telegram by @bob', actor: { id: '1002', name: '@bob', via: 'telegram' } }]);
    // a late tap on the old button (an approver) changes nothing and says who resolved it
    const late = r.users.alice.tapRaw(CHAT, one.message_id, `v1:f:${drift.id}`);
    expect((await r.users.alice.waitAnswer(late)).text).toBe('Already resolved (ACKNOWLEDGED) by @bob; nothing changed.');
    expect(await beads(r, 'RECONCILIATION_RESOLUTION')).toHaveLength(1);

    // acknowledged: the persisting mismatch is not raised again, and never escalates
    await run(r, 20 * MIN, 2500);
    expect(await drifts(r)).toHaveLength(1);
    expect(await alertRows(r, 'RECONCILIATION_DRIFT')).toHaveLength(1);
    expect(await alertRows(r, 'DRIFT_ESCALATION')).toHaveLength(0);
    expect(alertMessages(r, ESCALATION_TITLE)).toHaveLength(0);
    expect(await tradingState(r, intentId)).toEqual(untouched);
  });

  it('an unresolved drift escalates after 15 simulated minutes: DRIFT_ESCALATION delivered to the chat once (not before 15 min, not again 30 min later); a resolved one never escalates', async () => {
    const r = await makeRig();
    const intentId = await openPosition(r);
    const untouched = await tradingState(r, intentId);

    // drift 1 (MES size): the broker side is fixed and an approver says so from /drift
    const first = await induceDrift(r, 'MES', 2);
    await run(r, 60_000);
    r.h.sim!.faults.spoofPosition('MES', null);
    const one = await ask(r, 'alice', `/drift ${first.drift.id}`);
    const fixed = r.users.alice.tap(CHAT, one.message_id, 'Corrected at the broker');
    expect((await r.users.alice.waitAnswer(fixed)).text).toBe('Drift POSITION_SIZE marked BROKER_CORRECTED by @alice.');

    // drift 2 (a broker position Phoenix does not know): nobody touches it
    const second = await induceDrift(r, AAPL, 100);
    expect(second.drift).toMatchObject({ type: 'POSITION_COUNT', severity: 'CRITICAL' });
    expect(second.message.text).toContain('AAPL: broker holds a position Phoenix does not know (Phoenix 0, broker 100)');
    const limit = second.drift.detectedAt + 15 * MIN;

    let escalationSeenAt: number | null = null;
    const watch = (now: number) => {
      const n = alertMessages(r, ESCALATION_TITLE).length;
      if (n && escalationSeenAt === null) escalationSeenAt = now;
      if (now <= limit) expect(n, `escalation already in the chat at +${(now - second.drift.detectedAt) / 1000} s`).toBe(0);
    };
    // up to 14 min in bigger steps, then 1-s steps around the 15-min mark
    await run(r, limit - 60_000 - r.h.clock.now(), 2500, watch);
    await run(r, 3 * MIN, 1000, watch);
    expect(escalationSeenAt).not.toBeNull();
    expect(escalationSeenAt! - second.drift.detectedAt).toBeGreaterThan(15 * MIN);
    expect(escalationSeenAt! - second.drift.detectedAt).toBeLessThanOrEqual(16 * MIN + 3000); // the escalation job runs every minute
    const [escalation] = alertMessages(r, ESCALATION_TITLE);
    expect(escalation!.text).toContain('🔴 CRITICAL · Drift unresolved for 15 minutes');
    // "more than 15 minutes" checked once a minute: escalated in the 16th minute
    expect(escalation!.text).toMatch(/Drift POSITION_COUNT \(CRITICAL\) unresolved for 1[56] min\. Check the broker and resolve it with \/drift drf_\w+\./);
    expect(escalation!.text).toContain(`drift: ${second.drift.id}`);
    expect(escalation!.text).not.toContain(first.drift.id);
    expect(escalation!.text).toContain('Runbook: RB-002 — /runbook RB-002');
    const [d1, d2] = await drifts(r);
    expect(d1).toMatchObject({ id: first.drift.id, resolution: 'BROKER_CORRECTED', resolvedBy: '@alice', escalatedAt: null });
    expect(d2).toMatchObject({ id: second.drift.id, resolvedAt: null });
    expect(d2!.escalatedAt! - second.drift.detectedAt).toBeGreaterThan(15 * MIN);
    expect(d2!.escalatedAt! - second.drift.detectedAt).toBeLessThanOrEqual(16 * MIN);
    expect(escalation!.date * 1000 - d2!.escalatedAt!).toBeLessThanOrEqual(1000); // CRITICAL: delivered within a second (sandbox clock = FakeClock)

    // 30 more minutes, jobs running: exactly one escalation, in the outbox and in the chat
    await run(r, 30 * MIN, 2500);
    expect(alertMessages(r, ESCALATION_TITLE)).toHaveLength(1);
    expect(await alertRows(r, 'DRIFT_ESCALATION')).toHaveLength(1);
    const escalationBeads = (await beads(r, 'JOB')).map((b) => payload<{ event: string; detail: string }>(b)).filter((p) => p.event === 'ESCALATION');
    expect(escalationBeads).toEqual([expect.objectContaining({ detail: expect.stringContaining(second.drift.id) })]);
    expect((await drifts(r)).filter((d) => d.resolvedAt === null).map((d) => d.id)).toEqual([second.drift.id]);
    expect(await tradingState(r, intentId)).toEqual(untouched);
  });
});

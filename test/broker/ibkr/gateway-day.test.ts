/**
 * IB Gateway's day at the adapter (issue 17, SPEC 17), over the TWS test server: a gateway
 * nobody is logged in to (WAITING_FOR_LOGIN, never DOWN), order ids after a restart whose
 * nextValidId rolled back (never a reused id, never a duplicate), and the daily restart window
 * (an expected drop does not escalate while the window lasts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { BrokerUnavailableError } from '../../../src/engine/broker.port.js';
import { decoderErrorsSeen, makeRig, mesBracket, permitFor, rejectionOf, sleep, waitFor, type Rig } from './harness.js';
import { closeAfterEach } from '../../support/cleanup.js';

let rig: Rig | undefined;
const newRig = closeAfterEach(makeRig);
afterAll(() => expect(decoderErrorsSeen()).toEqual([]));

const ids = (legs: readonly { brokerOrderId: string }[]) => legs.map((l) => Number(l.brokerOrderId));

/** every order id the server saw, with the orderRefs it was sent with (a reused id has two) */
function refsById(r: Rig): Map<number, Set<string>> {
  const m = new Map<number, Set<string>>();
  for (const p of r.server.placements) m.set(p.orderId, (m.get(p.orderId) ?? new Set()).add(p.orderRef));
  return m;
}

describe('CV gateway waiting for login (2FA)', () => {
  it('CV gateway waiting for login: connected socket, no managed account, farm errors 2103/2105/2157 → WAITING_FOR_LOGIN (not DOWN), cannot submit, says "gateway waiting for login (2FA)"; after the login it is READY by itself', async () => {
    rig = await newRig({ connect: false, broker: { loginPollMs: 80 } });
    rig.server.setLogin('no-accounts');
    const err = await rejectionOf(rig.broker.connect());
    expect(err).toBeInstanceOf(BrokerUnavailableError);
    expect(err.message).toContain('gateway waiting for login (2FA)');
    const h = rig.broker.health();
    expect(h).toMatchObject({ state: 'WAITING_FOR_LOGIN', canSubmit: false });
    expect(h.detail).toContain('gateway waiting for login (2FA)');
    expect(h.detail).toMatch(/no managed account.*data farm errors 2103, 2105, 2157/);
    const refused = await rejectionOf(rig.broker.placeBracket(mesBracket('while-logged-out'), permitFor('while-logged-out')));
    expect(refused).toBeInstanceOf(BrokerUnavailableError);

    await sleep(300); // several polls: still waiting, and quietly (one WAITING_FOR_LOGIN event, no DOWN)
    expect(rig.broker.health().state).toBe('WAITING_FOR_LOGIN');
    rig.server.setLogin('ok'); // someone approved the IB Key prompt
    await rig.waitForState('READY', 3000);
    const states = rig.connectionEvents().map((e) => e.state);
    expect(states.filter((s) => s === 'WAITING_FOR_LOGIN')).toHaveLength(1);
    expect(states).not.toContain('DOWN');
    expect(rig.broker.health().detail).toMatch(/^logged in: connected/);
    await rig.broker.placeBracket(mesBracket('after-login'), permitFor('after-login'));
    await waitFor(() => rig?.server.placements.length === 3, 2000, 'bracket at the server');
    expect(rig.server.placements.map((p) => p.orderRef)).toEqual(['after-login', 'after-login', 'after-login']);
  });

  it('CV gateway waiting for login: the API handshake stalls (server version, then no nextValidId) → WAITING_FOR_LOGIN within connectTimeoutMs, not DOWN', async () => {
    rig = await newRig({ connect: false, broker: { connectTimeoutMs: 200, loginPollMs: 5000 } });
    rig.server.setLogin('stalled');
    const err = await rejectionOf(rig.broker.connect());
    expect(err.message).toMatch(/gateway waiting for login \(2FA\).*no nextValidId within 200 ms/);
    expect(rig.broker.health()).toMatchObject({ state: 'WAITING_FOR_LOGIN', canSubmit: false });
    expect(rig.connectionEvents().map((e) => e.state)).toEqual(['CONNECTING', 'WAITING_FOR_LOGIN']);
  });

  it('CV gateway logs out under a READY session: the managed-accounts re-query at submit comes back empty → nothing sent (unavailable, not a rejection), WAITING_FOR_LOGIN; after the login the next submit goes through', async () => {
    rig = await newRig({ broker: { loginPollMs: 80 } });
    rig.server.setLogin('no-accounts');
    const err = await rejectionOf(rig.broker.placeBracket(mesBracket('logged-out'), permitFor('logged-out')));
    expect(err).toBeInstanceOf(BrokerUnavailableError);
    expect(err.message).toContain('gateway waiting for login (2FA)');
    expect(rig.broker.health().state).toBe('WAITING_FOR_LOGIN');
    expect(rig.server.placements).toHaveLength(0);
    rig.server.setLogin('ok');
    await rig.waitForState('READY', 3000);
    await rig.broker.placeBracket(mesBracket('logged-in'), permitFor('logged-in'));
    await waitFor(() => rig?.server.placements.length === 3, 2000, 'bracket at the server');
  });
});

describe('CV nextValidId rollback after a gateway restart', () => {
  it('CV nextValidId rollback: the gateway restarts and hands out nextValidId 1 (ids 1000-1002 used before) → the reconnected adapter sends ids above 1002, no id reused, no 103, no duplicate; the earlier bracket is still matched by orderRef with its ids', async () => {
    rig = await newRig({ server: { nextOrderId: 1000 }, broker: { reconnect: { maxAttempts: 3, baseDelayMs: 150, maxDelayMs: 1000 } } });
    const before = await rig.broker.placeBracket(mesBracket('pre-restart'), permitFor('pre-restart'));
    expect(ids(before)).toEqual([1000, 1001, 1002]);
    await rig.waitForEvent((e) => e.orderRef === 'pre-restart' && e.role === 'ENTRY' && e.status === 'FILLED', 'orderStatus');
    await rig.server.stop();
    await sleep(40);
    await rig.server.restart({ nextValidId: 1 }); // the gateway forgot its id sequence
    const ready = await rig.waitForEvent((e) => e.state === 'READY' && (e.attempt ?? 0) >= 1, 'connection', 5000);
    expect(ready.detail).toMatch(/the gateway said 1: ids continue above the ones already used/);

    const after = await rig.broker.placeBracket(mesBracket('post-restart'), permitFor('post-restart'));
    expect(Math.min(...ids(after))).toBeGreaterThan(1002);
    await waitFor(() => rig?.server.placements.length === 6, 2000, 'second bracket at the server');
    expect(rig.server.idReuses).toBe(0);
    expect(rig.server.duplicateIdErrors).toBe(0);
    expect([...refsById(rig).values()].every((refs) => refs.size === 1)).toBe(true);
    expect(rig.server.placements.filter((p) => p.orderRef === 'pre-restart')).toHaveLength(3); // not re-sent
    const report = await rig.broker.findByOrderRef('pre-restart');
    expect(report.orders.map((o) => o.brokerOrderId).sort()).toEqual(before.map((l) => l.brokerOrderId).sort());
    expect(report.orders.map((o) => [o.role, o.status]).sort()).toEqual([['ENTRY', 'FILLED'], ['STOP', 'WORKING'], ['TARGET', 'WORKING']]);
  });

  it('CV nextValidId rollback, new process: Phoenix restarts too; the gateway says nextValidId 1 but its open orders and executions carry ids up to 1002 → the new adapter starts at 1003; the working stop and target are not touched', async () => {
    rig = await newRig({ server: { nextOrderId: 1000 } });
    const legs = await rig.broker.placeBracket(mesBracket('crash-1'), permitFor('crash-1'));
    await rig.waitForEvent((e) => e.orderRef === 'crash-1' && e.role === 'ENTRY' && e.status === 'FILLED', 'orderStatus');
    await rig.broker.disconnect(); // Phoenix dies …
    await rig.server.stop(); // … and the gateway restarts with a forgotten id sequence
    await rig.server.restart({ nextValidId: 1 });
    const second = rig.newBroker();
    await second.broker.connect();
    expect(second.broker.health().detail).toMatch(/nextValidId 1003 \(the gateway said 1/);
    const more = await second.broker.placeBracket(mesBracket('crash-2'), permitFor('crash-2'));
    expect(ids(more)).toEqual([1003, 1004, 1005]);
    await waitFor(() => rig?.server.placements.length === 6, 2000, 'crash-2 at the server');
    expect(rig.server.idReuses).toBe(0);
    expect(rig.server.duplicateIdErrors).toBe(0);
    const stop = rig.server.findOrder(Number(legs.find((l) => l.role === 'STOP')?.brokerOrderId));
    expect(stop).toMatchObject({ orderRef: 'crash-1', status: 'Submitted', auxPrice: 5990, totalQuantity: 1 });
  });
});

describe('CV gateway daily restart window', () => {
  it('CV restart window: a drop inside the window never escalates (failed reconnects beyond maxAttempts keep going, still DISCONNECTED); the first failure after the window ends is DOWN', async () => {
    let inWindow = true;
    rig = await newRig({ broker: { reconnect: { maxAttempts: 2, baseDelayMs: 20, maxDelayMs: 40 }, inRestartWindow: () => inWindow } });
    await rig.server.stop();
    await waitFor(() => (rig?.connectionEvents().filter((e) => e.state === 'CONNECTING').length ?? 0) >= 5, 3000, 'five reconnect attempts');
    expect(rig.broker.health().state).not.toBe('DOWN');
    const failed = rig.connectionEvents().filter((e) => e.state === 'DISCONNECTED' && (e.attempt ?? 0) >= 2);
    expect(failed.length).toBeGreaterThanOrEqual(2);
    expect(failed.every((e) => e.attempt === 2 && /inside the gateway restart window: retrying, not escalating/.test(e.detail))).toBe(true);
    inWindow = false; // the window ends with the gateway still gone
    await rig.waitForState('DOWN', 3000);
    expect(rig.connectionEvents().at(-1)).toMatchObject({ state: 'DOWN', attempt: 2 });
  });

  it('CV restart window: the gateway back inside the window → READY again, the drop never went DOWN', async () => {
    rig = await newRig({ broker: { reconnect: { maxAttempts: 1, baseDelayMs: 20, maxDelayMs: 40 }, inRestartWindow: () => true } });
    await rig.server.stop();
    await waitFor(() => (rig?.connectionEvents().filter((e) => e.state === 'CONNECTING').length ?? 0) >= 4, 3000, 'four reconnect attempts');
    await rig.server.restart();
    await rig.waitForState('READY', 3000);
    expect(rig.connectionEvents().map((e) => e.state)).not.toContain('DOWN');
  });
});

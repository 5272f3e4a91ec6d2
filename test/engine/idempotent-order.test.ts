/**
 * INV-IDEMPOTENT-ORDER-1 (engine side) and CV "process killed mid-submission": one intent
 * can never produce two orders — not through the database, not through a retry, not across
 * a restart. After a crash a NEW app on the same SQLite file finds the order at the broker
 * by orderRef instead of sending it again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { SimBroker } from '../../src/broker/sim/index.js';
import type { BracketRequest, BrokerPort, PlacedLeg, SubmitPermit } from '../../src/engine/broker.port.js';
import type { OrderRecord } from '../../src/engine/domain.js';
import { seededRandom, silentLogger } from '../../src/engine/ports.js';
import { DuplicateOrderError } from '../../src/engine/store.port.js';
import { approver, CHAT_ID, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { expectBeads } from '../support/beads-checked.js';
import { approveWhileBrokerDown, parsedBeads, positionPath, propose, reconnect, tokenEvents } from './helpers.js';
import { anOrder } from '../support/records.js';

type CrashMode = 'killed-after-send' | 'killed-before-send' | 'unknown-outcome';

interface Rig {
  h: Harness;
  sim: SimBroker;
  /** resolves when the first placement attempt happened (the "crash" point) */
  crashed: Promise<void>;
  placements: () => number;
}

const harness = useHarness();

/**
 * A broker in front of the sim that simulates the process dying at the placement:
 * - killed-after-send: the order reaches the broker, then this process stops listening and
 *   never hears back (the promise never settles, as in a killed process);
 * - killed-before-send: the engine committed SUBMITTED, but nothing reached the broker;
 * - unknown-outcome: the order reaches the broker, then the call fails with a non-refusal
 *   error (socket reset): the engine must treat it as "may have been placed".
 */
async function rig(mode: CrashMode): Promise<Rig> {
  let sim!: SimBroker;
  let h!: Harness;
  let armed = true;
  let calls = 0;
  let signal!: () => void;
  const crashed = new Promise<void>((r) => (signal = r));
  const factory = (clock: Harness['clock']): BrokerPort => {
    sim = new SimBroker({ clock, random: seededRandom(2), profile: 'INSTANT', prices: { MES: 6010.25 } });
    return new Proxy(sim, {
      get(target, prop) {
        if (prop === 'placeBracket') {
          return async (req: BracketRequest, permit: SubmitPermit): Promise<readonly PlacedLeg[]> => {
            calls++;
            if (!armed) return target.placeBracket(req, permit);
            armed = false;
            if (mode !== 'killed-before-send') void target.placeBracket(req, permit); // runs synchronously: the order is at the broker
            if (mode !== 'unknown-outcome') h.engine.detach(); // the dying process stops hearing the broker
            signal();
            if (mode === 'unknown-outcome') throw new Error('socket hang up');
            return new Promise<never>(() => {}); // never returns: the process is gone
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  };
  h = await harness({ broker: factory });
  return { h, sim, crashed, placements: () => calls };
}

/** A fresh process on the same database file and the same (still running) broker. */
async function restart(r: Rig): Promise<App> {
  const app = await createApp({ config: r.h.config, clock: r.h.clock, random: seededRandom(4242), logger: silentLogger, broker: r.sim, chatId: CHAT_ID });
  app.engine.attachBroker();
  return app;
}

async function settleApp(app: App): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((res) => setImmediate(res));
    await app.engine.pendingEvents();
  }
}

describe('idempotent orders', () => {
  let h: Harness | undefined;
  let app2: App | undefined;
  afterEach(async () => {
    await app2?.store.close();
    app2 = undefined;
  });

  it('INV-IDEMPOTENT-ORDER-1: the database refuses a second (intentId, role) order with DuplicateOrderError', async () => {
    h = await harness();
    const { intentId } = await propose(h);
    const now = h.clock.now();
    const row: OrderRecord = anOrder({ id: 'ord_first', intentId }, now);
    await h.app.store.tx((tx) => tx.orders.insert(row));
    const err = await h.app.store.tx((tx) => tx.orders.insert({ ...row, id: 'ord_second' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateOrderError);
    expect((err as DuplicateOrderError).code).toBe('DUPLICATE_ORDER');
    expect((err as Error).message).toMatch(new RegExp(`${intentId} already has a ENTRY order`));
    expect(await h.app.db.brokerOrder.count({ where: { intentId } })).toBe(1);
    // a different leg of the same intent is fine
    await h.app.store.tx((tx) => tx.orders.insert({ ...row, id: 'ord_stop', role: 'STOP' }));
    expect(await h.app.db.brokerOrder.count({ where: { intentId } })).toBe(2);
  });

  it('INV-IDEMPOTENT-ORDER-1: an intent that already has order rows is refused at submission; the token is not burnt and nothing is sent', async () => {
    h = await harness();
    const { intentId, tokenId } = await approveWhileBrokerDown(h);
    await reconnect(h);
    const now = h.clock.now();
    await h.app.store.tx((tx) => tx.orders.insert(anOrder({ id: 'ord_leftover', intentId }, now)));
    const r = await h.engine.submitWithToken(intentId, tokenId);
    expect(r.kind).toBe('refused');
    expect(r.kind === 'refused' && r.reason).toMatch(/never two orders for one intent/);
    expect((await h.broker.findByOrderRef(intentId)).orders).toHaveLength(0);
    expect(await h.app.db.brokerOrder.count({ where: { intentId } })).toBe(1);
    const i = await intentOf(h, intentId);
    expect(i.state).toBe('APPROVED'); // the whole prepare transaction rolled back
    expect((await h.app.store.tx((tx) => tx.tokens.get(tokenId)))?.usedAt).toBeNull();
    expect((await tokenEvents(h, intentId)).at(-1)).toMatchObject({ event: 'REJECTED', reason: expect.stringMatching(/already has a ENTRY order/) });
  });

  it('INV-IDEMPOTENT-ORDER-1: CV process killed mid-submission (after send) → restart + recoverFromBroker sends nothing new and attaches the order by orderRef', async () => {
    const r = await rig('killed-after-send');
    h = r.h;
    const { intentId, cardId } = await propose(h);
    void h.engine.decide(cardId, 'APPROVE', approver); // never completes: the process "dies" inside the broker call
    await r.crashed;
    await h.settle();
    // what the dead process left behind: SUBMITTED, orders recorded without broker ids
    expect((await intentOf(h, intentId)).state).toBe('SUBMITTED');
    const left = await h.app.db.brokerOrder.findMany({ where: { intentId } });
    expect(left.map((o) => [o.role, o.brokerOrderId])).toEqual(expect.arrayContaining([['ENTRY', null], ['STOP', null], ['TARGET', null]]));
    const atBroker = await r.sim.findByOrderRef(intentId);
    expect(atBroker.orders.filter((o) => o.role === 'ENTRY')).toHaveLength(1);

    app2 = await restart(r);
    const rep = await app2.engine.recoverFromBroker();
    await settleApp(app2);
    expect(rep).toEqual({ checked: 1, found: 1, notAtBroker: [] });
    expect(await app2.engine.retryWaiting()).toEqual([]);
    expect(r.placements()).toBe(1);
    const after = await r.sim.findByOrderRef(intentId);
    expect(after.orders.filter((o) => o.role === 'ENTRY')).toHaveLength(1);
    expect(after.orders).toHaveLength(3);
    // the broker's ids are attached to Phoenix's rows by orderRef
    const rows = await app2.db.brokerOrder.findMany({ where: { intentId } });
    for (const row of rows) expect(row.brokerOrderId).toBe(after.orders.find((o) => o.role === row.role)!.brokerOrderId);
    const i = await app2.store.tx((tx) => tx.intents.get(intentId));
    expect(i?.state).toBe('MANAGED');
    expect(i?.filledQty).toBe(1);
    // the state is explained by beads: FOUND_AFTER_RESTART for each leg, then the fill
    const beads = await parsedBeads(h, intentId);
    expect(expectBeads(beads, 'ORDER').filter((b) => b.data.event === 'FOUND_AFTER_RESTART').map((b) => b.data.role).sort()).toEqual(['ENTRY', 'STOP', 'TARGET']);
    expect(expectBeads(beads, 'FILL')).toHaveLength(1);
    expect(expectBeads(beads, 'T2_TOKEN').map((b) => b.data.event)).toEqual(['ISSUED', 'USED']); // the token was used once, before the crash
    expect(await positionPath(h, intentId)).toEqual(['PROPOSED>APPROVED', 'APPROVED>SUBMITTED', 'SUBMITTED>FILLED', 'FILLED>MANAGED']);
    // recovery is idempotent: a second run adds nothing
    const beadsBefore = await app2.db.bead.count();
    await app2.engine.recoverFromBroker();
    await settleApp(app2);
    expect(await app2.db.bead.count()).toBe(beadsBefore);
    expect(await app2.db.fill.count({ where: { intentId } })).toBe(1);
    // and the filled entry leg is still FILLED (a replayed status never resurrects it as WORKING)
    const legs = await app2.db.brokerOrder.findMany({ where: { intentId } });
    expect(Object.fromEntries(legs.map((o) => [o.role, o.status]))).toEqual({ ENTRY: 'FILLED', STOP: 'WORKING', TARGET: 'WORKING' });
  });

  it('INV-IDEMPOTENT-ORDER-1: CV process killed after commit but before the send → restart finds nothing, re-sends nothing, a human is told (STALLED)', async () => {
    const r = await rig('killed-before-send');
    h = r.h;
    const { intentId, cardId } = await propose(h);
    void h.engine.decide(cardId, 'APPROVE', approver);
    await r.crashed;
    await h.settle();
    expect((await intentOf(h, intentId)).state).toBe('SUBMITTED');

    app2 = await restart(r);
    const rep = await app2.engine.recoverFromBroker();
    expect(rep).toEqual({ checked: 1, found: 0, notAtBroker: [intentId] });
    expect(await app2.engine.retryWaiting()).toEqual([]);
    await h.clock.advance(61_000);
    expect(await app2.engine.detectStalls()).toEqual([intentId]);
    expect(r.placements()).toBe(1);
    expect((await r.sim.findByOrderRef(intentId)).orders).toHaveLength(0);
    expect(await r.sim.openOrders()).toHaveLength(0);
    expect((await app2.store.tx((tx) => tx.intents.get(intentId)))?.state).toBe('STALLED');
    expect(await app2.db.alert.count({ where: { type: 'POSITION_STALLED' } })).toBe(1);
    const trail = await parsedBeads(h, intentId);
    expect(expectBeads(trail, 'POSITION').map((b) => b.data.to)).toEqual(['APPROVED', 'SUBMITTED', 'STALLED']);
    expect(expectBeads(trail, 'ORDER').filter((b) => b.data.event === 'PLACING')).toHaveLength(1); // one attempt, never re-sent
    expect(expectBeads(trail, 'ALERT').map((b) => b.data.alertType)).toEqual(['POSITION_STALLED']);
  });

  it('INV-IDEMPOTENT-ORDER-1: unknown outcome (non-refusal error after the send) is not a rejection; restart attaches the order, nothing re-sent', async () => {
    const r = await rig('unknown-outcome');
    h = r.h;
    const { intentId, cardId } = await propose(h);
    const d = await h.engine.decide(cardId, 'APPROVE', approver);
    expect(d.kind === 'approved' && d.submit.kind).toBe('unknown');
    await h.settle();
    const beads = expectBeads(await parsedBeads(h, intentId), 'ORDER');
    expect(beads.filter((b) => b.data.event === 'PLACE_FAILED').map((b) => b.data.detail)).toEqual([expect.stringMatching(/unknown outcome, reconciling: socket hang up/)]);
    expect(beads.filter((b) => b.data.event === 'PLACE_FAILED' && b.data.role === 'ENTRY')).toHaveLength(1);
    // not treated as a rejection: no REJECTED/CANCELLED transition, no ORDER_REJECTED alert
    expect((await positionPath(h, intentId)).some((p) => p.endsWith('>REJECTED') || p.endsWith('>CANCELLED'))).toBe(false);
    expect(await h.app.db.alert.count({ where: { type: 'ORDER_REJECTED' } })).toBe(0);
    // the live process heard the fill anyway; a restart must still not duplicate anything
    app2 = await restart(r);
    await app2.engine.recoverFromBroker();
    await settleApp(app2);
    expect(r.placements()).toBe(1);
    expect((await r.sim.findByOrderRef(intentId)).orders.filter((o) => o.role === 'ENTRY')).toHaveLength(1);
    expect(await app2.db.fill.count({ where: { intentId } })).toBe(1);
    const rows = await app2.db.brokerOrder.findMany({ where: { intentId } });
    expect(rows.every((o) => o.brokerOrderId !== null)).toBe(true);
    expect((await app2.store.tx((tx) => tx.intents.get(intentId)))?.state).toBe('MANAGED');
  });

  it('INV-IDEMPOTENT-ORDER-1: broker timeout (no ack) → SUBMITTED then STALLED; restart attaches by orderRef; the late fill completes it; one order only', async () => {
    h = await harness();
    const { intentId, cardId } = await propose(h);
    h.sim!.faults.timeoutNext();
    const d = await h.engine.decide(cardId, 'APPROVE', approver);
    expect(d.kind === 'approved' && d.submit.kind).toBe('submitted');
    await h.clock.advance(61_000);
    expect(await h.engine.detectStalls()).toEqual([intentId]);
    h.engine.detach(); // crash
    const sim = h.sim!;
    app2 = await createApp({ config: h.config, clock: h.clock, random: seededRandom(99), logger: silentLogger, broker: sim, chatId: CHAT_ID });
    app2.engine.attachBroker();
    const rep = await app2.engine.recoverFromBroker();
    expect(rep.found).toBe(1);
    expect(await app2.engine.retryWaiting()).toEqual([]);
    sim.faults.lateFill(intentId);
    await settleApp(app2);
    const i = await app2.store.tx((tx) => tx.intents.get(intentId));
    expect(i?.state).toBe('MANAGED');
    expect(await positionPath(h, intentId)).toEqual(['PROPOSED>APPROVED', 'APPROVED>SUBMITTED', 'SUBMITTED>STALLED', 'STALLED>FILLED', 'FILLED>MANAGED']);
    expect((await sim.findByOrderRef(intentId)).orders.filter((o) => o.role === 'ENTRY')).toHaveLength(1);
    expect((await sim.executions()).filter((f) => f.orderRef === intentId && f.role === 'ENTRY')).toHaveLength(1);
  });
});

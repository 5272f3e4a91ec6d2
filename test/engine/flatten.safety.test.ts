/**
 * SAFE-1 / SAFE-2 (issue 12): flatten can never reverse a position and leaves no entry that can
 * still fill — checked against the simulated broker's own book (positions and orders), not
 * against Phoenix's view of it.
 */
import { describe, expect, it } from 'vitest';
import type { BracketRequest, PlacedLeg, SubmitPermit } from '../../src/engine/broker.port.js';
import { SimBroker } from '../../src/broker/sim/index.js';
import { seededRandom } from '../../src/engine/ports.js';
import { flattenIssueText } from '../../src/present/flatten.text.js';
import { admin, approver, cardOf, intentOf, system, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { alerts, approveOne, beads, expectState } from '../jobs/helpers.js';

let h: Harness | undefined;
const harness = useHarness();

/** Net position the broker holds in MES (0 when it reports none). */
async function brokerMes(hh: Harness): Promise<number> {
  return (await hh.broker.positions()).filter((p) => p.instrument.symbol === 'MES').reduce((a, p) => a + p.quantity, 0);
}

async function brokerOrders(hh: Harness, intentId: string, role?: string) {
  return (await hh.broker.findByOrderRef(intentId)).orders.filter((o) => !role || o.role === role);
}

describe('SAFE-1: flatten reverses positions', () => {
  it('SAFE-1: INV-FLATTEN-EXIT-1: the 15:55 job, an admin /flatten and a second confirmed card at once → one market exit, the broker ends flat (never −1), exits ≤ fills', async () => {
    h = await harness();
    const id = await approveOne(h);
    await expectState(h, id, 'MANAGED');
    expect(await brokerMes(h)).toBe(1);
    const reports = await Promise.all([h.engine.flatten(system, 'flatten deadline 15:55'), h.engine.flatten(admin), h.engine.flatten(admin)]);
    await h.settle();
    expect(await brokerOrders(h, id, 'EXIT')).toHaveLength(1);
    expect(await brokerMes(h)).toBe(0);
    const intent = await intentOf(h, id);
    expect(intent.state).toBe('CLOSED');
    expect(intent.exitQty).toBe(intent.filledQty);
    expect(intent.realizedPnlCents).not.toBeNull();
    expect(reports.every((r) => r.ok)).toBe(true);
    // the exit was reserved once: one RESERVED bead, one PLACING bead
    const exitBeads = (await beads(h, 'ORDER')).filter((b) => b.intentId === id && b.data.role === 'EXIT');
    expect(exitBeads.filter((b) => b.data.event === 'RESERVED')).toHaveLength(1);
    expect(exitBeads.filter((b) => b.data.event === 'PLACING')).toHaveLength(1);
  });

  it('SAFE-1: INV-FLATTEN-EXIT-1: /flatten again while the first market exit is still working sends nothing more; the broker ends flat', async () => {
    h = await harness();
    const id = await approveOne(h);
    h.sim!.faults.delayNext(30_000); // the market exit rests 30 s before it fills
    const first = await h.engine.flatten(admin);
    await h.settle();
    expect(await brokerOrders(h, id, 'EXIT')).toHaveLength(1);
    // honest: at the answer the broker has not confirmed the stop/target cancels yet
    expect(first.pending).toContainEqual(expect.objectContaining({ intentId: id, problem: 'AWAITING_CANCEL' }));
    expect(first.pending.map(flattenIssueText).join('\n')).toMatch(/waiting for the broker to confirm the (STOP|TARGET|STOP\/TARGET) cancel before the market exit/);
    const second = await h.engine.flatten(admin);
    const third = await h.engine.flatten(system, 'flatten deadline 15:55');
    await h.settle();
    expect(await brokerOrders(h, id, 'EXIT')).toHaveLength(1);
    expect(second.ok && third.ok).toBe(true);
    await h.clock.advance(30_000);
    await h.settle();
    expect(await brokerMes(h)).toBe(0);
    await expectState(h, id, 'CLOSED');
    expect((await intentOf(h, id)).exitQty).toBe(1);
  });

  it('SAFE-1: INV-FLATTEN-EXIT-1: the stop fills at the broker just before the flatten, its events not yet applied → no market exit is sent, the broker stays flat', async () => {
    h = await harness();
    const id = await approveOne(h);
    h.sim!.simulatePrice('MES', 6007.5); // stop hit at the broker; Phoenix has not seen the events yet
    const r = await h.engine.flatten(admin);
    await h.settle();
    expect(await brokerOrders(h, id, 'EXIT')).toHaveLength(0);
    expect(await brokerMes(h)).toBe(0);
    const intent = await intentOf(h, id);
    expect(intent.state).toBe('CLOSED');
    expect(intent.exitQty).toBe(1);
    expect(r.ok).toBe(true);
    const notNeeded = (await beads(h, 'ORDER')).find((b) => b.intentId === id && b.data.role === 'EXIT' && b.data.event === 'NOT_NEEDED');
    expect(notNeeded?.data.detail).toMatch(/nothing open at the broker/);
  });

  it('SAFE-1: the FLATTEN alert is written with the reservation (one per flatten), and a flatten with nothing open changes nothing at the broker', async () => {
    h = await harness();
    const r = await h.engine.flatten(admin);
    expect(r).toMatchObject({ ok: true, closing: [], cancelled: [], pending: [], failed: [] });
    expect(await alerts(h, 'FLATTEN')).toHaveLength(1);
    expect(await h.broker.openOrders()).toHaveLength(0);
  });
});

describe('SAFE-2: flatten leaves entries working', () => {
  it('SAFE-2: INV-FLATTEN-EXIT-1: a partly filled entry (1 of 2) → the remainder is cancelled at the broker, 1 is exited, nothing of the intent can still fill', async () => {
    h = await harness({ constitution: { limits: { maxPositionPerInstrument: 2, maxRiskPerTradeUsd: 30 } } });
    h.sim!.faults.partialNext(0.5);
    const id = await approveOne(h, { quantity: 2 });
    await expectState(h, id, 'MANAGED');
    expect(await brokerMes(h)).toBe(1);
    const r = await h.engine.flatten(admin);
    await h.settle();
    const orders = await brokerOrders(h, id);
    expect(orders.filter((o) => o.status === 'WORKING' || o.status === 'PENDING')).toEqual([]); // no entry, stop or target left
    expect(orders.find((o) => o.role === 'ENTRY')).toMatchObject({ status: 'CANCELLED', filledQty: 1 });
    expect(await brokerMes(h)).toBe(0);
    // the market moves through the old entry limit: nothing fills any more
    h.sim!.simulatePrice('MES', 6000);
    await h.settle();
    expect(await brokerMes(h)).toBe(0);
    const intent = await intentOf(h, id);
    expect(intent).toMatchObject({ state: 'CLOSED', filledQty: 1, exitQty: 1 });
    expect(r.ok).toBe(true);
  });

  it('SAFE-2: an entry still being placed (no broker id yet, the last look not passed) → flatten says so honestly, and the entry never leaves Phoenix', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    h = await harness({ broker: (clock) => new HeldSim(clock, 'before-look', held) });
    const r = await h.engine.submitIntent(h.intent());
    if (r.kind !== 'accepted') throw new Error('not accepted');
    const deciding = h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    await until(async () => (await intentOf(h!, r.intentId)).state === 'SUBMITTED');
    const report = await h.engine.flatten(admin);
    expect(report.pending).toContainEqual(expect.objectContaining({ intentId: r.intentId, problem: 'NO_BROKER_ID', roles: ['ENTRY', 'STOP', 'TARGET'] }));
    expect(report.pending.map(flattenIssueText).join('\n')).toMatch(/ENTRY\/STOP\/TARGET has no broker id yet .*cancelled as soon as the broker reports it/);
    release();
    const d = await deciding;
    await h.settle();
    expect(d).toMatchObject({ kind: 'approved', submit: { kind: 'cancelled', reason: expect.stringContaining('a flatten was requested') } });
    expect(await h.broker.openOrders()).toHaveLength(0);
    expect(await brokerOrders(h, r.intentId)).toHaveLength(0);
    await expectState(h, r.intentId, 'CANCELLED');
    expect((await beads(h, 'ORDER')).some((b) => b.intentId === r.intentId && b.data.event === 'SEND_REFUSED')).toBe(true);
  });

  it('SAFE-2: an entry handed to the broker while the flatten runs (its id not back yet) → cancelled as soon as the id is known; nothing fills', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    h = await harness({ broker: (clock) => new HeldSim(clock, 'after-look', held) });
    (h.broker as HeldSim).faults.timeoutNext(); // recorded at the broker, but no event comes back: only the placement returns the ids
    (h.broker as HeldSim).hiddenWhileHeld = true; // and a lookup by orderRef finds nothing yet (an IB Gateway that never answered)
    const r = await h.engine.submitIntent(h.intent());
    if (r.kind !== 'accepted') throw new Error('not accepted');
    const deciding = h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    await until(async () => (await beads(h!, 'ORDER')).some((b) => b.intentId === r.intentId && b.data.event === 'SENDING'));
    const report = await h.engine.flatten(admin);
    expect(report.pending).toContainEqual(expect.objectContaining({ intentId: r.intentId, problem: 'NO_BROKER_ID' }));
    expect(report.pending.map(flattenIssueText).join('\n')).toMatch(/no broker id yet/);
    release();
    await deciding;
    await h.settle();
    const orders = await brokerOrders(h, r.intentId);
    expect(orders.length).toBe(3);
    expect(orders.filter((o) => o.status === 'WORKING' || o.status === 'PENDING')).toEqual([]); // cancelled once the ids came back
    const cancels = (await beads(h, 'ORDER')).filter((b) => b.intentId === r.intentId && b.data.event === 'CANCEL_REQUESTED');
    expect(cancels.map((b) => b.data.role).sort()).toEqual(['ENTRY', 'STOP', 'TARGET']);
    (h.broker as HeldSim).faults.releaseTimeouts(); // a late fill of the timed-out order must find nothing to fill
    await h.settle();
    expect(await brokerMes(h)).toBe(0);
  });

  it('SAFE-2: an entry at the broker whose id Phoenix never got (placement timed out) → flatten looks it up by orderRef and cancels it at once', async () => {
    h = await harness();
    h.sim!.faults.timeoutNext();
    const r = await h.engine.submitIntent(h.intent());
    if (r.kind !== 'accepted') throw new Error('not accepted');
    await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    await h.app.store.tx(async (tx) => {
      // as after an unknown-outcome placement: the rows never got their broker ids
      for (const role of ['ENTRY', 'STOP', 'TARGET'] as const) await tx.orders.update(r.intentId, role, { brokerOrderId: null });
    });
    const report = await h.engine.flatten(admin);
    await h.settle();
    expect(report.failed).toEqual([]);
    expect((await brokerOrders(h, r.intentId)).filter((o) => o.status === 'WORKING' || o.status === 'PENDING')).toEqual([]);
    h.sim!.faults.releaseTimeouts();
    await h.settle();
    expect(await brokerMes(h)).toBe(0);
    await expectState(h, r.intentId, 'CANCELLED');
  });

  it('SAFE-2: an APPROVED intent waiting for the broker is cancelled by flatten and never submitted when the broker returns', async () => {
    h = await harness({ connect: false });
    const r = await h.engine.submitIntent(h.intent());
    if (r.kind !== 'accepted') throw new Error('not accepted');
    const d = await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    expect(d).toMatchObject({ kind: 'approved', submit: { kind: 'waiting' } });
    const report = await h.engine.flatten(admin);
    expect(report.cancelled).toEqual([r.intentId]);
    await h.broker.connect();
    await h.settle();
    expect(await h.engine.retryWaiting()).toEqual([]);
    expect(await brokerOrders(h, r.intentId)).toHaveLength(0);
    await expectState(h, r.intentId, 'CANCELLED');
  });
});

/** A sim whose placeBracket is held at one point until the test releases it. */
class HeldSim extends SimBroker {
  constructor(
    clock: ConstructorParameters<typeof SimBroker>[0]['clock'],
    private readonly where: 'before-look' | 'after-look',
    private readonly held: Promise<void>,
    _note?: string,
  ) {
    super({ clock, random: seededRandom(7), profile: 'INSTANT', prices: { MES: 6010.25 } });
  }
  hiddenWhileHeld = false;
  private released = false;
  override async findByOrderRef(orderRef: string) {
    return this.hiddenWhileHeld && !this.released ? { orders: [], fills: [] } : super.findByOrderRef(orderRef);
  }
  override async placeBracket(req: BracketRequest, permit: SubmitPermit): Promise<readonly PlacedLeg[]> {
    void this.held.then(() => (this.released = true));
    if (this.where === 'before-look') {
      await this.held;
      return super.placeBracket(req, permit);
    }
    // after the last look: the order reaches the book now, its ids come back to Phoenix later
    const legs = await super.placeBracket(req, permit);
    await this.held;
    return legs;
  }
}

async function until(probe: () => Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

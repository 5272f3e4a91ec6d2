/**
 * Any number of flattens ends flat (INV-FLATTEN-EXIT-1, INV-FLATTEN-DEADLINE-1) — two holes the
 * deterministic simulator found in its 10,000-day run (issue 14, seed 1, day 8652):
 * - a flatten cancelled a working entry, the broker confirmed the cancel and then the execution
 *   already on its way arrived: the flatten had concluded "nothing open" and the account stayed
 *   long, with only an alert. A fill that re-opens a position a flatten dealt with is flattened again.
 * - the deadline flatten recorded its market exit as being sent and the process died before sending
 *   it: after the restart nothing owned it (the exit looked in flight) and the position stayed open
 *   past the deadline. Restart recovery reserves such an exit again and the flatten sends it.
 */
import { describe, expect, it } from 'vitest';
import type { BrokerEvent } from '../../src/engine/broker.port.js';
import { onBrokerEvent } from '../../src/engine/broker-events.usecase.js';
import { flatten } from '../../src/engine/flatten.usecase.js';
import { recoverFromBroker } from '../../src/engine/recovery.usecase.js';
import { admin, approver, cardOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { approveOne, beads, expectState } from '../jobs/helpers.js';
import { internalsOf } from '../../src/engine/testing.js';

let h: Harness | undefined;
const harness = useHarness();

const net = async (hh: Harness, id: string) => (await hh.broker.findByOrderRef(id)).fills.reduce((a, f) => a + (f.side === 'BUY' ? f.quantity : -f.quantity), 0);

describe('any number of flattens ends flat', () => {
  it('INV-FLATTEN-EXIT-1: the entry fills after the flatten\'s confirmed cancel (LATE_FILL) → flattened again at once; the account ends flat', async () => {
    h = await harness();
    h.sim!.faults.delayNext(60 * 60_000); // the entry rests at the broker
    const r = await h.engine.submitIntent(h.intent());
    if (r.kind !== 'accepted') throw new Error('not accepted');
    await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    await h.settle();
    const id = r.intentId;
    await expectState(h, id, 'SUBMITTED');
    h.sim!.faults.fillNextCancel(1, 'after');
    await h.engine.flatten(admin, 'flatten');
    await h.settle();
    await h.settle();
    expect(await net(h, id)).toBe(0);
    await expectState(h, id, 'CLOSED');
    const exits = (await beads(h, 'ORDER')).filter((b) => b.intentId === id && b.data.role === 'EXIT' && b.data.event === 'PLACING');
    expect(exits).toHaveLength(1);
    expect(exits[0]!.data.detail).toContain('flatten again');
  });

  it('INV-FLATTEN-EXIT-1: one under — a flatten that closed the position is not repeated by the fills it caused', async () => {
    h = await harness();
    const id = await approveOne(h);
    await h.engine.flatten(admin, 'flatten');
    await h.settle();
    await expectState(h, id, 'CLOSED');
    expect((await beads(h, 'ORDER')).filter((b) => b.intentId === id && b.data.role === 'EXIT' && b.data.event === 'PLACING')).toHaveLength(1);
  });

  it('INV-FLATTEN-DEADLINE-1: the process died after recording its market exit and before sending it → restart recovery sends it; the account ends flat', async () => {
    h = await harness();
    const id = await approveOne(h);
    await expectState(h, id, 'MANAGED');
    // the process dies with its exit on the way out: its placeOrder never reaches the broker
    h.engine.detach();
    const received: BrokerEvent[] = [];
    const unsubscribe = h.broker.onEvent((e) => received.push(e));
    const real = internalsOf(h.engine).broker;
    const dying = { ...internalsOf(h.engine), broker: Object.assign(Object.create(real) as typeof real, { placeOrder: () => new Promise<never>(() => {}) }) };
    void flatten(dying, admin, 'flatten deadline 15:55');
    for (let i = 0; i < 5; i++) {
      await h.settle();
      for (const e of received.splice(0)) void onBrokerEvent(dying, e); // (the last one hangs in placeOrder)
    }
    unsubscribe();
    h.engine.attachBroker(); // the next process
    const exit = (await h.app.store.tx((tx) => tx.orders.listByIntent(id))).find((o) => o.role === 'EXIT')!;
    expect(exit).toMatchObject({ status: 'PENDING', brokerOrderId: null });
    expect(await net(h, id)).toBe(1);
    await h.engine.recoverFromBroker();
    await h.settle();
    expect(await net(h, id)).toBe(0);
    await expectState(h, id, 'CLOSED');
    expect((await h.broker.findByOrderRef(id)).orders.filter((o) => o.role === 'EXIT')).toHaveLength(1);
  });
});

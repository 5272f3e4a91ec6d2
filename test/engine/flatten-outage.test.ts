/**
 * Found by the deterministic simulator (issue 14, seed 2): the broker connection drops with a
 * position open, the 15:55 flatten runs during the outage (its cancels cannot be sent: the exit
 * stays reserved), the connection comes back after the deadline — and nothing happened: the
 * cancels that failed were never asked again, so the exit waited for legs nobody cancelled and
 * the deadline catch-up skipped a position a flatten owned. INV-FLATTEN-DEADLINE-1.
 */
import { describe, expect, it } from 'vitest';
import { continueFlattens, flatten } from '../../src/engine/flatten.usecase.js';
import { approveOne, beads, expectState } from '../jobs/helpers.js';
import { admin, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { internalsOf } from '../../src/engine/testing.js';

let h: Harness | undefined;
const harness = useHarness();

describe('INV-FLATTEN-DEADLINE-1: a flatten during a broker outage', () => {
  it('INV-FLATTEN-DEADLINE-1: cancels that could not be sent while the broker was down are sent when it is back; the position ends flat', async () => {
    h = await harness();
    const id = await approveOne(h);
    await expectState(h, id, 'MANAGED');
    h.sim!.faults.disconnect();
    await h.settle();
    const report = await h.engine.flatten(admin, 'flatten deadline 15:55');
    expect(report.pending.length + report.failed.length).toBeGreaterThan(0);
    await h.settle();
    await expectState(h, id, 'MANAGED');
    h.sim!.faults.reconnect(); // back after the deadline
    await h.settle();
    await h.settle();
    await expectState(h, id, 'CLOSED');
    const fills = (await h.broker.findByOrderRef(id)).fills;
    expect(fills.reduce((a, f) => a + (f.side === 'BUY' ? f.quantity : -f.quantity), 0)).toBe(0);
    expect((await h.broker.openOrders()).filter((o) => o.orderRef === id)).toEqual([]);
  });

  it('INV-FLATTEN-DEADLINE-1: a process that died between recording its cancels and sending them — the next session asks them again and the position ends flat', async () => {
    // found by the simulator (seed 4038): the flatten waited forever for legs nobody cancelled,
    // and the deadline catch-up skipped the position because a flatten owned it
    h = await harness();
    const id = await approveOne(h);
    await expectState(h, id, 'MANAGED');
    const real = internalsOf(h.engine).broker;
    const dying = Object.assign(Object.create(real) as typeof real, { cancel: () => new Promise<void>(() => {}) }); // the call never leaves
    void flatten({ ...internalsOf(h.engine), broker: dying }, admin, 'flatten');
    await h.settle();
    const asked = (await beads(h, 'ORDER')).filter((b) => b.intentId === id && b.data.event === 'CANCEL_REQUESTED');
    expect(asked.length).toBeGreaterThan(0);
    expect((await h.broker.openOrders()).filter((o) => o.orderRef === id).map((o) => o.role).sort()).toEqual(['STOP', 'TARGET']);
    // the next process's broker session
    await continueFlattens(internalsOf(h.engine));
    await h.settle();
    await expectState(h, id, 'CLOSED');
    const fills = (await h.broker.findByOrderRef(id)).fills;
    expect(fills.reduce((a, f) => a + (f.side === 'BUY' ? f.quantity : -f.quantity), 0)).toBe(0);
    expect((await h.broker.openOrders()).filter((o) => o.orderRef === id)).toEqual([]);
  });
});

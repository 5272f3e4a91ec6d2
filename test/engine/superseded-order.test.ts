/**
 * Found by the deterministic simulator (issue 14, seed 7): a re-protected position (the exchange
 * cancelled its stop, the approver placed a new one) and a restart. Recovery replays every order
 * of the intent, the dead stop's CANCELLED too; applied to the STOP leg's one row, it named the old
 * order and pinned the row CANCELLED while the new stop worked at the broker. The 15:55 flatten
 * then closed the position but left that stop working — it fired two days later into a reversed
 * position. A status of an order the leg no longer is must change nothing.
 */
import { describe, expect, it } from 'vitest';
import { admin, approver, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { approveOne, expectState } from '../jobs/helpers.js';

let h: Harness | undefined;
const harness = useHarness();

async function stopRow(hh: Harness, intentId: string) {
  return (await hh.app.store.tx((tx) => tx.orders.listByIntent(intentId))).find((o) => o.role === 'STOP')!;
}

describe('INV-FLATTEN-EXIT-1: a superseded stop after a re-protect and a restart', () => {
  it('INV-FLATTEN-EXIT-1: recovery replays the dead stop\'s CANCELLED; the row keeps the working re-protect stop, the flatten cancels it, and nothing reverses the account later', async () => {
    h = await harness();
    const id = await approveOne(h);
    const first = (await stopRow(h, id)).brokerOrderId!;
    expect(h.sim!.faults.cancelByBroker(first)).toBe(true); // the exchange kills the stop
    await h.settle();
    await expectState(h, id, 'FILLED');
    const r = await h.engine.reprotect(id, approver);
    expect(r.ok).toBe(true);
    await h.settle();
    await expectState(h, id, 'MANAGED');
    const second = (await stopRow(h, id)).brokerOrderId!;
    expect(second).not.toBe(first);

    await h.engine.recoverFromBroker(); // what a restart does: every order of the intent, the old stop too
    await h.settle();
    expect(await stopRow(h, id)).toMatchObject({ brokerOrderId: second, status: 'WORKING' });
    await expectState(h, id, 'MANAGED');

    await h.engine.flatten(admin, 'deadline');
    await h.settle();
    await expectState(h, id, 'CLOSED');
    const atBroker = (await h.broker.findByOrderRef(id)).orders;
    expect(atBroker.filter((o) => o.status === 'WORKING' || o.status === 'PENDING')).toEqual([]);
    h.sim!.simulatePrice('MES', 6007); // through the stop price: nothing may fire
    await h.settle();
    const fills = (await h.broker.findByOrderRef(id)).fills;
    const net = fills.reduce((a, f) => a + (f.side === 'BUY' ? f.quantity : -f.quantity), 0);
    expect(net).toBe(0);
    expect((await intentOf(h, id)).state).toBe('CLOSED');
  });
});

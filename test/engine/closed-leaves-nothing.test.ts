/**
 * Found by the deterministic simulator (issue 14, seed 21): the exchange cancelled a position's
 * stop, the approver re-protected it (a new stop, outside the bracket's one-cancels-other group),
 * the new stop closed the position — and the bracket's target stayed working at the broker. Days
 * later the market reached it and it bought into a position that no longer existed: the account
 * was reversed. A closed position leaves nothing working at the broker. INV-FLATTEN-EXIT-1.
 */
import { describe, expect, it } from 'vitest';
import type { BrokerEvent } from '../../src/engine/broker.port.js';
import { applyFill } from '../../src/engine/fill.usecase.js';
import { recoverFromBroker } from '../../src/engine/recovery.usecase.js';
import { approveOne, expectState } from '../jobs/helpers.js';
import { approver, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { internalsOf } from '../../src/engine/testing.js';

let h: Harness | undefined;
const harness = useHarness();

const working = async (hh: Harness, id: string) => (await hh.broker.findByOrderRef(id)).orders.filter((o) => o.status === 'WORKING' || o.status === 'PENDING').map((o) => o.role);

describe('INV-FLATTEN-EXIT-1: a closed position leaves nothing working at the broker', () => {
  it('INV-FLATTEN-EXIT-1: the re-protect stop closes the position → the bracket target is cancelled; a later move through it buys nothing', async () => {
    h = await harness();
    const id = await approveOne(h); // BUY 1 MES at 6010.25, stop 6008, target 6015
    const stop = (await h.app.store.tx((tx) => tx.orders.listByIntent(id))).find((o) => o.role === 'STOP')!;
    h.sim!.faults.cancelByBroker(stop.brokerOrderId!);
    await h.settle();
    expect((await h.engine.reprotect(id, approver)).ok).toBe(true);
    await h.settle();
    await expectState(h, id, 'MANAGED');
    expect((await working(h, id)).sort()).toEqual(['STOP', 'TARGET']);
    h.sim!.simulatePrice('MES', 6007.5); // the re-protect stop fills
    await h.settle();
    await h.settle();
    await expectState(h, id, 'CLOSED');
    expect(await working(h, id)).toEqual([]);
    h.sim!.simulatePrice('MES', 6016); // through the old target: nothing may fire
    await h.settle();
    const fills = (await h.broker.findByOrderRef(id)).fills;
    expect(fills.reduce((a, f) => a + (f.side === 'BUY' ? f.quantity : -f.quantity), 0)).toBe(0);
    await expectState(h, id, 'CLOSED');
  });

  it('INV-FLATTEN-EXIT-1: killed right after the closing fill was booked (its cancel never sent) → the restart cancels the target; a later move through it buys nothing', async () => {
    // found by the simulator (seed 3001): the target stayed working for hours and reversed the account
    h = await harness();
    const id = await approveOne(h);
    const stop = (await h.app.store.tx((tx) => tx.orders.listByIntent(id))).find((o) => o.role === 'STOP')!;
    h.sim!.faults.cancelByBroker(stop.brokerOrderId!);
    await h.settle();
    expect((await h.engine.reprotect(id, approver)).ok).toBe(true);
    await h.settle();
    await expectState(h, id, 'MANAGED');
    // the process books the re-protect stop's fill and dies before its follow-up
    h.engine.detach();
    const received: BrokerEvent[] = [];
    h.broker.onEvent((e) => received.push(e));
    h.sim!.simulatePrice('MES', 6007.5);
    await h.settle();
    for (const e of received) if (e.kind === 'fill') await h.app.store.tx((tx) => applyFill(internalsOf(h!.engine), tx, e.fill));
    await expectState(h, id, 'CLOSED');
    expect(await working(h, id)).toEqual(['TARGET']);
    // the next process starts: restart recovery
    await h.engine.recoverFromBroker();
    expect(await working(h, id)).toEqual([]);
    h.sim!.simulatePrice('MES', 6016);
    const fills = (await h.broker.findByOrderRef(id)).fills;
    expect(fills.reduce((a, f) => a + (f.side === 'BUY' ? f.quantity : -f.quantity), 0)).toBe(0);
  });
});

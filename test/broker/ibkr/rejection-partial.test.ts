import { afterAll, describe, expect, it } from 'vitest';
import type { BrokerEvent } from '../../../src/engine/broker.port.js';
import { aaplBracket, decoderErrorsSeen, makeRig, permitFor, sleep, type Rig } from './harness.js';
import { closeAfterEach } from '../../support/cleanup.js';

type StatusEvent = Extract<BrokerEvent, { kind: 'orderStatus' }>;

describe('CV broker rejection (margin)', () => {
  let rig: Rig | undefined;
  const newRig = closeAfterEach(makeRig);
  afterAll(() => expect(decoderErrorsSeen()).toEqual([]));

  it('CV broker rejection (margin): 201 → REJECTED with the reason and code; children cancelled; no retry', async () => {
    rig = await newRig();
    rig.server.setBehavior(
      { orderRef: 'margin-1' },
      { kind: 'reject', code: 201, reason: 'Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY WITH LOAN VALUE MUST EXCEED THE INITIAL MARGIN' },
    );
    const legs = await rig.broker.placeBracket(aaplBracket('margin-1'), permitFor('margin-1'));
    const rejected = await rig.waitForEvent((e) => e.orderRef === 'margin-1' && e.role === 'ENTRY' && e.status === 'REJECTED', 'orderStatus');
    expect(rejected.code).toBe(201);
    expect(rejected.reason).toMatch(/INITIAL MARGIN/);
    expect(rejected.brokerOrderId).toBe(legs[0]?.brokerOrderId);
    await rig.waitForEvent((e) => e.orderRef === 'margin-1' && e.role === 'STOP' && e.status === 'CANCELLED', 'orderStatus');
    await rig.waitForEvent((e) => e.orderRef === 'margin-1' && e.role === 'TARGET' && e.status === 'CANCELLED', 'orderStatus');
    await sleep(300);
    // the Cancelled status that follows the 201 does not turn the entry into CANCELLED
    const entry = rig.events.filter((e): e is StatusEvent => e.kind === 'orderStatus' && e.role === 'ENTRY').map((e) => e.status);
    expect(entry.at(-1)).toBe('REJECTED');
    expect(entry).not.toContain('CANCELLED');
    // no retry: exactly one placement of the entry (3 legs in total) for that ref
    const placed = rig.server.placements.filter((p) => p.orderRef === 'margin-1');
    expect(placed.filter((p) => p.parentId === 0)).toHaveLength(1);
    expect(placed).toHaveLength(3);
    const report = await rig.broker.findByOrderRef('margin-1');
    expect(report.orders.find((o) => o.role === 'ENTRY')?.status).toBe('REJECTED');
    expect(report.fills).toHaveLength(0);
  });

  it('CV broker rejection (margin): Inactive status after 201 stays REJECTED (one event carries the reason)', async () => {
    rig = await newRig();
    rig.server.setBehavior({ orderRef: 'margin-2' }, { kind: 'reject', status: 'Inactive' });
    await rig.broker.placeBracket(aaplBracket('margin-2'), permitFor('margin-2'));
    const rejected = await rig.waitForEvent((e) => e.orderRef === 'margin-2' && e.role === 'ENTRY' && e.status === 'REJECTED', 'orderStatus');
    expect(rejected).toMatchObject({ code: 201 });
    expect(rejected.reason).toMatch(/Insufficient margin/);
    await sleep(200);
    expect(rig.events.filter((e) => e.kind === 'orderStatus' && e.orderRef === 'margin-2' && e.role === 'ENTRY' && e.status === 'REJECTED')).toHaveLength(1);
  });
});

describe('CV partial fill 50%', () => {
  let rig: Rig | undefined;
  const newRig = closeAfterEach(makeRig);

  it('CV partial fill 50%: fill event for half, status WORKING with filledQty', async () => {
    rig = await newRig();
    rig.server.setBehavior({ orderRef: 'half-1' }, { kind: 'partial', ratio: 0.5 });
    await rig.broker.placeBracket(aaplBracket('half-1', { quantity: 10 }), permitFor('half-1'));
    const fill = await rig.waitForEvent((e) => e.fill.orderRef === 'half-1', 'fill');
    expect(fill.fill).toMatchObject({ role: 'ENTRY', quantity: 5, side: 'BUY', price: 190, commission: 3.1 });
    const working = await rig.waitForEvent(
      (e) => e.orderRef === 'half-1' && e.role === 'ENTRY' && e.status === 'WORKING' && e.filledQty === 5,
      'orderStatus',
    );
    expect(working.filledQty).toBe(5);
    await sleep(200);
    expect(rig.events.filter((e) => e.kind === 'fill')).toHaveLength(1);
    expect(rig.events.some((e) => e.kind === 'orderStatus' && e.role === 'ENTRY' && e.status === 'FILLED')).toBe(false);
    const report = await rig.broker.findByOrderRef('half-1');
    expect(report.orders.find((o) => o.role === 'ENTRY')).toMatchObject({ status: 'WORKING', filledQty: 5, quantity: 10, avgFillPrice: 190 });
    expect(report.fills.map((f) => f.quantity)).toEqual([5]);
    // children wait for the parent to fill completely
    expect(report.orders.find((o) => o.role === 'STOP')?.status).toBe('WORKING');
    expect(rig.server.orders().filter((o) => o.parentId > 0).map((o) => o.status)).toEqual(['PreSubmitted', 'PreSubmitted']);
  });

  it('CV partial fill 50%: the rest filling later completes the order', async () => {
    rig = await newRig();
    rig.server.setBehavior({ orderRef: 'half-2' }, { kind: 'partial', ratio: 0.5 });
    const legs = await rig.broker.placeBracket(aaplBracket('half-2', { quantity: 10 }), permitFor('half-2'));
    await rig.waitForEvent((e) => e.orderRef === 'half-2' && e.role === 'ENTRY' && e.filledQty === 5, 'orderStatus');
    rig.server.fillOrder(Number(legs[0]?.brokerOrderId), { price: 191 });
    const filled = await rig.waitForEvent((e) => e.orderRef === 'half-2' && e.role === 'ENTRY' && e.status === 'FILLED', 'orderStatus');
    expect(filled.filledQty).toBe(10);
    const report = await rig.broker.findByOrderRef('half-2');
    expect(report.fills.map((f) => [f.quantity, f.price])).toEqual([
      [5, 190],
      [5, 191],
    ]);
    expect(report.orders.find((o) => o.role === 'ENTRY')?.avgFillPrice).toBeCloseTo(190.5);
  });
});

describe('CV broker timeout', () => {
  let rig: Rig | undefined;
  const newRig = closeAfterEach(makeRig);

  it('CV broker timeout: a gateway that never answers leaves the order unconfirmed (no status, never REJECTED); recovery still finds it', async () => {
    rig = await newRig();
    rig.server.setBehavior({ orderRef: 'silent-1' }, { kind: 'never' });
    const legs = await rig.broker.placeBracket(aaplBracket('silent-1'), permitFor('silent-1'));
    expect(legs).toHaveLength(3); // written to the socket: the placement itself succeeded
    await sleep(300);
    expect(rig.events.filter((e) => e.kind === 'orderStatus' || e.kind === 'fill')).toEqual([]);
    const report = await rig.broker.findByOrderRef('silent-1');
    expect(report.orders.map((o) => o.status)).toEqual(['WORKING', 'WORKING', 'WORKING']);
  });

  it('CV broker timeout: a delayed fill arrives after the delay', async () => {
    rig = await newRig();
    rig.server.setBehavior({ symbol: 'AAPL' }, { kind: 'fill', delayMs: 250 });
    const t0 = Date.now();
    await rig.broker.placeBracket(aaplBracket('slow-1'), permitFor('slow-1'));
    await rig.waitForEvent((e) => e.orderRef === 'slow-1' && e.role === 'ENTRY' && e.status === 'WORKING', 'orderStatus');
    const f = await rig.waitForEvent((e) => e.fill.orderRef === 'slow-1', 'fill', 3000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(f.fill.quantity).toBe(10);
  });
});

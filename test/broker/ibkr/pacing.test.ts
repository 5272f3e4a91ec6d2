import { afterAll, describe, expect, it } from 'vitest';
import { decoderErrorsSeen, makeRig, mesBracket, permitFor, waitFor, type Rig } from './harness.js';
import { closeAfterEach } from '../../support/cleanup.js';

describe('CV pacing burst', () => {
  let rig: Rig | undefined;
  const newRig = closeAfterEach(makeRig);
  afterAll(() => expect(decoderErrorsSeen()).toEqual([]));

  it('CV pacing burst: 100 bracket orders (300 legs) at once are queued, all reach the server in order, no error 100, max rate ≤ 45/s', async () => {
    rig = await newRig();
    const server = rig.server;
    const refs = Array.from({ length: 100 }, (_, i) => `burst-${String(i).padStart(3, '0')}`);
    const t0 = Date.now();
    const placed = await Promise.all(refs.map((r) => rig!.broker.placeBracket(mesBracket(r), permitFor(r))));
    await waitFor(() => server.placements.length === 300, 5000, '300 legs at the server');
    const elapsed = Date.now() - t0;

    expect(server.pacingViolations).toBe(0);
    expect(server.maxObservedRate).toBeLessThanOrEqual(45);
    expect(rig.events.filter((e) => e.kind === 'error' && e.code === 100)).toHaveLength(0);
    expect(server.duplicateIdErrors).toBe(0);

    // every orderRef accounted for: 3 legs each, sent in order, ids strictly increasing
    const ids = server.placements.map((p) => p.orderId);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(300);
    for (const [i, r] of refs.entries()) {
      const legs = server.placements.filter((p) => p.orderRef === r);
      expect(legs.map((p) => p.transmit)).toEqual([false, false, true]);
      expect(placed[i]?.map((l) => l.brokerOrderId)).toEqual(legs.map((p) => String(p.orderId)));
    }
    const refsAtServer = new Set(server.placements.map((p) => p.orderRef));
    expect(refsAtServer.size).toBe(100);

    // the adapter's own view agrees
    await waitFor(
      () => rig!.events.filter((e) => e.kind === 'orderStatus' && e.role === 'ENTRY' && e.status === 'FILLED').length === 100,
      5000,
      '100 entry fills',
    );
    const open = await rig.broker.openOrders();
    expect(open).toHaveLength(200); // stops + targets resting
    console.log(
      `[pacing] 300 legs + ${server.received.length - 300} other messages in ${elapsed} ms; max ${server.maxObservedRate} msgs in any rolling second; violations ${server.pacingViolations}`,
    );
  }, 30_000);

  it('CV pacing burst: error 100 from the gateway is logged and emitted as an event, never a crash', async () => {
    rig = await newRig({ server: { maxMessagesPerSecond: 3 } });
    const refs = ['p-1', 'p-2', 'p-3'];
    await Promise.all(refs.map((r) => rig!.broker.placeBracket(mesBracket(r), permitFor(r))));
    const e = await rig.waitForEvent((x) => x.code === 100, 'error');
    expect(e.message).toMatch(/Max rate of messages per second/);
    expect(rig.server.pacingViolations).toBeGreaterThan(0);
    expect(rig.broker.health().state).toBe('READY');
    await waitFor(() => rig?.server.placements.length === 9, 3000, 'all legs still delivered');
  });
});

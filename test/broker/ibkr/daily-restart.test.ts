import { afterAll, describe, expect, it } from 'vitest';
import { decoderErrorsSeen, makeRig, mesBracket, permitFor, sleep, waitFor, type Rig } from './harness.js';
import { closeAfterEach } from '../../support/cleanup.js';

describe('CV gateway daily restart', () => {
  let rig: Rig | undefined;
  const newRig = closeAfterEach(makeRig);
  afterAll(() => expect(decoderErrorsSeen()).toEqual([]));

  it('CV gateway daily restart: stop + restart on the same port inside the backoff window → reconnect, ids re-seeded (no 103), earlier orders found by orderRef', async () => {
    rig = await newRig({ broker: { reconnect: { maxAttempts: 3, baseDelayMs: 150, maxDelayMs: 1000 } } });
    const server = rig.server;
    const port = server.port;
    const before = await rig.broker.placeBracket(mesBracket('pre-restart'), permitFor('pre-restart'));
    await rig.waitForEvent((e) => e.orderRef === 'pre-restart' && e.role === 'ENTRY' && e.status === 'FILLED', 'orderStatus');
    const maxIdBefore = Math.max(...before.map((l) => Number(l.brokerOrderId)));

    await server.stop(); // nightly restart: the gateway goes away …
    await sleep(40);
    await server.restart(); // … and comes back on the same port before the first retry
    expect(server.port).toBe(port);
    const ready = await rig.waitForEvent((e) => e.state === 'READY' && (e.attempt ?? 0) >= 1, 'connection', 5000);
    expect(ready.attempt).toBe(1);

    const after = await rig.broker.placeBracket(mesBracket('post-restart'), permitFor('post-restart'));
    expect(Math.min(...after.map((l) => Number(l.brokerOrderId)))).toBeGreaterThan(maxIdBefore);
    await waitFor(() => server.placements.length === 6, 2000, 'second bracket at the server');
    expect(server.duplicateIdErrors).toBe(0);
    expect(rig.events.filter((e) => e.kind === 'error' && e.code === 103)).toHaveLength(0);

    const report = await rig.broker.findByOrderRef('pre-restart');
    expect(report.orders.map((o) => [o.role, o.status]).sort()).toEqual([
      ['ENTRY', 'FILLED'],
      ['STOP', 'WORKING'],
      ['TARGET', 'WORKING'],
    ]);
    expect(report.fills).toHaveLength(1);
    expect(report.fills[0]).toMatchObject({ orderRef: 'pre-restart', role: 'ENTRY', side: 'BUY', quantity: 1, price: 6000 });
    expect(report.orders.map((o) => o.brokerOrderId).sort()).toEqual(before.map((l) => l.brokerOrderId).sort());
  });

  it('CV gateway daily restart: a restarted process (new adapter, same clientId) finds earlier orders and fills by orderRef', async () => {
    rig = await newRig();
    const legs = await rig.broker.placeBracket(mesBracket('crash-1'), permitFor('crash-1'));
    await rig.waitForEvent((e) => e.orderRef === 'crash-1' && e.role === 'ENTRY' && e.status === 'FILLED', 'orderStatus');
    rig.server.movePrice('MES', 6011); // target fills, stop cancelled (OCA)
    await rig.waitForEvent((e) => e.orderRef === 'crash-1' && e.role === 'STOP' && e.status === 'CANCELLED', 'orderStatus');
    await rig.broker.disconnect(); // the process dies
    await waitFor(() => rig?.server.sessionCount === 0, 2000, 'old session gone at the gateway');

    const second = rig.newBroker();
    await second.broker.connect();
    const report = await second.broker.findByOrderRef('crash-1');
    const byRole = Object.fromEntries(report.orders.map((o) => [o.role, o]));
    expect(Object.keys(byRole).sort()).toEqual(['ENTRY', 'STOP', 'TARGET']);
    expect(byRole.ENTRY).toMatchObject({ status: 'FILLED', filledQty: 1, side: 'BUY', type: 'MKT' });
    expect(byRole.TARGET).toMatchObject({ status: 'FILLED', filledQty: 1, side: 'SELL', type: 'LMT', limitPrice: 6010 });
    expect(byRole.STOP).toMatchObject({ status: 'CANCELLED', side: 'SELL', type: 'STP', stopPrice: 5990 });
    // filled legs are matched back to their original order ids through the executions
    expect(byRole.ENTRY?.brokerOrderId).toBe(legs.find((l) => l.role === 'ENTRY')?.brokerOrderId);
    expect(byRole.TARGET?.brokerOrderId).toBe(legs.find((l) => l.role === 'TARGET')?.brokerOrderId);
    expect(report.fills.map((f) => [f.role, f.side, f.price]).sort()).toEqual([
      ['ENTRY', 'BUY', 6000],
      ['TARGET', 'SELL', 6010],
    ]);
    // the new process must not reuse ids
    const more = await second.broker.placeBracket(mesBracket('crash-2'), permitFor('crash-2'));
    expect(Math.min(...more.map((l) => Number(l.brokerOrderId)))).toBeGreaterThan(Math.max(...legs.map((l) => Number(l.brokerOrderId))));
    await waitFor(() => rig?.server.placements.length === 6, 2000, 'crash-2 at the server');
    expect(rig.server.duplicateIdErrors).toBe(0);
  });
});

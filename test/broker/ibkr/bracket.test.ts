import { afterAll, describe, expect, it } from 'vitest';
import { BrokerRefusedError, BrokerUnavailableError, type BrokerEvent } from '../../../src/engine/broker.port.js';
import { AAPL, MES, aaplBracket, decoderErrorsSeen, makeRig, mesBracket, permitFor, rejectionOf, sleep, waitFor, type Rig } from './harness.js';
import { closeAfterEach } from '../../support/cleanup.js';

type StatusEvent = Extract<BrokerEvent, { kind: 'orderStatus' }>;

describe('CV bracket', () => {
  let rig: Rig | undefined;
  const newRig = closeAfterEach(makeRig);
  afterAll(() => expect(decoderErrorsSeen()).toEqual([]));

  it('CV bracket: three linked orders (parentId, shared ocaGroup, transmit false/false/true, orderRef on all legs) and a stop fill cancels the target', async () => {
    rig = await newRig();
    const server = rig.server;
    const legs = await rig.broker.placeBracket(mesBracket('br-1'), permitFor('br-1'));
    expect(legs.map((l) => l.role)).toEqual(['ENTRY', 'TARGET', 'STOP']);
    await waitFor(() => server.placements.length === 3, 2000, 'three legs');
    const [parent, target, stop] = server.placements;
    const parentId = Number(legs[0]?.brokerOrderId);
    expect(parent).toMatchObject({
      orderId: parentId,
      action: 'BUY',
      orderType: 'MKT',
      transmit: false,
      parentId: 0,
      tif: 'DAY',
      orderRef: 'br-1',
      account: 'DU1234567',
      conId: 770561201,
      totalQuantity: 1,
    });
    // MONEY-10: reduce-on-fill OCA with block (2), and futures exits work outside regular hours
    expect(target).toMatchObject({ action: 'SELL', orderType: 'LMT', lmtPrice: 6010, transmit: false, parentId, tif: 'GTC', orderRef: 'br-1', ocaType: 2, outsideRth: true });
    expect(stop).toMatchObject({ action: 'SELL', orderType: 'STP', auxPrice: 5990, transmit: true, parentId, tif: 'GTC', orderRef: 'br-1', ocaType: 2, outsideRth: true });
    expect(parent?.outsideRth).toBe(false);
    expect(target?.ocaGroup).not.toBe('');
    expect(stop?.ocaGroup).toBe(target?.ocaGroup);
    expect(parent?.ocaGroup).toBe('');
    expect(stop?.account).toBe('DU1234567');

    // entry fills at market; children become live
    const entryFill = await rig.waitForEvent((e) => e.fill.orderRef === 'br-1' && e.fill.role === 'ENTRY', 'fill');
    expect(entryFill.fill).toMatchObject({ side: 'BUY', quantity: 1, price: 6000, commission: 0.62, brokerOrderId: String(parentId) });
    await rig.waitForEvent((e) => e.orderRef === 'br-1' && e.role === 'ENTRY' && e.status === 'FILLED' && e.filledQty === 1, 'orderStatus');
    await rig.waitForEvent((e) => e.orderRef === 'br-1' && e.role === 'STOP' && e.status === 'WORKING', 'orderStatus');

    server.movePrice('MES', 5989.75);
    const stopFill = await rig.waitForEvent((e) => e.fill.role === 'STOP', 'fill');
    expect(stopFill.fill).toMatchObject({ orderRef: 'br-1', side: 'SELL', quantity: 1, price: 5990 });
    const cancelled = await rig.waitForEvent((e) => e.role === 'TARGET' && e.status === 'CANCELLED', 'orderStatus');
    expect(cancelled.orderRef).toBe('br-1');
    expect(server.findOrder(Number(legs[1]?.brokerOrderId))?.status).toBe('Cancelled');

    // broker order: fill event before the FILLED status of the same leg
    const kinds = rig.events
      .filter((e) => (e.kind === 'fill' && e.fill.role === 'STOP') || (e.kind === 'orderStatus' && e.role === 'STOP' && e.status === 'FILLED'))
      .map((e) => e.kind);
    expect(kinds).toEqual(['fill', 'orderStatus']);
    // identical repeated statuses are deduped
    const entryStatuses = rig.events.filter((e): e is StatusEvent => e.kind === 'orderStatus' && e.role === 'ENTRY').map((e) => e.status);
    expect(entryStatuses).toEqual(['WORKING', 'FILLED']);

    const report = await rig.broker.findByOrderRef('br-1');
    expect(report.orders.map((o) => `${o.role}:${o.status}`).sort()).toEqual(['ENTRY:FILLED', 'STOP:FILLED', 'TARGET:CANCELLED']);
    expect(report.fills).toHaveLength(2);
    expect(await rig.broker.openOrders()).toHaveLength(0);
    expect(await rig.broker.positions()).toEqual([]); // flat again
  });

  it('CV bracket: refuses without a permit for this orderRef, before anything is sent', async () => {
    rig = await newRig();
    const none = await rejectionOf(rig.broker.placeBracket(mesBracket('np-1'), undefined as never));
    expect(none).toBeInstanceOf(BrokerRefusedError);
    expect((none as BrokerRefusedError).code).toBe('NO_PERMIT');
    const other = await rejectionOf(rig.broker.placeBracket(mesBracket('np-1'), permitFor('some-other-intent')));
    expect((other as BrokerRefusedError).code).toBe('NO_PERMIT');
    await sleep(50);
    expect(rig.server.receivedOf('PLACE_ORDER')).toHaveLength(0);
  });

  it('CV bracket: invalid prices and unknown contracts are refused, nothing sent', async () => {
    rig = await newRig();
    const offTick = await rejectionOf(rig.broker.placeBracket(mesBracket('tick', { stopPrice: 5990.1 }), permitFor('tick')));
    expect((offTick as BrokerRefusedError).code).toBe('PRICE_NOT_ON_TICK');
    const wrongSide = await rejectionOf(rig.broker.placeBracket(mesBracket('side', { stopPrice: 6020 }), permitFor('side')));
    expect((wrongSide as BrokerRefusedError).code).toBe('INVALID_REQUEST');
    const unknown = await rejectionOf(
      rig.broker.placeBracket(aaplBracket('nope', { instrument: { ...AAPL, symbol: 'NOPE' } }), permitFor('nope')),
    );
    expect((unknown as BrokerRefusedError).code).toBe('CONTRACT_NOT_FOUND');
    await expect(rig.broker.qualify({ ...AAPL, symbol: 'NOPE' })).rejects.toThrow(/No security definition/);
    expect(rig.server.receivedOf('PLACE_ORDER')).toHaveLength(0);
  });

  it('CV bracket: qualify caches contracts (stocks by symbol, futures by symbol+month+exchange)', async () => {
    rig = await newRig();
    const mes = await rig.broker.qualify(MES);
    expect(mes).toMatchObject({ conId: 770561201, minTick: 0.25, localSymbol: 'MESZ6', instrument: MES });
    const mar = await rig.broker.qualify({ ...MES, contractMonth: '202703' });
    expect(mar.conId).toBe(793356225);
    const aapl = await rig.broker.qualify(AAPL);
    expect(aapl).toMatchObject({ conId: 265598, minTick: 0.01 });
    await rig.broker.qualify(MES);
    await rig.broker.qualify(AAPL);
    expect(rig.server.receivedOf('REQ_CONTRACT_DATA')).toHaveLength(3);
  });

  it('CV bracket: cancel of a resting bracket cancels all legs; cancelling it again is refused (NOT_CANCELLABLE); a stale cancel gets 10148', async () => {
    rig = await newRig();
    const legs = await rig.broker.placeBracket(
      mesBracket('rest-1', { entryType: 'LMT', limitPrice: 5995, stopPrice: 5985, targetPrice: 6005 }),
      permitFor('rest-1'),
    );
    await rig.waitForEvent((e) => e.orderRef === 'rest-1' && e.role === 'ENTRY' && e.status === 'WORKING', 'orderStatus');
    const parentId = legs[0]?.brokerOrderId ?? '';
    await rig.broker.cancel(parentId);
    for (const role of ['ENTRY', 'TARGET', 'STOP'] as const) {
      await rig.waitForEvent((e) => e.orderRef === 'rest-1' && e.role === role && e.status === 'CANCELLED', 'orderStatus');
    }
    const again = await rejectionOf(rig.broker.cancel(parentId));
    expect((again as BrokerRefusedError).code).toBe('NOT_CANCELLABLE');

    // the gateway fills an order before we have heard about it: our cancel crosses the fill → 10148
    const other = await rig.broker.placeBracket(
      mesBracket('rest-2', { entryType: 'LMT', limitPrice: 5995, stopPrice: 5985, targetPrice: 6005 }),
      permitFor('rest-2'),
    );
    await rig.waitForEvent((e) => e.orderRef === 'rest-2' && e.role === 'ENTRY' && e.status === 'WORKING', 'orderStatus');
    const entryId = other[0]?.brokerOrderId ?? '';
    rig.server.fillOrder(Number(entryId));
    await rig.broker.cancel(entryId); // local view still WORKING: sent
    const e = await rig.waitForEvent((x) => x.code === 10148, 'error');
    expect(e.orderRef).toBe('rest-2');
    expect(e.message).toMatch(/state: Filled/);
    await rig.waitForEvent((x) => x.orderRef === 'rest-2' && x.role === 'ENTRY' && x.status === 'FILLED', 'orderStatus');
    expect(rig.broker.health().state).toBe('READY');
  });

  it('CV bracket: placeOrder sends one transmitting exit order with its role', async () => {
    rig = await newRig();
    const leg = await rig.broker.placeOrder({ orderRef: 'flat-1', role: 'EXIT', instrument: AAPL, side: 'SELL', quantity: 5, type: 'MKT' });
    expect(leg.role).toBe('EXIT');
    const f = await rig.waitForEvent((e) => e.fill.orderRef === 'flat-1', 'fill');
    expect(f.fill).toMatchObject({ role: 'EXIT', side: 'SELL', quantity: 5, price: 190 });
    expect(rig.server.placements[0]).toMatchObject({ transmit: true, parentId: 0, orderRef: 'flat-1', tif: 'DAY' });
    const pos = await rig.broker.positions();
    expect(pos).toEqual([{ account: 'DU1234567', instrument: AAPL, quantity: -5, avgCost: 190 }]);
  });

  it('CV bracket: account summary is subscribed at connect and stays current', async () => {
    rig = await newRig();
    expect(rig.broker.health().account).toEqual({ accountId: 'DU1234567', netLiquidation: 25000, buyingPower: 100000, currency: 'USD' });
    rig.server.setAccountValue('NetLiquidation', '24000.50');
    await waitFor(() => rig?.broker.health().account?.netLiquidation === 24000.5, 2000, 'updated net liquidation');
    expect((await rig.broker.accountSummary()).netLiquidation).toBe(24000.5);
  });

  it('CV bracket: commission joins the fill; a late report releases the fill with commission 0 after the window', async () => {
    rig = await newRig({ server: { commissionDelayMs: 1500 }, broker: { commissionWaitMs: 100 } });
    const t0 = Date.now();
    await rig.broker.placeBracket(aaplBracket('late-comm'), permitFor('late-comm'));
    const f = await rig.waitForEvent((e) => e.fill.orderRef === 'late-comm', 'fill', 3000);
    expect(f.fill.commission).toBe(0);
    expect(Date.now() - t0).toBeLessThan(1200);
    // the FILLED status waited behind the held fill
    const idxFill = rig.events.indexOf(f);
    const idxFilled = rig.events.findIndex((e) => e.kind === 'orderStatus' && e.orderRef === 'late-comm' && e.role === 'ENTRY' && e.status === 'FILLED');
    expect(idxFilled).toBeGreaterThan(idxFill);
    // the report, when it comes (1.5 s later), still lands in executions(): poll, no fixed sleep
    let commission: number | undefined;
    for (const deadline = Date.now() + 4000; Date.now() < deadline; await sleep(50)) {
      commission = (await rig.broker.executions()).find((x) => x.execId === f.fill.execId)?.commission;
      if (commission) break;
    }
    expect(commission).toBeCloseTo(6.2);
  });

  it('CV bracket: a throwing event listener does not break the adapter or other listeners', async () => {
    rig = await newRig();
    rig.broker.onEvent(() => {
      throw new Error('listener bug');
    });
    await rig.broker.placeBracket(aaplBracket('robust'), permitFor('robust'));
    await rig.waitForEvent((e) => e.fill.orderRef === 'robust', 'fill');
    expect(rig.broker.health().state).toBe('READY');
  });

  it('CV bracket: a bracket cut by a disconnect is never reported as rejected', async () => {
    rig = await newRig({ broker: { reconnect: { maxAttempts: 3, baseDelayMs: 2000, maxDelayMs: 2000 } } });
    const refs = Array.from({ length: 30 }, (_, i) => `cut-${i}`);
    const results = refs.map((r) => rig!.broker.placeBracket(aaplBracket(r), permitFor(r)).then(
      () => 'placed' as const,
      (e: unknown) => e,
    ));
    await sleep(120); // part of the queue is out
    rig.server.dropConnections();
    const outcomes = await Promise.all(results);
    await sleep(50);
    for (const [i, o] of outcomes.entries()) {
      if (o === 'placed') continue;
      expect(o).toBeInstanceOf(BrokerUnavailableError); // nothing reached the broker
      expect(rig.server.placements.filter((p) => p.orderRef === refs[i])).toHaveLength(0);
    }
    expect(outcomes.filter((o) => o !== 'placed').length).toBeGreaterThan(0);
    expect(rig.events.filter((e) => e.kind === 'orderStatus' && e.status === 'REJECTED')).toHaveLength(0);
  });
});

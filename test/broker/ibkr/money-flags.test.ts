/**
 * MONEY-10 (issue 13), the adapter's side, over the real @stoqey/ib client and the TWS test server
 * (which records every PLACE_ORDER and applies IBKR's OCA types): the bracket's exits reduce each
 * other on fill instead of cancelling (OCA type 2), futures exits work outside regular hours,
 * PreSubmitted is reported as held and its end as a change, and an exit leg can be resized down.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { BrokerEvent } from '../../../src/engine/broker.port.js';
import { aaplBracket, decoderErrorsSeen, makeRig, mesBracket, permitFor, rejectionOf, waitFor, type Rig } from './harness.js';
import { closeAfterEach } from '../../support/cleanup.js';

type StatusEvent = Extract<BrokerEvent, { kind: 'orderStatus' }>;
const statuses = (rig: Rig, ref: string, role: string) => rig.events.filter((e): e is StatusEvent => e.kind === 'orderStatus' && e.orderRef === ref && e.role === role);

describe('MONEY-10: order flags', () => {
  let rig: Rig | undefined;
  const newRig = closeAfterEach(makeRig);
  afterAll(() => expect(decoderErrorsSeen()).toEqual([]));

  it('MONEY-10: the exits of a bracket share an OCA group of type 2 (reduce on fill, with block); futures exits carry outsideRth, the entry and stock exits do not', async () => {
    rig = await newRig();
    await rig.broker.placeBracket(mesBracket('fl-mes'), permitFor('fl-mes'));
    await rig.broker.placeBracket(aaplBracket('fl-aapl'), permitFor('fl-aapl'));
    await waitFor(() => rig!.server.placements.length === 6, 2000, 'six legs');
    const shape = (ref: string) => rig!.server.placements.filter((p) => p.orderRef === ref).map((p) => ({ type: p.orderType, parent: p.parentId > 0, ocaType: p.ocaGroup ? p.ocaType : null, outsideRth: p.outsideRth }));
    expect(shape('fl-mes')).toEqual([
      { type: 'MKT', parent: false, ocaType: null, outsideRth: false },
      { type: 'LMT', parent: true, ocaType: 2, outsideRth: true },
      { type: 'STP', parent: true, ocaType: 2, outsideRth: true },
    ]);
    expect(shape('fl-aapl')).toEqual([
      { type: 'MKT', parent: false, ocaType: null, outsideRth: false },
      { type: 'LMT', parent: true, ocaType: 2, outsideRth: false },
      { type: 'STP', parent: true, ocaType: 2, outsideRth: false },
    ]);
    // a protective exit placed alone (re-protect) works outside regular hours too
    await rig.broker.placeOrder({ orderRef: 'fl-mes', role: 'STOP', instrument: mesBracket('x').instrument, side: 'SELL', quantity: 1, type: 'STP', stopPrice: 5980 });
    await waitFor(() => rig!.server.placements.length === 7, 2000, 'the stop');
    expect(rig.server.placements[6]).toMatchObject({ orderType: 'STP', outsideRth: true, parentId: 0 });
  });

  it('MONEY-10: INV-PROTECTED-1: the target fills 1 of 2 → the stop is reduced to 1 and keeps working (type 1 cancelled the whole stop: the other lot was naked)', async () => {
    rig = await newRig();
    const legs = await rig.broker.placeBracket(mesBracket('pt-1', { quantity: 2 }), permitFor('pt-1'));
    const [, targetId, stopId] = legs.map((l) => Number(l.brokerOrderId));
    await rig.waitForEvent((e) => e.orderRef === 'pt-1' && e.role === 'ENTRY' && e.status === 'FILLED', 'orderStatus');
    await rig.waitForEvent((e) => e.orderRef === 'pt-1' && e.role === 'STOP' && e.status === 'WORKING' && !e.held, 'orderStatus');
    rig.server.fillOrder(targetId!, { qty: 1, price: 6010 });
    await rig.waitForEvent((e) => e.fill.orderRef === 'pt-1' && e.fill.role === 'TARGET', 'fill');
    await rig.broker.sync();
    expect(rig.server.findOrder(stopId!)).toMatchObject({ status: 'Submitted', totalQuantity: 1 });
    expect(statuses(rig, 'pt-1', 'STOP').map((e) => e.status)).not.toContain('CANCELLED');
    const open = await rig.broker.openOrders();
    expect(open.find((o) => o.role === 'STOP')).toMatchObject({ status: 'WORKING', quantity: 1, filledQty: 0 });
    expect(open.find((o) => o.role === 'TARGET')).toMatchObject({ status: 'WORKING', quantity: 2, filledQty: 1 });
    // the market falls through the stop: it closes the last lot, the account is flat
    rig.server.movePrice('MES', 5989.75);
    await rig.waitForEvent((e) => e.fill.orderRef === 'pt-1' && e.fill.role === 'STOP', 'fill');
    await rig.broker.sync();
    expect(rig.server.positions().find((p) => p.symbol === 'MES')?.pos).toBe(0);
  });

  it('MONEY-10: PreSubmitted is WORKING with held; when the parent fills the children become Submitted and the adapter says so (held cleared)', async () => {
    rig = await newRig();
    rig.server.movePrice('MES', 6005);
    await rig.broker.placeBracket(mesBracket('ps-1', { entryType: 'LMT', limitPrice: 6000, stopPrice: 5990, targetPrice: 6010 }), permitFor('ps-1'));
    const heldStop = await rig.waitForEvent((e) => e.orderRef === 'ps-1' && e.role === 'STOP' && e.status === 'WORKING', 'orderStatus');
    expect(heldStop.held).toBe(true);
    const entry = await rig.waitForEvent((e) => e.orderRef === 'ps-1' && e.role === 'ENTRY' && e.status === 'WORKING', 'orderStatus');
    expect(entry.held).toBeUndefined();
    expect((await rig.broker.openOrders()).filter((o) => o.orderRef === 'ps-1').map((o) => [o.role, o.held ?? false])).toEqual([
      ['ENTRY', false],
      ['TARGET', true],
      ['STOP', true],
    ]);
    rig.server.movePrice('MES', 6000);
    await rig.waitForEvent((e) => e.orderRef === 'ps-1' && e.role === 'ENTRY' && e.status === 'FILLED', 'orderStatus');
    const live = await rig.waitForEvent((e) => e.orderRef === 'ps-1' && e.role === 'STOP' && e.status === 'WORKING' && e.held === undefined, 'orderStatus');
    expect(live.filledQty).toBe(0);
    expect(statuses(rig, 'ps-1', 'STOP').map((e) => `${e.status}${e.held ? ':held' : ''}`)).toEqual(['WORKING:held', 'WORKING']);
  });

  it('MONEY-10: a partly filled entry cancelled leaves the children at the full size (IBKR); resize sends a modify (same id, new total) for each, and refuses entries, increases and filled legs', async () => {
    rig = await newRig();
    rig.server.setBehavior({ orderRef: 'rs-1' }, { kind: 'partial', ratio: 0.5 });
    const legs = await rig.broker.placeBracket(mesBracket('rs-1', { quantity: 2 }), permitFor('rs-1'));
    const [entryId, targetId, stopId] = legs.map((l) => l.brokerOrderId);
    await rig.waitForEvent((e) => e.orderRef === 'rs-1' && e.role === 'ENTRY' && e.filledQty === 1, 'orderStatus');
    await rig.broker.cancel(entryId!);
    await rig.waitForEvent((e) => e.orderRef === 'rs-1' && e.role === 'ENTRY' && e.status === 'CANCELLED', 'orderStatus');
    await rig.waitForEvent((e) => e.orderRef === 'rs-1' && e.role === 'STOP' && e.status === 'WORKING' && !e.held, 'orderStatus');
    expect(rig.server.findOrder(Number(stopId))).toMatchObject({ status: 'Submitted', totalQuantity: 2 });

    const before = rig.server.placements.length;
    await rig.broker.resize(stopId!, 1);
    await rig.broker.resize(targetId!, 1);
    await rig.broker.resize(targetId!, 1); // already that size: nothing sent
    await rig.broker.sync();
    const modifies = rig.server.placements.slice(before);
    expect(modifies.map((p) => [p.orderId, p.orderType, p.totalQuantity, p.parentId, p.ocaType, p.outsideRth, p.transmit])).toEqual([
      [Number(stopId), 'STP', 1, Number(entryId), 2, true, true],
      [Number(targetId), 'LMT', 1, Number(entryId), 2, true, true],
    ]);
    expect(rig.server.findOrder(Number(stopId))?.totalQuantity).toBe(1);
    expect(rig.server.findOrder(Number(targetId))?.totalQuantity).toBe(1);
    expect((await rig.broker.openOrders()).filter((o) => o.orderRef === 'rs-1').map((o) => [o.role, o.quantity])).toEqual([
      ['TARGET', 1],
      ['STOP', 1],
    ]);
    for (const [id, q, code] of [
      [entryId!, 1, 'INVALID_REQUEST'],
      [stopId!, 2, 'INVALID_REQUEST'],
      [stopId!, 0, 'INVALID_REQUEST'],
      ['999999', 1, 'UNKNOWN_ORDER'],
    ] as const) {
      expect(await rejectionOf(rig.broker.resize(id, q))).toMatchObject({ name: 'BrokerRefusedError', code });
    }
    await rig.broker.sync();
    expect(rig.server.placements.length).toBe(before + 2);
  });
});

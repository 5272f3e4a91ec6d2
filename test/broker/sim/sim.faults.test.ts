/** SimBroker fault injection: every `broker.faults.*` lever does what SimBroker's header says. */
import { describe, expect, it } from 'vitest';
import { SimBroker, type SimBrokerOptions } from '../../../src/broker/sim/sim.broker.js';
import { BrokerUnavailableError, type BrokerEvent } from '../../../src/engine/broker.port.js';
import { seededRandom } from '../../../src/engine/ports.js';
import { FakeClock } from '../../support/fake-clock.js';
import { AAPL, MES, bracketFor, permitFor } from '../contract.js';

async function setup(over: Partial<SimBrokerOptions> = {}) {
  const clock = new FakeClock();
  const broker = new SimBroker({ clock, random: seededRandom(9), profile: 'INSTANT', prices: { AAPL: 200, MES: 6000 }, ...over });
  const events: BrokerEvent[] = [];
  broker.onEvent((e) => events.push(e));
  await broker.connect();
  const place = async (ref: string, over2 = {}) => {
    const legs = await broker.placeBracket(bracketFor(ref, over2), permitFor(ref));
    await clock.advance(0);
    return legs;
  };
  const of = (ref: string) =>
    events
      .filter((e) => (e.kind === 'fill' ? e.fill.orderRef : e.kind === 'orderStatus' ? e.orderRef : '') === ref)
      .map((e) => (e.kind === 'fill' ? `fill:${e.fill.role}:${e.fill.quantity}` : e.kind === 'orderStatus' ? `${e.role}:${e.status}` : ''));
  return { clock, broker, events, place, of };
}

describe('timeouts', () => {
  it('a timed-out placement exists at the broker but nothing is heard, even a minute later', async () => {
    const { clock, broker, place, of } = await setup();
    broker.faults.timeoutNext();
    const legs = await place('t-1');
    expect(legs).toHaveLength(3);
    await clock.advance(60_000);
    expect(of('t-1')).toEqual([]);
    const report = await broker.findByOrderRef('t-1');
    expect(report.orders.map((o) => o.status)).toEqual(['PENDING', 'PENDING', 'PENDING']);
    expect(report.fills).toEqual([]);
    expect((await broker.openOrders()).filter((o) => o.orderRef === 't-1')).toHaveLength(3);
    expect(await broker.positions()).toEqual([]);
  });

  it('releaseTimeouts delivers the late ack and fill', async () => {
    const { clock, broker, place, of } = await setup();
    broker.faults.timeoutNext();
    await place('t-2');
    await clock.advance(45_000);
    expect(broker.faults.releaseTimeouts()).toBe(1);
    await clock.advance(0);
    expect(of('t-2')).toEqual(['ENTRY:WORKING', 'TARGET:WORKING', 'STOP:WORKING', 'fill:ENTRY:10', 'ENTRY:FILLED']);
    expect(broker.faults.releaseTimeouts()).toBe(0);
  });

  it('lateFill releases one orderRef only; unknown refs throw', async () => {
    const { clock, broker, place, of } = await setup();
    broker.faults.timeoutNext(2);
    await place('t-a');
    await place('t-b');
    broker.faults.lateFill('t-b');
    await clock.advance(0);
    expect(of('t-a')).toEqual([]);
    expect(of('t-b')).toContain('ENTRY:FILLED');
    expect(() => broker.faults.lateFill('t-b')).toThrow(/no timed-out placement/);
    expect(() => broker.faults.lateFill('nope')).toThrow();
  });

  it('a timed-out placement can be cancelled: the cancel is heard, no late fill follows', async () => {
    const { clock, broker, place, of } = await setup();
    broker.faults.timeoutNext();
    const legs = await place('t-c');
    await broker.cancel(legs[0]!.brokerOrderId);
    await clock.advance(0);
    expect(of('t-c')).toEqual(['ENTRY:CANCELLED', 'TARGET:CANCELLED', 'STOP:CANCELLED']);
    expect(broker.faults.releaseTimeouts()).toBe(0);
  });

  it('applies to placeOrder exits too', async () => {
    const { clock, broker, place, of } = await setup();
    await place('t-x');
    broker.faults.timeoutNext();
    await broker.placeOrder({ orderRef: 't-x:exit', role: 'EXIT', instrument: AAPL, side: 'SELL', quantity: 10, type: 'MKT' });
    await clock.advance(0);
    expect(of('t-x:exit')).toEqual([]);
    broker.faults.lateFill('t-x:exit');
    await clock.advance(0);
    expect(of('t-x:exit')).toEqual(['EXIT:WORKING', 'fill:EXIT:10', 'EXIT:FILLED']);
  });
});

describe('connection faults', () => {
  it('disconnect emits DISCONNECTED (1100), refuses work; reconnect emits READY (1102)', async () => {
    const { clock, broker, events } = await setup();
    broker.faults.disconnect();
    await clock.advance(0);
    expect(events.at(-1)).toMatchObject({ kind: 'connection', state: 'DISCONNECTED', code: 1100 });
    expect(broker.health()).toMatchObject({ state: 'DISCONNECTED', canSubmit: false, account: null });
    await expect(broker.placeBracket(bracketFor('d-1'), permitFor('d-1'))).rejects.toBeInstanceOf(BrokerUnavailableError);
    await expect(broker.openOrders()).rejects.toBeInstanceOf(BrokerUnavailableError);
    broker.faults.reconnect();
    await clock.advance(0);
    expect(events.at(-1)).toMatchObject({ kind: 'connection', state: 'READY', code: 1102 });
    expect(broker.health()).toMatchObject({ state: 'READY', canSubmit: true });
    expect((await broker.findByOrderRef('d-1')).orders).toEqual([]);
  });

  it('events produced while disconnected are lost; the book still shows them after reconnect', async () => {
    const { clock, broker, place, of } = await setup();
    broker.faults.delayNext(15_000);
    await place('d-2');
    broker.faults.disconnect();
    await clock.advance(20_000);
    broker.faults.reconnect();
    await clock.advance(0);
    expect(of('d-2')).toEqual(['ENTRY:WORKING', 'TARGET:WORKING', 'STOP:WORKING']);
    expect((await broker.executions()).filter((f) => f.orderRef === 'd-2')).toHaveLength(1);
  });

  it('failConnects makes the next connect() attempts fail', async () => {
    const { broker } = await setup();
    await broker.disconnect();
    broker.faults.failConnects(3);
    for (let i = 0; i < 3; i++) await expect(broker.connect()).rejects.toBeInstanceOf(BrokerUnavailableError);
    expect(broker.health().canSubmit).toBe(false);
    await broker.connect();
    expect(broker.health().state).toBe('READY');
  });
});

describe('placement faults', () => {
  it('rejectNext: ack, then REJECTED with the given reason; nothing filled', async () => {
    const { broker, place, events, of } = await setup();
    broker.faults.rejectNext('Order size exceeds the account limit', 203);
    await place('r-1');
    expect(of('r-1')).toEqual([
      'ENTRY:WORKING', 'TARGET:WORKING', 'STOP:WORKING', 'ENTRY:REJECTED', 'TARGET:CANCELLED', 'STOP:CANCELLED',
    ]);
    expect(events).toContainEqual(expect.objectContaining({ role: 'ENTRY', status: 'REJECTED', reason: 'Order size exceeds the account limit', code: 203 }));
    expect(await broker.positions()).toEqual([]);
    await place('r-2');
    expect(of('r-2')).toContain('ENTRY:FILLED');
  });

  it('rejectNext defaults to 201 Insufficient margin', async () => {
    const { broker, place, events } = await setup();
    broker.faults.rejectNext();
    await place('r-3');
    expect(events).toContainEqual(expect.objectContaining({ status: 'REJECTED', reason: 'Insufficient margin', code: 201 }));
  });

  it('partialNext(0.5) of 2 fills 1 and leaves 1 working; the children protect what was filled and, like IBKR, leave the entry remainder working (reduce-on-fill OCA)', async () => {
    const { clock, broker, place, of } = await setup();
    broker.faults.partialNext(0.5);
    await place('p-1', { quantity: 2 });
    expect(of('p-1')).toEqual(['ENTRY:WORKING', 'TARGET:WORKING', 'STOP:WORKING', 'fill:ENTRY:1', 'ENTRY:WORKING']);
    const entry = (await broker.findByOrderRef('p-1')).orders[0];
    expect(entry).toMatchObject({ role: 'ENTRY', status: 'WORKING', filledQty: 1, quantity: 2 });
    expect((await broker.positions())[0]).toMatchObject({ quantity: 1 });
    broker.simulatePrice('AAPL', 194);
    await clock.advance(0);
    // issue 13: the sim no longer cancels the entry remainder when a child fills (IBKR does not);
    // the stop keeps covering the remainder, the target too (reduced)
    expect(of('p-1').slice(5)).toEqual(['fill:STOP:1', 'STOP:WORKING']);
    expect(await broker.positions()).toEqual([]);
    expect((await broker.findByOrderRef('p-1')).orders.map((o) => `${o.role}:${o.status}:${o.filledQty}`)).toEqual(['ENTRY:WORKING:1', 'TARGET:WORKING:0', 'STOP:WORKING:1']);
    // the client cancels the remainder: nothing is left to protect, the group closes
    await broker.cancel(entry!.brokerOrderId);
    await clock.advance(0);
    expect(of('p-1').slice(7)).toEqual(['ENTRY:CANCELLED', 'TARGET:CANCELLED', 'STOP:CANCELLED']);
  });

  it('partialNext rejects ratios outside (0, 1)', async () => {
    const { broker } = await setup();
    expect(() => broker.faults.partialNext(1)).toThrow(RangeError);
    expect(() => broker.faults.partialNext(0)).toThrow(RangeError);
  });

  it('delayNext fills after exactly that much clock time', async () => {
    const { clock, broker, place, of } = await setup();
    broker.faults.delayNext(12_000);
    await place('dl-1');
    await clock.advance(11_999);
    expect(of('dl-1')).not.toContain('ENTRY:FILLED');
    await clock.advance(1);
    expect(of('dl-1')).toContain('ENTRY:FILLED');
  });

  it('injections queue up: each placement takes the oldest', async () => {
    const { broker, place, of } = await setup();
    broker.faults.rejectNext();
    broker.faults.partialNext(0.5);
    await place('q-1', { quantity: 4 });
    await place('q-2', { quantity: 4 });
    await place('q-3', { quantity: 4 });
    expect(of('q-1')).toContain('ENTRY:REJECTED');
    expect(of('q-2')).toContain('fill:ENTRY:2');
    expect(of('q-3')).toContain('fill:ENTRY:4');
    broker.faults.timeoutNext(2);
    broker.faults.clear();
    await place('q-4');
    expect(of('q-4')).toContain('ENTRY:FILLED');
  });
});

describe('spoofing and account', () => {
  it('a spoofed position shows only in positions()', async () => {
    const { broker, place } = await setup();
    await place('s-1', { quantity: 3 });
    const before = { open: await broker.openOrders(), fills: await broker.executions(), report: await broker.findByOrderRef('s-1') };
    broker.faults.spoofPosition('AAPL', 7);
    expect((await broker.positions()).map((p) => [p.instrument.symbol, p.quantity])).toEqual([['AAPL', 7]]);
    expect(await broker.openOrders()).toEqual(before.open);
    expect(await broker.executions()).toEqual(before.fills);
    expect(await broker.findByOrderRef('s-1')).toEqual(before.report);
    broker.faults.spoofPosition(MES, -2);
    expect((await broker.positions()).map((p) => [p.instrument.symbol, p.quantity])).toEqual([['AAPL', 7], ['MES', -2]]);
    broker.faults.spoofPosition('AAPL', 0);
    broker.faults.spoofPosition(MES, null);
    expect(await broker.positions()).toEqual([]);
    broker.faults.spoofPosition('AAPL', null);
    expect((await broker.positions())[0]).toMatchObject({ quantity: 3, avgCost: 200 });
  });

  it('spoofing an instrument the broker never saw needs the Instrument', async () => {
    const { broker } = await setup();
    expect(() => broker.faults.spoofPosition('TSLA', 1)).toThrow(/not seen/);
  });

  it('setAccount shows a live account id in health and accountSummary', async () => {
    const { broker } = await setup();
    broker.faults.setAccount('U1234567', 50_000);
    expect(broker.health().account).toMatchObject({ accountId: 'U1234567', netLiquidation: 50_000 });
    expect(await broker.accountSummary()).toMatchObject({ accountId: 'U1234567', netLiquidation: 50_000, currency: 'USD' });
    broker.faults.setNetLiquidation(1_000);
    expect((await broker.accountSummary()).netLiquidation).toBe(1_000);
    expect((await broker.positions()).every((p) => p.account === 'U1234567')).toBe(true);
  });

  it('an unknown outcome is not a refusal: a timed-out or disconnected placement never shows REJECTED', async () => {
    const { clock, broker, place, events } = await setup();
    broker.faults.timeoutNext();
    await place('u-1');
    broker.faults.disconnect();
    await clock.advance(60_000);
    expect(events.some((e) => e.kind === 'orderStatus' && e.status === 'REJECTED')).toBe(false);
  });
});

describe('faults for the deterministic simulator (issue 14)', () => {
  it('replayOnReconnect: what happened while down arrives after the reconnect, statuses first, then the executions', async () => {
    const { clock, broker, place, of } = await setup({ replayOnReconnect: true });
    broker.faults.delayNext(15_000);
    await place('r-1');
    broker.faults.disconnect();
    await clock.advance(20_000);
    expect(of('r-1')).toEqual(['ENTRY:WORKING', 'TARGET:WORKING', 'STOP:WORKING']);
    broker.faults.reconnect();
    await clock.advance(0);
    expect(of('r-1')).toEqual(['ENTRY:WORKING', 'TARGET:WORKING', 'STOP:WORKING', 'ENTRY:FILLED', 'fill:ENTRY:10']);
  });

  it('cancelByBroker: the exchange cancels one working stop (a dead stop); its parent and sibling stay', async () => {
    const { clock, broker, place, of } = await setup();
    const legs = await place('x-1');
    const stop = legs.find((l) => l.role === 'STOP')!;
    expect(broker.faults.cancelByBroker(stop.brokerOrderId, 'Order Canceled - reason: test')).toBe(true);
    await clock.advance(0);
    expect(of('x-1').slice(-1)).toEqual(['STOP:CANCELLED']);
    const orders = (await broker.findByOrderRef('x-1')).orders;
    expect(orders.map((o) => `${o.role}:${o.status}`)).toEqual(['ENTRY:FILLED', 'TARGET:WORKING', 'STOP:CANCELLED']);
    expect(broker.faults.cancelByBroker(stop.brokerOrderId)).toBe(false);
  });

  it('fillRemainder: the working rest of a partly filled entry fills later', async () => {
    const { clock, broker, place } = await setup();
    broker.faults.partialNext(0.5);
    await place('p-1', { quantity: 2 });
    expect(broker.faults.fillRemainder('p-1')).toBe(true);
    await clock.advance(0);
    expect((await broker.findByOrderRef('p-1')).fills.map((f) => f.quantity)).toEqual([1, 1]);
    expect(broker.faults.fillRemainder('p-1')).toBe(false);
  });

  it('fillNextCancel: the cancel of a working entry loses the race to its fill (NOT_CANCELLABLE)', async () => {
    const { clock, broker, place } = await setup();
    broker.faults.partialNext(0.5);
    const legs = await place('c-1', { quantity: 2 });
    broker.faults.fillNextCancel();
    const entry = legs.find((l) => l.role === 'ENTRY')!;
    await expect(broker.cancel(entry.brokerOrderId)).rejects.toMatchObject({ code: 'NOT_CANCELLABLE' });
    await clock.advance(0);
    const report = await broker.findByOrderRef('c-1');
    expect(report.orders.find((o) => o.role === 'ENTRY')).toMatchObject({ status: 'FILLED', filledQty: 2 });
  });

  it("fillNextCancel(1, 'after'): the cancel is confirmed, then the execution already on its way arrives (CANCELLED, then a fill and FILLED)", async () => {
    const { clock, broker, place, of } = await setup();
    broker.faults.delayNext(10_000);
    const legs = await place('c-2', { quantity: 2 });
    broker.faults.fillNextCancel(1, 'after');
    await broker.cancel(legs.find((l) => l.role === 'ENTRY')!.brokerOrderId);
    await clock.advance(0);
    expect(of('c-2').slice(3)).toEqual(['ENTRY:CANCELLED', 'TARGET:CANCELLED', 'STOP:CANCELLED', 'fill:ENTRY:2', 'ENTRY:FILLED']);
    await clock.advance(20_000); // the delayed fill's timer was cancelled with the order: nothing more
    expect((await broker.findByOrderRef('c-2')).fills.map((f) => f.quantity)).toEqual([2]);
  });

  it('truth(): the book whatever the connection or a spoof says', async () => {
    const { broker, place } = await setup();
    await place('t-9');
    broker.faults.spoofPosition('AAPL', 5);
    broker.faults.disconnect();
    const t = broker.truth();
    expect(t.state).toBe('DISCONNECTED');
    expect(t.orders.filter((o) => o.orderRef === 't-9')).toHaveLength(3);
    expect(t.positions.map((p) => p.quantity)).toEqual([10]);
  });
});

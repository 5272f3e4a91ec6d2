/** SimBroker specifics beyond the contract: delivery mechanics, prices, cancels, qualification. */
import { describe, expect, it } from 'vitest';
import { SimBroker, type SimBrokerOptions } from '../../../src/broker/sim/sim.broker.js';
import { commissionFor, partialQuantity } from '../../../src/broker/sim/sim.profiles.js';
import type { BrokerEvent } from '../../../src/engine/broker.port.js';
import { seededRandom } from '../../../src/engine/ports.js';
import { FakeClock } from '../../support/fake-clock.js';
import { AAPL, MES, bracketFor, permitFor } from '../contract.js';

async function setup(over: Partial<SimBrokerOptions> = {}) {
  const clock = new FakeClock();
  const broker = new SimBroker({ clock, random: seededRandom(3), profile: 'INSTANT', prices: { AAPL: 200 }, ...over });
  const events: BrokerEvent[] = [];
  broker.onEvent((e) => events.push(e));
  await broker.connect();
  return { clock, broker, events };
}

const statusOf = (events: BrokerEvent[], ref: string) =>
  events.flatMap((e) => (e.kind === 'orderStatus' && e.orderRef === ref ? [`${e.role}:${e.status}`] : []));

describe('event delivery', () => {
  it('INSTANT fills arrive on a microtask: no clock advance, and not inside the call', async () => {
    const { clock, broker, events } = await setup();
    const before = events.length;
    const pending = broker.placeBracket(bracketFor('e-1'), permitFor('e-1'));
    expect(events.length).toBe(before); // nothing delivered synchronously
    await pending;
    expect(events.some((e) => e.kind === 'fill')).toBe(true);
    expect(clock.pending()).toBe(0);
  });

  it('a listener that calls the broker is not re-entered and events stay in order', async () => {
    const { clock, broker } = await setup();
    const seen: string[] = [];
    let depth = 0;
    let maxDepth = 0;
    broker.onEvent((e) => {
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      if (e.kind === 'orderStatus') seen.push(`${e.role}:${e.status}`);
      if (e.kind === 'orderStatus' && e.role === 'ENTRY' && e.status === 'FILLED') {
        void broker.openOrders().then((open) => open.forEach((o) => void broker.cancel(o.brokerOrderId)));
      }
      depth--;
    });
    await broker.placeBracket(bracketFor('e-2'), permitFor('e-2'));
    await clock.advance(0);
    expect(maxDepth).toBe(1);
    expect(seen).toEqual(['ENTRY:WORKING', 'TARGET:WORKING', 'STOP:WORKING', 'ENTRY:FILLED', 'TARGET:CANCELLED', 'STOP:CANCELLED']);
  });

  it('a throwing listener does not stop delivery to the others', async () => {
    const errors: unknown[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (o: object) => void errors.push(o), child: () => logger };
    const { broker, events } = await setup({ logger });
    broker.onEvent(() => {
      throw new Error('boom');
    });
    await broker.placeBracket(bracketFor('e-3'), permitFor('e-3'));
    expect(statusOf(events, 'e-3')).toContain('ENTRY:FILLED');
    expect(errors.length).toBeGreaterThan(0);
  });
});

describe('prices and fills', () => {
  it('MKT fills at the market, LMT at its limit, without a market at the stop/target midpoint', async () => {
    const { broker } = await setup();
    await broker.placeBracket(bracketFor('p-mkt'), permitFor('p-mkt'));
    await broker.placeBracket(bracketFor('p-lmt', { entryType: 'LMT', limitPrice: 199.5 }), permitFor('p-lmt'));
    const mes = bracketFor('p-mid', { instrument: MES, quantity: 1, stopPrice: 5990, targetPrice: 6020 });
    await broker.placeBracket(mes, permitFor('p-mid'));
    const price = async (ref: string) => (await broker.findByOrderRef(ref)).fills[0]?.price;
    expect(await price('p-mkt')).toBe(200);
    expect(await price('p-lmt')).toBe(199.5);
    expect(await price('p-mid')).toBe(6005);
  });

  it('a gapping stop fills at the triggering price, a target at its limit', async () => {
    const { clock, broker } = await setup();
    await broker.placeBracket(bracketFor('g-1'), permitFor('g-1'));
    await broker.placeBracket(bracketFor('g-2'), permitFor('g-2'));
    broker.simulatePrice('AAPL', 190);
    await clock.advance(0);
    const stops = (await broker.executions()).filter((f) => f.role === 'STOP');
    expect(stops.map((f) => [f.orderRef, f.price])).toEqual([['g-1', 190], ['g-2', 190]]);
    await broker.placeBracket(bracketFor('g-3', { stopPrice: 185, targetPrice: 195 }), permitFor('g-3'));
    broker.simulatePrice('AAPL', 197);
    expect((await broker.findByOrderRef('g-3')).fills.map((f) => [f.role, f.price])).toEqual([['ENTRY', 190], ['TARGET', 195]]);
  });

  it('commissions: 0.62 per future, 0.005 per share with a 1.00 minimum', () => {
    expect(commissionFor('FUT', 3)).toBe(1.86);
    expect(commissionFor('STK', 10)).toBe(1);
    expect(commissionFor('STK', 1000)).toBe(5);
  });

  it('partial quantities are strictly partial', () => {
    expect(partialQuantity(2, 0.5)).toBe(1);
    expect(partialQuantity(10, 0.3)).toBe(3);
    expect(partialQuantity(10, 0.99)).toBe(9);
    expect(partialQuantity(3, 0.1)).toBe(1);
    expect(partialQuantity(1, 0.7)).toBe(0);
  });

  it('positions net fills with an average cost per unit', async () => {
    const { broker } = await setup();
    await broker.placeBracket(bracketFor('a-1', { quantity: 2 }), permitFor('a-1'));
    broker.simulatePrice('AAPL', 202);
    await broker.placeBracket(bracketFor('a-2', { quantity: 2, stopPrice: 190, targetPrice: 220 }), permitFor('a-2'));
    expect((await broker.positions())[0]).toMatchObject({ quantity: 4, avgCost: 201, account: 'DU0000001' });
    await broker.placeOrder({ orderRef: 'a-x', role: 'EXIT', instrument: AAPL, side: 'SELL', quantity: 5, type: 'MKT' });
    expect((await broker.positions())[0]).toMatchObject({ quantity: -1, avgCost: 202 });
  });

  it('a LMT exit rests until the market reaches it', async () => {
    const { clock, broker, events } = await setup();
    await broker.placeOrder({ orderRef: 'l-1', role: 'EXIT', instrument: AAPL, side: 'SELL', quantity: 1, type: 'LMT', limitPrice: 205 });
    await clock.advance(0);
    expect(statusOf(events, 'l-1')).toEqual(['EXIT:WORKING']);
    broker.simulatePrice('AAPL', 205.5);
    await clock.advance(0);
    expect(statusOf(events, 'l-1')).toEqual(['EXIT:WORKING', 'EXIT:FILLED']);
    expect((await broker.findByOrderRef('l-1')).fills[0]?.price).toBe(205);
  });

  it('a MKT exit without any market price is refused before anything is recorded', async () => {
    const { broker } = await setup({ prices: {} });
    const exit = { orderRef: 'n-1', role: 'EXIT' as const, instrument: MES, side: 'SELL' as const, quantity: 1, type: 'MKT' as const };
    await expect(broker.placeOrder(exit)).rejects.toMatchObject({ code: 'NO_MARKET_DATA' });
    expect((await broker.findByOrderRef('n-1')).orders).toEqual([]);
  });

  it('malformed requests are refused as INVALID_ORDER', async () => {
    const { broker } = await setup();
    await expect(broker.placeBracket(bracketFor('i-1', { quantity: 0 }), permitFor('i-1'))).rejects.toMatchObject({ code: 'INVALID_ORDER' });
    await expect(broker.placeBracket(bracketFor('i-2', { entryType: 'LMT' }), permitFor('i-2'))).rejects.toMatchObject({ code: 'INVALID_ORDER' });
    expect(await broker.openOrders()).toEqual([]);
  });
});

describe('cancel', () => {
  it('cancelling a working parent cancels its children and its pending delayed fill', async () => {
    const { clock, broker, events } = await setup();
    broker.faults.delayNext(20_000);
    const legs = await broker.placeBracket(bracketFor('c-1'), permitFor('c-1'));
    await broker.cancel(legs[0]!.brokerOrderId);
    await clock.advance(60_000);
    expect(statusOf(events, 'c-1')).toEqual([
      'ENTRY:WORKING', 'TARGET:WORKING', 'STOP:WORKING', 'ENTRY:CANCELLED', 'TARGET:CANCELLED', 'STOP:CANCELLED',
    ]);
    expect(await broker.executions()).toEqual([]);
  });

  it('cancelling a partly filled parent keeps the children protecting the filled part', async () => {
    const { broker } = await setup();
    broker.faults.partialNext(0.5);
    const legs = await broker.placeBracket(bracketFor('c-2', { quantity: 4 }), permitFor('c-2'));
    await broker.cancel(legs[0]!.brokerOrderId);
    const orders = (await broker.findByOrderRef('c-2')).orders;
    expect(orders.map((o) => `${o.role}:${o.status}:${o.filledQty}`)).toEqual(['ENTRY:CANCELLED:2', 'TARGET:WORKING:0', 'STOP:WORKING:0']);
  });

  it('unknown ids and closed orders are refused with the state in the message', async () => {
    const { broker } = await setup();
    const legs = await broker.placeBracket(bracketFor('c-3'), permitFor('c-3'));
    await broker.cancel(legs[1]!.brokerOrderId);
    await expect(broker.cancel(legs[1]!.brokerOrderId)).rejects.toMatchObject({ code: 'NOT_CANCELLABLE', message: expect.stringContaining('CANCELLED') });
    await expect(broker.cancel(legs[0]!.brokerOrderId)).rejects.toMatchObject({ code: 'NOT_CANCELLABLE', message: expect.stringContaining('FILLED') });
    await expect(broker.cancel('999999')).rejects.toMatchObject({ code: 'UNKNOWN_ORDER' });
  });
});

describe('qualify', () => {
  it('is deterministic and spells futures local symbols', async () => {
    const a = (await setup()).broker;
    const b = (await setup()).broker;
    const [qa, qb] = [await a.qualify(MES), await b.qualify(MES)];
    expect(qa.conId).toBe(qb.conId);
    expect(qa.localSymbol).toBe('MESZ6');
    expect((await a.qualify({ ...AAPL, exchange: 'NASDAQ' })).conId).toBe((await a.qualify(AAPL)).conId);
  });

  it('refuses unknown symbols and futures without a month', async () => {
    const { broker } = await setup({ unknownSymbols: ['ZZZZ'] });
    await expect(broker.qualify({ ...AAPL, symbol: 'ZZZZ' })).rejects.toMatchObject({ name: 'BrokerRefusedError', code: 'NO_SECURITY' });
    await expect(broker.placeBracket(bracketFor('q-1', { instrument: { ...AAPL, symbol: 'ZZZZ' } }), permitFor('q-1'))).rejects.toMatchObject({ code: 'NO_SECURITY' });
    const { contractMonth: _month, ...noMonth } = MES;
    await expect(broker.qualify(noMonth)).rejects.toMatchObject({ code: 'AMBIGUOUS_CONTRACT' });
  });

  it('needs a connection', async () => {
    const broker = new SimBroker({ clock: new FakeClock(), random: seededRandom(1), profile: 'INSTANT' });
    await expect(broker.qualify(AAPL)).rejects.toMatchObject({ name: 'BrokerUnavailableError' });
    expect(broker.health()).toMatchObject({ state: 'DISCONNECTED', canSubmit: false, account: null });
  });
});

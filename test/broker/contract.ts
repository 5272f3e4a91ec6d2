/**
 * BrokerPort contract suite: what every broker implementation (SimBroker, the IBKR adapter
 * against the TWS wire-protocol test server, any future one) must do, checked only through
 * the port. Run it from a `*.test.ts` file:
 *
 *   runBrokerContract('SimBroker INSTANT', async () => {
 *     const clock = new FakeClock();
 *     const broker = new SimBroker({ clock, random: seededRandom(1), profile: 'INSTANT' });
 *     return {
 *       broker,
 *       settle: () => clock.advance(0),
 *       movePrice: async (symbol, price) => { broker.simulatePrice(symbol, price); await clock.advance(0); },
 *       close: () => broker.disconnect(),
 *     };
 *   });
 *
 * What the harness must provide (one fresh harness per test case):
 * - `broker`: NOT yet connected, empty order book and no positions, a paper account (id
 *   starting with DU) with net liquidation > 0, knowing AAPL (STK SMART USD) and MES (FUT
 *   CME USD 202612, multiplier 5), and filling market and marketable limit entries
 *   completely (INSTANT behaviour: no random partials, rejects or delays).
 * - `settle()`: resolves once every event caused by the calls so far has been delivered
 *   (fake clock: flush microtasks / advance(0); real socket: short wait or round trip).
 * - `movePrice(symbol, price)`: makes that the market price; resting stop/target orders it
 *   crosses execute. The suite sets AAPL = 200 and MES = 6000 before placing anything.
 * - `close()`: disconnects and frees resources (servers, sockets, timers).
 *
 * Refusals are `BrokerRefusedError` with codes NO_PERMIT (no or foreign permit, or an entry
 * sent through placeOrder) and NOT_CANCELLABLE (cancel of a filled/cancelled order); calls
 * that cannot reach the broker are `BrokerUnavailableError`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BrokerRefusedError,
  BrokerUnavailableError,
  type BracketRequest,
  type BrokerEvent,
  type BrokerOrder,
  type BrokerPort,
  type Instrument,
  type OrderRole,
  type SubmitPermit,
} from '../../src/engine/broker.port.js';

export interface BrokerHarness {
  readonly broker: BrokerPort;
  /** let pending events arrive */
  settle(): Promise<void>;
  /** set the market price; resting stop/target orders it crosses execute */
  movePrice(symbol: string, price: number): Promise<void>;
  close(): Promise<void>;
}

export const AAPL: Instrument = Object.freeze({ symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD', multiplier: 1 });
export const MES: Instrument = Object.freeze({
  symbol: 'MES', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 5,
});

export function permitFor(intentId: string): SubmitPermit {
  return Object.freeze({ tokenId: `tok-${intentId}`, intentId, evidenceHash: 'e'.repeat(64), usedAt: 0 });
}

/** Long AAPL 10 @ MKT (market 200), stop 195, target 210 unless overridden. */
export function bracketFor(orderRef: string, over: Partial<BracketRequest> = {}): BracketRequest {
  return { orderRef, instrument: AAPL, side: 'BUY', quantity: 10, entryType: 'MKT', stopPrice: 195, targetPrice: 210, ...over };
}

export function runBrokerContract(name: string, makeHarness: () => Promise<BrokerHarness>): void {
  describe(`BrokerPort contract: ${name}`, () => {
    let h: BrokerHarness;
    let broker: BrokerPort;
    let events: BrokerEvent[];
    let unsubscribe: () => void;

    beforeEach(async () => {
      h = await makeHarness();
      broker = h.broker;
      events = [];
      unsubscribe = broker.onEvent((e) => events.push(e));
    });
    afterEach(async () => {
      unsubscribe();
      await h.close();
    });

    async function ready(): Promise<void> {
      await broker.connect();
      await h.movePrice('AAPL', 200);
      await h.movePrice('MES', 6000);
      await h.settle();
    }

    async function place(ref: string, over: Partial<BracketRequest> = {}): Promise<Record<OrderRole, string>> {
      const legs = await broker.placeBracket(bracketFor(ref, over), permitFor(ref));
      await h.settle();
      return Object.fromEntries(legs.map((l) => [l.role, l.brokerOrderId])) as Record<OrderRole, string>;
    }

    async function order(ref: string, role: OrderRole): Promise<BrokerOrder> {
      const found = (await broker.findByOrderRef(ref)).orders.find((o) => o.role === role);
      if (!found) throw new Error(`no ${role} order for ${ref}`);
      return found;
    }

    const refEvents = (ref: string): BrokerEvent[] =>
      events.filter((e) => (e.kind === 'fill' ? e.fill.orderRef : e.kind === 'orderStatus' ? e.orderRef : undefined) === ref);

    it('connects: health READY with canSubmit and a paper account summary', async () => {
      expect(broker.health().canSubmit).toBe(false);
      await broker.connect();
      const health = broker.health();
      expect(health.state).toBe('READY');
      expect(health.canSubmit).toBe(true);
      const account = await broker.accountSummary();
      expect(account.accountId).toMatch(/^DU/);
      expect(account.netLiquidation).toBeGreaterThan(0);
      expect(health.account?.accountId).toBe(account.accountId);
    });

    it('disconnect: not READY, canSubmit false, placements are unavailable and leave nothing', async () => {
      await ready();
      await broker.disconnect();
      expect(broker.health().state).not.toBe('READY');
      expect(broker.health().canSubmit).toBe(false);
      await expect(broker.placeBracket(bracketFor('c-off'), permitFor('c-off'))).rejects.toBeInstanceOf(BrokerUnavailableError);
      await broker.connect();
      expect((await broker.findByOrderRef('c-off')).orders).toEqual([]);
    });

    it('qualifies a stock and a future', async () => {
      await ready();
      const stock = await broker.qualify(AAPL);
      expect(stock.instrument).toMatchObject({ symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD', multiplier: 1 });
      expect(Number.isInteger(stock.conId) && stock.conId > 0).toBe(true);
      expect(stock.minTick).toBe(0.01);
      const future = await broker.qualify(MES);
      expect(future.instrument).toMatchObject({ symbol: 'MES', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 5 });
      expect(Number.isInteger(future.conId) && future.conId > 0).toBe(true);
      expect(future.conId).not.toBe(stock.conId);
      expect(future.minTick).toBe(0.25);
    });

    it('MKT bracket: entry fills, three linked legs share the orderRef', async () => {
      await ready();
      const legs = await broker.placeBracket(bracketFor('c-mkt'), permitFor('c-mkt'));
      await h.settle();
      expect(legs.map((l) => l.role).sort()).toEqual(['ENTRY', 'STOP', 'TARGET']);
      expect(new Set(legs.map((l) => l.brokerOrderId)).size).toBe(3);
      const report = await broker.findByOrderRef('c-mkt');
      expect(report.orders).toHaveLength(3);
      expect(report.orders.every((o) => o.orderRef === 'c-mkt')).toBe(true);
      expect(await order('c-mkt', 'ENTRY')).toMatchObject({ side: 'BUY', type: 'MKT', status: 'FILLED', filledQty: 10, quantity: 10 });
      expect(await order('c-mkt', 'TARGET')).toMatchObject({ side: 'SELL', type: 'LMT', limitPrice: 210, status: 'WORKING', quantity: 10 });
      expect(await order('c-mkt', 'STOP')).toMatchObject({ side: 'SELL', type: 'STP', stopPrice: 195, status: 'WORKING', quantity: 10 });
      const entryFills = report.fills.filter((f) => f.role === 'ENTRY');
      expect(entryFills.reduce((n, f) => n + f.quantity, 0)).toBe(10);
      expect(entryFills.every((f) => f.orderRef === 'c-mkt' && f.side === 'BUY' && f.price > 0)).toBe(true);
    });

    it('LMT bracket: marketable limit entry fills at or better than its limit', async () => {
      await ready();
      await place('c-lmt', { entryType: 'LMT', limitPrice: 200.5 });
      const entry = await order('c-lmt', 'ENTRY');
      expect(entry).toMatchObject({ type: 'LMT', limitPrice: 200.5, status: 'FILLED', filledQty: 10 });
      expect(entry.avgFillPrice).not.toBeNull();
      expect(entry.avgFillPrice as number).toBeLessThanOrEqual(200.5);
    });

    it('refuses a bracket without a permit or with a permit for another intent; nothing reaches the broker', async () => {
      await ready();
      const missing = broker.placeBracket(bracketFor('c-none'), undefined as unknown as SubmitPermit);
      await expect(missing).rejects.toBeInstanceOf(BrokerRefusedError);
      await expect(missing).rejects.toMatchObject({ code: 'NO_PERMIT' });
      const foreign = broker.placeBracket(bracketFor('c-mine'), permitFor('c-other'));
      await expect(foreign).rejects.toMatchObject({ name: 'BrokerRefusedError', code: 'NO_PERMIT' });
      await h.settle();
      const open = await broker.openOrders();
      expect(open.filter((o) => ['c-none', 'c-mine', 'c-other'].includes(o.orderRef))).toEqual([]);
      expect((await broker.findByOrderRef('c-mine')).orders).toEqual([]);
      expect(refEvents('c-none').concat(refEvents('c-mine'), refEvents('c-other'))).toEqual([]);
    });

    it('refuses an entry sent through placeOrder (exits only)', async () => {
      await ready();
      const req = { orderRef: 'c-sneak', role: 'ENTRY' as const, instrument: AAPL, side: 'BUY' as const, quantity: 1, type: 'MKT' as const };
      await expect(broker.placeOrder(req)).rejects.toBeInstanceOf(BrokerRefusedError);
      expect((await broker.findByOrderRef('c-sneak')).orders).toEqual([]);
    });

    it('long bracket: the stop fill cancels the target', async () => {
      await ready();
      await place('c-stop');
      await h.movePrice('AAPL', 194);
      await h.settle();
      expect(await order('c-stop', 'STOP')).toMatchObject({ status: 'FILLED', filledQty: 10 });
      expect((await order('c-stop', 'TARGET')).status).toBe('CANCELLED');
      expect((await broker.positions()).find((p) => p.instrument.symbol === 'AAPL')).toBeUndefined();
    });

    it('long bracket: the target fill cancels the stop', async () => {
      await ready();
      await place('c-tgt');
      await h.movePrice('AAPL', 211);
      await h.settle();
      const target = await order('c-tgt', 'TARGET');
      expect(target).toMatchObject({ status: 'FILLED', filledQty: 10 });
      expect(target.avgFillPrice as number).toBeGreaterThanOrEqual(210);
      expect((await order('c-tgt', 'STOP')).status).toBe('CANCELLED');
      const kinds = refEvents('c-tgt').map((e) =>
        e.kind === 'orderStatus' ? `${e.role}:${e.status}` : e.kind === 'fill' ? `fill:${e.fill.role}` : e.kind,
      );
      expect(kinds).toContain('fill:TARGET');
      expect(kinds).toContain('STOP:CANCELLED');
    });

    it('short bracket: the stop above the market fills on a rise and cancels the target', async () => {
      await ready();
      await place('c-short', { instrument: MES, side: 'SELL', quantity: 1, stopPrice: 6010, targetPrice: 5980 });
      expect((await broker.positions()).find((p) => p.instrument.symbol === 'MES')?.quantity).toBe(-1);
      await h.movePrice('MES', 6005);
      await h.settle();
      expect((await order('c-short', 'STOP')).status).toBe('WORKING');
      await h.movePrice('MES', 6012);
      await h.settle();
      expect(await order('c-short', 'STOP')).toMatchObject({ side: 'BUY', status: 'FILLED', filledQty: 1 });
      expect((await order('c-short', 'TARGET')).status).toBe('CANCELLED');
    });

    it('cancels a working order', async () => {
      await ready();
      const ids = await place('c-cancel');
      await broker.cancel(ids.TARGET);
      await h.settle();
      expect((await order('c-cancel', 'TARGET')).status).toBe('CANCELLED');
      expect((await broker.openOrders()).map((o) => o.brokerOrderId)).not.toContain(ids.TARGET);
      expect(events).toContainEqual(expect.objectContaining({ kind: 'orderStatus', brokerOrderId: ids.TARGET, status: 'CANCELLED' }));
    });

    it('refuses to cancel a filled order', async () => {
      await ready();
      const ids = await place('c-filled');
      await expect(broker.cancel(ids.ENTRY)).rejects.toMatchObject({ name: 'BrokerRefusedError', code: 'NOT_CANCELLABLE' });
      expect((await order('c-filled', 'ENTRY')).status).toBe('FILLED');
    });

    it('resize lowers an open exit leg (same order, new total; the current total again is a no-op); entries, increases, filled and unknown orders are refused', async () => {
      await ready();
      const ids = await place('c-resize');
      await broker.resize(ids.STOP, 4);
      await broker.resize(ids.STOP, 4);
      await h.settle();
      const stop = await order('c-resize', 'STOP');
      expect(stop).toMatchObject({ brokerOrderId: ids.STOP, quantity: 4, status: 'WORKING' });
      expect((await order('c-resize', 'TARGET')).quantity).toBe(10);
      await expect(broker.resize(ids.ENTRY, 5)).rejects.toMatchObject({ name: 'BrokerRefusedError' });
      await expect(broker.resize(ids.STOP, 6)).rejects.toMatchObject({ name: 'BrokerRefusedError', code: 'INVALID_REQUEST' });
      await expect(broker.resize(ids.STOP, 0)).rejects.toMatchObject({ name: 'BrokerRefusedError', code: 'INVALID_REQUEST' });
      await expect(broker.resize('987654', 1)).rejects.toMatchObject({ name: 'BrokerRefusedError', code: 'UNKNOWN_ORDER' });
      // the resized stop closes what it now covers
      await h.movePrice('AAPL', 194);
      await h.settle();
      expect(await order('c-resize', 'STOP')).toMatchObject({ status: 'FILLED', filledQty: 4 });
    });

    it('openOrders lists the working legs with their orderRef', async () => {
      await ready();
      const ids = await place('c-open');
      const open = (await broker.openOrders()).filter((o) => o.orderRef === 'c-open');
      expect(open.map((o) => o.role).sort()).toEqual(['STOP', 'TARGET']);
      expect(open.map((o) => o.brokerOrderId)).not.toContain(ids.ENTRY);
      expect(open.every((o) => o.status === 'WORKING')).toBe(true);
    });

    it('executions carry the orderRef and unique execIds', async () => {
      await ready();
      await place('c-ex1');
      await place('c-ex2', { instrument: MES, quantity: 1, stopPrice: 5990, targetPrice: 6020 });
      await h.movePrice('MES', 6021);
      await h.settle();
      const fills = await broker.executions();
      expect(new Set(fills.map((f) => f.execId)).size).toBe(fills.length);
      expect(fills.filter((f) => f.orderRef === 'c-ex1').map((f) => f.role)).toEqual(['ENTRY']);
      expect(fills.filter((f) => f.orderRef === 'c-ex2').map((f) => f.role)).toEqual(['ENTRY', 'TARGET']);
      expect(fills.every((f) => f.commission >= 0 && f.quantity > 0)).toBe(true);
    });

    it('positions reflect fills', async () => {
      await ready();
      expect(await broker.positions()).toEqual([]);
      await place('c-pos1');
      await place('c-pos2', { instrument: MES, side: 'SELL', quantity: 1, stopPrice: 6010, targetPrice: 5980 });
      const positions = await broker.positions();
      expect(positions.find((p) => p.instrument.symbol === 'AAPL')?.quantity).toBe(10);
      expect(positions.find((p) => p.instrument.symbol === 'MES')?.quantity).toBe(-1);
      expect(positions.every((p) => p.account === broker.health().account?.accountId)).toBe(true);
    });

    it('findByOrderRef returns the orders and fills of exactly that ref', async () => {
      await ready();
      await place('c-a');
      await place('c-ab');
      const report = await broker.findByOrderRef('c-a');
      expect(report.orders).toHaveLength(3);
      expect(report.orders.every((o) => o.orderRef === 'c-a')).toBe(true);
      expect(report.fills.length).toBeGreaterThan(0);
      expect(report.fills.every((f) => f.orderRef === 'c-a')).toBe(true);
      expect(await broker.findByOrderRef('c-unknown')).toEqual({ orders: [], fills: [] });
    });

    it('delivers events in order: every leg WORKING, then the entry fill, then entry FILLED', async () => {
      await ready();
      const ids = await place('c-seq');
      const seq = refEvents('c-seq');
      const at = (pred: (e: BrokerEvent) => boolean): number => seq.findIndex(pred);
      const working = (id: string) => at((e) => e.kind === 'orderStatus' && e.brokerOrderId === id && e.status === 'WORKING');
      const entryFill = at((e) => e.kind === 'fill' && e.fill.brokerOrderId === ids.ENTRY);
      const entryFilled = at((e) => e.kind === 'orderStatus' && e.brokerOrderId === ids.ENTRY && e.status === 'FILLED');
      for (const id of [ids.ENTRY, ids.TARGET, ids.STOP]) expect(working(id)).toBeGreaterThanOrEqual(0);
      expect(entryFill).toBeGreaterThan(working(ids.ENTRY));
      expect(entryFilled).toBeGreaterThan(working(ids.ENTRY));
    });

    it('a single MKT exit order via placeOrder fills', async () => {
      await ready();
      const ids = await place('c-flat');
      await broker.cancel(ids.STOP);
      await broker.cancel(ids.TARGET);
      const leg = await broker.placeOrder({ orderRef: 'c-flat:exit', role: 'EXIT', instrument: AAPL, side: 'SELL', quantity: 10, type: 'MKT' });
      await h.settle();
      expect(leg.role).toBe('EXIT');
      expect(await order('c-flat:exit', 'EXIT')).toMatchObject({ brokerOrderId: leg.brokerOrderId, status: 'FILLED', filledQty: 10, side: 'SELL' });
      expect(events).toContainEqual(expect.objectContaining({ kind: 'fill', fill: expect.objectContaining({ brokerOrderId: leg.brokerOrderId }) }));
      expect((await broker.positions()).find((p) => p.instrument.symbol === 'AAPL')).toBeUndefined();
    });

    it('unsubscribe stops events for that listener only', async () => {
      await ready();
      const other: BrokerEvent[] = [];
      broker.onEvent((e) => other.push(e));
      unsubscribe();
      const before = events.length;
      await place('c-unsub');
      expect(events.length).toBe(before);
      expect(other.some((e) => e.kind === 'fill')).toBe(true);
    });
  });
}

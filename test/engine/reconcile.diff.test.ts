/**
 * The pure reconciliation diff (src/engine/reconcile.ts), tested on its invariants with
 * fast-check: a broker view derived from Phoenix's own view never shows a discrepancy;
 * changing one thing at the broker shows exactly that; fingerprints do not depend on order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BrokerFill, BrokerOrder, BrokerPosition, Instrument, OrderRole } from '../../src/engine/broker.port.js';
import { instrumentKey } from '../../src/engine/domain.js';
import { realizedPnlCents } from '../../src/engine/pnl.js';
import { contractKey, reconcile, type BrokerSnapshot, type LocalIntent, type LocalOrder, type LocalSnapshot } from '../../src/engine/reconcile.js';

const INSTRUMENTS: Instrument[] = [
  { symbol: 'MES', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 5 },
  { symbol: 'MES', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202703', multiplier: 5 },
  { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD', multiplier: 1 },
  { symbol: 'MSFT', secType: 'STK', exchange: 'SMART', currency: 'USD', multiplier: 1 },
];
const TOL = { pnlCents: 100 };

interface Spec {
  inst: number;
  side: 'BUY' | 'SELL';
  qty: number;
  filled: number;
  exited: number;
  entry: number;
  exit: number;
}

const specArb = fc
  .record({ inst: fc.integer({ min: 0, max: 3 }), side: fc.constantFrom('BUY' as const, 'SELL' as const), qty: fc.integer({ min: 1, max: 10 }), f: fc.double({ min: 0, max: 1, noNaN: true }), e: fc.double({ min: 0, max: 1, noNaN: true }), entry: fc.integer({ min: 1000, max: 900_000 }), move: fc.integer({ min: -5000, max: 5000 }) })
  .map(({ inst, side, qty, f, e, entry, move }): Spec => {
    const filled = Math.floor(f * qty);
    const exited = filled ? Math.floor(e * (filled + 1)) : 0;
    return { inst, side, qty, filled, exited: Math.min(exited, filled), entry: entry / 100, exit: Math.max(1, entry + move) / 100 };
  });

/** Phoenix's view and a broker view that agrees with it in every respect. */
function world(specs: readonly Spec[]): { local: LocalSnapshot; broker: BrokerSnapshot } {
  const intents: LocalIntent[] = [];
  const orders: LocalOrder[] = [];
  const positions = new Map<string, BrokerPosition>();
  const openOrders: BrokerOrder[] = [];
  const executions: BrokerFill[] = [];
  let exec = 0;
  specs.forEach((s, n) => {
    const instrument = INSTRUMENTS[s.inst]!;
    const id = `int_${n}`;
    const closed = s.filled > 0 && s.exited === s.filled;
    const commissionCents = s.filled ? 62 * (s.exited ? 2 : 1) : 0;
    const open = s.filled - s.exited;
    intents.push({
      id,
      instrument,
      instrumentKey: instrumentKey(instrument),
      side: s.side,
      state: closed ? 'CLOSED' : s.filled ? 'MANAGED' : 'SUBMITTED',
      quantity: s.qty,
      filledQty: s.filled,
      exitQty: s.exited,
      avgFillPrice: s.filled ? s.entry : null,
      exitAvgPrice: s.exited ? s.exit : null,
      commissionCents,
      realizedPnlCents: closed ? realizedPnlCents(s.side, s.entry, s.exit, s.filled, instrument.multiplier, commissionCents) : null,
    });
    const exitSide = s.side === 'BUY' ? 'SELL' : 'BUY';
    const leg = (role: OrderRole, status: LocalOrder['status'], quantity: number, filledQty: number, side: 'BUY' | 'SELL') => {
      const brokerOrderId = `${n}${role[0]}`;
      orders.push({ intentId: id, role, brokerOrderId, status, quantity, filledQty });
      if (status === 'WORKING' || status === 'PENDING') openOrders.push({ brokerOrderId, orderRef: id, role, instrument, side, quantity, filledQty, avgFillPrice: filledQty ? s.entry : null, status, type: role === 'STOP' ? 'STP' : 'LMT' });
    };
    // a bracket that closed cancels what was left of its entry (OCA), as brokers do
    leg('ENTRY', s.filled === s.qty ? 'FILLED' : closed ? 'CANCELLED' : 'WORKING', s.qty, s.filled, s.side);
    leg('STOP', open > 0 || s.filled === 0 ? 'WORKING' : 'CANCELLED', s.qty, 0, exitSide);
    leg('TARGET', closed ? 'FILLED' : open > 0 || s.filled === 0 ? 'WORKING' : 'CANCELLED', s.qty, s.exited, exitSide);
    if (s.filled) executions.push({ execId: `e${exec++}`, brokerOrderId: `${n}E`, orderRef: id, role: 'ENTRY', side: s.side, quantity: s.filled, price: s.entry, commission: 0.62, time: 0 });
    if (s.exited) executions.push({ execId: `e${exec++}`, brokerOrderId: `${n}T`, orderRef: id, role: 'TARGET', side: exitSide, quantity: s.exited, price: s.exit, commission: 0.62, time: 0 });
    if (open) {
      const key = contractKey(instrument);
      const p = positions.get(key);
      const signed = (s.side === 'BUY' ? 1 : -1) * open;
      positions.set(key, { account: 'DU1', instrument, quantity: (p?.quantity ?? 0) + signed, avgCost: s.entry });
    }
  });
  return { local: { intents, orders }, broker: { positions: [...positions.values()].filter((p) => p.quantity !== 0), openOrders, executions } };
}

const shuffle = <T>(xs: readonly T[], seed: number): T[] => {
  const a = [...xs];
  let s = seed >>> 0;
  for (let i = a.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
};

const deepFreeze = <T>(o: T): T => {
  if (o && typeof o === 'object') {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
};

describe('reconcile (pure diff)', () => {
  it('invariant: a broker view that agrees with Phoenix shows no discrepancy (and the inputs are not mutated)', () => {
    fc.assert(
      fc.property(fc.array(specArb, { maxLength: 25 }), (specs) => {
        const w = deepFreeze(world(specs));
        expect(reconcile(w.local, w.broker, TOL).discrepancies).toEqual([]);
        expect(reconcile(w.local, w.broker, TOL, 'positions').discrepancies).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('invariant: position quantity equals the broker\'s — changing one contract at the broker gives exactly one POSITION_* discrepancy for it', () => {
    fc.assert(
      fc.property(fc.array(specArb, { maxLength: 20 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: -3, max: 3 }).filter((d) => d !== 0), (specs, inst, delta) => {
        const w = world(specs);
        const instrument = INSTRUMENTS[inst]!;
        const key = contractKey(instrument);
        const before = w.broker.positions.find((p) => contractKey(p.instrument) === key)?.quantity ?? 0;
        const positions = [...w.broker.positions.filter((p) => contractKey(p.instrument) !== key), ...(before + delta !== 0 ? [{ account: 'DU1', instrument, quantity: before + delta, avgCost: 1 }] : [])];
        for (const scope of ['full', 'positions'] as const) {
          const d = reconcile(w.local, { ...w.broker, positions }, TOL, scope).discrepancies;
          expect(d).toHaveLength(1);
          expect(d[0]!.subject).toBe(key);
          expect(d[0]!.type).toBe(before === 0 || before + delta === 0 ? 'POSITION_COUNT' : 'POSITION_SIZE');
          expect(d[0]!.severity).toBe('CRITICAL');
          expect(d[0]!.local).toMatchObject({ quantity: before });
          expect(d[0]!.broker).toMatchObject({ quantity: before + delta });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('fingerprints are stable: same mismatch → same fingerprint whatever the input order; a different mismatch → a different one', () => {
    fc.assert(
      fc.property(fc.array(specArb, { minLength: 1, maxLength: 15 }), fc.integer(), (specs, seed) => {
        const w = world(specs);
        const bump = (q: number) => w.broker.positions.map((p, i) => (i === 0 ? { ...p, quantity: p.quantity + q } : p));
        const extra: BrokerPosition = { account: 'DU1', instrument: { symbol: 'ZZZ', secType: 'STK', exchange: 'SMART', currency: 'USD', multiplier: 1 }, quantity: 3, avgCost: 1 };
        const broker = { ...w.broker, positions: [...bump(1), extra], openOrders: w.broker.openOrders.slice(1) };
        const a = reconcile(w.local, broker, TOL).discrepancies.map((d) => d.fingerprint);
        const b = reconcile(
          { intents: shuffle(w.local.intents, seed), orders: shuffle(w.local.orders, seed + 1) },
          { positions: shuffle(broker.positions, seed + 2), openOrders: shuffle(broker.openOrders, seed + 3), executions: shuffle(broker.executions, seed + 4) },
          TOL,
        ).discrepancies.map((d) => d.fingerprint);
        expect(b).toEqual(a);
        expect(new Set(a).size).toBe(a.length);
        const c = reconcile(w.local, { ...broker, positions: [...bump(2), extra] }, TOL).discrepancies.map((d) => d.fingerprint);
        if (w.broker.positions.length) expect(c).not.toEqual(a);
      }),
      { numRuns: 200 },
    );
  });

  const one = world([{ inst: 0, side: 'BUY', qty: 2, filled: 2, exited: 0, entry: 6010.25, exit: 6015 }]);

  it('a protective STOP Phoenix thinks is working but the broker does not have → ORDER_STATUS CRITICAL', () => {
    const broker = { ...one.broker, openOrders: one.broker.openOrders.filter((o) => o.role !== 'STOP') };
    const all = reconcile(one.local, broker, TOL).discrepancies;
    const d = all.find((x) => x.subject === 'int_0:STOP');
    expect(d).toMatchObject({ type: 'ORDER_STATUS', severity: 'CRITICAL', subject: 'int_0:STOP', local: { status: 'WORKING' }, broker: { status: 'NOT_WORKING' } });
    // and invariant 5 (issue 13): the position itself has no working stop at the broker
    expect(all.map((x) => x.subject).sort()).toEqual(['int_0:PROTECTION', 'int_0:STOP']);
    expect(all.find((x) => x.subject === 'int_0:PROTECTION')).toMatchObject({ type: 'ORDER_STATUS', severity: 'CRITICAL', local: { open: 2, protection: 'no working stop' }, broker: { stop: null } });
    // positions-only scope does not look at orders
    expect(reconcile(one.local, broker, TOL, 'positions').discrepancies).toEqual([]);
  });

  it('an entry still working at the broker for an intent Phoenix considers CANCELLED → ORDER_STATUS CRITICAL', () => {
    const w = world([{ inst: 0, side: 'BUY', qty: 1, filled: 0, exited: 0, entry: 6010.25, exit: 6015 }]);
    const local = { ...w.local, intents: w.local.intents.map((i) => ({ ...i, state: 'CANCELLED' as const })) };
    const d = reconcile(local, w.broker, TOL).discrepancies;
    expect(d.map((x) => `${x.subject} ${x.severity}`).sort()).toEqual(['int_0:ENTRY CRITICAL', 'int_0:STOP CRITICAL', 'int_0:TARGET CRITICAL']);
    expect(d.find((x) => x.subject === 'int_0:ENTRY')!.summary).toContain('(intent CANCELLED), broker WORKING');
  });

  it('a working order at the broker unknown to Phoenix → ORDER_STATUS; an order still being placed (no broker id, nothing at the broker) is not a drift', () => {
    const manual: BrokerOrder = { brokerOrderId: '99', orderRef: '', role: 'EXIT', instrument: INSTRUMENTS[2]!, side: 'SELL', quantity: 5, filledQty: 0, avgFillPrice: null, status: 'WORKING', type: 'LMT', limitPrice: 300 };
    const d = reconcile(one.local, { ...one.broker, openOrders: [...one.broker.openOrders, manual] }, TOL).discrepancies;
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ type: 'ORDER_STATUS', severity: 'CRITICAL', local: null, broker: { brokerOrderId: '99', status: 'WORKING' } });
    expect(d[0]!.summary).toContain('unknown to Phoenix');
    const placing: LocalOrder = { intentId: 'int_new', role: 'ENTRY', brokerOrderId: null, status: 'PENDING', quantity: 1, filledQty: 0 };
    expect(reconcile({ ...one.local, orders: [...one.local.orders, placing] }, one.broker, TOL).discrepancies).toEqual([]);
  });

  it('partial-fill ratio: the broker filled 6 of 10 where Phoenix booked 5 → ORDER_STATUS CRITICAL with both ratios', () => {
    const w = world([{ inst: 2, side: 'BUY', qty: 10, filled: 5, exited: 0, entry: 200, exit: 201 }]);
    const openOrders = w.broker.openOrders.map((o) => (o.role === 'ENTRY' ? { ...o, filledQty: 6 } : o));
    const executions = [...w.broker.executions, { ...w.broker.executions[0]!, execId: 'late', quantity: 1 }];
    const positions = w.broker.positions.map((p) => ({ ...p, quantity: 6 }));
    const d = reconcile(w.local, { positions, openOrders, executions }, TOL).discrepancies;
    const order = d.find((x) => x.type === 'ORDER_STATUS');
    expect(order).toMatchObject({ severity: 'CRITICAL', local: { filledQty: 5, partialFillRatio: 0.5 }, broker: { filledQty: 6, partialFillRatio: 0.6 } });
    expect(d.find((x) => x.type === 'POSITION_SIZE')).toMatchObject({ local: { quantity: 5 }, broker: { quantity: 6, impliedPartialFillRatio: 0.6 } });
  });

  it('P&L: entry price or realised P&L off by more than the tolerance → PNL WARNING; within tolerance → nothing; incomplete executions → not compared', () => {
    const closed = world([{ inst: 0, side: 'BUY', qty: 1, filled: 1, exited: 1, entry: 6010.25, exit: 6015 }]);
    const i = closed.local.intents[0]!;
    const off = { ...closed.local, intents: [{ ...i, realizedPnlCents: (i.realizedPnlCents ?? 0) + 500 }] };
    const d = reconcile(off, closed.broker, TOL).discrepancies;
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ type: 'PNL', severity: 'WARNING', subject: 'int_0', local: { realizedPnlCents: (i.realizedPnlCents ?? 0) + 500 }, broker: { realizedPnlCents: i.realizedPnlCents } });
    const near = { ...closed.local, intents: [{ ...i, realizedPnlCents: (i.realizedPnlCents ?? 0) + 99 }] };
    expect(reconcile(near, closed.broker, TOL).discrepancies).toEqual([]);
    const price = { ...one.local, intents: [{ ...one.local.intents[0]!, avgFillPrice: 6011.25 }] }; // $1 × 2 × 5 = $10 off
    expect(reconcile(price, one.broker, TOL).discrepancies.map((x) => x.type)).toEqual(['PNL']);
    const partialExecs = { ...one.broker, executions: [] };
    expect(reconcile(price, partialExecs, TOL).discrepancies).toEqual([]);
  });

  it('contract identity ignores the exchange and the day of a futures expiry (IB reports YYYYMMDD)', () => {
    const a = INSTRUMENTS[0]!;
    expect(contractKey(a)).toBe(contractKey({ ...a, exchange: 'GLOBEX', contractMonth: '20261218' }));
    expect(contractKey(a)).not.toBe(contractKey(INSTRUMENTS[1]!));
  });
});

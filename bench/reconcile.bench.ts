/**
 * Reconciliation of 1,000 positions + 1,000 orders (SPEC 16).
 * - the pure diff (`reconcile`) on 1,000 open positions (distinct contracts), 1,000 working
 *   orders and 1,000 executions, all agreeing, plus one run with 10 mismatches; median of N
 *   runs, next to a bare O(n) baseline from the same run (building the per-contract and
 *   per-order maps the diff needs, nothing else);
 * - the whole use case (`reconcileNow`: broker reads, local snapshot from the SQLite file,
 *   diff, kv record) on the same book, with an in-memory broker.
 */
import { performance } from 'node:perf_hooks';
import {
  contractKey,
  parseIntent,
  reconcile,
  type BrokerFill,
  type BrokerOrder,
  type BrokerPort,
  type BrokerPosition,
  type BrokerSnapshot,
  type Instrument,
  type IntentRecord,
  type LocalSnapshot,
  type OrderRecord,
} from '../src/engine/index.js';
import { reconcileText } from '../src/present/reconcile.text.js';
import { makeHarness } from '../test/support/harness.js';
import { anIntent, anOrder } from '../test/support/records.js';
import { percentile, type BenchRow } from './stats.js';

const median = (xs: readonly number[]) => percentile(xs, 50);

interface Book {
  intents: IntentRecord[];
  orders: OrderRecord[];
  broker: BrokerSnapshot;
}

/** n open long positions in n different stocks, each with a working protective STOP at the broker. */
function book(n: number, now: number, template: IntentRecord['payload']): Book {
  const intents: IntentRecord[] = [];
  const orders: OrderRecord[] = [];
  const positions: BrokerPosition[] = [];
  const openOrders: BrokerOrder[] = [];
  const executions: BrokerFill[] = [];
  for (let i = 0; i < n; i++) {
    const instrument: Instrument = { symbol: `S${i}`, secType: 'STK', exchange: 'SMART', currency: 'USD', multiplier: 1 };
    const id = `int_bench${i}`;
    const price = 100 + (i % 50);
    const payload: IntentRecord['payload'] = { ...template, signalId: `bench-${i}`, instrument: { symbol: instrument.symbol, secType: 'STK', exchange: 'SMART', currency: 'USD', multiplier: 1 }, quantity: 10, orderType: 'LMT', entryPrice: price, stopLoss: price - 1, takeProfit: price + 2 };
    intents.push(anIntent({
      id, strategy: 'bench', payload, evidenceHash: 'x', state: 'MANAGED', stateReason: 'bench', instrument, side: 'BUY',
      stateAsOf: now, cardExpiresAt: now, filledQty: 10, avgFillPrice: price, commissionCents: 100, approvedBy: 'bench', approvedAt: now, submittedAt: now, ackedAt: now, createdAt: now + i,
    }, now));
    orders.push(anOrder({ id: `ord_e${i}`, intentId: id, brokerOrderId: `${i}e`, status: 'FILLED', quantity: 10, filledQty: 10, avgFillPrice: price }, now));
    orders.push(anOrder({ id: `ord_s${i}`, intentId: id, role: 'STOP', brokerOrderId: `${i}s`, status: 'WORKING', quantity: 10 }, now));
    positions.push({ account: 'DU0000001', instrument, quantity: 10, avgCost: price });
    openOrders.push({ brokerOrderId: `${i}s`, orderRef: id, role: 'STOP', instrument, side: 'SELL', quantity: 10, filledQty: 0, avgFillPrice: null, status: 'WORKING', type: 'STP', stopPrice: price - 1 });
    executions.push({ execId: `x${i}`, brokerOrderId: `${i}e`, orderRef: id, role: 'ENTRY', side: 'BUY', quantity: 10, price, commission: 1, time: now });
  }
  return { intents, orders, broker: { positions, openOrders, executions } };
}

function baseline(local: LocalSnapshot, broker: BrokerSnapshot): number {
  const a = new Map<string, number>();
  for (const i of local.intents) a.set(contractKey(i.instrument), (a.get(contractKey(i.instrument)) ?? 0) + i.filledQty - i.exitQty);
  const b = new Map<string, number>();
  for (const p of broker.positions) b.set(contractKey(p.instrument), p.quantity);
  const o = new Map<string, BrokerOrder>();
  for (const x of broker.openOrders) o.set(`${x.orderRef}:${x.role}`, x);
  let same = 0;
  for (const l of local.orders) if (o.has(`${l.intentId}:${l.role}`)) same++;
  return a.size + b.size + same;
}

function time(fn: () => unknown, runs: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    out.push(performance.now() - t0);
  }
  return out;
}

export async function benchReconcile(n = 1000, runs = 51): Promise<BenchRow[]> {
  const h = await makeHarness({
    broker: () => fakeBroker(() => bk.broker),
  });
  const template = (() => {
    const p = parseIntent(h.intent());
    if (!p.ok) throw new Error('bench intent invalid');
    return p.value;
  })();
  const bk = book(n, h.clock.now(), template);
  try {
    const local: LocalSnapshot = { intents: bk.intents, orders: bk.orders };
    const tol = { pnlCents: 100 };
    if (reconcile(local, bk.broker, tol).discrepancies.length) throw new Error('bench book should reconcile cleanly');
    // warm-up, then measure
    time(() => reconcile(local, bk.broker, tol), 20);
    time(() => baseline(local, bk.broker), 20);
    const diff = median(time(() => reconcile(local, bk.broker, tol), runs));
    const base = median(time(() => baseline(local, bk.broker), runs));
    const drifted: BrokerSnapshot = { ...bk.broker, positions: bk.broker.positions.map((p, i) => (i % 100 === 0 ? { ...p, quantity: p.quantity + 1 } : p)) };
    const found = reconcile(local, drifted, tol).discrepancies.length;
    const withDrift = median(time(() => reconcile(local, drifted, tol), runs));

    // end to end on the SQLite file
    await h.app.store.tx(async (tx) => {
      for (const i of bk.intents) await tx.intents.insert(i);
      for (const o of bk.orders) await tx.orders.insert(o);
    });
    const e2e: number[] = [];
    for (let i = 0; i < 11; i++) {
      await h.clock.advance(5_000);
      const t0 = performance.now();
      const r = await h.engine.reconcileNow('bench');
      e2e.push(performance.now() - t0);
      if (!r.ran || r.discrepancies.length) throw new Error(`bench reconcileNow: ${reconcileText(r)} ${JSON.stringify(r.discrepancies.slice(0, 2))}`);
    }
    const e2eMedian = median(e2e.slice(1));
    return [
      { name: `reconcile diff, ${n} positions + ${n} orders (pure, median of ${runs})`, value: diff, unit: 'ms', baseline: `bare map build over the same input ${base.toFixed(3)} ms`, ratio: diff / base },
      { name: `reconcile diff with ${found} mismatches (fingerprinted)`, value: withDrift, unit: 'ms', baseline: `clean book ${diff.toFixed(3)} ms`, ratio: withDrift / diff },
      { name: `reconcileNow end to end, ${n} + ${n} (SQLite file, in-memory broker, median of 10)`, value: e2eMedian, unit: 'ms', baseline: `pure diff ${diff.toFixed(3)} ms`, ratio: e2eMedian / diff },
    ];
  } finally {
    await h.close();
  }
}

/** A connected broker that reports a fixed book (reads only). */
function fakeBroker(snapshot: () => BrokerSnapshot): BrokerPort {
  const account = { accountId: 'DU0000001', netLiquidation: 25_000, buyingPower: 100_000, currency: 'USD' };
  const no = async (): Promise<never> => {
    throw new Error('bench broker is read-only');
  };
  return {
    name: 'bench',
    connect: async () => {},
    disconnect: async () => {},
    health: () => ({ state: 'READY', canSubmit: true, account }),
    accountSummary: async () => account,
    qualify: no,
    placeBracket: no,
    placeOrder: no,
    cancel: no,
    resize: no,
    openOrders: async () => snapshot().openOrders,
    executions: async () => snapshot().executions,
    positions: async () => snapshot().positions,
    findByOrderRef: async () => ({ orders: [], fills: [] }),
    onEvent: () => () => {},
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchReconcile().then((rows) => {
    for (const r of rows) process.stdout.write(`${r.name}: ${r.value.toFixed(3)} ${r.unit} (${r.baseline ?? ''}${r.ratio !== undefined ? `, ${r.ratio.toFixed(2)}×` : ''})\n`);
  });
}

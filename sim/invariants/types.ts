/**
 * How an invariant plugs into the simulation. Each one is named after its SPEC 14 id (or, for a
 * SPEC 4 rule without one, `GATE-…`), reads the broker's own book and the committed database,
 * and reports what it finds. Most only `check` after every step; some also watch the broker's
 * door (an entry leaving, a mutation) or run a clock (`timed`: checked every simulated second
 * while `running` says its clock runs — the driver never leaps over a running clock).
 */
import type { SimBroker } from '../../src/broker/sim/index.js';
import type { BrokerFill, BrokerOrder, Constitution, IntentRecord, StoredBead } from '../../src/engine/index.js';
import type { Act } from '../actions.js';
import type { SimCalendar } from '../calendar.js';
import type { Reader } from '../reader.js';
import type { FakeTelegram } from '../telegram.js';

export interface SimView {
  readonly now: number;
  readonly reader: Reader;
  readonly broker: SimBroker;
  readonly constitution: Constitution;
  readonly calendar: SimCalendar;
  readonly telegram: FakeTelegram;
  /** a Phoenix process has run without interruption since (null: none runs) */
  readonly aliveSince: number | null;
  /** the broker connection has been READY since (null: down) */
  readonly brokerReadySince: number | null;
  /** spoofed positions the broker reports now, by symbol, and since when */
  readonly spoofs: ReadonlyMap<string, number>;
  /** whether any position was spoofed at some moment of [from, to] */
  spoofedBetween(from: number, to: number): boolean;
  /** the broker's book, read once per view (on first use) */
  readonly truth: Truth;
  /** an intent as committed, read once per view */
  intent(id: string): IntentRecord | null;
  /** whether an execution is booked (a Fill row), from one read of the Fill ids per view */
  isBooked(execId: string): boolean;
  /** beads committed since the previous check, in order */
  readonly newBeads: readonly StoredBead[];
}

export interface Truth {
  readonly orders: readonly BrokerOrder[];
  readonly executions: readonly BrokerFill[];
  readonly byRef: ReadonlyMap<string, RefTruth>;
  readonly orderById: ReadonlyMap<string, BrokerOrder>;
  /** placement order of each broker order id */
  readonly placed: ReadonlyMap<string, number>;
}

/** Everything the broker holds for one orderRef (= one intent). */
export interface RefTruth {
  readonly orderRef: string;
  readonly orders: readonly BrokerOrder[];
  readonly executions: readonly BrokerFill[];
  /** side of the entry (from the ENTRY order; null when there is none) */
  readonly entrySide: 'BUY' | 'SELL' | null;
  /** executed on the entry's side / on the other side */
  readonly entered: number;
  readonly exited: number;
}

export interface Mutation {
  readonly kind: 'bracket' | 'order' | 'cancel' | 'resize';
  readonly orderRef: string;
  readonly role: string;
  readonly brokerOrderId?: string;
}

export interface Invariant {
  readonly id: string;
  /** after every step */
  check?(v: SimView, report: (message: string) => void): void;
  /** every simulated second while not leaping; `running` says a clock runs (no leaping then) */
  timed?(v: SimView, report: (message: string) => void): void;
  running?(v: SimView): boolean;
  /** an entry leg of `orderRef` is being recorded at the broker right now */
  entryLeaving?(v: SimView, orderRef: string, report: (message: string) => void): void;
  /** a placement or cancel reaches the broker */
  mutation?(v: SimView, m: Mutation, report: (message: string) => void): void;
  /** after the step that applied `act` (the process ran through the whole step: `aliveThrough`) */
  afterAct?(v: SimView, act: Act, aliveThrough: boolean, report: (message: string) => void): void;
}

/** The instrument identity the checks use: their own, not Phoenix's (INV-INSTRUMENT-ID-1 must not trust the code it tests). */
export function canonicalKey(i: { symbol: string; secType: string; currency: string; contractMonth?: string }): string {
  const month = i.secType === 'FUT' ? (i.contractMonth ?? '').trim().slice(0, 6) : '';
  return `${i.secType}:${i.symbol.trim().toUpperCase()}:${month}:${i.currency.trim().toUpperCase()}`;
}

/**
 * `truthOf`, rebuilt only when the broker's book changed: the checks read the truth several times
 * a step and every simulated second while time runs, and the book rarely changes in between.
 * What the truth holds of an order that can change (status, filled and total quantity, average
 * fill price) and the number of orders make the key; every execution changes its order's filled
 * quantity. (The book is read in place, without the snapshots `truth()` makes.)
 */
export function truthCache(broker: SimBroker): () => Truth {
  const book = (broker as unknown as { book: { all(): readonly { status: string; filledQty: number; quantity: number; avgFillPrice: number | null }[] } }).book;
  let key = '';
  let cached: Truth | null = null;
  return () => {
    let k = '';
    for (const o of book.all()) k += `${o.status}:${o.filledQty}:${o.quantity}:${o.avgFillPrice ?? ''};`;
    if (cached === null || k !== key) {
      cached = truthOf(broker);
      key = k;
    }
    return cached;
  };
}

export function truthOf(broker: SimBroker): Truth {
  const t = broker.truth();
  const refs = new Map<string, { orders: BrokerOrder[]; executions: BrokerFill[] }>();
  const ref = (r: string) => {
    let x = refs.get(r);
    if (!x) refs.set(r, (x = { orders: [], executions: [] }));
    return x;
  };
  for (const o of t.orders) ref(o.orderRef).orders.push(o);
  for (const f of t.executions) ref(f.orderRef).executions.push(f);
  const byRef = new Map<string, RefTruth>();
  for (const [orderRef, x] of refs) {
    const entrySide = x.orders.find((o) => o.role === 'ENTRY')?.side ?? null;
    let entered = 0;
    let exited = 0;
    for (const f of x.executions) {
      if (entrySide === null || f.side === entrySide) entered += f.quantity;
      else exited += f.quantity;
    }
    byRef.set(orderRef, { orderRef, orders: x.orders, executions: x.executions, entrySide, entered, exited });
  }
  const orderById = new Map(t.orders.map((o) => [o.brokerOrderId, o] as const));
  const placed = new Map(t.orders.map((o, i) => [o.brokerOrderId, i] as const));
  return { orders: t.orders, executions: t.executions, byRef, orderById, placed };
}

/**
 * Order and position book of the simulated broker: plain in-memory state, no time, no
 * randomness, no events (the broker decides *when*; the book records *what*).
 *
 * Entry points: `SimBook.addOrder`, `SimBook.fill`, `SimBook.positions`,
 * `instrumentKey`, `isTriggered`.
 * Invariants: broker order ids and execIds are sequential and never reused; a position is the
 * signed sum of its fills (BUY +, SELL −); `avgCost` is the average open price per unit
 * (not multiplied by the contract multiplier); flat positions are not reported.
 */
import {
  instrumentId,
  type BrokerFill,
  type BrokerOrder,
  type BrokerOrderStatus,
  type BrokerPosition,
  type Instrument,
  type OrderRole,
  type Side,
  type SimBookState,
  type SimOrderState,
  type SimPositionState,
} from '../../engine/index.js';

/** The book's mutable record of one order; `snapshot` turns it into a frozen BrokerOrder. */
export interface SimOrder {
  readonly brokerOrderId: string;
  readonly orderRef: string;
  readonly role: OrderRole;
  readonly instrument: Instrument;
  readonly side: Side;
  /** total quantity; an exit leg may be resized down (`SimBroker.resize`) */
  quantity: number;
  readonly type: 'MKT' | 'LMT' | 'STP';
  readonly limitPrice?: number;
  readonly stopPrice?: number;
  /** bracket children: the entry they hang off (they are held until it fills) */
  readonly parentId?: string;
  /** bracket children: the one-cancels-other group shared with the sibling */
  readonly ocaGroup?: string;
  status: BrokerOrderStatus;
  filledQty: number;
  avgFillPrice: number | null;
}

export type NewOrder = Omit<SimOrder, 'brokerOrderId' | 'status' | 'filledQty' | 'avgFillPrice'>;

interface PositionRecord {
  readonly instrument: Instrument;
  quantity: number;
  avgCost: number;
}

/** Identity of a contract for positions and conIds: THE instrument identity (engine/instrument.ts). */
export function instrumentKey(i: Instrument): string {
  return instrumentId(i);
}

export function isOpen(o: SimOrder): boolean {
  return o.status === 'PENDING' || o.status === 'WORKING';
}

/**
 * Whether a resting LMT/STP order is executable at `price`: a buy limit at or above the
 * market, a sell limit at or below it, a buy stop once price rises to it, a sell stop once
 * price falls to it. Market orders are always executable.
 */
export function isTriggered(o: SimOrder, price: number): boolean {
  const buy = o.side === 'BUY';
  if (o.type === 'MKT') return true;
  if (o.type === 'LMT') return o.limitPrice !== undefined && (buy ? price <= o.limitPrice : price >= o.limitPrice);
  return o.stopPrice !== undefined && (buy ? price >= o.stopPrice : price <= o.stopPrice);
}

export class SimBook {
  private readonly orders = new Map<string, SimOrder>();
  private readonly fills: BrokerFill[] = [];
  private readonly positionsByKey = new Map<string, PositionRecord>();
  private readonly childIds = new Map<string, string[]>();
  private readonly ocaIds = new Map<string, string[]>();
  private nextOrderId = 1;
  private nextExec = 1;

  addOrder(spec: NewOrder, status: BrokerOrderStatus): SimOrder {
    const order: SimOrder = { ...spec, brokerOrderId: String(this.nextOrderId++), status, filledQty: 0, avgFillPrice: null };
    this.orders.set(order.brokerOrderId, order);
    if (order.parentId !== undefined) push(this.childIds, order.parentId, order.brokerOrderId);
    if (order.ocaGroup !== undefined) push(this.ocaIds, order.ocaGroup, order.brokerOrderId);
    return order;
  }

  get(brokerOrderId: string): SimOrder | undefined {
    return this.orders.get(brokerOrderId);
  }

  /** All orders in creation order (callers must not mutate them). */
  all(): readonly SimOrder[] {
    return [...this.orders.values()];
  }

  children(parentId: string): SimOrder[] {
    return this.lookup(this.childIds.get(parentId));
  }

  /** The other orders of a one-cancels-other group (none outside brackets). */
  siblings(o: SimOrder): SimOrder[] {
    if (o.ocaGroup === undefined) return [];
    return this.lookup(this.ocaIds.get(o.ocaGroup)).filter((x) => x !== o);
  }

  private lookup(ids: readonly string[] | undefined): SimOrder[] {
    return (ids ?? []).flatMap((id) => this.orders.get(id) ?? []);
  }

  /**
   * Record one execution: updates the order's filled quantity and average price (FILLED when
   * complete, or when `complete` forces it for a child protecting a partial entry) and the
   * position.
   */
  fill(o: SimOrder, quantity: number, price: number, commission: number, time: number, complete = false): BrokerFill {
    const before = o.filledQty;
    o.filledQty = before + quantity;
    o.avgFillPrice = ((o.avgFillPrice ?? 0) * before + price * quantity) / o.filledQty;
    o.status = complete || o.filledQty >= o.quantity ? 'FILLED' : 'WORKING';
    const fill: BrokerFill = Object.freeze({
      execId: `0000sim0.${(this.nextExec++).toString(16).padStart(8, '0')}.01.01`,
      brokerOrderId: o.brokerOrderId,
      orderRef: o.orderRef,
      role: o.role,
      side: o.side,
      quantity,
      price,
      commission,
      time,
    });
    this.fills.push(fill);
    this.applyToPosition(o.instrument, o.side === 'BUY' ? quantity : -quantity, price);
    return fill;
  }

  executions(): readonly BrokerFill[] {
    return [...this.fills];
  }

  /** Real (unspoofed) net positions, flat ones left out. */
  positions(account: string): BrokerPosition[] {
    return [...this.positionsByKey.values()]
      .filter((p) => p.quantity !== 0)
      .map((p) => Object.freeze({ account, instrument: p.instrument, quantity: p.quantity, avgCost: p.avgCost }));
  }

  /** Real position record for a key (used when spoofing keeps the real average cost). */
  position(key: string): { readonly instrument: Instrument; readonly quantity: number; readonly avgCost: number } | undefined {
    return this.positionsByKey.get(key);
  }

  /** Last execution price for a symbol: a fallback market price when none was given. */
  lastPrice(symbol: string): number | undefined {
    for (let i = this.fills.length - 1; i >= 0; i--) {
      const f = this.fills[i] as BrokerFill;
      if (this.orders.get(f.brokerOrderId)?.instrument.symbol === symbol) return f.price;
    }
    return undefined;
  }

  /** The id counters (persisted with the book, so ids are never reused across a restart). */
  counters(): { readonly nextOrderId: number; readonly nextExecId: number } {
    return { nextOrderId: this.nextOrderId, nextExecId: this.nextExec };
  }

  /** Every position record, flat ones included (quantity 0), for persistence. */
  positionStates(): SimPositionState[] {
    return [...this.positionsByKey.entries()].map(([instrumentKey, p]) => ({ instrumentKey, instrument: p.instrument, quantity: p.quantity, avgCost: p.avgCost }));
  }

  /**
   * Load a saved book into this empty one (a restart of Phoenix, sim.persist.ts): orders with
   * their links, executions, positions and the id counters, as they were.
   */
  restore(s: SimBookState): void {
    if (this.orders.size || this.fills.length) throw new Error('SimBook.restore: the book is not empty');
    for (const o of s.orders) {
      const order: SimOrder = { ...o };
      this.orders.set(order.brokerOrderId, order);
      if (order.parentId !== undefined) push(this.childIds, order.parentId, order.brokerOrderId);
      if (order.ocaGroup !== undefined) push(this.ocaIds, order.ocaGroup, order.brokerOrderId);
    }
    this.fills.push(...s.executions.map((f) => Object.freeze({ ...f })));
    for (const p of s.positions) this.positionsByKey.set(p.instrumentKey, { instrument: p.instrument, quantity: p.quantity, avgCost: p.avgCost });
    this.nextOrderId = s.nextOrderId;
    this.nextExec = s.nextExecId;
  }

  private applyToPosition(instrument: Instrument, signedQty: number, price: number): void {
    const key = instrumentKey(instrument);
    const p = this.positionsByKey.get(key) ?? { instrument, quantity: 0, avgCost: 0 };
    this.positionsByKey.set(key, p);
    const next = p.quantity + signedQty;
    if (p.quantity === 0 || Math.sign(p.quantity) === Math.sign(signedQty)) {
      p.avgCost = (p.avgCost * Math.abs(p.quantity) + price * Math.abs(signedQty)) / Math.abs(next);
    } else if (Math.sign(next) !== Math.sign(p.quantity)) {
      p.avgCost = next === 0 ? 0 : price; // closed, or flipped: the remainder opened at this price
    }
    p.quantity = next;
  }
}

function push(index: Map<string, string[]>, key: string, id: string): void {
  const ids = index.get(key);
  if (ids) ids.push(id);
  else index.set(key, [id]);
}

/** An order as the store keeps it (its bracket links included). */
export function orderState(o: SimOrder): SimOrderState {
  return {
    ...snapshot(o),
    ...(o.parentId !== undefined ? { parentId: o.parentId } : {}),
    ...(o.ocaGroup !== undefined ? { ocaGroup: o.ocaGroup } : {}),
  };
}

/** Frozen public view of a book order (internal links left out). */
export function snapshot(o: SimOrder): BrokerOrder {
  const view: BrokerOrder = {
    brokerOrderId: o.brokerOrderId,
    orderRef: o.orderRef,
    role: o.role,
    instrument: o.instrument,
    side: o.side,
    quantity: o.quantity,
    filledQty: o.filledQty,
    avgFillPrice: o.avgFillPrice,
    status: o.status,
    type: o.type,
    ...(o.limitPrice !== undefined ? { limitPrice: o.limitPrice } : {}),
    ...(o.stopPrice !== undefined ? { stopPrice: o.stopPrice } : {}),
  };
  return Object.freeze(view);
}

/**
 * Order execution of the simulated broker: turns a placement plus its outcome into book
 * changes and events, fills resting orders when the market crosses them, cancels, and
 * holds timed-out placements until they are released.
 *
 * Entry points: `run`, `marketMoved`, `cancelRequested`, `release`, `marketPrice`.
 * Invariants:
 * - every execution emits `fill` then `orderStatus` (FILLED, or WORKING with filledQty);
 * - bracket children are held until their entry has filled something and then close exactly
 *   the filled quantity not closed yet; reduce-on-fill OCA like IBKR (one child's fill reduces
 *   its sibling; the group closes once the entry is done and flat); an entry remainder keeps
 *   working when a child fills (IBKR does not cancel it either);
 * - a timed-out placement emits nothing until released or cancelled;
 * - all waiting goes through `clock.schedule`, cancelled when its order is cancelled.
 */
import type { BrokerEvent, Cancel, Clock } from '../../engine/index.js';
import { isOpen, isTriggered, type SimBook, type SimOrder } from './sim.book.js';
import { commissionFor, partialQuantity, type PlacementOutcome } from './sim.profiles.js';

/** One placement whose outcome is decided together: a bracket's three legs or a single order. */
export interface Placement {
  readonly orderRef: string;
  /** primary first (ENTRY or the single order), then children */
  readonly legs: readonly [SimOrder, ...SimOrder[]];
}

export interface ExecDeps {
  readonly book: SimBook;
  readonly clock: Clock;
  /** last prices set by the `prices` option or simulatePrice */
  readonly prices: ReadonlyMap<string, number>;
  readonly emit: (e: BrokerEvent) => void;
}

const FILL: PlacementOutcome = { kind: 'FILL' };

export class SimExecution {
  private readonly timers = new Map<string, Cancel>();
  private held: Placement[] = [];

  constructor(private readonly deps: ExecDeps) {}

  /** Acknowledge the placement and apply its outcome (TIMEOUT: hold it, say nothing). */
  run(p: Placement, outcome: PlacementOutcome): void {
    if (outcome.kind === 'TIMEOUT') {
      this.held.push(p);
      return;
    }
    for (const leg of p.legs) if (isOpen(leg)) this.emitStatus(leg);
    const [primary, ...children] = p.legs;
    if (!isOpen(primary)) return;
    if (outcome.kind === 'REJECT') {
      primary.status = 'REJECTED';
      this.emitStatus(primary, outcome.reason, outcome.code);
      for (const c of children) if (isOpen(c)) this.cancel(c, 'Parent order rejected');
      return;
    }
    if (primary.role !== 'ENTRY' && primary.type !== 'MKT') {
      this.tryTrigger(primary); // resting exit: fills when marketable; PARTIAL/DELAY do not apply
      return;
    }
    if (outcome.kind === 'FILL') this.execute(primary, primary.quantity, this.primaryPrice(primary));
    else if (outcome.kind === 'PARTIAL') {
      const qty = partialQuantity(primary.quantity, outcome.ratio);
      if (qty > 0) this.execute(primary, qty, this.primaryPrice(primary));
    } else {
      const id = primary.brokerOrderId;
      const cancelTimer = this.deps.clock.schedule(outcome.delayMs, () => {
        this.timers.delete(id);
        if (isOpen(primary)) this.execute(primary, primary.quantity - primary.filledQty, this.primaryPrice(primary));
      });
      this.timers.set(id, cancelTimer);
    }
  }

  /** The market for `symbol` moved: execute every resting order it now crosses, oldest first. */
  marketMoved(symbol: string): void {
    for (const o of this.deps.book.all()) {
      if (o.instrument.symbol === symbol && o.status === 'WORKING') this.tryTrigger(o);
    }
  }

  /**
   * A client cancel of an open order: a parent with nothing filled takes its children along; a
   * partly filled one leaves them protecting what is still open (closed if nothing is).
   */
  cancelRequested(o: SimOrder): void {
    this.cancel(o, 'Cancelled by client');
    const children = this.deps.book.children(o.brokerOrderId);
    if (o.filledQty > 0 && o.filledQty - exitedOf(children) > 0) return;
    for (const child of children) if (isOpen(child)) this.cancel(child, o.filledQty > 0 ? 'OCA: bracket closed' : 'Parent order cancelled');
  }

  /** Late ack + full fill of held placements (all when orderRef is undefined), oldest first. */
  release(orderRef: string | undefined): number {
    const chosen = this.held.filter((h) => orderRef === undefined || h.orderRef === orderRef);
    this.held = this.held.filter((h) => !chosen.includes(h));
    for (const p of chosen) {
      for (const leg of p.legs) if (leg.status === 'PENDING') leg.status = 'WORKING';
      this.run(p, FILL);
    }
    return chosen.length;
  }

  /**
   * The broker (not the client) cancels a working order, e.g. a stop cancelled at the exchange
   * (IB 202 "Order Canceled - reason: …"). Only that order: its siblings and parent stay.
   */
  cancelByBroker(o: SimOrder, reason: string): void {
    if (isOpen(o)) this.cancel(o, reason);
  }

  /** The working remainder of an entry fills now at the market (a late remainder fill). */
  fillRemainder(o: SimOrder): boolean {
    if (o.role !== 'ENTRY' || o.status !== 'WORKING' || o.filledQty >= o.quantity) return false;
    this.execute(o, o.quantity - o.filledQty, this.primaryPrice(o));
    return true;
  }

  /** An execution that was on its way when the entry's cancel was confirmed: it fills after all. */
  fillAfterCancel(o: SimOrder): void {
    if (o.role !== 'ENTRY' || o.status !== 'CANCELLED' || o.filledQty >= o.quantity) return;
    o.status = 'WORKING';
    this.execute(o, o.quantity - o.filledQty, this.primaryPrice(o));
  }

  /** The market price: last set price, else the last execution of the symbol. */
  marketPrice(symbol: string): number | undefined {
    return this.deps.prices.get(symbol) ?? this.deps.book.lastPrice(symbol);
  }

  /** Fill a resting LMT/STP order (bracket child once its entry filled, or a single exit) if the market crosses it. */
  private tryTrigger(o: SimOrder): void {
    if (o.role === 'ENTRY' || o.type === 'MKT' || o.status !== 'WORKING') return;
    const price = this.marketPrice(o.instrument.symbol);
    if (price === undefined || !isTriggered(o, price)) return;
    const parent = o.parentId === undefined ? undefined : this.deps.book.get(o.parentId);
    // a child closes what the entry filled and no exit of the bracket has closed yet
    const qty = parent ? Math.min(parent.filledQty - exitedOf(this.deps.book.children(parent.brokerOrderId)), o.quantity - o.filledQty) : o.quantity - o.filledQty;
    if (qty <= 0) return; // held: the entry has not filled yet
    this.execute(o, qty, o.type === 'LMT' ? (o.limitPrice as number) : price);
  }

  /**
   * Execute `qty` of `o`. Bracket children behave like IBKR's reduce-on-fill OCA group: a child's
   * fill reduces what its sibling still covers; the entry remainder keeps working (IBKR does not
   * cancel it when a child fills — Phoenix does that itself); the group closes (siblings
   * cancelled) once the entry is done and nothing it filled is left open.
   */
  private execute(o: SimOrder, qty: number, price: number): void {
    const { book, clock } = this.deps;
    const parent = o.parentId === undefined ? undefined : book.get(o.parentId);
    const siblings = parent ? book.children(parent.brokerOrderId) : [];
    const closes = parent !== undefined && !isOpen(parent) && parent.filledQty - exitedOf(siblings) - qty <= 0;
    const fill = book.fill(o, qty, price, commissionFor(o.instrument.secType, qty), clock.now(), closes);
    this.deps.emit({ kind: 'fill', fill });
    this.emitStatus(o);
    if (closes) for (const s of book.siblings(o)) if (isOpen(s)) this.cancel(s, `OCA: ${o.role} filled`);
  }

  private cancel(o: SimOrder, reason: string): void {
    o.status = 'CANCELLED';
    this.timers.get(o.brokerOrderId)?.();
    this.timers.delete(o.brokerOrderId);
    this.held = this.held.filter((h) => h.legs[0] !== o);
    this.emitStatus(o, reason);
  }

  /** LMT at its limit; MKT at the market, else (bracket without a market) the stop/target midpoint. */
  private primaryPrice(o: SimOrder): number {
    if (o.type === 'LMT' && o.limitPrice !== undefined) return o.limitPrice;
    const market = this.marketPrice(o.instrument.symbol);
    if (market !== undefined) return market;
    const [a, b] = this.deps.book.children(o.brokerOrderId).map((c) => c.limitPrice ?? c.stopPrice ?? 0);
    return a !== undefined && b !== undefined ? (a + b) / 2 : (o.limitPrice ?? o.stopPrice ?? 0);
  }

  private emitStatus(o: SimOrder, reason?: string, code?: number): void {
    this.deps.emit({
      kind: 'orderStatus',
      orderRef: o.orderRef,
      role: o.role,
      brokerOrderId: o.brokerOrderId,
      status: o.status,
      filledQty: o.filledQty,
      ...(reason !== undefined ? { reason } : {}),
      ...(code !== undefined ? { code } : {}),
    });
  }
}

/** What the exits of one bracket have filled so far. */
function exitedOf(children: readonly SimOrder[]): number {
  return children.reduce((a, c) => a + c.filledQty, 0);
}

/**
 * SimBroker: the simulated BrokerPort (SPEC section 7), deterministic for a given seed and
 * call sequence. All delays go through `clock.schedule`; events are delivered by
 * `EventQueue` on a microtask (see sim.events.ts), in order and never re-entrantly.
 *
 * Placement (placeBracket / placeOrder): the orders are recorded, then acknowledged
 * (`orderStatus` WORKING for every leg: ENTRY, TARGET, STOP), then the entry outcome:
 * - INSTANT: full fill at once. REALISTIC / ADVERSARIAL: drawn from `PROFILES`
 *   (fill | partial 30–70% rounded down, rest left working | reject 201 'Insufficient
 *   margin', children cancelled | delayed full fill 10–30 s of clock time later).
 * - Fill price: LMT entry at its limit; MKT at the market price (the `prices` option or
 *   `simulatePrice`, else the last execution of the symbol), else the stop/target midpoint.
 * - Every execution emits `fill` then `orderStatus` (FILLED, or WORKING with filledQty).
 * - Bracket children are held until the entry has filled something, then rest; only
 *   `simulatePrice` triggers them (LMT fills at its limit, STP at the triggering price) and
 *   they close what the entry filled and no exit closed yet. Like IBKR's reduce-on-fill OCA,
 *   a child's fill reduces its sibling and an entry remainder keeps working (Phoenix cancels
 *   it itself); the group closes once the entry is done and flat. See docs/SIMULATED-BROKER.md.
 * - placeOrder (exits; role ENTRY is refused): MKT fills at once regardless of profile;
 *   LMT/STP fill at once when marketable, otherwise rest like bracket children.
 * - cancel(id): a working parent with no fill takes its children with it; a partly filled
 *   parent leaves them protecting what was filled.
 * - resize(id, q): an open exit leg's total quantity goes down to q (IBKR: a modify); entries
 *   are never resized.
 * - qualify / placements: the listing of sim.contracts.ts (ticks, multipliers); a price off the
 *   tick (PRICE_NOT_ON_TICK) or a multiplier other than the contract's (MULTIPLIER_MISMATCH) is
 *   refused before anything is recorded, like IBKR's error 110 and the adapter's own check.
 *
 * Fault injection: `broker.faults` (SimFaults, sim.faults.ts lists each fault and what it does).
 * `simulatePrice(symbol, price)` moves the market and triggers resting stops/targets.
 */
import {
  BrokerRefusedError,
  BrokerUnavailableError,
  silentLogger,
  type AccountSummary,
  type BracketRequest,
  type BrokerFill,
  type BrokerHealth,
  type BrokerOrder,
  type BrokerPort,
  type BrokerPosition,
  type Clock,
  type ConnectionState,
  type Instrument,
  type Logger,
  type OrderRefReport,
  type PlacedLeg,
  type QualifiedContract,
  type Random,
  type SingleOrderRequest,
  type SubmitPermit,
} from '../../engine/index.js';
import { SimBook, instrumentKey, isOpen, snapshot } from './sim.book.js';
import { checkAgainstContract, qualifyInstrument } from './sim.contracts.js';
import { SimConnection } from './sim.connection.js';
import type { SimBrokerOptions, SimTruth } from './sim.options.js';
import { EventQueue, type BrokerListener } from './sim.events.js';
import { SimExecution } from './sim.exec.js';
import { SimFaults, type FaultHost } from './sim.faults.js';
import { SimBookSaver, type SimBookPersistence } from './sim.persist.js';
import { drawOutcome, type PlacementOutcome, type SimProfile } from './sim.profiles.js';
import { validateBracket, validateSingle } from './sim.validate.js';

export type { SimBrokerOptions, SimTruth } from './sim.options.js';

const LOST = 'Connectivity between IB and Trader Workstation has been lost.';
const RESTORED = 'Connectivity between IB and Trader Workstation has been restored - data maintained.';

export class SimBroker implements BrokerPort {
  readonly name = 'sim';
  readonly profile: SimProfile;
  readonly faults: SimFaults;
  private readonly random: Random;
  private readonly book = new SimBook();
  private readonly events: EventQueue;
  private readonly prices = new Map<string, number>();
  private readonly unknownSymbols: ReadonlySet<string>;
  private readonly instruments = new Map<string, Instrument>();
  private readonly spoofs = new Map<string, { readonly instrument: Instrument; readonly quantity: number }>();
  private readonly foreign = new Map<string, BrokerPosition>();
  private readonly exec: SimExecution;
  private accountId: string;
  private netLiquidation: number;
  private readonly conn: SimConnection;
  private readonly executionsSince: ((now: number) => number) | undefined;
  private readonly clock: Clock;
  private readonly persistence: SimBookPersistence | undefined;
  private readonly logger: Logger;
  private loading: Promise<void> | null = null;
  private saver: SimBookSaver | null = null;

  constructor(opts: SimBrokerOptions) {
    this.executionsSince = opts.executionsSince;
    this.clock = opts.clock;
    this.persistence = opts.persistence;
    this.logger = opts.logger ?? silentLogger;
    this.random = opts.random;
    this.profile = opts.profile;
    this.accountId = opts.accountId ?? 'DU0000001';
    this.netLiquidation = opts.netLiquidation ?? 25_000;
    this.unknownSymbols = new Set(opts.unknownSymbols ?? []);
    this.events = new EventQueue(opts.logger ?? silentLogger);
    this.conn = new SimConnection(this.events, opts.replayOnReconnect === true, () => this.saver?.changed());
    for (const [symbol, price] of Object.entries(opts.prices ?? {})) this.prices.set(symbol, price);
    this.exec = new SimExecution({ book: this.book, clock: opts.clock, prices: this.prices, emit: (e) => this.conn.emit(e) });
    this.faults = new SimFaults(this.faultHost());
  }

  // === Connection and account

  async connect(): Promise<void> {
    if (this.conn.state === 'READY') return;
    if (this.faults.takeConnectFailure()) {
      this.conn.detail = 'connection refused (injected fault)';
      throw new BrokerUnavailableError('simulated broker: connection refused (injected fault)');
    }
    if (this.persistence && !this.saver) await (this.loading ??= this.loadBook(this.persistence));
    if ((this.conn.state as ConnectionState) === 'READY') return; // a concurrent connect got there first
    this.conn.setState('READY', 'connected to simulated broker');
  }

  async disconnect(): Promise<void> {
    if (this.conn.state !== 'DISCONNECTED') this.conn.setState('DISCONNECTED', 'disconnected by client');
    await this.saver?.flush();
  }

  /** The book as it was at the last shutdown (a real broker remembers it too). */
  private async loadBook(persistence: SimBookPersistence): Promise<void> {
    try {
      const saved = await persistence.load();
      if (saved) this.book.restore(saved);
      this.saver = new SimBookSaver(this.book, persistence, this.logger);
    } catch (e) {
      this.loading = null; // the next connect tries again
      throw new BrokerUnavailableError(`simulated broker: its saved book could not be read (${(e as Error).message})`);
    }
  }

  health(): BrokerHealth {
    const ready = this.conn.state === 'READY';
    return Object.freeze({ state: this.conn.state, canSubmit: ready, account: ready ? this.summary() : null, detail: this.conn.detail });
  }

  async accountSummary(): Promise<AccountSummary> {
    this.conn.requireReady('accountSummary');
    return this.summary();
  }

  async qualify(instrument: Instrument): Promise<QualifiedContract> {
    this.conn.requireReady('qualify');
    const q = qualifyInstrument(instrument, this.unknownSymbols);
    this.remember(instrument);
    return q;
  }

  // === Orders

  async placeBracket(req: BracketRequest, permit: SubmitPermit): Promise<readonly PlacedLeg[]> {
    if (!permit) throw new BrokerRefusedError('NO_PERMIT', `no submit permit for orderRef ${req.orderRef}`);
    if (permit.intentId !== req.orderRef) {
      throw new BrokerRefusedError('NO_PERMIT', `permit is for intent ${permit.intentId}, not orderRef ${req.orderRef}`);
    }
    this.conn.requireReady('placeBracket');
    validateBracket(req);
    checkAgainstContract(this.contractOf(req.instrument), req.orderRef, req.instrument.multiplier, [
      ['limitPrice', req.entryType === 'LMT' ? req.limitPrice : undefined],
      ['stopPrice', req.stopPrice],
      ['targetPrice', req.targetPrice],
    ]);
    // the last look (INV-KILL-LAST-MOMENT-1): nothing is recorded when it refuses
    if (permit.beforeEntryLeaves) {
      await permit.beforeEntryLeaves();
      this.conn.requireReady('placeBracket');
    }
    const outcome = this.faults.takePlacement() ?? drawOutcome(this.profile, this.random);
    const status = outcome.kind === 'TIMEOUT' ? 'PENDING' : 'WORKING';
    const exitSide = req.side === 'BUY' ? 'SELL' : 'BUY';
    const common = { orderRef: req.orderRef, instrument: req.instrument, quantity: req.quantity };
    const entry = this.book.addOrder(
      { ...common, role: 'ENTRY', side: req.side, type: req.entryType, ...(req.entryType === 'LMT' ? { limitPrice: req.limitPrice } : {}) },
      status,
    );
    const link = { parentId: entry.brokerOrderId, ocaGroup: `oca:${entry.brokerOrderId}` };
    const target = this.book.addOrder({ ...common, ...link, role: 'TARGET', side: exitSide, type: 'LMT', limitPrice: req.targetPrice }, status);
    const stop = this.book.addOrder({ ...common, ...link, role: 'STOP', side: exitSide, type: 'STP', stopPrice: req.stopPrice }, status);
    this.remember(req.instrument);
    this.saver?.changed(); // before any event: a timed-out placement emits none
    this.exec.run({ orderRef: req.orderRef, legs: [entry, target, stop] }, outcome);
    return [entry, target, stop].map((o) => Object.freeze({ role: o.role, brokerOrderId: o.brokerOrderId }));
  }

  async placeOrder(req: SingleOrderRequest): Promise<PlacedLeg> {
    if (req.role === 'ENTRY') {
      throw new BrokerRefusedError('NO_PERMIT', `placeOrder is for exits; entry ${req.orderRef} needs placeBracket with a permit`);
    }
    this.conn.requireReady('placeOrder');
    validateSingle(req);
    checkAgainstContract(this.contractOf(req.instrument), req.orderRef, req.instrument.multiplier, [
      ['limitPrice', req.type === 'LMT' ? req.limitPrice : undefined],
      ['stopPrice', req.type === 'STP' ? req.stopPrice : undefined],
    ]);
    if (req.type === 'MKT' && this.exec.marketPrice(req.instrument.symbol) === undefined) {
      throw new BrokerRefusedError('NO_MARKET_DATA', `no market price for ${req.instrument.symbol}`);
    }
    const outcome: PlacementOutcome = this.faults.takePlacement() ?? { kind: 'FILL' };
    const { orderRef, role, instrument, side, quantity, type } = req;
    const order = this.book.addOrder(
      {
        orderRef, role, instrument, side, quantity, type,
        ...(type === 'LMT' ? { limitPrice: req.limitPrice } : {}),
        ...(type === 'STP' ? { stopPrice: req.stopPrice } : {}),
      },
      outcome.kind === 'TIMEOUT' ? 'PENDING' : 'WORKING',
    );
    this.remember(instrument);
    this.saver?.changed();
    this.exec.run({ orderRef, legs: [order] }, outcome);
    return Object.freeze({ role: order.role, brokerOrderId: order.brokerOrderId });
  }

  async resize(brokerOrderId: string, quantity: number): Promise<void> {
    this.conn.requireReady('resize');
    const o = this.book.get(brokerOrderId);
    if (!o) throw new BrokerRefusedError('UNKNOWN_ORDER', `no order ${brokerOrderId}`);
    if (o.role === 'ENTRY') throw new BrokerRefusedError('INVALID_REQUEST', `order ${brokerOrderId} is an entry: entries are never resized`);
    if (!isOpen(o)) throw new BrokerRefusedError('NOT_CANCELLABLE', `order ${brokerOrderId} (${o.role} of ${o.orderRef}) is ${o.status}`);
    if (quantity === o.quantity) return;
    if (!(Number.isInteger(quantity) && quantity > o.filledQty && quantity < o.quantity)) {
      throw new BrokerRefusedError('INVALID_REQUEST', `resize of ${brokerOrderId} to ${quantity}: must be a whole number below ${o.quantity} and above the ${o.filledQty} already filled`);
    }
    o.quantity = quantity;
  }

  async cancel(brokerOrderId: string): Promise<void> {
    this.conn.requireReady('cancel');
    const o = this.book.get(brokerOrderId);
    if (!o) throw new BrokerRefusedError('UNKNOWN_ORDER', `no order ${brokerOrderId}`);
    if (!isOpen(o)) {
      throw new BrokerRefusedError('NOT_CANCELLABLE', `order ${brokerOrderId} (${o.role} of ${o.orderRef}) is ${o.status}`);
    }
    const race = o.role === 'ENTRY' && o.status === 'WORKING' && o.filledQty < o.quantity ? this.faults.takeCancelRace() : undefined;
    if (race === 'before' && this.exec.fillRemainder(o)) {
      throw new BrokerRefusedError('NOT_CANCELLABLE', `order ${brokerOrderId} (${o.role} of ${o.orderRef}) filled before the cancel arrived`);
    }
    this.exec.cancelRequested(o);
    if (race === 'after') this.exec.fillAfterCancel(o);
  }

  // === Reports

  async openOrders(): Promise<readonly BrokerOrder[]> {
    this.conn.requireReady('openOrders');
    return this.book.all().filter(isOpen).map(snapshot);
  }

  async executions(): Promise<readonly BrokerFill[]> {
    this.conn.requireReady('executions');
    const all = this.book.executions();
    if (!this.executionsSince) return all;
    const since = this.executionsSince(this.clock.now());
    return all.filter((f) => f.time >= since);
  }

  async positions(): Promise<readonly BrokerPosition[]> {
    this.conn.requireReady('positions');
    const real = this.book.positions(this.accountId);
    const realKeys = new Set(real.map((p) => instrumentKey(p.instrument)));
    const spoofedExtra = [...this.spoofs.entries()]
      .filter(([key]) => !realKeys.has(key))
      .map(([, s]) => ({ account: this.accountId, instrument: s.instrument, quantity: s.quantity, avgCost: this.prices.get(s.instrument.symbol) ?? 0 }));
    return [...real, ...spoofedExtra]
      .map((p) => {
        const s = this.spoofs.get(instrumentKey(p.instrument));
        return Object.freeze(s ? { ...p, quantity: s.quantity } : p);
      })
      .concat([...this.foreign.values()])
      .filter((p) => p.quantity !== 0);
  }

  async findByOrderRef(orderRef: string): Promise<OrderRefReport> {
    this.conn.requireReady('findByOrderRef');
    return Object.freeze({
      orders: this.book.all().filter((o) => o.orderRef === orderRef).map(snapshot),
      fills: this.book.executions().filter((f) => f.orderRef === orderRef),
    });
  }

  onEvent(listener: BrokerListener): () => void {
    return this.events.subscribe(listener);
  }

  // === Market

  /** Move the market for `symbol`; resting stops/targets/limits that it crosses execute now. */
  simulatePrice(symbol: string, price: number): void {
    if (!(price > 0)) throw new RangeError(`price must be > 0, got ${price}`);
    this.prices.set(symbol, price);
    this.exec.marketMoved(symbol);
  }

  /** The broker's own book: every order and execution and the real positions (no spoofs, any connection state). */
  truth(): SimTruth {
    return Object.freeze({
      orders: this.book.all().map(snapshot),
      executions: this.book.executions(),
      positions: this.book.positions(this.accountId),
      accountId: this.accountId,
      state: this.conn.state,
    });
  }

  /** Symbols with an order working at the broker (simulator: cheap, no snapshot). */
  workingSymbols(): ReadonlySet<string> {
    return new Set(this.book.all().filter(isOpen).map((o) => o.instrument.symbol));
  }

  /** Which intent and leg a broker order belongs to (simulator: cheap, no snapshot). */
  orderOf(brokerOrderId: string): { readonly orderRef: string; readonly role: string } | undefined {
    const o = this.book.get(brokerOrderId);
    return o ? { orderRef: o.orderRef, role: o.role } : undefined;
  }

  // === Internals

  /** The listing of an instrument (NO_SECURITY when the sim does not list it, like IB's 200). */
  private contractOf(i: Instrument): QualifiedContract {
    return qualifyInstrument(i, this.unknownSymbols);
  }

  private remember(i: Instrument): void {
    const key = instrumentKey(i);
    if (!this.instruments.has(key)) this.instruments.set(key, i);
  }

  private summary(): AccountSummary {
    return Object.freeze({
      accountId: this.accountId,
      netLiquidation: this.netLiquidation,
      buyingPower: this.netLiquidation * 4,
      currency: 'USD',
    });
  }

  private resolveInstrument(target: string | Instrument): Instrument {
    if (typeof target !== 'string') return target;
    const known = this.instruments.get(target) ?? [...this.instruments.values()].find((i) => i.symbol === target);
    if (!known) throw new Error(`spoofPosition: instrument ${target} not seen yet; pass an Instrument`);
    return known;
  }

  private faultHost(): FaultHost {
    return {
      dropConnection: (detail) => {
        if (this.conn.state === 'READY') this.conn.setState('DISCONNECTED', detail || LOST, 1100);
      },
      restoreConnection: () => {
        if (this.conn.state === 'READY') return;
        this.conn.setState('READY', RESTORED, 1102);
        this.conn.replayMissed();
      },
      release: (orderRef) => this.exec.release(orderRef),
      spoof: (target, quantity) => {
        const instrument = this.resolveInstrument(target);
        const key = instrumentKey(instrument);
        if (quantity === null) this.spoofs.delete(key);
        else this.spoofs.set(key, { instrument, quantity });
      },
      foreign: (account, instrument, quantity) => {
        const key = `${account}|${instrumentKey(instrument)}`;
        if (quantity === null) this.foreign.delete(key);
        else this.foreign.set(key, Object.freeze({ account, instrument, quantity, avgCost: this.prices.get(instrument.symbol) ?? 0 }));
      },
      cancelByBroker: (brokerOrderId, reason) => {
        const o = this.book.get(brokerOrderId);
        if (!o || !isOpen(o)) return false;
        this.exec.cancelByBroker(o, reason);
        return true;
      },
      fillRemainder: (orderRef) => {
        const entry = this.book.all().find((o) => o.orderRef === orderRef && o.role === 'ENTRY');
        return entry !== undefined && this.exec.fillRemainder(entry);
      },
      setAccount: (accountId, netLiquidation) => {
        if (accountId !== undefined) this.accountId = accountId;
        if (netLiquidation !== undefined) this.netLiquidation = netLiquidation;
      },
    };
  }
}

/**
 * IbkrBroker: BrokerPort over @stoqey/ib's IBApi (TWS / IB Gateway).
 *
 * Entry points: connect, disconnect, health, accountSummary, qualify, placeBracket, placeOrder,
 * cancel, openOrders, executions, positions, findByOrderRef, onEvent.
 *
 * Invariants kept here:
 * - INV-T2-GATE-1 (last line): placeBracket refuses without a permit for this orderRef;
 * - INV-IBKR-PAPER-GUARD-1 / INV-IBKR-ACCOUNT-CHECK-1: the mode/account guard runs at connect
 *   and again on EVERY submit, against a freshly re-queried managed-accounts list;
 * - INV-IBKR-RECONNECT-1: see connection.ts (≤ 3 attempts, then DOWN until connect());
 * - pacing: every request goes through the session's Pacer (FIFO, evenly spaced, default 38/s)
 *   and then the client's own limiter (40/s); IBKR's limit is 50. Bursts queue, nothing is
 *   dropped. A placement resolves when all its legs were written to the socket (`sent` event);
 * - unknown outcomes are never rejections: a bracket cut by a disconnect after some legs were
 *   written resolves (with an error event) and must be reconciled via findByOrderRef;
 * - nothing thrown inside an @stoqey/ib listener escapes (every listener is wrapped);
 * - bracket flags (MONEY-10): the exits share an OCA group of type 2 (reduce on fill, with
 *   block); futures exits carry outsideRth so they trigger in the overnight session; an exit leg
 *   is resized down (a modify) when the entry remainder died after a partial fill;
 * - the tick size and the multiplier come from the contract details: prices off the tick and an
 *   intent whose multiplier is not the contract's are refused before anything is sent.
 */
import {
  EventName,
  type CommissionReport,
  type Contract,
  type ContractDetails,
  type Execution,
  type IBApi,
  type Order,
  type OrderState,
} from '@stoqey/ib';
import {
  BrokerRefusedError,
  BrokerUnavailableError,
  type AccountSummary,
  type BracketRequest,
  type BrokerEvent,
  type BrokerFill,
  type BrokerHealth,
  type BrokerOrder,
  type BrokerPort,
  type BrokerPosition,
  type Instrument,
  type OrderRefReport,
  type OrderRole,
  type PlacedLeg,
  type QualifiedContract,
  type SingleOrderRequest,
  type SubmitPermit,
} from '../../engine/broker.port.js';
import type { Cancel, Clock, Logger } from '../../engine/ports.js';
import { checkAccountForMode, pickAccount, type TradingMode } from './account.guard.js';
import { ConnectFailedError, DEFAULT_RECONNECT, IbConnection, type IbSession, type ReadyVerdict, type ReconnectPolicy } from './connection.js';
import { EventOutbox } from './event.outbox.js';
import { classifyIbCode } from './ib.errors.js';
import {
  OCA_REDUCE_WITH_BLOCK,
  ORDER_TYPE_TO_IB,
  SIDE_TO_ACTION,
  TERMINAL_STATUSES,
  TIF_FOR_ROLE,
  contractToInstrument,
  exitSide,
  instrumentKey,
  instrumentToContract,
  qualifiedOrderContract,
  worksOutsideRth,
  type DomainOrderType,
} from './ib.parse.js';
import { pickContract, tickPrice, validateBracket, validateSingle } from './ib.validate.js';
import { OrderBook, type NewLeg, type OrderWire } from './order.book.js';

export interface IbkrBrokerOptions {
  readonly host: string;
  readonly port: number;
  readonly clientId: number;
  /** IB_ACCOUNT: must be among the managed accounts; default = the single managed account */
  readonly account?: string;
  readonly mode: TradingMode;
  /** IBKR_ALLOW_LIVE, fixed at construction (start-up); there is no setter */
  readonly allowLive: boolean;
  readonly clock: Clock;
  readonly logger: Logger;
  /** wait for nextValidId after TCP connect (default 10000) */
  readonly connectTimeoutMs?: number;
  readonly reconnect?: Partial<ReconnectPolicy>;
  /** timeout of request/response exchanges (contract details, snapshots, positions; default 10000) */
  readonly requestTimeoutMs?: number;
  /** managed-accounts re-query before each submit (default 5000) */
  readonly accountCheckTimeoutMs?: number;
  /** hold a fill at most this long for its commission report (default 1000) */
  readonly commissionWaitMs?: number;
  /** evenly spaced request rate to TWS, capped at 40 (default 38; IBKR's limit is 50) */
  readonly maxReqPerSec?: number;
  /**
   * Asked right before every write to TWS (orders, cancels, resizes): a reason not to send, or
   * null. A desk on PostgreSQL (issue 18) answers from its leader lease, so a leader that was
   * frozen and woke up after losing the lease writes nothing, even what its pacer had queued.
   */
  readonly sendGate?: () => string | null;
}

interface Pending<T> {
  readonly promise: Promise<T>;
  resolve(v: T): void;
  reject(e: Error): void;
  /** start the timeout (deferred pendings start it when their request is actually sent) */
  arm(): void;
}

interface ReqHandler {
  data?(d: ContractDetails): void;
  end?(): void;
  error(code: number, message: string): void;
}

interface QualifiedEntry extends QualifiedContract {
  readonly contract: Contract;
}

const ACCOUNT_TAGS = 'NetLiquidation,BuyingPower,TotalCashValue,AvailableFunds';
const FIRST_REQ_ID = 1_900_000_000;

export class IbkrBroker implements BrokerPort {
  readonly name = 'ibkr';

  private readonly opts: Required<Omit<IbkrBrokerOptions, 'account' | 'reconnect' | 'sendGate'>> & { account: string | undefined };
  private readonly log: Logger;
  private readonly conn: IbConnection;
  private readonly book: OrderBook;
  private readonly outbox: EventOutbox;

  /** session our listeners are attached to (set while starting, before READY) */
  private session: IbSession | null = null;
  private nextOrderId = 0;
  private reqSeq = FIRST_REQ_ID;
  private managed: string[] = [];
  private accountIdValue: string | null = null;
  private accountOk = false;
  private summary: { netLiquidation?: number; buyingPower?: number; currency?: string } = {};
  private summaryValue: AccountSummary | null = null;
  private summaryReqId: number | null = null;
  private summaryWaiters: Array<() => void> = [];

  private readonly qualified = new Map<string, QualifiedEntry>();
  private readonly qualifying = new Map<string, Promise<QualifiedEntry>>();
  private readonly instrumentByConId = new Map<number, Instrument>();

  private readonly reqHandlers = new Map<number, ReqHandler>();
  private readonly inflight = new Set<(e: Error) => void>();
  private readonly sendWaiters = new Map<number, Pending<boolean>>();
  private accountsWaiters: Array<Pending<string[]>> = [];
  private syncWaiters: Array<Pending<void>> = [];
  private accountsQuery: Promise<string[]> | null = null;
  private openOrderEndWaiters: Array<Pending<void>> = [];
  private completedEndWaiters: Array<Pending<void>> = [];
  private readonly execEndWaiters = new Map<number, Pending<void>>();
  private snapshotInFlight: Promise<void> | null = null;
  private positionCollector: { rows: BrokerPosition[]; done: Pending<void> } | null = null;
  private positionsInFlight: Promise<BrokerPosition[]> | null = null;

  private readonly sendGate: (() => string | null) | undefined;

  constructor(options: IbkrBrokerOptions) {
    this.sendGate = options.sendGate;
    this.opts = {
      host: options.host,
      port: options.port,
      clientId: options.clientId,
      account: options.account,
      mode: options.mode,
      allowLive: options.allowLive,
      clock: options.clock,
      logger: options.logger,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      accountCheckTimeoutMs: options.accountCheckTimeoutMs ?? 5_000,
      commissionWaitMs: options.commissionWaitMs ?? 1_000,
      maxReqPerSec: Math.min(40, Math.max(1, options.maxReqPerSec ?? 38)),
    };
    this.log = options.logger.child({ component: 'ibkr.broker', clientId: options.clientId });
    this.book = new OrderBook(options.clientId, (conId) => (conId ? this.instrumentByConId.get(conId) : undefined), () =>
      options.clock.now(),
    );
    this.outbox = new EventOutbox(options.clock, this.log, this.opts.commissionWaitMs, (execId) => this.book.fill(execId));
    this.conn = new IbConnection(
      {
        host: options.host,
        port: options.port,
        clientId: options.clientId,
        clock: options.clock,
        logger: options.logger,
        connectTimeoutMs: this.opts.connectTimeoutMs,
        reconnect: { ...DEFAULT_RECONNECT, ...(options.reconnect ?? {}) },
        maxReqPerSec: this.opts.maxReqPerSec,
      },
      {
        attach: (ib, id) => this.attach(ib, id),
        ready: (s, attempt) => this.onSessionReady(s, attempt),
        lost: (id) => this.onSessionLost(id),
        restored: (code) => this.onRestored(code),
        emit: (e) => this.outbox.push(e),
      },
    );
  }

  // === Port: lifecycle

  /**
   * Connect (or re-arm after DOWN: this is the human action INV-IBKR-RECONNECT-1 waits for).
   * Rejects with BrokerRefusedError('ACCOUNT_MODE_MISMATCH') when the gateway's account does not
   * fit the mode, else BrokerUnavailableError with the cause; health() is DOWN either way.
   */
  async connect(): Promise<void> {
    try {
      await this.conn.connect();
    } catch (e) {
      if (!(e instanceof ConnectFailedError)) throw e;
      if (e.code === 'ACCOUNT_MODE_MISMATCH') throw new BrokerRefusedError('ACCOUNT_MODE_MISMATCH', e.message);
      throw new BrokerUnavailableError(e.message);
    }
  }

  async disconnect(): Promise<void> {
    this.conn.disconnect();
  }

  health(): BrokerHealth {
    const state = this.conn.state;
    return {
      state,
      canSubmit: state === 'READY' && this.opts.mode !== 'observe' && this.accountOk,
      account: this.summaryValue,
      detail: this.conn.detail,
    };
  }

  onEvent(listener: (e: BrokerEvent) => void): () => void {
    return this.outbox.subscribe(listener);
  }

  /** Managed accounts last reported by the gateway. */
  get managedAccounts(): readonly string[] {
    return this.managed;
  }

  /** The account orders are sent for (null before connect / when none fits). */
  get accountId(): string | null {
    return this.accountIdValue;
  }

  /**
   * Barrier: resolves once TWS has answered everything queued before this call (a
   * REQ_CURRENT_TIME round trip through the same FIFO) and every held fill was released.
   * Resolves at once when not connected. Used by tests/harnesses ("settle") and reconciliation.
   */
  async sync(): Promise<void> {
    const s = this.conn.current;
    if (s) {
      const p = this.pending<void>('sync', this.opts.requestTimeoutMs, true);
      this.syncWaiters.push(p);
      this.paced(s, p, () => s.ib.reqCurrentTime());
      await p.promise;
    }
    await this.outbox.drained();
  }

  /** Negotiated TWS API server version (0 when not connected). */
  get serverVersion(): number {
    return this.session?.serverVersion ?? 0;
  }

  // === Port: reads

  async accountSummary(): Promise<AccountSummary> {
    if (this.summaryValue && this.conn.current) return this.summaryValue;
    this.requireSession();
    await this.waitForSummary(this.opts.requestTimeoutMs);
    if (!this.summaryValue) throw new BrokerUnavailableError('account summary not available yet');
    return this.summaryValue;
  }

  async qualify(instrument: Instrument): Promise<QualifiedContract> {
    const q = await this.qualifyEntry(instrument);
    return { instrument: q.instrument, conId: q.conId, minTick: q.minTick, ...(q.localSymbol ? { localSymbol: q.localSymbol } : {}) };
  }

  async openOrders(): Promise<readonly BrokerOrder[]> {
    await this.refreshSnapshot(this.requireSession());
    return this.book.openOrders();
  }

  async executions(): Promise<readonly BrokerFill[]> {
    await this.refreshSnapshot(this.requireSession());
    return this.book.allFills();
  }

  async findByOrderRef(orderRef: string): Promise<OrderRefReport> {
    await this.refreshSnapshot(this.requireSession());
    return this.book.byOrderRef(orderRef);
  }

  positions(): Promise<readonly BrokerPosition[]> {
    if (this.positionsInFlight) return this.positionsInFlight;
    const s = this.requireSession();
    const p = (async () => {
      const done = this.pending<void>('positions', this.opts.requestTimeoutMs, true);
      const rows: BrokerPosition[] = [];
      this.positionCollector = { rows, done };
      try {
        this.paced(s, done, () => s.ib.reqPositions());
        await done.promise;
        return rows.filter((r) => r.quantity !== 0);
      } finally {
        this.positionCollector = null;
        if (this.session === s) this.paced(s, null, () => s.ib.cancelPositions());
      }
    })().finally(() => {
      this.positionsInFlight = null;
    });
    this.positionsInFlight = p;
    return p;
  }

  // === Port: orders

  async placeBracket(req: BracketRequest, permit: SubmitPermit): Promise<readonly PlacedLeg[]> {
    if (!permit || !permit.tokenId || permit.intentId !== req.orderRef) {
      throw new BrokerRefusedError('NO_PERMIT', `no submit permit for orderRef ${req.orderRef}`);
    }
    validateBracket(req);
    const { contract, minTick, conId } = await this.prepareSubmit(req.instrument);
    const entryPrice = req.entryType === 'LMT' ? tickPrice(req.limitPrice, minTick, 'limitPrice') : undefined;
    const stopPrice = tickPrice(req.stopPrice, minTick, 'stopPrice');
    const targetPrice = tickPrice(req.targetPrice, minTick, 'targetPrice');
    const s = this.requireReady();
    const parentId = this.allocateIds(3);
    const exit = exitSide(req.side);
    const oca = `phx:${req.orderRef}:${parentId}`;
    const legs: Array<{ leg: NewLeg; order: Order }> = [
      this.buildLeg(conId, parentId, req.orderRef, 'ENTRY', req, req.side, req.entryType, entryPrice, 0, '', false),
      this.buildLeg(conId, parentId + 1, req.orderRef, 'TARGET', req, exit, 'LMT', targetPrice, parentId, oca, false),
      this.buildLeg(conId, parentId + 2, req.orderRef, 'STOP', req, exit, 'STP', stopPrice, parentId, oca, true),
    ];
    return this.sendLegs(s, contract, legs, permit.beforeEntryLeaves);
  }

  async placeOrder(req: SingleOrderRequest): Promise<PlacedLeg> {
    if (req.role === 'ENTRY') {
      throw new BrokerRefusedError('NO_PERMIT', `placeOrder is for exits only; entry ${req.orderRef} needs placeBracket with a permit`);
    }
    validateSingle(req);
    const { contract, minTick, conId } = await this.prepareSubmit(req.instrument);
    const price =
      req.type === 'LMT' ? tickPrice(req.limitPrice, minTick, 'limitPrice') : req.type === 'STP' ? tickPrice(req.stopPrice, minTick, 'stopPrice') : undefined;
    const s = this.requireReady();
    const id = this.allocateIds(1);
    const one = this.buildLeg(conId, id, req.orderRef, req.role, req, req.side, req.type, price, 0, '', true);
    const [leg] = await this.sendLegs(s, contract, [one]);
    if (!leg) throw new Error('placeOrder: no leg');
    return leg;
  }

  /**
   * IBKR modify: the same order id sent again with every field as before and the new total
   * quantity (a changed non-modifiable field would be error 105). Exit legs only, only down.
   */
  async resize(brokerOrderId: string, quantity: number): Promise<void> {
    const id = Number(brokerOrderId);
    const rec = Number.isInteger(id) && id > 0 ? this.book.get(String(id)) : undefined;
    if (!rec) throw new BrokerRefusedError('UNKNOWN_ORDER', `cannot resize ${brokerOrderId}: not an order of this client`);
    const role = this.book.roleOf(rec);
    if (role === 'ENTRY') throw new BrokerRefusedError('INVALID_REQUEST', `order ${brokerOrderId} is an entry: entries are never resized`);
    if (TERMINAL_STATUSES.has(rec.status)) throw new BrokerRefusedError('NOT_CANCELLABLE', `order ${brokerOrderId} (${rec.orderRef} ${role}) is ${rec.status}`);
    if (quantity === rec.quantity) return; // already that size (e.g. reduced by its OCA group)
    if (!(Number.isInteger(quantity) && quantity > rec.filledQty && quantity < rec.quantity)) {
      throw new BrokerRefusedError('INVALID_REQUEST', `resize of ${brokerOrderId} to ${quantity}: must be a whole number below ${rec.quantity} and above the ${rec.filledQty} already filled`);
    }
    const s = this.requireReady();
    const conId = rec.wire.conId || (await this.qualifyEntry(rec.instrument)).conId;
    const price = rec.type === 'LMT' ? rec.limitPrice : rec.type === 'STP' ? rec.stopPrice : undefined;
    const order = this.orderFor(id, rec.orderRef, rec.side, rec.type, price, quantity, rec.parentId, rec.wire, true);
    const sent = this.awaitSent(3, id);
    this.paced(s, sent, () => s.ib.placeOrder(id, qualifiedOrderContract(rec.instrument, conId), order));
    if (!(await sent.promise)) this.log.warn({ orderId: id }, 'resize handed to the client but not confirmed written');
    this.book.resized(String(id), quantity);
  }

  async cancel(brokerOrderId: string): Promise<void> {
    const id = Number(brokerOrderId);
    if (!Number.isInteger(id) || id <= 0) {
      throw new BrokerRefusedError('UNKNOWN_ORDER', `cannot cancel ${brokerOrderId}: not an order id of this client`);
    }
    const known = this.book.get(String(id));
    if (known && TERMINAL_STATUSES.has(known.status)) {
      throw new BrokerRefusedError('NOT_CANCELLABLE', `order ${brokerOrderId} (${known.orderRef} ${known.role ?? ''}) is ${known.status}`);
    }
    const s = this.requireReady();
    const sent = this.awaitSent(4, id);
    this.paced(s, sent, () => s.ib.cancelOrder(id));
    if (!(await sent.promise)) this.log.warn({ orderId: id }, 'cancel handed to the client but not confirmed written');
  }

  // === Submission helpers

  /** Mode, readiness, fresh account check, contract qualification. Throws before anything is sent. */
  private async prepareSubmit(instrument: Instrument): Promise<QualifiedEntry> {
    if (this.opts.mode === 'observe') {
      throw new BrokerRefusedError('ACCOUNT_MODE_MISMATCH', 'ACCOUNT_MODE_MISMATCH OBSERVE_NEVER_SUBMITS: mode OBSERVE never submits orders');
    }
    if (this.opts.mode === 'live' && !this.opts.allowLive) {
      throw new BrokerRefusedError('ACCOUNT_MODE_MISMATCH', 'ACCOUNT_MODE_MISMATCH LIVE_NOT_ALLOWED: IBKR_ALLOW_LIVE is not set');
    }
    const s = this.requireReady();
    const managed = await this.queryManagedAccounts(s);
    this.verifyAccount(managed);
    const q = await this.qualifyEntry(instrument);
    this.verifyAccount(this.managed); // an unsolicited account change may have arrived meanwhile
    if (Math.abs(q.instrument.multiplier - instrument.multiplier) > 1e-9) {
      throw new BrokerRefusedError(
        'MULTIPLIER_MISMATCH',
        `${instrumentKey(instrument)}: the order says multiplier ${instrument.multiplier}, contract ${q.localSymbol ?? q.conId} has ${q.instrument.multiplier}`,
      );
    }
    return q;
  }

  /** INV-IBKR-ACCOUNT-CHECK-1: the account we trade must still be managed and fit the mode. */
  private verifyAccount(managed: readonly string[]): void {
    const pick = pickAccount(managed, this.opts.account);
    const problem = !pick.ok
      ? `${pick.code}: ${pick.detail}`
      : pick.accountId !== this.accountIdValue
        ? `ACCOUNT_CHANGED: trading account ${this.accountIdValue ?? '(none)'} is now ${pick.accountId}`
        : (() => {
            const g = checkAccountForMode(pick.accountId, this.opts.mode, this.opts.allowLive);
            return g.ok ? null : `${g.code}: ${g.detail}`;
          })();
    if (problem) {
      this.accountOk = false;
      this.log.error({ managed, mode: this.opts.mode, problem }, 'submit refused: account/mode mismatch');
      throw new BrokerRefusedError('ACCOUNT_MODE_MISMATCH', `ACCOUNT_MODE_MISMATCH ${problem}`);
    }
    this.accountOk = true;
  }

  private allocateIds(n: number): number {
    if (this.nextOrderId <= 0) throw new BrokerUnavailableError('order ids not seeded (no nextValidId yet)');
    const first = this.nextOrderId;
    this.nextOrderId += n;
    return first;
  }

  private buildLeg(
    conId: number,
    orderId: number,
    orderRef: string,
    role: OrderRole,
    req: { readonly instrument: Instrument; readonly quantity: number },
    side: 'BUY' | 'SELL',
    type: DomainOrderType,
    price: number | undefined,
    parentId: number,
    ocaGroup: string,
    transmit: boolean,
  ): { leg: NewLeg; order: Order } {
    const wire: OrderWire = {
      conId,
      tif: TIF_FOR_ROLE[role],
      ocaGroup,
      ocaType: ocaGroup ? OCA_REDUCE_WITH_BLOCK : undefined,
      outsideRth: worksOutsideRth(req.instrument, role),
      account: this.accountIdValue ?? undefined,
    };
    const order = this.orderFor(orderId, orderRef, side, type, price, req.quantity, parentId, wire, transmit);
    const leg: NewLeg = {
      orderId,
      orderRef,
      role,
      instrument: req.instrument,
      side,
      quantity: req.quantity,
      type,
      parentId,
      wire,
      ...(type === 'LMT' && price !== undefined ? { limitPrice: price } : {}),
      ...(type === 'STP' && price !== undefined ? { stopPrice: price } : {}),
    };
    return { leg, order };
  }

  /** The IB order for a leg (a first placement, or a modify repeating `wire` unchanged). */
  private orderFor(
    orderId: number,
    orderRef: string,
    side: 'BUY' | 'SELL',
    type: DomainOrderType,
    price: number | undefined,
    quantity: number,
    parentId: number,
    wire: OrderWire,
    transmit: boolean,
  ): Order {
    return {
      orderId,
      action: SIDE_TO_ACTION[side],
      orderType: ORDER_TYPE_TO_IB[type],
      totalQuantity: quantity,
      tif: wire.tif as Order['tif'],
      orderRef,
      account: wire.account,
      transmit,
      outsideRth: wire.outsideRth,
      ...(type === 'LMT' ? { lmtPrice: price } : {}),
      ...(type === 'STP' ? { auxPrice: price } : {}),
      ...(parentId > 0 ? { parentId } : {}),
      ...(wire.ocaGroup ? { ocaGroup: wire.ocaGroup, ocaType: wire.ocaType ?? OCA_REDUCE_WITH_BLOCK } : {}),
    };
  }

  /**
   * Register and send legs in order (the last one transmits the group); resolve once every leg
   * was written to the socket. Connection lost before any leg left → BrokerUnavailableError
   * (nothing reached the broker). Lost after some left → resolve + error event (unknown outcome).
   */
  private async sendLegs(s: IbSession, contract: Contract, legs: Array<{ leg: NewLeg; order: Order }>, lastLook?: () => Promise<void>): Promise<PlacedLeg[]> {
    const waits = legs.map(({ leg }) => {
      this.book.register(leg);
      return this.awaitSent(3, leg.orderId);
    });
    // The entry's last look (INV-KILL-LAST-MOMENT-1) runs when its pacer slot comes up, after
    // every queue and round trip above; a refusal drops the whole bracket unsent.
    let refused: unknown = null;
    legs.forEach(({ leg, order }, i) => {
      const wait = waits[i] ?? null;
      if (i === 0 && lastLook) {
        this.pacedAfter(s, wait, lastLook, (e) => (refused = e), () => s.ib.placeOrder(leg.orderId, contract, order));
      } else {
        this.paced(s, wait, () => {
          if (refused) throw refused;
          s.ib.placeOrder(leg.orderId, contract, order);
        });
      }
    });
    const results = await Promise.allSettled(waits.map((w) => w.promise));
    if (refused) {
      for (const { leg } of legs) this.book.forget(String(leg.orderId));
      throw refused;
    }
    // fulfilled true: written; fulfilled false: handed to the client, write not confirmed (unknown); rejected: never sent
    const maybeSent = results.filter((r) => r.status === 'fulfilled').length;
    const confirmed = results.filter((r) => r.status === 'fulfilled' && r.value).length;
    const placed = legs.map(({ leg }) => ({ role: leg.role, brokerOrderId: String(leg.orderId) }));
    const orderRef = legs[0]?.leg.orderRef ?? '';
    if (confirmed === legs.length) return placed;
    if (maybeSent === 0) {
      throw new BrokerUnavailableError(`connection lost before orderRef ${orderRef} was sent; nothing reached the broker`);
    }
    const message = `orderRef ${orderRef}: ${confirmed}/${legs.length} legs confirmed written (${maybeSent - confirmed} unconfirmed); outcome unknown, reconcile`;
    this.log.error({ orderRef, confirmed, maybeSent }, message);
    this.outbox.push({ kind: 'error', code: 504, message, orderRef });
    return placed;
  }

  /**
   * true when the client wrote message `msgId` for `orderId` (its `sent` event); false when it was
   * handed to the client but no write was seen within requestTimeoutMs (unknown); rejects when
   * the session died first (never written: the session's IBApi and queues are discarded).
   */
  private awaitSent(msgId: number, orderId: number): Pending<boolean> {
    const key = msgId * 1e10 + orderId;
    const p = this.pending<boolean>(`send ${msgId}/${orderId}`, 0);
    this.sendWaiters.set(key, p);
    let cancelTimer: Cancel | null = null;
    void p.promise.then(
      () => {
        cancelTimer?.();
        this.sendWaiters.delete(key);
      },
      () => {
        cancelTimer?.();
        this.sendWaiters.delete(key);
      },
    );
    return {
      ...p,
      arm: () => {
        if (cancelTimer || !this.sendWaiters.has(key)) return;
        cancelTimer = this.opts.clock.schedule(this.opts.requestTimeoutMs, () => p.resolve(false));
      },
    };
  }

  // === Qualification

  private qualifyEntry(instrument: Instrument): Promise<QualifiedEntry> {
    const key = instrumentKey(instrument);
    const hit = this.qualified.get(key);
    if (hit) return Promise.resolve(hit);
    const inflight = this.qualifying.get(key);
    if (inflight) return inflight;
    const s = this.requireSession();
    const p = this.fetchQualified(s, instrument, key).finally(() => this.qualifying.delete(key));
    this.qualifying.set(key, p);
    return p;
  }

  private async fetchQualified(s: IbSession, instrument: Instrument, key: string): Promise<QualifiedEntry> {
    const details = await this.contractDetails(s, instrumentToContract(instrument));
    const d = pickContract(details, instrument, this.opts.clock.now());
    const conId = d.contract.conId;
    if (!conId) throw new BrokerRefusedError('CONTRACT_NOT_FOUND', `no conId for ${key}`);
    // the contract's multiplier, never the request's (MONEY-10); stocks report none: 1
    const multiplier = instrument.secType === 'FUT' && d.contract.multiplier && d.contract.multiplier > 0 ? Number(d.contract.multiplier) : instrument.secType === 'FUT' ? NaN : 1;
    if (!(multiplier > 0)) throw new BrokerRefusedError('CONTRACT_NOT_FOUND', `${key}: the contract details carry no multiplier`);
    const trusted: Instrument = { ...instrument, multiplier };
    const entry: QualifiedEntry = {
      instrument: trusted,
      conId,
      minTick: d.minTick && d.minTick > 0 ? d.minTick : 0.01,
      ...(d.contract.localSymbol ? { localSymbol: d.contract.localSymbol } : {}),
      contract: qualifiedOrderContract(instrument, conId),
    };
    this.qualified.set(key, entry);
    this.instrumentByConId.set(conId, trusted);
    return entry;
  }

  private async contractDetails(s: IbSession, contract: Contract): Promise<ContractDetails[]> {
    const reqId = this.reqSeq++;
    const p = this.pending<ContractDetails[]>(`contract details ${contract.symbol ?? ''}`, this.opts.requestTimeoutMs, true);
    const rows: ContractDetails[] = [];
    this.reqHandlers.set(reqId, {
      data: (d) => rows.push(d),
      end: () => p.resolve(rows),
      error: (code, message) =>
        p.reject(
          code === 200
            ? new BrokerRefusedError('CONTRACT_NOT_FOUND', `${contract.symbol}: ${message}`)
            : new BrokerUnavailableError(`contract details failed (${code}): ${message}`),
        ),
    });
    try {
      this.paced(s, p, () => s.ib.reqContractDetails(reqId, contract));
      return await p.promise;
    } finally {
      this.reqHandlers.delete(reqId);
    }
  }

  // === Accounts

  /** Re-query managed accounts (single flight: concurrent submits share one round trip). */
  private queryManagedAccounts(s: IbSession): Promise<string[]> {
    if (this.accountsQuery) return this.accountsQuery;
    const p = this.pending<string[]>('managed accounts', this.opts.accountCheckTimeoutMs, true);
    this.accountsWaiters.push(p);
    this.paced(s, p, () => s.ib.reqManagedAccts());
    const q = p.promise.finally(() => {
      if (this.accountsQuery === q) this.accountsQuery = null;
    });
    this.accountsQuery = q;
    return q;
  }

  private subscribeAccountSummary(s: IbSession): void {
    const old = this.summaryReqId;
    if (old !== null && this.session === s) this.paced(s, null, () => s.ib.cancelAccountSummary(old));
    const reqId = this.reqSeq++;
    this.summaryReqId = reqId;
    this.paced(s, null, () => s.ib.reqAccountSummary(reqId, 'All', ACCOUNT_TAGS));
  }

  private waitForSummary(timeoutMs: number): Promise<void> {
    if (this.summaryValue) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const cancel = this.opts.clock.schedule(timeoutMs, () => {
        this.summaryWaiters = this.summaryWaiters.filter((w) => w !== done);
        resolve();
      });
      const done = (): void => {
        cancel();
        resolve();
      };
      this.summaryWaiters.push(done);
    });
  }

  private onAccountSummary(reqId: number, account: string, tag: string, value: string, currency: string): void {
    if (reqId !== this.summaryReqId) return;
    const acct = this.accountIdValue;
    if (acct && account !== acct) return;
    const v = Number(value);
    if (!Number.isFinite(v)) return;
    if (tag === 'NetLiquidation') {
      this.summary.netLiquidation = v;
      this.summary.currency = currency || this.summary.currency;
    } else if (tag === 'BuyingPower') this.summary.buyingPower = v;
    if (this.summary.netLiquidation !== undefined && this.summary.buyingPower !== undefined) {
      this.summaryValue = Object.freeze({
        accountId: acct ?? account,
        netLiquidation: this.summary.netLiquidation,
        buyingPower: this.summary.buyingPower,
        currency: this.summary.currency ?? 'USD',
      });
      const waiters = this.summaryWaiters;
      this.summaryWaiters = [];
      for (const w of waiters) w();
    }
  }

  // === Snapshot (restart recovery): open + completed orders, then today's executions

  private refreshSnapshot(s: IbSession): Promise<void> {
    if (this.snapshotInFlight) return this.snapshotInFlight;
    const p = (async () => {
      const open = this.pending<void>('open orders', this.opts.requestTimeoutMs, true);
      const completed = this.pending<void>('completed orders', this.opts.requestTimeoutMs, true);
      this.openOrderEndWaiters.push(open);
      this.completedEndWaiters.push(completed);
      this.paced(s, open, () => s.ib.reqAllOpenOrders());
      this.paced(s, completed, () => s.ib.reqCompletedOrders(true));
      await Promise.all([open.promise, completed.promise]);
      const reqId = this.reqSeq++;
      const execs = this.pending<void>('executions', this.opts.requestTimeoutMs, true);
      this.execEndWaiters.set(reqId, execs);
      try {
        this.paced(s, execs, () => s.ib.reqExecutions(reqId, {}));
        await execs.promise;
      } finally {
        this.execEndWaiters.delete(reqId);
      }
    })().finally(() => {
      if (this.snapshotInFlight === p) this.snapshotInFlight = null;
    });
    this.snapshotInFlight = p;
    return p;
  }

  // === Session lifecycle hooks

  private async onSessionReady(s: IbSession, attempt: number): Promise<ReadyVerdict> {
    this.session = s;
    this.managed = [...s.accounts];
    this.nextOrderId = Math.max(this.nextOrderId, s.nextValidId);
    const pick = pickAccount(this.managed, this.opts.account);
    if (this.opts.mode === 'observe') {
      this.accountIdValue = pick.ok ? pick.accountId : null;
      this.accountOk = false;
    } else {
      const problem = !pick.ok
        ? `${pick.code}: ${pick.detail}`
        : (() => {
            const g = checkAccountForMode(pick.accountId, this.opts.mode, this.opts.allowLive);
            return g.ok ? null : `${g.code}: ${g.detail}`;
          })();
      if (problem) {
        this.accountOk = false;
        this.accountIdValue = pick.ok ? pick.accountId : null;
        return { ok: false, code: 'ACCOUNT_MODE_MISMATCH', detail: `ACCOUNT_MODE_MISMATCH ${problem}; refusing the session` };
      }
      if (this.accountIdValue !== null && pick.ok && pick.accountId !== this.accountIdValue && attempt > 0) {
        this.accountOk = false;
        return {
          ok: false,
          code: 'ACCOUNT_MODE_MISMATCH',
          detail: `ACCOUNT_MODE_MISMATCH ACCOUNT_CHANGED: was ${this.accountIdValue}, gateway now reports ${pick.accountId}`,
        };
      }
      this.accountIdValue = pick.ok ? pick.accountId : null;
      this.accountOk = true;
    }
    if (this.summaryValue && this.summaryValue.accountId !== this.accountIdValue) {
      this.summaryValue = null;
      this.summary = {};
    }
    this.subscribeAccountSummary(s);
    await this.waitForSummary(Math.min(this.opts.requestTimeoutMs, 3000));
    let recovery = 'recovered';
    try {
      await this.refreshSnapshot(s);
    } catch (e) {
      recovery = `recovery incomplete: ${(e as Error).message}`;
      this.log.warn({ err: e }, 'ibkr recovery snapshot failed');
    }
    return {
      ok: true,
      detail: `account ${this.accountIdValue ?? '(none)'} mode ${this.opts.mode}, nextValidId ${this.nextOrderId}, ${recovery}`,
    };
  }

  private onSessionLost(sessionId: number): void {
    if (this.session?.id !== sessionId) return;
    this.session = null;
    this.summaryReqId = null;
    const err = new BrokerUnavailableError('connection to TWS/IB Gateway lost');
    for (const abort of [...this.inflight]) abort(err);
  }

  private onRestored(code: number): void {
    // 1101: TWS lost data subscriptions → re-subscribe; 1102 keeps them. The engine reconciles on the event.
    const s = this.session;
    if (code === 1101 && s) this.subscribeAccountSummary(s);
  }

  // === @stoqey/ib listeners

  private attach(ib: IBApi, sessionId: number): void {
    const on = <A extends unknown[]>(name: string, fn: (...a: A) => void) => (...a: A): void => {
      try {
        fn(...a);
      } catch (e) {
        this.log.error({ err: e, event: name, sessionId }, 'ibkr listener failed (contained)');
      }
    };
    const emitAll = (events: readonly BrokerEvent[]): void => {
      for (const e of events) this.outbox.push(e);
    };
    ib.on(EventName.error, on('error', (err: Error, code: number, reqId: number) => this.onIbError(ib, err, code, reqId)));
    ib.on(EventName.info, on('info', (message: string, code: number) => this.onIbInfo(code, message)));
    ib.on(
      EventName.nextValidId,
      on('nextValidId', (id: number) => {
        this.nextOrderId = Math.max(this.nextOrderId, id);
      }),
    );
    ib.on(
      EventName.managedAccounts,
      on('managedAccounts', (csv: string) => {
        const list = String(csv ?? '')
          .split(',')
          .map((a) => a.trim())
          .filter((a) => a !== '');
        if (this.session?.id === sessionId) this.managed = list;
        const waiters = this.accountsWaiters;
        this.accountsWaiters = [];
        for (const w of waiters) w.resolve(list);
      }),
    );
    ib.on(
      EventName.sent,
      on('sent', (tokens: unknown[]) => {
        const msgId = Number(tokens?.[0]);
        if (msgId !== 3 && msgId !== 4) return;
        // PLACE_ORDER has a version field below sv 145, CANCEL_ORDER below sv 192
        const versioned = msgId === 3 ? ib.serverVersion < 145 : ib.serverVersion < 192;
        this.sendWaiters.get(msgId * 1e10 + Number(tokens[versioned ? 2 : 1]))?.resolve(true);
      }),
    );
    ib.on(
      EventName.openOrder,
      on('openOrder', (orderId: number, contract: Contract, order: Order, state: OrderState) =>
        emitAll(this.book.onOpenOrder(orderId, contract, order, state)),
      ),
    );
    ib.on(
      EventName.orderStatus,
      on(
        'orderStatus',
        (orderId: number, status: string, filled: number, _remaining: number, avgFillPrice: number, permId?: number, _parentId?: number, _last?: number, clientId?: number) =>
          emitAll(this.book.onOrderStatus(orderId, status, filled, avgFillPrice, permId, clientId)),
      ),
    );
    ib.on(
      EventName.completedOrder,
      on('completedOrder', (contract: Contract, order: Order, state: OrderState) => emitAll(this.book.onCompletedOrder(contract, order, state))),
    );
    ib.on(
      EventName.currentTime,
      on('currentTime', () => this.syncWaiters.shift()?.resolve()),
    );
    ib.on(
      EventName.openOrderEnd,
      on('openOrderEnd', () => this.openOrderEndWaiters.shift()?.resolve()),
    );
    ib.on(
      EventName.completedOrdersEnd,
      on('completedOrdersEnd', () => this.completedEndWaiters.shift()?.resolve()),
    );
    ib.on(
      EventName.execDetails,
      on('execDetails', (_reqId: number, contract: Contract, exec: Execution) => {
        if (contract.conId && !this.instrumentByConId.has(contract.conId)) {
          const inst = contractToInstrument(contract);
          if (inst) this.instrumentByConId.set(contract.conId, inst);
        }
        const execId = this.book.onExecution(contract, exec);
        if (execId) this.outbox.pushFill(execId, this.book.hasCommission(execId));
      }),
    );
    ib.on(
      EventName.execDetailsEnd,
      on('execDetailsEnd', (reqId: number) => this.execEndWaiters.get(reqId)?.resolve()),
    );
    ib.on(
      EventName.commissionReport,
      on('commissionReport', (r: CommissionReport) => {
        if (!r.execId) return;
        if (this.book.onCommission(r.execId, r.commission)) this.outbox.commissionArrived(r.execId);
      }),
    );
    ib.on(
      EventName.contractDetails,
      on('contractDetails', (reqId: number, d: ContractDetails) => this.reqHandlers.get(reqId)?.data?.(d)),
    );
    ib.on(
      EventName.contractDetailsEnd,
      on('contractDetailsEnd', (reqId: number) => this.reqHandlers.get(reqId)?.end?.()),
    );
    ib.on(
      EventName.accountSummary,
      on('accountSummary', (reqId: number, account: string, tag: string, value: string, currency: string) =>
        this.onAccountSummary(reqId, account, tag, value, currency),
      ),
    );
    ib.on(
      EventName.position,
      on('position', (account: string, contract: Contract, pos: number, avgCost?: number) => {
        const c = this.positionCollector;
        if (!c) return;
        const instrument = (contract.conId ? this.instrumentByConId.get(contract.conId) : undefined) ?? contractToInstrument(contract);
        if (!instrument) return;
        c.rows.push({ account, instrument, quantity: pos ?? 0, avgCost: avgCost ?? 0 });
      }),
    );
    ib.on(
      EventName.positionEnd,
      on('positionEnd', () => this.positionCollector?.done.resolve()),
    );
  }

  private onIbError(ib: IBApi, err: Error, code: number, reqId: number): void {
    const message = err?.message ?? String(err);
    const handler = reqId !== -1 ? this.reqHandlers.get(reqId) : undefined;
    if (handler) {
      handler.error(code, message);
      return;
    }
    const cls = classifyIbCode(code, message);
    const own = reqId > 0 && this.book.hasOwnOrder(reqId);
    const orderRef = own ? this.book.get(String(reqId))?.orderRef : undefined;
    const push = (events: readonly BrokerEvent[]): void => {
      for (const e of events) this.outbox.push(e);
    };
    switch (cls) {
      case 'ORDER_REJECTION':
        if (own) {
          this.log.warn({ code, reqId, message }, 'order rejected by IB');
          push(this.book.onRejected(reqId, code, message));
          if (code === 103 && this.session?.ib === ib) {
            const s = this.session;
            this.paced(s, null, () => s.ib.reqIds(1)); // duplicate id: re-seed from TWS
          }
          return;
        }
        break;
      case 'ORDER_CANCELLED':
        if (own) {
          push(this.book.onCancelled(reqId, code, message));
          return;
        }
        break;
      case 'WARNING':
      case 'FARM_OK':
      case 'FARM_BROKEN':
        this.log.info({ code, reqId, message }, 'ibkr notice');
        return;
      case 'CLIENT_CONNECTIVITY':
        this.log.warn({ code, reqId, message }, 'ibkr client connectivity');
        return;
      case 'DECODE_ERROR':
        this.log.error({ code, message }, 'ibkr decoder error (protocol mismatch)');
        break;
      case 'PACING':
        this.log.error({ code, reqId, message }, 'ibkr pacing violation (error 100)');
        break;
      default:
        break;
    }
    this.outbox.push({ kind: 'error', code, message, ...(orderRef ? { orderRef } : {}) });
  }

  private onIbInfo(code: number, message: string): void {
    const cls = classifyIbCode(code, message);
    switch (cls) {
      case 'CONNECTIVITY_LOST':
      case 'CONNECTIVITY_RESTORED':
        return; // connection.ts turns these into PAUSED / READY events
      case 'FARM_OK':
      case 'WARNING':
        this.log.debug({ code, message }, 'ibkr info');
        return;
      case 'FARM_BROKEN':
        this.log.warn({ code, message }, 'ibkr data farm broken');
        return;
      case 'PACING':
      case 'CLIENT_ID_IN_USE':
      case 'DECODE_ERROR':
      case 'OTHER':
      default:
        if (code === 501 || code === 504) return; // "already connected"/"not connected" notices from the client
        this.log.warn({ code, message }, 'ibkr system message');
        this.outbox.push({ kind: 'error', code, message });
    }
  }

  // === Small utilities

  private requireSession(): IbSession {
    const s = this.conn.current;
    if (!s) throw new BrokerUnavailableError(`IBKR not connected (${this.conn.state}: ${this.conn.detail})`);
    return s;
  }

  private requireReady(): IbSession {
    const s = this.conn.current;
    if (!s || this.conn.state !== 'READY') {
      throw new BrokerUnavailableError(`IBKR not ready for orders (${this.conn.state}: ${this.conn.detail})`);
    }
    return s;
  }

  /**
   * Queue a request on the session's pacer; `p` (if any) is armed when sent, rejected if the
   * session is gone or `send` throws (then nothing was written).
   */
  private paced(s: IbSession, p: Pending<unknown> | null, send: () => void): void {
    const queued = s.pacer.run(() => {
      try {
        this.gate();
        send();
      } catch (e) {
        p?.reject(e as Error);
        return;
      }
      p?.arm();
    });
    if (!queued) p?.reject(new BrokerUnavailableError('connection to TWS/IB Gateway lost; request not sent'));
  }

  /** The send gate (options.sendGate) refuses: nothing is written. */
  private gate(): void {
    const why = this.sendGate?.();
    if (why) throw new BrokerUnavailableError(`not sent: ${why}`);
  }

  /** Like `paced`, but `check` is awaited in the pacer slot first (holding the queue); a refusal is reported and nothing is sent. */
  private pacedAfter(s: IbSession, p: Pending<unknown> | null, check: () => Promise<void>, onRefused: (e: unknown) => void, send: () => void): void {
    const queued = s.pacer.run(async () => {
      try {
        await check();
      } catch (e) {
        onRefused(e);
        p?.reject(e as Error);
        return;
      }
      if (s.pacer.isClosed || this.session !== s) {
        p?.reject(new BrokerUnavailableError('connection to TWS/IB Gateway lost during the last look; request not sent'));
        return;
      }
      try {
        this.gate();
      } catch (e) {
        onRefused(e);
        p?.reject(e as Error);
        return;
      }
      send();
      p?.arm();
    });
    if (!queued) p?.reject(new BrokerUnavailableError('connection to TWS/IB Gateway lost; request not sent'));
  }

  /**
   * A promise that rejects on timeout (0 = none) or when the session is lost. `deferred`: the
   * timeout starts at arm() (when the request actually leaves the pacer), not now.
   */
  private pending<T>(label: string, timeoutMs: number = this.opts.requestTimeoutMs, deferred = false): Pending<T> {
    let resolveFn!: (v: T) => void;
    let rejectFn!: (e: Error) => void;
    const promise = new Promise<T>((res, rej) => {
      resolveFn = res;
      rejectFn = rej;
    });
    let cancelTimer: Cancel | null = null;
    let done = false;
    const settle = (): void => {
      done = true;
      cancelTimer?.();
      this.inflight.delete(abort);
    };
    const abort = (e: Error): void => {
      if (done) return;
      settle();
      rejectFn(e);
    };
    this.inflight.add(abort);
    const arm = (): void => {
      if (done || cancelTimer || timeoutMs <= 0) return;
      cancelTimer = this.opts.clock.schedule(timeoutMs, () => abort(new BrokerUnavailableError(`${label} timed out after ${timeoutMs} ms`)));
    };
    if (!deferred) arm();
    promise.catch(() => undefined); // callers may not attach before a synchronous abort
    return {
      promise,
      resolve: (v: T) => {
        if (done) return;
        settle();
        resolveFn(v);
      },
      reject: abort,
      arm,
    };
  }
}

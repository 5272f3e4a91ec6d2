/**
 * IbkrBroker: BrokerPort over @stoqey/ib's IBApi (TWS / IB Gateway). This file wires the parts
 * and is the port's front door; each concern lives in its own file:
 *   connection.ts   socket, ConnectionState, reconnects (INV-IBKR-RECONNECT-1: ≤ 3 attempts, then DOWN)
 *   ib.session.ts   the attached session, ready/lost/restored hooks (guard, ids, recovery before READY)
 *   ib.account.ts   managed accounts vs mode (INV-IBKR-PAPER-GUARD-1 / -ACCOUNT-CHECK-1), account summary
 *   ib.contracts.ts qualification: tick and multiplier from the contract details
 *   ib.orders.ts    placement, resize, cancel, order ids (INV-T2-GATE-1's last line)
 *   ib.snapshot.ts  open/completed orders + executions (recovery, findByOrderRef), positions, sync
 *   ib.events.ts    the @stoqey/ib listeners and IB's error/info codes
 *   ib.requests.ts  pacing (every request through the session's Pacer: FIFO, evenly spaced,
 *                   default 38/s, then the client's own 40/s limiter; IBKR's limit is 50) and timeouts
 * Unknown outcomes are never rejections: a bracket cut by a disconnect after some legs were
 * written resolves (with an error event) and must be reconciled via findByOrderRef.
 */
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
  type Clock,
  type Instrument,
  type Logger,
  type OrderRefReport,
  type PlacedLeg,
  type QualifiedContract,
  type SingleOrderRequest,
  type SubmitPermit,
} from '../../engine/index.js';
import type { TradingMode } from './account.guard.js';
import { ConnectFailedError, DEFAULT_RECONNECT, IbConnection, type ReconnectPolicy } from './connection.js';
import { EventOutbox } from './event.outbox.js';
import { IbAccount } from './ib.account.js';
import { IbContracts } from './ib.contracts.js';
import { attachListeners } from './ib.events.js';
import { IbOrders } from './ib.orders.js';
import { IbRequests } from './ib.requests.js';
import { IbLink, recoverIds, sessionLost, sessionReady, sessionRestored, type SessionParts } from './ib.session.js';
import { IbSnapshot } from './ib.snapshot.js';
import { OrderBook } from './order.book.js';

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
  /** while the gateway waits for its login (2FA), try a fresh session this often (default 15000) */
  readonly loginPollMs?: number;
  /**
   * The gateway's daily restart window (engine/gateway-day.ts): a drop inside it is expected, so
   * failed reconnects keep going and never escalate to DOWN while it lasts. Default: none.
   */
  readonly inRestartWindow?: (now: number) => boolean;
  /**
   * Asked right before every write to TWS (orders, cancels, resizes, requests): a reason not to
   * send, or null. A desk on PostgreSQL (issue 18) answers from its leader lease, so a leader
   * that was frozen and woke up after losing the lease writes nothing, even what its pacer had
   * queued.
   */
  readonly sendGate?: () => string | null;
}

export class IbkrBroker implements BrokerPort {
  readonly name = 'ibkr';

  private readonly mode: TradingMode;
  private readonly conn: IbConnection;
  private readonly link = new IbLink();
  private readonly book: OrderBook;
  private readonly outbox: EventOutbox;
  private readonly requests: IbRequests;
  private readonly contracts: IbContracts;
  private readonly account: IbAccount;
  private readonly snapshot: IbSnapshot;
  private readonly orders: IbOrders;

  constructor(options: IbkrBrokerOptions) {
    const clock = options.clock;
    const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    const maxReqPerSec = Math.min(40, Math.max(1, options.maxReqPerSec ?? 38));
    const log = options.logger.child({ component: 'ibkr.broker', clientId: options.clientId });
    const link = this.link;
    this.mode = options.mode;
    this.requests = new IbRequests(clock, requestTimeoutMs, (s) => link.isCurrent(s), options.sendGate);
    this.contracts = new IbContracts(clock, this.requests, () => link.requireSession());
    this.book = new OrderBook(options.clientId, (conId) => this.contracts.instrumentFor(conId), () => clock.now());
    this.outbox = new EventOutbox(clock, log, options.commissionWaitMs ?? 1_000, (execId) => this.book.fill(execId));
    this.account = new IbAccount(
      { account: options.account, mode: options.mode, allowLive: options.allowLive, clock, log, accountCheckTimeoutMs: options.accountCheckTimeoutMs ?? 5_000 },
      this.requests,
      (s) => link.isCurrent(s),
    );
    this.snapshot = new IbSnapshot(this.requests, (s) => link.isCurrent(s), (conId) => this.contracts.instrumentFor(conId));
    this.orders = new IbOrders({
      clock,
      log,
      requests: this.requests,
      account: this.account,
      contracts: this.contracts,
      book: this.book,
      emit: (e) => this.outbox.push(e),
      requireReady: () => link.requireReady(),
      attached: () => link.session,
      recover: (s) => recoverIds(parts, s),
      loginLost: (detail) => link.conn.loginLost(detail),
    });
    const parts: SessionParts = { link, account: this.account, orders: this.orders, snapshot: this.snapshot, requests: this.requests, book: this.book, log, mode: options.mode };
    const listeners = { log, outbox: this.outbox, book: this.book, orders: this.orders, account: this.account, contracts: this.contracts, snapshot: this.snapshot, attached: () => link.session };
    this.conn = new IbConnection(
      {
        host: options.host,
        port: options.port,
        clientId: options.clientId,
        clock,
        logger: options.logger,
        connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
        reconnect: { ...DEFAULT_RECONNECT, ...(options.reconnect ?? {}) },
        maxReqPerSec,
        loginPollMs: options.loginPollMs ?? 15_000,
        ...(options.inRestartWindow ? { inRestartWindow: () => options.inRestartWindow!(clock.now()) } : {}),
      },
      {
        attach: (ib, id) => attachListeners(ib, id, listeners),
        ready: (s, attempt) => sessionReady(parts, s, attempt),
        lost: (id) => sessionLost(parts, id),
        restored: (code) => sessionRestored(parts, code),
        emit: (e) => this.outbox.push(e),
      },
    );
    link.bind(this.conn);
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
      canSubmit: state === 'READY' && this.mode !== 'observe' && this.account.ok,
      account: this.account.current,
      detail: this.conn.detail,
    };
  }

  onEvent(listener: (e: BrokerEvent) => void): () => void {
    return this.outbox.subscribe(listener);
  }

  /** Managed accounts last reported by the gateway. */
  get managedAccounts(): readonly string[] {
    return this.account.managedAccounts;
  }

  /** The account orders are sent for (null before connect / when none fits). */
  get accountId(): string | null {
    return this.account.accountId;
  }

  /**
   * Barrier: resolves once TWS has answered everything queued before this call (a
   * REQ_CURRENT_TIME round trip through the same FIFO) and every held fill was released.
   * Resolves at once when not connected. Used by tests/harnesses ("settle") and reconciliation.
   */
  async sync(): Promise<void> {
    const s = this.conn.current;
    if (s) await this.snapshot.sync(s);
    await this.outbox.drained();
  }

  /** Negotiated TWS API server version (0 when not connected). */
  get serverVersion(): number {
    return this.link.session?.serverVersion ?? 0;
  }

  // === Port: reads

  async accountSummary(): Promise<AccountSummary> {
    const known = this.account.current;
    if (known && this.conn.current) return known;
    this.link.requireSession();
    await this.account.waitForSummary(this.requests.timeoutMs);
    const summary = this.account.current;
    if (!summary) throw new BrokerUnavailableError('account summary not available yet');
    return summary;
  }

  async qualify(instrument: Instrument): Promise<QualifiedContract> {
    const q = await this.contracts.qualify(instrument);
    return { instrument: q.instrument, conId: q.conId, minTick: q.minTick, ...(q.localSymbol ? { localSymbol: q.localSymbol } : {}) };
  }

  async openOrders(): Promise<readonly BrokerOrder[]> {
    await this.snapshot.refresh(this.link.requireSession());
    return this.book.openOrders();
  }

  async executions(): Promise<readonly BrokerFill[]> {
    await this.snapshot.refresh(this.link.requireSession());
    return this.book.allFills();
  }

  async findByOrderRef(orderRef: string): Promise<OrderRefReport> {
    await this.snapshot.refresh(this.link.requireSession());
    return this.book.byOrderRef(orderRef);
  }

  positions(): Promise<readonly BrokerPosition[]> {
    return this.snapshot.positions(() => this.link.requireSession());
  }

  // === Port: orders

  placeBracket(req: BracketRequest, permit: SubmitPermit): Promise<readonly PlacedLeg[]> {
    return this.orders.placeBracket(req, permit);
  }

  placeOrder(req: SingleOrderRequest): Promise<PlacedLeg> {
    return this.orders.placeOrder(req);
  }

  /** IBKR modify of an exit leg's quantity (down only); see IbOrders.resize. */
  resize(brokerOrderId: string, quantity: number): Promise<void> {
    return this.orders.resize(brokerOrderId, quantity);
  }

  cancel(brokerOrderId: string): Promise<void> {
    return this.orders.cancel(brokerOrderId);
  }
}

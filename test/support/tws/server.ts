/**
 * TwsTestServer: a TCP server on 127.0.0.1 speaking the TWS API wire protocol (server version
 * 193) well enough for the REAL @stoqey/ib client to connect, place/cancel bracket orders,
 * receive fills, and query open/completed orders, executions, positions, account summary and
 * contract details. No mocking of @stoqey/ib anywhere.
 *
 * Behaviour (see /work/shared/reference/ibkr.md §3.7):
 * - handshake → server version + time; START_API → MANAGED_ACCTS, NEXT_VALID_ID, farm notices;
 * - PLACE_ORDER with transmit=0 is held until a transmit=1 order whose parentId or id matches
 *   (bracket semantics); then OPEN_ORDER + ORDER_STATUS for each; children stay PreSubmitted
 *   until the parent fills completely;
 * - OCA groups by ocaType (IBKR): 1 (or unset) = any fill of one member, partial too, cancels the
 *   others (+202); 2 / 3 = reduce on fill: each other member's total quantity drops by the filled
 *   amount (OPEN_ORDER + ORDER_STATUS with the new size), cancelled once nothing is left;
 * - cancelling a parent: with nothing filled, its children are cancelled too; partly filled, the
 *   children become active (Submitted) and KEEP the parent's full quantity (IBKR does not resize
 *   them: the client must, with a modify = PLACE_ORDER again with the same id);
 * - fills per configurable behaviour (auto market semantics, fill, partial, reject, rest,
 *   never answer, optional delay): EXECUTION_DATA(reqId −1) + ORDER_STATUS + COMMISSION_REPORT;
 * - message-rate accounting per connection (rolling second): over the limit → error 100;
 * - state (orders, executions, positions) survives client reconnects and stop()/restart();
 *   restart({ nextValidId }) is a gateway restart that forgot its id sequence (nextValidId rolls
 *   back; a PLACE_ORDER with the id of a live order is then a modify of THAT order, as at IBKR);
 * - a gateway nobody is logged in to (setLogin): 'no-accounts' answers the handshake with an
 *   empty MANAGED_ACCTS, 'stalled' never sends NEXT_VALID_ID; both send the broken-farm codes
 *   2103/2105/2157 instead of 2104/2106/2158.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { DEFAULT_CONTRACTS, matchContracts, type TwsContract } from './catalog.js';
import * as M from './messages.js';
import type { ExecView, OrderView } from './messages.js';
import {
  FrameReader,
  OUT,
  SERVER_VERSION,
  MIN_CLIENT_VERSION,
  frame,
  int,
  num,
  outMessageName,
  twsTime,
  type Field,
  type Incoming,
} from './protocol.js';

// === Public types

export type FillBehavior =
  /** default: MKT fills at the market price; LMT/STP fill when the market price reaches them */
  | { readonly kind: 'auto' }
  /** fill the whole order (at `price` or the order's natural price), optionally after a delay */
  | { readonly kind: 'fill'; readonly price?: number; readonly delayMs?: number }
  /** fill `ratio` of the quantity (rounded down, at least 1) and leave the rest working */
  | { readonly kind: 'partial'; readonly ratio: number; readonly price?: number; readonly delayMs?: number }
  /** ERR_MSG code (201) + ORDER_STATUS status (Cancelled) for the order; bracket children cancelled */
  | {
      readonly kind: 'reject';
      readonly code?: number;
      readonly reason?: string;
      readonly status?: 'Inactive' | 'Cancelled';
      readonly delayMs?: number;
    }
  /** acknowledge (Submitted) but never fill until movePrice()/fillOrder() */
  | { readonly kind: 'rest' }
  /** swallow the order: nothing is ever sent back (a broker timeout). Visible to open-order queries unless hidden. */
  | { readonly kind: 'never'; readonly hiddenFromQueries?: boolean };

export interface BehaviorMatch {
  readonly orderRef?: string;
  readonly symbol?: string;
  readonly orderId?: number;
}

export interface TwsTestServerOptions {
  readonly host?: string;
  /** 0 = ephemeral */
  readonly port?: number;
  /** managed accounts (default ['DU1234567']) */
  readonly accounts?: readonly string[];
  /** first NEXT_VALID_ID (default 1) */
  readonly nextOrderId?: number;
  readonly contracts?: readonly TwsContract[];
  /** IBKR's limit: more messages than this within one rolling second → error 100 (default 50) */
  readonly maxMessagesPerSecond?: number;
  /** send 2104/2106/2158 after START_API (default true) */
  readonly farmNotices?: boolean;
  /** commission per share/contract (default 0.62) */
  readonly commissionPerUnit?: number;
  /** delay of COMMISSION_REPORT after EXECUTION_DATA (default 0 = same tick) */
  readonly commissionDelayMs?: number;
  /** behaviour when no rule matches (default auto) */
  readonly defaultBehavior?: FillBehavior;
  readonly accountValues?: Readonly<Record<string, string>>;
  /** log every message to console (debugging) */
  readonly verbose?: boolean;
}

/** 'ok': logged in; 'no-accounts': handshake with no managed account; 'stalled': no NEXT_VALID_ID. */
export type GatewayLogin = 'ok' | 'no-accounts' | 'stalled';

export type ServerOrderStatus = 'Held' | 'PreSubmitted' | 'Submitted' | 'Filled' | 'Cancelled' | 'Inactive';

export interface ServerOrder extends OrderView {
  status: ServerOrderStatus;
  filled: number;
  avgFillPrice: number;
  lastFillPrice: number;
  completedTime: string;
  completedStatus: string;
  lmtPrice: number | undefined;
  auxPrice: number | undefined;
  totalQuantity: number;
  transmit: boolean;
  /** behaviour "never": nothing is sent for this order */
  silent: boolean;
  hiddenFromQueries: boolean;
}

export interface PlacedOrderMessage {
  readonly orderId: number;
  readonly conId: number;
  readonly symbol: string;
  readonly secType: string;
  readonly lastTradeDateOrContractMonth: string;
  readonly exchange: string;
  readonly currency: string;
  readonly action: string;
  readonly totalQuantity: number;
  readonly orderType: string;
  readonly lmtPrice: number | undefined;
  readonly auxPrice: number | undefined;
  readonly tif: string;
  readonly ocaGroup: string;
  readonly account: string;
  readonly orderRef: string;
  readonly transmit: boolean;
  readonly parentId: number;
  readonly outsideRth: boolean;
  readonly ocaType: number;
}

export interface ReceivedMessage {
  /** performance.now() at arrival */
  readonly at: number;
  readonly session: number;
  readonly clientId: number | undefined;
  readonly msgId: number;
  readonly name: string;
  readonly fields: readonly string[];
}

export interface ServerExecution extends ExecView {
  readonly account: string;
  readonly at: number;
}

interface Session {
  readonly id: number;
  readonly socket: net.Socket;
  readonly reader: FrameReader;
  clientId: number | undefined;
  started: boolean;
  /** arrival times within the last second */
  window: number[];
  maxRate: number;
  accountSubs: Map<number, string[]>;
}

interface Rule {
  readonly match: BehaviorMatch;
  readonly behavior: FillBehavior;
  once: boolean;
}

const DEFAULT_ACCOUNT_VALUES: Record<string, string> = {
  NetLiquidation: '25000.00',
  BuyingPower: '100000.00',
  AvailableFunds: '25000.00',
  ExcessLiquidity: '25000.00',
  TotalCashValue: '25000.00',
  EquityWithLoanValue: '25000.00',
  GrossPositionValue: '0.00',
  InitMarginReq: '0.00',
  MaintMarginReq: '0.00',
};

/** Parse the fixed prefix of PLACE_ORDER at sv ≥ 145 (indices include the message id at [0]). */
export function parsePlaceOrder(f: readonly string[]): PlacedOrderMessage {
  return {
    orderId: int(f[1]),
    conId: int(f[2]),
    symbol: f[3] ?? '',
    secType: f[4] ?? '',
    lastTradeDateOrContractMonth: f[5] ?? '',
    exchange: f[9] ?? '',
    currency: f[11] ?? '',
    action: f[16] ?? '',
    totalQuantity: num(f[17]) ?? 0,
    orderType: f[18] ?? '',
    lmtPrice: num(f[19]),
    auxPrice: num(f[20]),
    tif: f[21] ?? '',
    ocaGroup: f[22] ?? '',
    account: f[23] ?? '',
    orderRef: f[26] ?? '',
    transmit: f[27] === '1',
    parentId: int(f[28]),
    outsideRth: f[33] === '1',
    ocaType: int(f[46]),
  };
}

const isOpen = (o: ServerOrder): boolean => o.status === 'PreSubmitted' || o.status === 'Submitted' || o.status === 'Held';
const isTerminal = (o: ServerOrder): boolean => o.status === 'Filled' || o.status === 'Cancelled' || o.status === 'Inactive';

export class TwsTestServer {
  // --- observable state for tests
  readonly received: ReceivedMessage[] = [];
  readonly placements: PlacedOrderMessage[] = [];
  readonly executions: ServerExecution[] = [];
  /** messages beyond the per-second limit (each got error 100) */
  pacingViolations = 0;
  /** highest number of messages seen within one rolling second on one connection */
  maxObservedRate = 0;
  /** TCP connections accepted (including refused ones) */
  connectionAttempts = 0;
  refusedConnections = 0;
  /** PLACE_ORDER with an already used id (error 103) */
  duplicateIdErrors = 0;
  /** PLACE_ORDER with the id of an existing order but another orderRef (a reused id: it modifies that order) */
  idReuses = 0;
  /** whether someone is logged in to this gateway (see GatewayLogin) */
  login: GatewayLogin = 'ok';
  /** messages this server could not make sense of */
  readonly protocolErrors: string[] = [];
  /** answer REQ_CONTRACT_DATA this late (a slow first qualification; 0 = at once) */
  contractDetailsDelayMs = 0;

  private readonly opts: Required<Omit<TwsTestServerOptions, 'accountValues' | 'port' | 'host'>>;
  private readonly host: string;
  private listenPort: number;
  private server: net.Server | null = null;
  private readonly sessions = new Set<Session>();
  private sessionSeq = 0;
  private refusing = false;
  private accountList: string[];
  private readonly catalog: TwsContract[];
  private readonly ordersByKey = new Map<string, ServerOrder>();
  private readonly maxIdByClient = new Map<number, number>();
  private nextId: number;
  private permSeq = 1_000_000;
  private execSeq = 0;
  private readonly prices = new Map<string, number>();
  private readonly positionsByKey = new Map<string, { account: string; contract: TwsContract; pos: number; avgCost: number }>();
  private readonly rules: Rule[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly accountValues: Record<string, string>;

  constructor(options: TwsTestServerOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.listenPort = options.port ?? 0;
    this.accountList = [...(options.accounts ?? ['DU1234567'])];
    this.catalog = [...(options.contracts ?? DEFAULT_CONTRACTS)];
    this.nextId = options.nextOrderId ?? 1;
    this.accountValues = { ...DEFAULT_ACCOUNT_VALUES, ...(options.accountValues ?? {}) };
    this.opts = {
      accounts: this.accountList,
      nextOrderId: this.nextId,
      contracts: this.catalog,
      maxMessagesPerSecond: options.maxMessagesPerSecond ?? 50,
      farmNotices: options.farmNotices ?? true,
      commissionPerUnit: options.commissionPerUnit ?? 0.62,
      commissionDelayMs: options.commissionDelayMs ?? 0,
      defaultBehavior: options.defaultBehavior ?? { kind: 'auto' },
      verbose: options.verbose ?? false,
    };
  }

  // === Lifecycle

  /** Start listening; resolves with the bound port. */
  async start(): Promise<number> {
    if (this.server) return this.listenPort;
    const server = net.createServer((socket) => this.onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr && typeof addr === 'object') this.listenPort = addr.port;
    this.server = server;
    return this.listenPort;
  }

  get port(): number {
    return this.listenPort;
  }

  get listening(): boolean {
    return this.server !== null;
  }

  get sessionCount(): number {
    return [...this.sessions].filter((s) => s.started).length;
  }

  /** Gateway goes away: stop listening (new connects get ECONNREFUSED) and drop every connection. State is kept. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.dropConnections();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Listen again on the same port (nightly gateway restart). `nextValidId`: the restarted gateway
   * forgot its id sequence and hands out this (lower) id; orders and executions are kept.
   */
  async restart(opts: { nextValidId?: number } = {}): Promise<void> {
    if (opts.nextValidId !== undefined) {
      this.nextId = opts.nextValidId;
      this.maxIdByClient.clear();
    }
    await this.start();
  }

  /** Log the gateway in or out (new sessions see it; `notify` pushes MANAGED_ACCTS to connected ones). */
  setLogin(login: GatewayLogin, opts: { notify?: boolean } = {}): void {
    this.login = login;
    if (opts.notify) this.broadcast(M.managedAccts(this.managedNow()));
  }

  private managedNow(): readonly string[] {
    return this.login === 'ok' ? this.accountList : [];
  }

  /** Final teardown: stop and cancel every pending timer. */
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.stop();
  }

  /** Destroy every client socket (server keeps listening). */
  dropConnections(): void {
    for (const s of this.sessions) s.socket.destroy();
    this.sessions.clear();
  }

  /** true: accept TCP connections and close them at once (counted in connectionAttempts). */
  refuseConnections(refuse: boolean): void {
    this.refusing = refuse;
  }

  // === Injection hooks

  get accounts(): readonly string[] {
    return this.accountList;
  }

  set accounts(list: readonly string[]) {
    this.accountList = [...list];
  }

  /** Replace the managed accounts; `notify` pushes an unsolicited MANAGED_ACCTS to every client. */
  setAccounts(list: readonly string[], opts: { notify?: boolean } = {}): void {
    this.accountList = [...list];
    if (opts.notify) this.broadcast(M.managedAccts(this.accountList));
  }

  /** ERR_MSG with id −1 (1100/1101/1102/2110/farm notices …) to every connected client. */
  sendInfo(code: number, message: string): void {
    this.broadcast(M.errMsg(-1, code, message));
  }

  /** Any message, field by field, to every connected client (protocol tests). */
  sendRaw(fields: readonly Field[]): void {
    this.broadcast([...fields]);
  }

  /** ERR_MSG with an id to every connected client. */
  sendError(id: number, code: number, message: string): void {
    this.broadcast(M.errMsg(id, code, message));
  }

  /** Behaviour for orders matching `match` (parent/standalone orders; later rules win). */
  setBehavior(match: BehaviorMatch, behavior: FillBehavior, opts: { once?: boolean } = {}): void {
    this.rules.push({ match, behavior, once: opts.once ?? false });
  }

  clearBehaviors(): void {
    this.rules.length = 0;
  }

  /** Set the market price of a symbol and trigger resting LMT/STP orders it reaches. */
  movePrice(symbol: string, price: number): void {
    this.prices.set(symbol.toUpperCase(), price);
    const candidates = [...this.ordersByKey.values()]
      .filter((o) => o.contract.symbol.toUpperCase() === symbol.toUpperCase() && o.status === 'Submitted')
      .sort((a, b) => a.orderId - b.orderId);
    for (const o of candidates) {
      if (o.status === 'Submitted' && !o.silent) this.evaluateTrigger(o);
    }
  }

  price(symbol: string): number | undefined {
    const key = symbol.toUpperCase();
    return this.prices.get(key) ?? this.catalog.find((c) => c.symbol === key)?.lastPrice;
  }

  /** Fill (part of) a working order by hand. */
  fillOrder(orderId: number, opts: { qty?: number; price?: number; clientId?: number } = {}): void {
    const o = this.findOrder(orderId, opts.clientId);
    if (!o || isTerminal(o)) throw new Error(`order ${orderId} is not fillable`);
    this.fill(o, opts.qty ?? o.totalQuantity - o.filled, opts.price ?? this.naturalPrice(o));
  }

  setAccountValue(tag: string, value: string): void {
    this.accountValues[tag] = value;
    for (const s of this.sessions) {
      for (const [reqId, tags] of s.accountSubs) {
        if (!tags.includes(tag)) continue;
        for (const acct of this.accountList) this.send(s, M.accountSummary(reqId, acct, tag, value, 'USD'));
        this.send(s, M.accountSummaryEnd(reqId));
      }
    }
  }

  /** Overwrite a position (spoofing / seeding). */
  setPosition(account: string, conIdOrSymbol: number | string, pos: number, avgCost: number): void {
    const c =
      typeof conIdOrSymbol === 'number'
        ? this.catalog.find((x) => x.conId === conIdOrSymbol)
        : this.catalog.find((x) => x.symbol === conIdOrSymbol.toUpperCase());
    if (!c) throw new Error(`unknown contract ${conIdOrSymbol}`);
    this.positionsByKey.set(`${account}|${c.conId}`, { account, contract: c, pos, avgCost });
  }

  addContract(c: TwsContract): void {
    this.catalog.push(c);
  }

  // === Inspection

  orders(): ServerOrder[] {
    return [...this.ordersByKey.values()].sort((a, b) => a.permId - b.permId);
  }

  findOrder(orderId: number, clientId?: number): ServerOrder | undefined {
    if (clientId !== undefined) return this.ordersByKey.get(`${clientId}:${orderId}`);
    return [...this.ordersByKey.values()].find((o) => o.orderId === orderId);
  }

  receivedOf(name: string): ReceivedMessage[] {
    return this.received.filter((m) => m.name === name);
  }

  positions(): { account: string; symbol: string; conId: number; pos: number; avgCost: number }[] {
    return [...this.positionsByKey.values()].map((p) => ({
      account: p.account,
      symbol: p.contract.symbol,
      conId: p.contract.conId,
      pos: p.pos,
      avgCost: p.avgCost,
    }));
  }

  // === Connection handling

  private onConnection(socket: net.Socket): void {
    this.connectionAttempts++;
    socket.setNoDelay(true);
    socket.on('error', () => {
      /* client went away */
    });
    if (this.refusing) {
      this.refusedConnections++;
      socket.destroy();
      return;
    }
    const session: Session = {
      id: ++this.sessionSeq,
      socket,
      reader: new FrameReader(),
      clientId: undefined,
      started: false,
      window: [],
      maxRate: 0,
      accountSubs: new Map(),
    };
    this.sessions.add(session);
    socket.on('end', () => this.sessions.delete(session));
    socket.on('close', () => this.sessions.delete(session));
    socket.on('data', (chunk: Buffer) => {
      let items: Incoming[];
      try {
        items = session.reader.push(chunk);
      } catch (e) {
        this.protocolErrors.push(`frame: ${(e as Error).message}`);
        return;
      }
      for (const item of items) {
        try {
          this.onIncoming(session, item);
        } catch (e) {
          this.protocolErrors.push(`handler: ${(e as Error).stack ?? String(e)}`);
        }
      }
    });
  }

  private onIncoming(s: Session, item: Incoming): void {
    if (item.kind === 'error') {
      this.protocolErrors.push(item.reason);
      s.socket.destroy();
      return;
    }
    if (item.kind === 'handshake') {
      const version = Math.min(SERVER_VERSION, item.maxVersion);
      if (version < Math.max(item.minVersion, MIN_CLIENT_VERSION)) {
        this.protocolErrors.push(`unsupported client versions ${item.raw}`);
        s.socket.destroy();
        return;
      }
      this.write(s, frame([version, twsTime(Date.now())]));
      return;
    }
    const f = item.fields;
    const msgId = int(f[0], -1);
    const at = performance.now();
    this.received.push({ at, session: s.id, clientId: s.clientId, msgId, name: outMessageName(msgId), fields: f });
    if (this.opts.verbose) console.log(`[tws] <- ${outMessageName(msgId)} ${JSON.stringify(f)}`);
    this.countRate(s, at, msgId, f);
    this.dispatch(s, msgId, f);
  }

  private countRate(s: Session, at: number, msgId: number, f: readonly string[]): void {
    s.window.push(at);
    while (s.window.length > 0 && (s.window[0] ?? at) <= at - 1000) s.window.shift();
    const n = s.window.length;
    s.maxRate = Math.max(s.maxRate, n);
    this.maxObservedRate = Math.max(this.maxObservedRate, n);
    if (n > this.opts.maxMessagesPerSecond) {
      this.pacingViolations++;
      const id = msgId === OUT.PLACE_ORDER ? int(f[1], -1) : -1;
      this.send(
        s,
        M.errMsg(id, 100, `Max rate of messages per second has been exceeded:max=${this.opts.maxMessagesPerSecond} rec=${n} (1)`),
      );
    }
  }

  private dispatch(s: Session, msgId: number, f: readonly string[]): void {
    switch (msgId) {
      case OUT.START_API:
        return this.onStartApi(s, int(f[2]));
      case OUT.REQ_IDS:
        return this.send(s, M.nextValidId(this.nextIdFor()));
      case OUT.REQ_MANAGED_ACCTS:
        return this.send(s, M.managedAccts(this.managedNow()));
      case OUT.REQ_CURRENT_TIME:
        return this.send(s, M.currentTime(Math.floor(Date.now() / 1000)));
      case OUT.REQ_CONTRACT_DATA:
        return this.onReqContractData(s, f);
      case OUT.PLACE_ORDER:
        return this.onPlaceOrder(s, f);
      case OUT.CANCEL_ORDER:
        return this.onCancelOrder(s, int(f[1], -1));
      case OUT.REQ_GLOBAL_CANCEL:
        for (const o of this.orders()) if (isOpen(o)) this.cancelInternal(o, 'global cancel');
        return;
      case OUT.REQ_OPEN_ORDERS:
        return this.sendOpenOrders(s, (o) => o.clientId === s.clientId);
      case OUT.REQ_ALL_OPEN_ORDERS:
      case OUT.REQ_AUTO_OPEN_ORDERS:
        return this.sendOpenOrders(s, () => true);
      case OUT.REQ_COMPLETED_ORDERS:
        return this.onReqCompletedOrders(s);
      case OUT.REQ_EXECUTIONS:
        return this.onReqExecutions(s, f);
      case OUT.REQ_POSITIONS:
        for (const p of this.positionsByKey.values()) this.send(s, M.position(p.account, p.contract, p.pos, p.avgCost));
        return this.send(s, M.positionEnd());
      case OUT.REQ_ACCOUNT_SUMMARY:
        return this.onReqAccountSummary(s, int(f[2]), (f[4] ?? '').split(',').filter(Boolean));
      case OUT.CANCEL_ACCOUNT_SUMMARY:
        s.accountSubs.delete(int(f[2]));
        return;
      case OUT.CANCEL_POSITIONS:
      case OUT.REQ_MARKET_DATA_TYPE:
      case OUT.SET_SERVER_LOGLEVEL:
        return; // no-ops
      default:
        this.protocolErrors.push(`unhandled message ${msgId}`);
    }
  }

  private onStartApi(s: Session, clientId: number): void {
    const clash = [...this.sessions].some((o) => o !== s && o.started && o.clientId === clientId);
    if (clash) {
      this.send(s, M.errMsg(-1, 326, `Unable to connect as the client id is already in use. Retry with a unique client id.`));
      s.socket.end();
      return;
    }
    s.clientId = clientId;
    s.started = true;
    if (this.login !== 'ok') {
      // at the login screen: the API answers, but the farms are down and there is no account
      this.send(s, M.errMsg(-1, 2103, 'Market data farm connection is broken:usfarm'));
      this.send(s, M.errMsg(-1, 2105, 'HMDS data farm connection is broken:ushmds'));
      this.send(s, M.errMsg(-1, 2157, 'Sec-def data farm connection is broken:secdefnj'));
      if (this.login === 'no-accounts') {
        this.send(s, M.managedAccts([]));
        this.send(s, M.nextValidId(this.nextIdFor()));
      }
      return;
    }
    this.send(s, M.managedAccts(this.accountList));
    this.send(s, M.nextValidId(this.nextIdFor()));
    if (this.opts.farmNotices) {
      this.send(s, M.errMsg(-1, 2104, 'Market data farm connection is OK:usfarm'));
      this.send(s, M.errMsg(-1, 2106, 'HMDS data farm connection is OK:ushmds'));
      this.send(s, M.errMsg(-1, 2158, 'Sec-def data farm connection is OK:secdefnj'));
    }
  }

  private nextIdFor(): number {
    let max = this.nextId - 1;
    for (const v of this.maxIdByClient.values()) max = Math.max(max, v);
    return max + 1;
  }

  // === Requests

  private onReqContractData(s: Session, f: readonly string[]): void {
    const reqId = int(f[2]);
    const found = matchContracts(this.catalog, {
      conId: int(f[3]),
      symbol: f[4],
      secType: f[5],
      lastTradeDateOrContractMonth: f[6],
      exchange: f[10],
      currency: f[12],
      localSymbol: f[13],
    });
    this.later(this.contractDetailsDelayMs, () => {
      if (found.length === 0) {
        this.send(s, M.errMsg(reqId, 200, 'No security definition has been found for the request'));
        return;
      }
      for (const c of found) this.send(s, M.contractData(reqId, c));
      this.send(s, M.contractDataEnd(reqId));
    });
  }

  private sendOpenOrders(s: Session, include: (o: ServerOrder) => boolean): void {
    for (const o of this.orders()) {
      if (!include(o) || o.status === 'Held' || !isOpen(o)) continue;
      if (o.silent && o.hiddenFromQueries) continue;
      this.send(s, M.openOrder(o, o.status));
      this.send(s, M.orderStatus(o, o.status, o.avgFillPrice, o.lastFillPrice));
    }
    this.send(s, M.openOrderEnd());
  }

  private onReqCompletedOrders(s: Session): void {
    for (const o of this.orders()) {
      if (!isTerminal(o)) continue;
      if (o.silent && o.hiddenFromQueries) continue;
      this.send(s, M.completedOrder(o, o.status));
    }
    this.send(s, M.completedOrdersEnd());
  }

  private onReqExecutions(s: Session, f: readonly string[]): void {
    const reqId = int(f[2]);
    const clientId = int(f[3]);
    const acct = f[4] ?? '';
    const symbol = (f[6] ?? '').toUpperCase();
    const secType = (f[7] ?? '').toUpperCase();
    const side = (f[9] ?? '').toUpperCase();
    for (const e of this.executions) {
      if (clientId > 0 && e.clientId !== clientId) continue;
      if (acct && e.account !== acct) continue;
      if (symbol && e.contract.symbol !== symbol) continue;
      if (secType && e.contract.secType !== secType) continue;
      if (side && !(side === 'BUY' ? e.side === 'BOT' : side === 'SELL' ? e.side === 'SLD' : true)) continue;
      this.send(s, M.executionData(reqId, e));
      this.send(s, M.commissionReport(e));
    }
    this.send(s, M.executionDataEnd(reqId));
  }

  private onReqAccountSummary(s: Session, reqId: number, tags: string[]): void {
    s.accountSubs.set(reqId, tags);
    for (const acct of this.accountList) {
      for (const tag of tags) {
        const value = this.accountValues[tag];
        if (value !== undefined) this.send(s, M.accountSummary(reqId, acct, tag, value, 'USD'));
      }
    }
    this.send(s, M.accountSummaryEnd(reqId));
  }

  // === Orders

  private onPlaceOrder(s: Session, f: readonly string[]): void {
    const p = parsePlaceOrder(f);
    this.placements.push(p);
    const clientId = s.clientId ?? 0;
    const key = `${clientId}:${p.orderId}`;
    const existing = this.ordersByKey.get(key);
    if (existing && existing.orderRef !== p.orderRef) this.idReuses++; // as at IBKR: it modifies that order
    if (existing) return this.onModify(existing, p);
    const maxUsed = this.maxIdByClient.get(clientId) ?? 0;
    if (p.orderId <= maxUsed) {
      this.duplicateIdErrors++;
      this.send(s, M.errMsg(p.orderId, 103, 'Duplicate order id'));
      return;
    }
    this.maxIdByClient.set(clientId, p.orderId);
    const matches = matchContracts(this.catalog, {
      conId: p.conId,
      symbol: p.symbol,
      secType: p.secType,
      lastTradeDateOrContractMonth: p.lastTradeDateOrContractMonth,
      exchange: p.exchange,
      currency: p.currency,
    });
    const contract = matches[0];
    if (!contract || matches.length > 1) {
      this.send(s, M.errMsg(p.orderId, 200, 'No security definition has been found for the request'));
      return;
    }
    const account = p.account || (this.accountList.length === 1 ? (this.accountList[0] ?? '') : '');
    const parent = p.parentId > 0 ? this.ordersByKey.get(`${clientId}:${p.parentId}`) : undefined;
    const order: ServerOrder = {
      orderId: p.orderId,
      clientId,
      permId: ++this.permSeq,
      contract,
      exchange: p.exchange || contract.exchange,
      action: p.action,
      totalQuantity: p.totalQuantity,
      orderType: p.orderType,
      lmtPrice: p.lmtPrice,
      auxPrice: p.auxPrice,
      tif: p.tif || 'DAY',
      ocaGroup: p.ocaGroup,
      ocaType: p.ocaType,
      outsideRth: p.outsideRth,
      account,
      orderRef: p.orderRef,
      parentId: p.parentId,
      parentPermId: parent?.permId ?? 0,
      filled: 0,
      avgFillPrice: 0,
      lastFillPrice: 0,
      completedTime: '',
      completedStatus: '',
      status: 'Held',
      transmit: p.transmit,
      silent: false,
      hiddenFromQueries: false,
    };
    this.ordersByKey.set(key, order);
    if (!account || !this.accountList.includes(account)) {
      this.reject(order, 201, `Order rejected - reason:Account ${account || '(none)'} is not a managed account`, 'Inactive');
      return;
    }
    if (p.parentId > 0 && !parent) {
      this.reject(order, 201, `Order rejected - reason:Parent order ${p.parentId} not found`, 'Inactive');
      return;
    }
    if (p.transmit) this.release(order);
  }

  private onModify(o: ServerOrder, p: PlacedOrderMessage): void {
    if (isTerminal(o)) {
      this.sendToOwner(o, M.errMsg(o.orderId, 104, `Can't modify a filled order`));
      return;
    }
    o.lmtPrice = p.lmtPrice;
    o.auxPrice = p.auxPrice;
    o.totalQuantity = p.totalQuantity;
    if (o.status === 'Held') {
      if (p.transmit) this.release(o);
      return;
    }
    this.sendToOwner(o, M.openOrder(o, o.status));
    this.sendToOwner(o, M.orderStatus(o, o.status, o.avgFillPrice, o.lastFillPrice));
    if (o.status === 'Submitted') this.evaluateTrigger(o);
  }

  /** A transmit=1 order releases its held bracket (root = parentId or itself). */
  private release(x: ServerOrder): void {
    const rootId = x.parentId > 0 ? x.parentId : x.orderId;
    const root = this.ordersByKey.get(`${x.clientId}:${rootId}`) ?? x;
    const group = [...this.ordersByKey.values()]
      .filter(
        (o) =>
          o.clientId === x.clientId &&
          o.status === 'Held' &&
          (o === x || o.orderId === rootId || o.parentId === rootId),
      )
      .sort((a, b) => a.orderId - b.orderId);
    const rootNew = group.includes(root);
    const behavior = rootNew ? this.behaviorFor(root) : undefined;
    if (behavior?.kind === 'never') {
      for (const o of group) {
        o.silent = true;
        o.hiddenFromQueries = behavior.hiddenFromQueries ?? false;
        o.status = o === root ? 'Submitted' : 'PreSubmitted';
      }
      return;
    }
    if (root.silent) {
      for (const o of group) {
        o.silent = true;
        o.status = 'PreSubmitted';
      }
      return;
    }
    const parentFilled = root.status === 'Filled';
    for (const o of group) {
      o.status = o === root || parentFilled ? 'Submitted' : 'PreSubmitted';
      if (behavior?.kind === 'reject' && o === root) continue; // the reject sends its own messages
      this.sendToOwner(o, M.openOrder(o, o.status));
      this.sendToOwner(o, M.orderStatus(o, o.status, o.avgFillPrice, o.lastFillPrice));
    }
    if (rootNew && behavior) this.applyBehavior(root, behavior);
    if (!rootNew || parentFilled) {
      for (const o of group) if (o !== root && o.status === 'Submitted') this.evaluateTrigger(o);
    }
  }

  private behaviorFor(o: ServerOrder): FillBehavior {
    for (let i = this.rules.length - 1; i >= 0; i--) {
      const r = this.rules[i];
      if (!r) continue;
      const m = r.match;
      if (m.orderRef !== undefined && m.orderRef !== o.orderRef) continue;
      if (m.symbol !== undefined && m.symbol.toUpperCase() !== o.contract.symbol) continue;
      if (m.orderId !== undefined && m.orderId !== o.orderId) continue;
      if (r.once) this.rules.splice(i, 1);
      return r.behavior;
    }
    return this.opts.defaultBehavior;
  }

  private applyBehavior(o: ServerOrder, b: FillBehavior): void {
    switch (b.kind) {
      case 'auto':
        this.evaluateTrigger(o);
        return;
      case 'rest':
      case 'never':
        return;
      case 'fill':
        this.later(b.delayMs, () => {
          if (!isTerminal(o)) this.fill(o, o.totalQuantity - o.filled, b.price ?? this.naturalPrice(o));
        });
        return;
      case 'partial': {
        const qty = Math.max(1, Math.floor(o.totalQuantity * b.ratio));
        this.later(b.delayMs, () => {
          if (!isTerminal(o)) this.fill(o, Math.min(qty, o.totalQuantity - o.filled), b.price ?? this.naturalPrice(o));
        });
        return;
      }
      case 'reject':
        this.later(b.delayMs, () => {
          if (!isTerminal(o))
            this.reject(o, b.code ?? 201, b.reason ?? 'Order rejected - reason:Insufficient margin', b.status ?? 'Cancelled');
        });
        return;
    }
  }

  private later(delayMs: number | undefined, fn: () => void): void {
    if (!delayMs || delayMs <= 0) {
      fn();
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, delayMs);
    this.timers.add(t);
  }

  private naturalPrice(o: ServerOrder): number {
    if (o.orderType === 'LMT' && o.lmtPrice !== undefined) return o.lmtPrice;
    if ((o.orderType === 'STP' || o.orderType === 'STP LMT') && o.auxPrice !== undefined) return o.auxPrice;
    return this.price(o.contract.symbol) ?? o.lmtPrice ?? o.auxPrice ?? 100;
  }

  /** Auto semantics for an active (Submitted) order at the current market price. */
  private evaluateTrigger(o: ServerOrder): void {
    if (o.status !== 'Submitted' || o.silent) return;
    const px = this.price(o.contract.symbol);
    const buy = o.action === 'BUY';
    const remaining = o.totalQuantity - o.filled;
    if (remaining <= 0) return;
    switch (o.orderType) {
      case 'MKT':
        this.fill(o, remaining, px ?? this.naturalPrice(o));
        return;
      case 'LMT': {
        const lmt = o.lmtPrice;
        if (lmt === undefined) return;
        if (px === undefined || (buy ? px <= lmt : px >= lmt)) this.fill(o, remaining, lmt);
        return;
      }
      case 'STP':
      case 'STP LMT': {
        const stp = o.auxPrice;
        if (stp === undefined || px === undefined) return;
        if (buy ? px >= stp : px <= stp) this.fill(o, remaining, stp);
        return;
      }
      default:
        return;
    }
  }

  private fill(o: ServerOrder, qty: number, price: number): void {
    const q = Math.min(qty, o.totalQuantity - o.filled);
    if (q <= 0 || isTerminal(o)) return;
    o.avgFillPrice = (o.avgFillPrice * o.filled + price * q) / (o.filled + q);
    o.filled += q;
    o.lastFillPrice = price;
    const full = o.filled >= o.totalQuantity;
    const seq = ++this.execSeq;
    const now = Date.now();
    const exec: ServerExecution = {
      execId: `0000e1a7.${seq.toString(16).padStart(8, '0')}.01.01`,
      orderId: o.orderId,
      clientId: o.clientId,
      permId: o.permId,
      contract: o.contract,
      exchange: o.exchange,
      time: twsTime(now),
      account: o.account,
      side: o.action === 'BUY' ? 'BOT' : 'SLD',
      shares: q,
      price,
      cumQty: o.filled,
      avgPrice: o.avgFillPrice,
      orderRef: o.orderRef,
      commission: Math.round(q * this.opts.commissionPerUnit * 100) / 100,
      at: now,
    };
    this.executions.push(exec);
    this.applyPosition(o, q, price);
    if (full) {
      o.status = 'Filled';
      o.completedTime = twsTime(now);
      o.completedStatus = `Filled Size: ${o.filled}`;
    }
    this.sendToOwner(o, M.executionData(-1, exec));
    if (full) this.sendToOwner(o, M.openOrder(o, 'Filled'));
    this.sendToOwner(o, M.orderStatus(o, o.status, o.avgFillPrice, price));
    this.later(this.opts.commissionDelayMs, () => this.sendToOwner(o, M.commissionReport(exec)));
    this.applyOca(o, q);
    if (!full) return;
    // children of a filled parent become active
    const children = [...this.ordersByKey.values()]
      .filter((c) => c.clientId === o.clientId && c.parentId === o.orderId && c.status === 'PreSubmitted')
      .sort((a, b) => a.orderId - b.orderId);
    for (const c of children) {
      c.status = 'Submitted';
      this.sendToOwner(c, M.orderStatus(c, 'Submitted', c.avgFillPrice, c.lastFillPrice));
    }
    // siblings under the same parent outside any OCA group: one filling cancels the rest
    if (o.ocaGroup === '' && o.parentId > 0) {
      for (const x of this.ordersByKey.values()) {
        if (x !== o && x.clientId === o.clientId && isOpen(x) && x.parentId === o.parentId) this.cancelInternal(x, 'OCA group member filled');
      }
    }
    for (const c of children) if (c.status === 'Submitted') this.evaluateTrigger(c);
  }

  /** One OCA member filled `q`: the others are cancelled (type 1) or reduced by `q` (types 2, 3). */
  private applyOca(o: ServerOrder, q: number): void {
    if (o.ocaGroup === '') return;
    const others = [...this.ordersByKey.values()].filter((x) => x !== o && x.clientId === o.clientId && isOpen(x) && x.ocaGroup === o.ocaGroup);
    for (const x of others) {
      if (o.ocaType !== 2 && o.ocaType !== 3) {
        this.cancelInternal(x, 'OCA group member filled');
        continue;
      }
      x.totalQuantity = Math.max(x.filled, x.totalQuantity - q);
      if (x.totalQuantity <= x.filled) {
        this.cancelInternal(x, 'OCA group reduced to zero');
        continue;
      }
      this.sendToOwner(x, M.openOrder(x, x.status));
      this.sendToOwner(x, M.orderStatus(x, x.status, x.avgFillPrice, x.lastFillPrice));
    }
  }

  private applyPosition(o: ServerOrder, q: number, price: number): void {
    const key = `${o.account}|${o.contract.conId}`;
    const mult = o.contract.secType === 'FUT' ? o.contract.multiplier : 1;
    const p = this.positionsByKey.get(key) ?? { account: o.account, contract: o.contract, pos: 0, avgCost: 0 };
    const signed = o.action === 'BUY' ? q : -q;
    const next = p.pos + signed;
    if (p.pos === 0 || Math.sign(p.pos) === Math.sign(signed)) {
      p.avgCost = (p.avgCost * Math.abs(p.pos) + price * mult * q) / Math.abs(next);
    } else if (next !== 0 && Math.sign(next) !== Math.sign(p.pos)) {
      p.avgCost = price * mult;
    } else if (next === 0) {
      p.avgCost = 0;
    }
    p.pos = next;
    this.positionsByKey.set(key, p);
  }

  private reject(o: ServerOrder, code: number, reason: string, status: 'Inactive' | 'Cancelled'): void {
    o.status = status;
    o.completedTime = twsTime(Date.now());
    o.completedStatus = reason;
    this.sendToOwner(o, M.errMsg(o.orderId, code, reason));
    this.sendToOwner(o, M.orderStatus(o, status, o.avgFillPrice, o.lastFillPrice));
    for (const c of this.ordersByKey.values()) {
      if (c.clientId === o.clientId && c.parentId === o.orderId && isOpen(c)) this.cancelInternal(c, 'parent order rejected');
    }
  }

  private onCancelOrder(s: Session, orderId: number): void {
    const o = this.ordersByKey.get(`${s.clientId ?? 0}:${orderId}`);
    if (!o) {
      this.send(s, M.errMsg(orderId, 10147, `OrderId ${orderId} that needs to be cancelled is not found.`));
      return;
    }
    if (isTerminal(o)) {
      this.send(s, M.errMsg(orderId, 10148, `OrderId ${orderId} that needs to be cancelled cannot be cancelled, state: ${o.status}.`));
      return;
    }
    this.cancelInternal(o, '');
  }

  private cancelInternal(o: ServerOrder, reason: string): void {
    if (!isOpen(o)) return;
    o.status = 'Cancelled';
    o.completedTime = twsTime(Date.now());
    o.completedStatus = reason ? `Cancelled: ${reason}` : 'Cancelled by Trader';
    if (!o.silent) {
      this.sendToOwner(o, M.orderStatus(o, 'Cancelled', o.avgFillPrice, o.lastFillPrice));
      this.sendToOwner(o, M.errMsg(o.orderId, 202, `Order Canceled - reason:${reason}`));
    }
    const children = [...this.ordersByKey.values()].filter((c) => c.clientId === o.clientId && c.parentId === o.orderId && isOpen(c)).sort((a, b) => a.orderId - b.orderId);
    for (const c of children) {
      if (o.filled <= 0) {
        this.cancelInternal(c, 'parent order cancelled');
        continue;
      }
      // partly filled parent: the children protect what filled — at the parent's FULL size
      if (c.status !== 'PreSubmitted') continue;
      c.status = 'Submitted';
      this.sendToOwner(c, M.orderStatus(c, 'Submitted', c.avgFillPrice, c.lastFillPrice));
    }
    for (const c of children) if (c.status === 'Submitted') this.evaluateTrigger(c);
  }

  // === Output

  private sendToOwner(o: ServerOrder, fields: Field[]): void {
    if (o.silent) return;
    for (const s of this.sessions) if (s.started && s.clientId === o.clientId) this.send(s, fields);
  }

  private broadcast(fields: Field[]): void {
    for (const s of this.sessions) if (s.started) this.send(s, fields);
  }

  private send(s: Session, fields: Field[]): void {
    if (this.opts.verbose) console.log(`[tws] -> ${JSON.stringify(fields.map(String).slice(0, 8))}`);
    this.write(s, frame(fields));
  }

  private write(s: Session, buf: Buffer): void {
    if (s.socket.destroyed || !s.socket.writable) return;
    s.socket.write(buf);
  }
}

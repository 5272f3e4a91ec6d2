/**
 * The broker as one simulated process sees it. The SimBroker itself is shared by every
 * process of a run (in reality IB Gateway is another process: it outlives Phoenix); this is the
 * process's session to it:
 * - death: a call made after death never reaches the broker and never returns; a kill armed
 *   `before` broker call n stops that call on the way, `after` lets the broker act and loses the
 *   answer;
 * - a new session replays what the broker knows (the latest status of each order, then the
 *   executions), like the IBKR adapter's snapshot after every (re)connect;
 * - the observer sees each mutation (placements, cancels) as it reaches the broker, and the
 *   exact moment an entry leg leaves (INV-KILL-LAST-MOMENT-1, limits, INV-RECONCILE-READONLY-1).
 */
import type { SimBroker } from '../src/broker/sim/index.js';
import type {
  AccountSummary,
  BracketRequest,
  BrokerEvent,
  BrokerFill,
  BrokerHealth,
  BrokerOrder,
  BrokerPort,
  BrokerPosition,
  Instrument,
  OrderRefReport,
  PlacedLeg,
  QualifiedContract,
  SingleOrderRequest,
  SubmitPermit,
} from '../src/engine/index.js';
import { never, type Life } from './life.js';

/** What the checks want to see at the broker's door. */
export interface BrokerObserver {
  /** an entry leg is about to be recorded at the broker; returns a token to confirm it */
  entryLeaving(orderRef: string): unknown;
  /** the entry did reach the broker (the token from entryLeaving) */
  entryLeft(token: unknown): void;
  /** a placement or cancel reaches the broker */
  mutation(m: { readonly kind: 'bracket' | 'order' | 'cancel' | 'resize'; readonly orderRef: string; readonly role: string; readonly brokerOrderId?: string }): void;
}

/** Executions older than this are not replayed to a new session (IBKR replays the current day). */
const REPLAY_WINDOW_MS = 24 * 3600_000;

/**
 * How long the adapter takes before a placement or cancel reaches IB: a contract qualification
 * round trip, the pacer slot, the socket (IBKR: up to seconds). Seeded; the window in which a kill,
 * a flatten or a fill can come between Phoenix's decision and the broker (the last look exists for it).
 */
export interface Latency {
  (kind: 'bracket' | 'order' | 'cancel'): number;
}

export class ProcessBroker implements BrokerPort {
  readonly name = 'sim';
  private readonly listeners = new Set<(e: BrokerEvent) => void>();
  private unsubscribe: (() => void) | null = null;
  private sessionStarted = false;
  /** calls on their way to the broker (the driver keeps time running for them) */
  inFlight = 0;

  constructor(
    private readonly inner: SimBroker,
    private readonly life: Life,
    private readonly observer: BrokerObserver,
    private readonly now: () => number,
    private readonly latency: Latency = () => 0,
    private readonly sleep: (ms: number) => Promise<void> = () => Promise.resolve(),
    private readonly beforeBracket: () => void = () => {},
    /** PostgreSQL: bring the checks' view of the database up to date before they look (real I/O) */
    private readonly sync?: () => Promise<void>,
  ) {
    life.whenDead(() => {
      this.unsubscribe?.();
      this.unsubscribe = null;
      this.listeners.clear();
    });
  }

  /** One broker call with the process's kill points around it (and the adapter's latency before mutations). */
  private call<T>(op: () => Promise<T>, kind?: 'bracket' | 'order' | 'cancel'): Promise<T> {
    const life = this.life;
    if (!life.alive) return never();
    const n = life.count('broker');
    if (life.dueAt('broker', n, 'before')) {
      life.die(`killed before broker call #${n}`);
      return never();
    }
    const delay = kind ? this.latency(kind) : 0;
    this.inFlight++;
    const run = delay > 0 ? this.sleep(delay).then(() => (life.alive ? op() : never<T>())) : op();
    return run.finally(() => this.inFlight--).then(
      (v) => {
        if (life.dueAt('broker', n, 'after')) life.die(`killed after broker call #${n}`);
        return life.alive ? v : never<T>();
      },
      (e: unknown) => {
        if (life.dueAt('broker', n, 'after')) life.die(`killed after broker call #${n} (it failed)`);
        return life.alive ? Promise.reject(e) : never<T>();
      },
    );
  }

  /** `op` once the checks' view is up to date (SQLite: at once, no await in between) */
  private synced<T>(op: () => Promise<T>): Promise<T> {
    return this.sync ? this.sync().then(op) : op();
  }

  async connect(): Promise<void> {
    await this.call(() => this.inner.connect());
    if (!this.sessionStarted && this.inner.health().state === 'READY') {
      this.sessionStarted = true;
      this.replaySnapshot();
    }
  }

  /** Closing a killed or stopped process's session does not take the shared broker down. */
  async disconnect(): Promise<void> {}

  health(): BrokerHealth {
    return this.inner.health();
  }

  accountSummary(): Promise<AccountSummary> {
    return this.call(() => this.inner.accountSummary());
  }

  qualify(instrument: Instrument): Promise<QualifiedContract> {
    return this.call(() => this.inner.qualify(instrument));
  }

  placeBracket(req: BracketRequest, permit: SubmitPermit): Promise<readonly PlacedLeg[]> {
    return this.call(async () => {
      if (this.sync) await this.sync();
      let leaving: unknown = null;
      const watched: SubmitPermit = {
        ...permit,
        beforeEntryLeaves: async () => {
          await permit.beforeEntryLeaves?.();
          this.beforeBracket(); // passed the last look: this entry's fault, if the simulator armed one
          if (this.sync) await this.sync();
          // exactly when the SimBroker records the legs (its health re-check follows synchronously)
          if (this.inner.health().state === 'READY') leaving = this.observer.entryLeaving(req.orderRef);
        },
      };
      this.observer.mutation({ kind: 'bracket', orderRef: req.orderRef, role: 'ENTRY' });
      const legs = await this.inner.placeBracket(req, watched);
      if (leaving !== null) this.observer.entryLeft(leaving);
      return legs;
    }, 'bracket');
  }

  placeOrder(req: SingleOrderRequest): Promise<PlacedLeg> {
    return this.call(() =>
      this.synced(() => {
        this.observer.mutation({ kind: 'order', orderRef: req.orderRef, role: req.role });
        return this.inner.placeOrder(req);
      }),
    'order');
  }

  cancel(brokerOrderId: string): Promise<void> {
    return this.call(() =>
      this.synced(() => {
        const o = this.inner.orderOf(brokerOrderId);
        this.observer.mutation({ kind: 'cancel', orderRef: o?.orderRef ?? '?', role: o?.role ?? '?', brokerOrderId });
        return this.inner.cancel(brokerOrderId);
      }),
    'cancel');
  }

  resize(brokerOrderId: string, quantity: number): Promise<void> {
    return this.call(() =>
      this.synced(() => {
        const o = this.inner.orderOf(brokerOrderId);
        this.observer.mutation({ kind: 'resize', orderRef: o?.orderRef ?? '?', role: o?.role ?? '?', brokerOrderId });
        return this.inner.resize(brokerOrderId, quantity);
      }),
    'cancel');
  }

  openOrders(): Promise<readonly BrokerOrder[]> {
    return this.call(() => this.inner.openOrders());
  }

  executions(): Promise<readonly BrokerFill[]> {
    return this.call(() => this.inner.executions());
  }

  positions(): Promise<readonly BrokerPosition[]> {
    return this.call(() => this.inner.positions());
  }

  findByOrderRef(orderRef: string): Promise<OrderRefReport> {
    return this.call(() => this.inner.findByOrderRef(orderRef));
  }

  onEvent(listener: (e: BrokerEvent) => void): () => void {
    if (!this.life.alive) return () => {};
    this.listeners.add(listener);
    this.unsubscribe ??= this.inner.onEvent((e) => {
      if (this.life.alive) for (const l of [...this.listeners]) l(e);
    });
    return () => this.listeners.delete(listener);
  }

  /** A new session hears what the broker knows: READY, order statuses, then the day's executions. */
  private replaySnapshot(): void {
    const truth = this.inner.truth();
    const since = this.now() - REPLAY_WINDOW_MS;
    const recent = truth.executions.filter((f) => f.time >= since);
    const refs = new Set(recent.map((f) => f.orderRef));
    // like the IBKR adapter once its session is established: READY first (the engine continues
    // flattens and cancels the previous process could not send), then the snapshot
    const events: BrokerEvent[] = [{ kind: 'connection', state: 'READY', detail: 'connected to simulated broker (new session)' }];
    for (const o of truth.orders) {
      if (o.status !== 'PENDING' && o.status !== 'WORKING' && !refs.has(o.orderRef)) continue;
      if (o.status === 'PENDING') continue; // never acknowledged: the broker says nothing about it yet
      events.push({ kind: 'orderStatus', orderRef: o.orderRef, role: o.role, brokerOrderId: o.brokerOrderId, status: o.status, filledQty: o.filledQty });
    }
    for (const fill of recent) events.push({ kind: 'fill', fill });
    queueMicrotask(() => {
      for (const e of events) {
        if (!this.life.alive) return;
        for (const l of [...this.listeners]) l(Object.freeze(e));
      }
    });
  }
}

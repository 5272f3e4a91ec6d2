/**
 * Store port: the repositories of every table, used inside one transaction. Three adapters in
 * src/store implement it (better-sqlite3, the default; Prisma; PostgreSQL) and pass one
 * contract suite (test/store/store.contract.test.ts). Nothing outside src/store runs SQL.
 *
 * Contract: everything done through one `Tx` commits or rolls back together, including
 * the beads and alerts appended to it (they are flushed just before commit, in order).
 */
import type { AlertOutboxRepo } from './alert-outbox.port.js';
import type { AlertDraft } from './alerts.table.js';
import type { BeadDraft, StoredBead } from './beads.js';
import type { BrokerFill, BrokerOrderStatus, Instrument, SingleOrderRequest } from './broker.port.js';
import type { CardRecord, FillRecord, IntentPatch, IntentRecord, IntentState, IntentTransitionPatch, KillFlag, OrderRecord, TokenRecord } from './domain.js';
import type { KvKey } from './kv.keys.js';
import type { PromotionBundle } from './promotion.usecase.js';

export type { AlertOutboxRepo, NewOutboxMessage, OutboxAlert, OutboxCounts, OutboxMessage, SnoozeOffer } from './alert-outbox.port.js';

export interface DriftRecord {
  readonly id: string;
  readonly type: 'POSITION_COUNT' | 'POSITION_SIZE' | 'PNL' | 'ORDER_STATUS';
  readonly severity: 'WARNING' | 'CRITICAL';
  readonly instrumentKey: string | null;
  readonly local: unknown;
  readonly broker: unknown;
  /** same mismatch seen again → same fingerprint → not a new drift */
  readonly fingerprint: string;
  readonly detectedAt: number;
  readonly escalatedAt: number | null;
  readonly resolvedAt: number | null;
  readonly resolution: string | null;
  readonly resolvedBy: string | null;
  readonly note: string | null;
}

export interface StrategyRecord {
  readonly name: string;
  readonly stage: 'SHADOW' | 'LIVE';
  readonly since: number;
  readonly changedBy: string;
}

export interface IntentRepo {
  get(id: string): Promise<IntentRecord | null>;
  getBySignalId(signalId: string): Promise<IntentRecord | null>;
  /** intents of one strategy created at or after `since`, oldest first (promotion: the shadow record) */
  listByStrategy(strategy: string, since: number, limit?: number): Promise<IntentRecord[]>;
  insert(rec: IntentRecord): Promise<void>;
  /** compare-and-set on state: true when the row was in `from` and is now updated. Only context.ts `transition` calls it. */
  transition(id: string, from: IntentState, patch: IntentTransitionPatch): Promise<boolean>;
  /** fields other than `state` (the type has no `state`: the lifecycle moves it) */
  update(id: string, patch: IntentPatch): Promise<void>;
  listByState(states: readonly IntentState[], limit?: number): Promise<IntentRecord[]>;
  /** open (non-terminal, beyond PROPOSED) quantity per instrument, excluding one intent */
  openQuantity(instrumentKey: string, excludeIntentId: string): Promise<number>;
  /** P&L sequence of positions closed on a trading day, in close order */
  closedPnlOn(day: string): Promise<number[]>;
  /** entries submitted in [from, to) */
  countSubmittedBetween(from: number, to: number): Promise<number>;
  listRecent(limit: number): Promise<IntentRecord[]>;
  /** positions closed on a trading day (YYYY-MM-DD), in close order (reconciliation P&L, daily summary) */
  listClosedOn(day: string): Promise<IntentRecord[]>;
  /** intents created in [from, to), oldest first (daily summary: blocks, passes, expiries) */
  listCreatedBetween(from: number, to: number, limit?: number): Promise<IntentRecord[]>;
}

export interface TokenRepo {
  insert(t: TokenRecord): Promise<void>;
  get(id: string): Promise<TokenRecord | null>;
  latestForIntent(intentId: string): Promise<TokenRecord | null>;
  /**
   * Atomic compare-and-set consume: succeeds for exactly one caller when the token exists,
   * belongs to `intentId`, carries `evidenceHash`, is unused and not expired at `now`.
   */
  consume(id: string, intentId: string, evidenceHash: string, now: number): Promise<boolean>;
  /** unused tokens with expiresAt <= now not yet marked expired */
  listExpired(now: number, limit: number): Promise<TokenRecord[]>;
  markExpired(id: string, now: number): Promise<boolean>;
}

export interface OrderRepo {
  /** throws DuplicateOrderError when (intentId, role) exists: one entry per intent, ever */
  insert(o: OrderRecord): Promise<void>;
  listByIntent(intentId: string): Promise<OrderRecord[]>;
  update(intentId: string, role: OrderRecord['role'], patch: Partial<Pick<OrderRecord, 'brokerOrderId' | 'status' | 'quantity' | 'filledQty' | 'avgFillPrice' | 'updatedAt'>>): Promise<void>;
  listWorking(): Promise<OrderRecord[]>;
}

export interface FillRepo {
  /** false when the execId was already recorded (broker re-sends are normal) */
  insertIfNew(f: FillRecord): Promise<boolean>;
  listByIntent(intentId: string): Promise<FillRecord[]>;
  /** a late commission report for a booked execution; false when the execId is unknown or unchanged */
  setCommission(execId: string, commission: number): Promise<boolean>;
}

export interface BeadRepo {
  append(draft: BeadDraft): void;
  listByIntent(intentId: string): Promise<StoredBead[]>;
  /** read in seq order from `afterSeq`, `limit` at a time (verify, export) */
  page(afterSeq: number, limit: number, sinceTs?: number): Promise<StoredBead[]>;
  count(): Promise<number>;
  /** the newest bead (the chain head), or null on an empty log */
  head(): Promise<StoredBead | null>;
  bySeq(seq: number): Promise<StoredBead | null>;
  latestOfType(type: string): Promise<StoredBead | null>;
  /** true when any bead was written in [from, to): the service was running then */
  existsBetween(from: number, to: number): Promise<boolean>;
}

export interface KillRepo {
  /** not cleared and not expired at `now` */
  active(now: number): Promise<KillFlag[]>;
  insert(k: KillFlag): Promise<void>;
  clear(id: string, by: string, now: number): Promise<boolean>;
  /** expired but not yet marked cleared */
  listLapsed(now: number): Promise<KillFlag[]>;
}

export interface CardRepo {
  insert(c: CardRecord): Promise<void>;
  get(id: string): Promise<CardRecord | null>;
  bySubject(subjectId: string, kind?: CardRecord['kind']): Promise<CardRecord | null>;
  update(id: string, patch: Partial<Omit<CardRecord, 'id' | 'createdAt'>>): Promise<void>;
  /** mark for re-render (version + 1) */
  touch(id: string, now: number): Promise<void>;
  /** version > renderedVersion, oldest first */
  listDirty(limit: number): Promise<CardRecord[]>;
  /** set renderedVersion (and messageId) only if still at or below `version` */
  markRendered(id: string, version: number, messageId: number | null): Promise<void>;
  listOpenExpiring(now: number, limit: number): Promise<CardRecord[]>;
  listOpen(kind?: CardRecord['kind']): Promise<CardRecord[]>;
}

/** The engine's side of the alert outbox: raise (flushed with the transaction), count. The sender's side is AlertOutboxRepo. */
export interface AlertRepo {
  enqueue(d: AlertDraft): void;
  /** alerts not yet delivered (PENDING) */
  backlog(): Promise<number>;
}

export interface DriftRepo {
  insert(d: DriftRecord): Promise<void>;
  get(id: string): Promise<DriftRecord | null>;
  unresolved(): Promise<DriftRecord[]>;
  resolve(id: string, resolution: string, by: string, note: string, now: number): Promise<boolean>;
  markEscalated(id: string, now: number): Promise<boolean>;
}

/** How a promotion request ended. */
export interface PromotionDecisionRecord {
  readonly event: 'APPROVED' | 'PASSED' | 'REFUSED' | 'EXPIRED' | 'WITHDRAWN';
  readonly by: string | null;
  readonly at: number;
  readonly reason?: string;
  readonly tokenId?: string;
}

/** A promotion request (SHADOW → LIVE, SPEC 16): the bundle the approver saw, who asked, how it ended. */
export interface PromotionRecord {
  readonly id: string;
  readonly strategy: string;
  readonly cardId: string;
  readonly bundle: PromotionBundle;
  readonly bundleHash: string;
  readonly requestedBy: { readonly id: string; readonly name: string; readonly via: string };
  readonly requestedAt: number;
  readonly expiresAt: number;
  /** null while the request is open */
  readonly decision: PromotionDecisionRecord | null;
}

export interface PromotionRepo {
  get(id: string): Promise<PromotionRecord | null>;
  /** insert, or replace the stored request of that id (its decision, once taken) */
  save(p: PromotionRecord, now: number): Promise<void>;
}

export interface StrategyRepo {
  get(name: string): Promise<StrategyRecord | null>;
  upsert(s: StrategyRecord): Promise<void>;
  list(): Promise<StrategyRecord[]>;
}

/** One run of a background job (SPEC 10): outcome null while it is still running. */
export interface JobRunRecord {
  readonly id: string;
  readonly job: string;
  readonly startedAt: number;
  readonly endedAt: number | null;
  /** OK | DEGRADED | SKIPPED | SKIPPED_OVERLAP | ERROR | … (job-specific); null = running */
  readonly outcome: string | null;
  /** JSON: scheduledAt, lagMs, durationMs, result or error */
  readonly detail: string | null;
}

export interface JobRunRepo {
  /** a run that started (outcome null) or a complete record (a skipped run) */
  insert(r: JobRunRecord): Promise<void>;
  finish(id: string, endedAt: number, outcome: string, detail: string | null): Promise<void>;
  /** newest first; all jobs when `job` is null */
  recent(job: string | null, limit: number): Promise<JobRunRecord[]>;
  /** delete runs that started before `before`; returns how many */
  prune(before: number): Promise<number>;
}

/** Only the keys declared in kv.keys.ts. */
export interface KvRepo {
  get(key: KvKey): Promise<string | null>;
  set(key: KvKey, value: string, now: number): Promise<void>;
  /** absent afterwards (no error when it was) */
  delete(key: KvKey): Promise<void>;
}

/** One order as the simulated broker's book holds it (SimBookState). */
export interface SimOrderState extends SingleOrderRequest {
  readonly brokerOrderId: string;
  readonly parentId?: string;
  readonly ocaGroup?: string;
  readonly status: BrokerOrderStatus;
  readonly filledQty: number;
  readonly avgFillPrice: number | null;
}

export interface SimPositionState {
  readonly instrumentKey: string;
  readonly instrument: Instrument;
  /** signed; 0 once flat */
  readonly quantity: number;
  readonly avgCost: number;
}

/**
 * The simulated broker's book (BROKER=sim): what a real broker remembers across a restart of
 * Phoenix. Orders in creation order, executions in execution order.
 */
export interface SimBookState {
  readonly nextOrderId: number;
  readonly nextExecId: number;
  readonly orders: readonly SimOrderState[];
  readonly executions: readonly BrokerFill[];
  readonly positions: readonly SimPositionState[];
}

export interface SimBookRepo {
  /** the saved book, or null when the simulated broker never saved one in this database */
  load(): Promise<SimBookState | null>;
  /** upsert these orders and positions, add these executions (known execIds are skipped), set the counters */
  save(change: SimBookState, now: number): Promise<void>;
}

export interface Tx {
  readonly intents: IntentRepo;
  readonly tokens: TokenRepo;
  readonly orders: OrderRepo;
  readonly fills: FillRepo;
  readonly beads: BeadRepo;
  readonly kills: KillRepo;
  readonly cards: CardRepo;
  readonly alerts: AlertRepo;
  /** the alert sender's: messages composed from the alerts and their delivery */
  readonly alertOutbox: AlertOutboxRepo;
  readonly drifts: DriftRepo;
  readonly strategies: StrategyRepo;
  readonly promotions: PromotionRepo;
  readonly kv: KvRepo;
  readonly jobs: JobRunRepo;
  readonly simBook: SimBookRepo;
}

export interface Store {
  /** run `fn` in one transaction; beads and alerts appended through it commit with it */
  tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export class DuplicateOrderError extends Error {
  readonly code = 'DUPLICATE_ORDER';
  constructor(intentId: string, role: string) {
    super(`intent ${intentId} already has a ${role} order: never two orders for one intent`);
    this.name = 'DuplicateOrderError';
  }
}

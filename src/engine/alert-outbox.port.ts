/**
 * The alert outbox's side of the Store port (SPEC 9): what the alert sender (src/alerts) reads
 * and writes in the Alert and AlertMessage tables. The engine only ever appends alerts
 * (`tx.alerts.enqueue`, flushed with its transaction); the sender drains them through this
 * repository, one `store.tx` per step, so its writes are serialised with the engine's.
 *
 * Row lifecycle (Alert.status stays PENDING until its message is delivered, so `backlog()` and
 * /status count every undelivered alert):
 *   Alert        PENDING, messageId NULL   → waiting to be folded into a message
 *                PENDING, messageId = M    → folded into message M (once, atomically)
 *                SENT                      → M was delivered
 *                SUPPRESSED                → its type is configured off (config/alerts.yaml): kept, never sent
 *   AlertMessage QUEUED → SENDING → SENT   (SENDING found at start-up = ambiguous: re-queued)
 */
import type { AlertPayload, AlertType, Severity } from './alerts.table.js';

/** One alert not yet folded into a message, as the outbox holds it. */
export interface OutboxAlert {
  /** insertion order (SQLite's rowid, PostgreSQL's explicit one): the sender's ingestion cursor */
  readonly rid: number;
  readonly id: string;
  /** a type this version no longer knows (renamed since the row was written) reads as HEARTBEAT_DEGRADED, its old name in the summary */
  readonly type: AlertType;
  readonly severity: Severity;
  readonly groupKey: string;
  readonly at: number;
  readonly payload: AlertPayload;
}

/** A composed message not yet delivered. */
export interface OutboxMessage {
  readonly id: string;
  readonly chatId: string;
  readonly severity: Severity;
  readonly text: string;
  readonly alertCount: number;
  readonly status: 'QUEUED' | 'SENDING';
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly createdAt: number;
  /** delivered without sound */
  readonly silent: boolean;
  /** alert types its "snooze 1 h" button snoozes (empty: no button) */
  readonly snoozeTypes: readonly string[];
}

export interface NewOutboxMessage {
  readonly id: string;
  readonly chatId: string;
  readonly severity: Severity;
  /** the groups whose alerts it folds */
  readonly groupKeys: readonly string[];
  readonly text: string;
  readonly alertCount: number;
  readonly at: number;
  readonly silent?: boolean;
  readonly snoozeTypes?: readonly string[];
}

/** What a snooze button's message offered (src/bot/snooze.tap.ts checks the tap against it). */
export interface SnoozeOffer {
  readonly chatId: string;
  readonly severity: Severity;
  readonly snoozeTypes: readonly string[];
}

/** Whole-outbox counts (tests, drills: every alert accounted for). */
export interface OutboxCounts {
  /** every alert row */
  readonly alerts: number;
  /** alerts SENT as part of a message */
  readonly sentInMessages: number;
  /** alerts never folded into a message (waiting, or SUPPRESSED) */
  readonly unassigned: number;
  /** messages not yet delivered (QUEUED or SENDING) */
  readonly undeliveredMessages: number;
  /** the alerts the delivered messages said they carry */
  readonly deliveredAlertCount: number;
}

export interface AlertOutboxRepo {
  /** PENDING, unassigned alerts after the cursor, in insertion order */
  pendingAfter(afterRid: number, limit: number): Promise<OutboxAlert[]>;
  /** the newest alert of each type (the sender's inhibition state at start-up) */
  latestOfTypes(types: readonly AlertType[]): Promise<Map<AlertType, { readonly at: number; readonly groupKey: string }>>;
  /**
   * Create message `m` (QUEUED) and fold into it the PENDING, unassigned alerts of its groups up
   * to the cursor. Returns how many were folded: the caller rolls back when that is not the
   * count it planned (its in-memory view is stale).
   */
  compose(m: NewOutboxMessage, cursorRid: number): Promise<number>;
  /** alerts of types configured off: SUPPRESSED (kept, never sent, not backlog) */
  suppress(ids: readonly string[]): Promise<void>;
  /** QUEUED and SENDING messages, oldest first */
  unsent(): Promise<OutboxMessage[]>;
  /** the message a snooze button names, or null */
  snoozeOffer(messageId: string): Promise<SnoozeOffer | null>;
  /** start-up: messages left SENDING were in flight when the process stopped → QUEUED; how many */
  requeueInFlight(now: number): Promise<number>;
  markSending(messageId: string): Promise<void>;
  /** the message and its alerts SENT; returns how many alerts it delivered */
  markSent(messageId: string, telegramMessageId: number, now: number): Promise<number>;
  markRetry(messageId: string, nextAttemptAt: number, error: string): Promise<void>;
  /** replace a message's text (Telegram refused it as malformed: the plain fallback) */
  replaceText(messageId: string, text: string): Promise<void>;
  /** when the last `limit` messages to `chatId` were delivered, newest first (pacing across a restart) */
  recentSends(chatId: string, limit: number): Promise<number[]>;
  counts(): Promise<OutboxCounts>;
}

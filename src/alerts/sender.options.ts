/** What an AlertSender is built from and reports (sender.ts). */
import type { AlertLevels, AlertType, Clock, Logger, Severity, Store } from '../engine/index.js';
import type { ChatBudget } from './chat-budget.js';
import type { RenderOptions } from './render.js';
import type { AlertTransport } from './transport.js';

export interface AlertSenderOptions {
  /** the app's store (better-sqlite3 or Prisma adapter) */
  readonly store: Store;
  readonly clock: Clock;
  readonly transport: AlertTransport;
  /** the chat that receives alerts (TELEGRAM_CHAT_ID) */
  readonly chatId: string;
  readonly logger?: Logger;
  /** share with the bot so cards, replies and alerts draw from one per-chat budget (default: its own, on `clock`) */
  readonly budget?: ChatBudget;
  /** how often the outbox is checked for new alerts (default 250 ms) */
  readonly pollMs?: number;
  readonly render?: RenderOptions;
  /** first retry after a transient failure (default 1 s), doubling up to `backoffMaxMs` */
  readonly backoffBaseMs?: number;
  /** default 60 s */
  readonly backoffMaxMs?: number;
  /** retry after a permanent error (400/401/403) (default 5 min) */
  readonly permanentRetryMs?: number;
  /** TELEGRAM_DOWN when failing at least this long … (default 60 s) */
  readonly downAfterMs?: number;
  /** … with at least this many failed attempts (default 3) */
  readonly downAfterFailures?: number;
  /** alerts read per query (default 5000) */
  readonly ingestBatch?: number;
  /** ids of composed messages (default random `am_…`; the simulator: seeded, so a run is repeatable) */
  readonly messageId?: () => string;
  /** notification level per alert type (config/alerts.yaml): on (default), silent, off */
  readonly levels?: AlertLevels;
  /** metrics: messages delivered (loud/silent) and alerts of types that are off */
  readonly observer?: SenderObserver;
}

export interface SenderObserver {
  messageSent(severity: Severity, silent: boolean): void;
  suppressed(type: AlertType, count: number): void;
}

export interface SenderStats {
  composed: number;
  sent: number;
  alertsSent: number;
  failures: number;
  rateLimited: number;
  ambiguous: number;
  probes: number;
  reloads: number;
  tickErrors: number;
}

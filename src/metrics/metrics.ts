/**
 * Prometheus metrics (SPEC 17) with prom-client: ONE registry per Phoenix instance (never the
 * global default registry, so tests and several apps in one process do not collide), with the
 * standard process metrics. GET /metrics on the intake server renders it (src/http/metrics.route.ts).
 *
 * Where each number comes from — observed at the edges, never inside the pure engine:
 *   beads (bead-feed.ts, read at scrape)   intents by outcome, gate denials by code, alerts raised,
 *                                          kill flags set, approval latency (card shown → tap,
 *                                          tap → order at the broker)
 *   the bot (observer)                     card shown (first message), /halt latency
 *   the Telegram clients (telegram.ts)     requests by method and result (ok, 429, 5xx, timeout,
 *                                          other), retry_after seconds
 *   the alert sender (observer)            messages sent loud/silent, alerts suppressed (type off)
 *   the job runner (observer)              runs by outcome, lag, last success
 *   at scrape                              broker connection state, outbox backlog, kill flag,
 *                                          last heartbeat (one small store transaction per scrape)
 *
 * Cost on the hot paths: a counter increment or a Map.set (nanoseconds); everything that reads
 * the database runs when Prometheus scrapes, never per intent.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock, ConnectionState, Severity } from '../engine/index.js';

export const BROKER_STATES: readonly ConnectionState[] = ['DISCONNECTED', 'CONNECTING', 'READY', 'PAUSED', 'DOWN'];

/** Where a Telegram request came from: the bot (cards, replies, answers, polling) or the alert sender. */
export type TelegramVia = 'bot' | 'alerts';
/** How a Telegram request ended. */
export type TelegramResult = 'ok' | '429' | '5xx' | 'timeout' | 'other';

/** Methods kept as label values; anything else is counted as "other" (bounded label set). */
const KNOWN_METHODS = new Set(['sendMessage', 'editMessageText', 'editMessageReplyMarkup', 'answerCallbackQuery', 'getUpdates', 'getMe', 'setMyCommands', 'setWebhook', 'deleteWebhook']);
export const methodLabel = (m: string): string => (KNOWN_METHODS.has(m) ? m : 'other');

/** What one scrape reads from the running service (each part optional: tests build pieces). */
export interface ScrapeSources {
  broker?(): { readonly name: string; readonly state: ConnectionState; readonly canSubmit: boolean };
  /** one small store transaction: kill flag, last heartbeat, outbox backlog */
  health?(): Promise<{ readonly killActive: boolean; readonly outboxBacklog: number; readonly lastHeartbeat: { readonly at: number; readonly status: string } | null }>;
  /** running jobs and how long they have been running */
  jobsRunning?(): readonly { readonly name: string; readonly runningForMs: number | null }[];
  /** runs before the rest (the bead feed catches up here) */
  beforeScrape?(): Promise<void>;
}

export interface JobRunObservation {
  readonly job: string;
  readonly outcome: string;
  readonly lagMs: number;
  readonly endedAt: number;
}

/** a human reading a card: seconds to minutes (cards expire after their TTL, 5 min by default) */
const HUMAN_BUCKETS = [1, 2, 5, 10, 15, 30, 60, 90, 120, 180, 300, 600];
/** Phoenix and the broker: milliseconds, up to minutes while a broker is down (token clock running) */
const ORDER_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const HALT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** cards first shown, kept until their decision/expiry bead is read (bounded) */
const MAX_SHOWN = 10_000;

export class PhoenixMetrics {
  readonly registry = new Registry();
  private sources: ScrapeSources = {};
  /** intent id → engine-clock ms when its trade card's message first reached the chat */
  readonly shownAt = new Map<string, number>();

  readonly intents = new Counter({ name: 'phoenix_intents_total', help: 'Intents by outcome: proposed, shadow, cancelled_by_gate, approved, passed, expired (card), token_expired, submitted, stalled, filled, rejected, cancelled, closed', labelNames: ['outcome'], registers: [this.registry] });
  readonly gateDenials = new Counter({ name: 'phoenix_gate_denials_total', help: 'Gate denials by code and stage (INTAKE, APPROVAL, SUBMIT)', labelNames: ['code', 'stage'], registers: [this.registry] });
  readonly alertsRaised = new Counter({ name: 'phoenix_alerts_raised_total', help: 'Alerts written to the outbox, by type and severity', labelNames: ['type', 'severity'], registers: [this.registry] });
  readonly alertsSuppressed = new Counter({ name: 'phoenix_alerts_suppressed_total', help: 'Alerts of a type configured off: kept in the outbox as SUPPRESSED, not delivered', labelNames: ['type'], registers: [this.registry] });
  readonly alertMessages = new Counter({ name: 'phoenix_alert_messages_sent_total', help: 'Alert messages delivered to Telegram, by severity and sound (loud, silent)', labelNames: ['severity', 'sound'], registers: [this.registry] });
  readonly killFlagsSet = new Counter({ name: 'phoenix_kill_flags_set_total', help: 'Kill flags set, by kind', labelNames: ['kind'], registers: [this.registry] });
  // Approval latency is two histograms, not one with a step label: their scales differ (a human's
  // seconds vs the system's milliseconds), so each gets its own buckets.
  readonly shownToTap = new Histogram({ name: 'phoenix_approval_shown_to_tap_seconds', help: 'Approval latency, human part: trade card first shown in the chat → APPROVE/PASS tap (engine clock)', buckets: HUMAN_BUCKETS, registers: [this.registry] });
  readonly tapToOrder = new Histogram({ name: 'phoenix_approval_tap_to_order_seconds', help: 'Approval latency, system part: APPROVE → order accepted by the broker layer (SUBMITTED; engine clock)', buckets: ORDER_BUCKETS, registers: [this.registry] });
  readonly haltLatency = new Histogram({ name: 'phoenix_halt_latency_seconds', help: '/halt: Telegram update received by the bot → kill flag set (committed)', buckets: HALT_BUCKETS, registers: [this.registry] });
  readonly telegramRequests = new Counter({ name: 'phoenix_telegram_requests_total', help: 'Telegram Bot API requests (each attempt), by client, method and result (ok, 429, 5xx, timeout, other)', labelNames: ['via', 'method', 'result'], registers: [this.registry] });
  readonly telegramRetryAfter = new Counter({ name: 'phoenix_telegram_retry_after_seconds_total', help: 'Seconds Telegram told Phoenix to wait (429 retry_after), by client', labelNames: ['via'], registers: [this.registry] });
  readonly jobRuns = new Counter({ name: 'phoenix_job_runs_total', help: 'Background job runs by job and outcome', labelNames: ['job', 'outcome'], registers: [this.registry] });
  readonly jobLag = new Gauge({ name: 'phoenix_job_lag_seconds', help: 'Lag of the last run of a job: actual start − scheduled time', labelNames: ['job'], registers: [this.registry] });
  readonly jobLastSuccess = new Gauge({ name: 'phoenix_job_last_success_timestamp_seconds', help: 'When a job last ended without ERROR (epoch seconds)', labelNames: ['job'], registers: [this.registry] });
  readonly jobRunning = new Gauge({ name: 'phoenix_job_running_seconds', help: 'How long a job has been running (0 when idle): a stuck job grows here', labelNames: ['job'], registers: [this.registry] });
  readonly brokerState = new Gauge({ name: 'phoenix_broker_connection_state', help: 'Broker connection: 1 for the current state, 0 for the others', labelNames: ['broker', 'state'], registers: [this.registry] });
  readonly brokerCanSubmit = new Gauge({ name: 'phoenix_broker_can_submit', help: '1 when orders may be sent now (READY and account checked)', labelNames: ['broker'], registers: [this.registry] });
  readonly outboxBacklog = new Gauge({ name: 'phoenix_outbox_backlog', help: 'Alerts in the outbox not yet delivered (PENDING)', registers: [this.registry] });
  readonly killActive = new Gauge({ name: 'phoenix_kill_flag_active', help: '1 while a kill flag blocks new entries', registers: [this.registry] });
  readonly heartbeatAt = new Gauge({ name: 'phoenix_heartbeat_last_timestamp_seconds', help: 'When the last HEARTBEAT bead was written (epoch seconds)', registers: [this.registry] });
  readonly heartbeatOk = new Gauge({ name: 'phoenix_heartbeat_ok', help: '1 when the last heartbeat was OK, 0 when DEGRADED or MISSED', registers: [this.registry] });
  readonly scrapeErrors = new Counter({ name: 'phoenix_metrics_scrape_errors_total', help: 'Scrapes where a source (database, broker) could not be read; the other metrics were still served', registers: [this.registry] });

  constructor(private readonly clock: Clock) {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Connect the scrape-time sources (the service does this once its parts run). */
  setSources(s: ScrapeSources): void {
    this.sources = { ...this.sources, ...s };
  }

  // === observers (hot paths: O(1), no I/O)

  /** The bot's trade card for `intentId` reached the chat for the first time. */
  cardShown(intentId: string): void {
    if (this.shownAt.has(intentId)) return;
    if (this.shownAt.size >= MAX_SHOWN) {
      const oldest = this.shownAt.keys().next().value;
      if (oldest !== undefined) this.shownAt.delete(oldest);
    }
    this.shownAt.set(intentId, this.clock.now());
  }

  haltObserved(seconds: number): void {
    this.haltLatency.observe(Math.max(0, seconds));
  }

  telegram(via: TelegramVia, method: string, result: TelegramResult, retryAfterSec?: number): void {
    this.telegramRequests.inc({ via, method: methodLabel(method), result });
    if (result === '429' && retryAfterSec && retryAfterSec > 0) this.telegramRetryAfter.inc({ via }, retryAfterSec);
  }

  alertMessageSent(severity: Severity, silent: boolean): void {
    this.alertMessages.inc({ severity, sound: silent ? 'silent' : 'loud' });
  }

  alertsOff(type: string, n: number): void {
    this.alertsSuppressed.inc({ type }, n);
  }

  jobRun(r: JobRunObservation): void {
    this.jobRuns.inc({ job: r.job, outcome: r.outcome });
    this.jobLag.set({ job: r.job }, r.lagMs / 1000);
    if (r.outcome !== 'ERROR' && r.outcome !== 'SKIPPED_OVERLAP') this.jobLastSuccess.set({ job: r.job }, r.endedAt / 1000);
  }

  // === the scrape

  /** The exposition text (Prometheus text format) and its content type. */
  async render(): Promise<{ readonly contentType: string; readonly body: string }> {
    await this.refresh();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private async refresh(): Promise<void> {
    const s = this.sources;
    const tries: Promise<void>[] = [];
    if (s.beforeScrape) tries.push(s.beforeScrape());
    if (s.broker) {
      const b = s.broker();
      for (const state of BROKER_STATES) this.brokerState.set({ broker: b.name, state }, b.state === state ? 1 : 0);
      this.brokerCanSubmit.set({ broker: b.name }, b.canSubmit ? 1 : 0);
    }
    if (s.jobsRunning) for (const j of s.jobsRunning()) this.jobRunning.set({ job: j.name }, (j.runningForMs ?? 0) / 1000);
    if (s.health) {
      tries.push(
        s.health().then((h) => {
          this.outboxBacklog.set(h.outboxBacklog);
          this.killActive.set(h.killActive ? 1 : 0);
          if (h.lastHeartbeat) {
            this.heartbeatAt.set(h.lastHeartbeat.at / 1000);
            this.heartbeatOk.set(h.lastHeartbeat.status === 'OK' ? 1 : 0);
          }
        }),
      );
    }
    // a broken database must not take /metrics down: the broker state is exactly what matters then
    for (const r of await Promise.allSettled(tries)) if (r.status === 'rejected') this.scrapeErrors.inc();
  }
}

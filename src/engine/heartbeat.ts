/**
 * Heartbeat semantics (SPEC 10) — PURE. "The process is alive" is not health: a heartbeat
 * is OK only when Phoenix can actually do its job. `assessHealth` turns facts gathered by
 * heartbeat.usecase.ts into OK / DEGRADED with one human-readable reason per problem.
 *
 * Entry points: `assessHealth(inputs)`, `heartbeatGap(now, lastBeatAt, intervalMs)`,
 * `nextHeartbeatDelayMs(random)`, `HEARTBEAT_INTERVAL_MS`, `HEARTBEAT_JITTER_MS`,
 * `DEFAULT_HEARTBEAT_THRESHOLDS`.
 * Checks: broker connected and able to submit; database writable (a real write); no stale
 * orders (SUBMITTED without ack past the stall limit, any STALLED, WORKING entries older
 * than N min); reconciliation not overdue in market hours; no positions left open after the
 * flatten deadline; outbox backlog and Telegram delivery; job lags and stuck jobs.
 */
import type { BrokerHealth } from './broker.port.js';
import type { Random } from './ports.js';

export const HEARTBEAT_INTERVAL_MS = 30_000;
export const HEARTBEAT_JITTER_MS = 5_000;
/** a gap over this many intervals since the last beat is a MISSED heartbeat */
export const MISSED_AFTER_INTERVALS = 2;

/** 30 s ± 5 s, uniform, from the injected (seeded in tests) randomness. */
export function nextHeartbeatDelayMs(random: Random, intervalMs = HEARTBEAT_INTERVAL_MS, jitterMs = HEARTBEAT_JITTER_MS): number {
  return Math.round(intervalMs + (random.next() * 2 - 1) * jitterMs);
}

export interface HeartbeatThresholds {
  /** SUBMITTED without acknowledgement longer than this is stale (s) */
  readonly stallAfterSec: number;
  /** a WORKING entry order older than this is stale (min) */
  readonly staleEntryMin: number;
  /** more PENDING alerts than this is a backlog */
  readonly outboxBacklogMax: number;
  /** with alerts waiting, no successful Telegram send for this long is a failure (min) */
  readonly telegramSilentMin: number;
  /** a job that started this much later than scheduled is lagging (ms) */
  readonly jobLagMaxMs: number;
  /** a job running this long is stuck (ms) */
  readonly jobStuckMs: number;
}

export const DEFAULT_HEARTBEAT_THRESHOLDS: HeartbeatThresholds = {
  stallAfterSec: 60,
  staleEntryMin: 30,
  outboxBacklogMax: 50,
  telegramSilentMin: 5,
  jobLagMaxMs: 15_000,
  jobStuckMs: 120_000,
};

export interface JobHealth {
  readonly name: string;
  /** lag of the latest start (actual − scheduled), ms */
  readonly lastLagMs: number | null;
  /** ms the current run has been going, null when idle */
  readonly runningForMs: number | null;
}

export interface HealthInputs {
  readonly now: number;
  readonly broker: BrokerHealth & { readonly name?: string };
  /** the broker is down inside IB Gateway's daily restart window: expected, not a health problem */
  readonly brokerRestartExpected?: boolean;
  readonly db: { readonly writable: boolean; readonly error?: string };
  /** SUBMITTED and STALLED intents */
  readonly inFlight: readonly { readonly intentId: string; readonly symbol: string; readonly state: string; readonly submittedAt: number | null; readonly ackedAt: number | null }[];
  /** ENTRY orders WORKING at the broker (acknowledged, not filled) */
  readonly workingEntries: readonly { readonly intentId: string; readonly since: number }[];
  readonly marketOpen: boolean;
  readonly afterFlattenDeadline: boolean;
  /** FILLED/MANAGED positions */
  readonly openPositions: number;
  readonly lastReconcileAt: number | null;
  readonly reconcileIntervalSec: number;
  readonly outboxBacklog: number;
  readonly telegramLastSentAt: number | null;
  readonly telegramLastError: string | null;
  readonly jobs: readonly JobHealth[];
  readonly thresholds: HeartbeatThresholds;
}

export interface HealthAssessment {
  readonly status: 'OK' | 'DEGRADED';
  readonly reasons: readonly string[];
  /** compact facts for the HEARTBEAT bead */
  readonly checks: Readonly<Record<string, unknown>>;
}

const secs = (ms: number) => Math.round(ms / 1000);
const mins = (ms: number) => Math.floor(ms / 60_000);

export function assessHealth(i: HealthInputs): HealthAssessment {
  const reasons: string[] = [];
  const th = i.thresholds;
  // broker
  if (i.broker.state !== 'READY') {
    if (!i.brokerRestartExpected) reasons.push(`broker ${i.broker.state}${i.broker.detail ? `: ${i.broker.detail}` : ''}`);
  }
  else if (!i.broker.canSubmit) reasons.push(`broker connected but cannot submit${i.broker.detail ? `: ${i.broker.detail}` : ''}`);
  // database
  if (!i.db.writable) reasons.push(`database not writable${i.db.error ? `: ${i.db.error}` : ''}`);
  // stale orders
  let stale = 0;
  for (const o of i.inFlight) {
    const age = o.submittedAt === null ? null : i.now - o.submittedAt;
    if (o.state === 'STALLED') {
      stale++;
      reasons.push(`stale order: ${o.symbol} ${o.intentId} STALLED (submitted ${age === null ? '?' : secs(age)} s ago, no broker acknowledgement; needs a human, RB-003)`);
    } else if (o.state === 'SUBMITTED' && o.ackedAt === null && age !== null && age > th.stallAfterSec * 1000) {
      stale++;
      reasons.push(`stale order: ${o.symbol} ${o.intentId} SUBMITTED ${secs(age)} s without broker acknowledgement`);
    }
  }
  for (const w of i.workingEntries) {
    const age = i.now - w.since;
    if (age > th.staleEntryMin * 60_000) {
      stale++;
      reasons.push(`stale order: entry of ${w.intentId} WORKING for ${mins(age)} min (limit ${th.staleEntryMin} min)`);
    }
  }
  // reconciliation age (only meaningful while the periodic job runs: market hours)
  const reconAge = i.lastReconcileAt === null ? null : i.now - i.lastReconcileAt;
  const reconLimit = 2 * i.reconcileIntervalSec * 1000 + 60_000;
  if (i.marketOpen && (reconAge === null || reconAge > reconLimit)) {
    reasons.push(reconAge === null ? 'reconciliation has never run' : `last reconciliation ${mins(reconAge)} min ago (expected every ${Math.max(1, Math.round(i.reconcileIntervalSec / 60))} min)`);
  }
  if (i.afterFlattenDeadline && i.openPositions > 0) reasons.push(`${i.openPositions} position(s) still open after the flatten deadline`);
  // alerts outbox and Telegram
  const silentFor = i.telegramLastSentAt === null ? null : i.now - i.telegramLastSentAt;
  if (i.outboxBacklog > th.outboxBacklogMax) reasons.push(`alert outbox backlog ${i.outboxBacklog} (limit ${th.outboxBacklogMax})`);
  if (i.outboxBacklog > 0 && i.telegramLastError && (silentFor === null || silentFor > th.telegramSilentMin * 60_000)) {
    reasons.push(`Telegram delivery failing: ${i.outboxBacklog} alert(s) waiting, last successful send ${silentFor === null ? 'never' : `${mins(silentFor)} min ago`} (last error: ${i.telegramLastError.slice(0, 120)}; RB-006)`);
  }
  // jobs
  let maxLag = 0;
  for (const j of i.jobs) {
    maxLag = Math.max(maxLag, j.lastLagMs ?? 0);
    if (j.runningForMs !== null && j.runningForMs > th.jobStuckMs) reasons.push(`job ${j.name} running for ${secs(j.runningForMs)} s (stuck?)`);
    else if (j.lastLagMs !== null && j.lastLagMs > th.jobLagMaxMs) reasons.push(`job ${j.name} started ${secs(j.lastLagMs)} s late`);
  }
  return {
    status: reasons.length ? 'DEGRADED' : 'OK',
    reasons,
    checks: {
      broker: i.broker.state,
      ...(i.brokerRestartExpected ? { brokerRestartExpected: true } : {}),
      canSubmit: i.broker.canSubmit,
      dbWritable: i.db.writable,
      staleOrders: stale,
      inFlight: i.inFlight.length,
      lastReconcileAgeSec: reconAge === null ? null : secs(reconAge),
      marketOpen: i.marketOpen,
      openPositions: i.openPositions,
      outboxBacklog: i.outboxBacklog,
      telegramLastSentAgeSec: silentFor === null ? null : secs(silentFor),
      maxJobLagMs: maxLag,
    },
  };
}

/** Seconds since the last beat, and whether that is a missed heartbeat (over 2 intervals). */
export function heartbeatGap(now: number, lastBeatAt: number | null, intervalMs = HEARTBEAT_INTERVAL_MS): { readonly missed: boolean; readonly gapSec: number } {
  if (lastBeatAt === null) return { missed: false, gapSec: 0 };
  const gap = now - lastBeatAt;
  return { missed: gap > MISSED_AFTER_INTERVALS * intervalMs, gapSec: Math.round(gap / 1000) };
}

/**
 * Heartbeat use cases (SPEC 10): gather the facts, assess them (heartbeat.ts, pure), write a
 * HEARTBEAT bead OK/DEGRADED with reasons, and raise HEARTBEAT_DEGRADED only when the status
 * turns DEGRADED (not on every beat). The missed-heartbeat watch runs at start-up and every
 * minute: a gap of more than 2 intervals since the last beat becomes a MISSED bead (with
 * gapSec) and a HEARTBEAT_MISSED alert, so after a crash the restart reports the downtime.
 *
 * Entry points: `runHeartbeat(ctx, opts)`, `checkMissedHeartbeat(ctx, opts)`.
 * kv keys: `heartbeat.lastAt` (last OK/DEGRADED beat), `heartbeat.status`,
 * `heartbeat.probe` (the database write check), `heartbeat.missedFor` (the beat a MISSED
 * was reported after, so one outage gives one alert while running); read:
 * `reconcile.lastRunAt`, `telegram.lastSentAt`, `telegram.lastError` (written by the sender).
 */
import type { EngineContext } from './context.js';
import { inRestartWindow } from './gateway-day.js';
import { assessHealth, DEFAULT_HEARTBEAT_THRESHOLDS, heartbeatGap, HEARTBEAT_INTERVAL_MS, type HeartbeatThresholds, type JobHealth } from './heartbeat.js';
import { isAfterFlattenDeadline, isMarketHours } from './session-jobs.usecase.js';
import { dateClockTime, isoUtc } from './people-time.js';
import { HOLDING, IN_FLIGHT } from './lifecycle.fsm.js';
import { KV } from './kv.keys.js';

export interface HeartbeatOptions {
  /** the scheduler's view of the jobs (lags, running times) */
  readonly jobs?: readonly JobHealth[];
  readonly thresholds?: Partial<HeartbeatThresholds>;
}

export interface HeartbeatResult {
  readonly at: number;
  readonly status: 'OK' | 'DEGRADED';
  readonly reasons: readonly string[];
  readonly checks: Readonly<Record<string, unknown>>;
  /** a HEARTBEAT_DEGRADED alert was raised by this beat */
  readonly alerted: boolean;
}

/** A kv time written as epoch ms or ISO-8601. */
function parseTime(v: string | null): number | null {
  if (v === null || v === '') return null;
  const n = Number(v);
  if (Number.isFinite(n)) return n;
  const p = Date.parse(v);
  return Number.isFinite(p) ? p : null;
}

export async function runHeartbeat(ctx: EngineContext, opts: HeartbeatOptions = {}): Promise<HeartbeatResult> {
  const now = ctx.clock.now();
  const c = ctx.constitution;
  // A real write, in its own transaction: if it fails, the beat still reports why.
  let db: { writable: boolean; error?: string } = { writable: true };
  try {
    const stamp = `${now}:${ctx.random.id(6)}`;
    const readBack = await ctx.store.tx(async (tx) => {
      await tx.kv.set(KV.heartbeatProbe, stamp, now);
      return tx.kv.get(KV.heartbeatProbe);
    });
    if (readBack !== stamp) db = { writable: false, error: 'write did not read back' };
  } catch (e) {
    db = { writable: false, error: (e as Error).message.split('\n')[0]?.slice(0, 160) ?? 'write failed' };
  }
  const facts = await ctx.store.tx(async (tx) => {
    const inFlight = await tx.intents.listByState(IN_FLIGHT);
    const working = (await tx.orders.listWorking()).filter((o) => o.role === 'ENTRY' && o.status === 'WORKING');
    return {
      inFlight: inFlight.map((i) => ({ intentId: i.id, symbol: i.instrument.symbol, state: i.state, submittedAt: i.submittedAt, ackedAt: i.ackedAt })),
      workingEntries: working.map((o) => ({ intentId: o.intentId, since: o.createdAt })),
      openPositions: (await tx.intents.listByState(HOLDING)).length,
      lastReconcileAt: parseTime(await tx.kv.get(KV.reconcileLastRunAt)),
      outboxBacklog: await tx.alerts.backlog(),
      telegramLastSentAt: parseTime(await tx.kv.get(KV.telegramLastSentAt)),
      telegramLastError: (await tx.kv.get(KV.telegramLastError)) || null,
    };
  });
  const broker = ctx.broker.health();
  const a = assessHealth({
    now,
    broker,
    // IB Gateway's daily restart (SPEC 17): a broker down inside its window is expected
    brokerRestartExpected: inRestartWindow(now, ctx.gateway, c.session.timeZone),
    db,
    ...facts,
    marketOpen: isMarketHours(now, c),
    afterFlattenDeadline: isAfterFlattenDeadline(now, c),
    reconcileIntervalSec: c.reconciliation.intervalSec,
    jobs: opts.jobs ?? [],
    thresholds: { ...DEFAULT_HEARTBEAT_THRESHOLDS, stallAfterSec: c.approval.stallAfterSec, ...opts.thresholds },
  });
  const alerted = await ctx.store.tx(async (tx) => {
    const previous = await tx.kv.get(KV.heartbeatStatus);
    await tx.kv.set(KV.heartbeatLastAt, String(now), now);
    await tx.kv.set(KV.heartbeatStatus, a.status, now);
    tx.beads.append({ type: 'HEARTBEAT', intentId: null, ts: now, payload: { status: a.status, reasons: [...a.reasons], checks: { ...a.checks } } });
    if (a.status !== 'DEGRADED' || previous === 'DEGRADED') return false;
    tx.alerts.enqueue({ type: 'HEARTBEAT_DEGRADED', at: now, payload: { summary: `Health DEGRADED: ${a.reasons.join('; ')}`.slice(0, 900), facts: { reasons: a.reasons.length } } });
    return true;
  });
  if (alerted) ctx.notify();
  return { at: now, status: a.status, reasons: a.reasons, checks: a.checks, alerted };
}

export interface MissedCheck {
  readonly missed: boolean;
  readonly gapSec: number;
  readonly lastBeatAt: number | null;
  /** a MISSED bead and alert were written by this check */
  readonly reported: boolean;
}

/**
 * The missed-heartbeat watch. `startup: true` always reports a gap over 2 intervals (the
 * process was down); while running, one report per silent stretch.
 */
export async function checkMissedHeartbeat(ctx: EngineContext, opts: { readonly startup?: boolean; readonly intervalMs?: number } = {}): Promise<MissedCheck> {
  const now = ctx.clock.now();
  const intervalMs = opts.intervalMs ?? HEARTBEAT_INTERVAL_MS;
  const result = await ctx.store.tx(async (tx): Promise<MissedCheck> => {
    let lastBeatAt = parseTime(await tx.kv.get(KV.heartbeatLastAt));
    if (lastBeatAt === null) {
      const b = await tx.beads.latestOfType('HEARTBEAT');
      if (b && (JSON.parse(b.payload) as { status: string }).status !== 'MISSED') lastBeatAt = b.ts;
    }
    const gap = heartbeatGap(now, lastBeatAt, intervalMs);
    if (!gap.missed || lastBeatAt === null) return { ...gap, lastBeatAt, reported: false };
    if (!opts.startup && (await tx.kv.get(KV.heartbeatMissedFor)) === String(lastBeatAt)) return { ...gap, lastBeatAt, reported: false };
    const since = isoUtc(lastBeatAt);
    const shown = dateClockTime(lastBeatAt, ctx.constitution.session.timeZone);
    const why = opts.startup ? `no heartbeat for ${gap.gapSec} s before this start-up (last beat ${shown}): the process was down` : `no heartbeat for ${gap.gapSec} s (last beat ${shown}): the heartbeat job is not running`;
    tx.beads.append({ type: 'HEARTBEAT', intentId: null, ts: now, payload: { status: 'MISSED', reasons: [why], gapSec: gap.gapSec, checks: { lastBeatAt: since, startup: opts.startup === true } } });
    tx.alerts.enqueue({ type: 'HEARTBEAT_MISSED', at: now, payload: { summary: `Heartbeat missed: ${why}. Check what happened in that window (positions, orders, drift).`, facts: { gapSec: gap.gapSec, lastBeat: shown } } });
    await tx.kv.set(KV.heartbeatMissedFor, String(lastBeatAt), now);
    return { ...gap, lastBeatAt, reported: true };
  });
  if (result.reported) ctx.notify();
  return result;
}

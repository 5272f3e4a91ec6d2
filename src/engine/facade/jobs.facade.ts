/**
 * What the background jobs (src/jobs, SPEC 10) run besides the engine's own sweeps
 * (expireDue, detectStalls, retryWaiting, lapseKillFlags, detectUnprotected on Engine):
 * the heartbeat and its missed-beat watch, the session jobs (flatten deadline, daily reset),
 * IB Gateway's day, the human-requested reconnect, and the JobRun records themselves.
 */
import type { EngineContext } from '../context.js';
import { runGatewayDay, type GatewayDayOutcome } from '../gateway-day.usecase.js';
import { checkMissedHeartbeat, runHeartbeat, type HeartbeatOptions, type HeartbeatResult, type MissedCheck } from '../heartbeat.usecase.js';
import { honourReconnectRequest, type ReconnectOutcome } from '../reconnect.usecase.js';
import { dailyReset, flattenAtDeadline, flattenOverdue, isMarketHours, type CatchUpOutcome, type DailyResetOutcome, type DeadlineOutcome } from '../session-jobs.usecase.js';
import type { JobRunRecord } from '../store.port.js';

export class JobsFacade {
  readonly #ctx: EngineContext;

  constructor(ctx: EngineContext) {
    this.#ctx = ctx;
  }

  /** inside the constitution's regular session at `now` (trading days only) */
  isMarketHours(now: number): boolean {
    return isMarketHours(now, this.#ctx.constitution);
  }
  /** one semantic heartbeat: HEARTBEAT bead OK/DEGRADED, alert when it turns DEGRADED */
  heartbeat(opts?: HeartbeatOptions): Promise<HeartbeatResult> {
    return runHeartbeat(this.#ctx, opts);
  }
  /** a gap of more than two beats since the last one → MISSED bead + alert (once per outage) */
  checkMissedHeartbeat(opts?: { readonly startup?: boolean; readonly intervalMs?: number }): Promise<MissedCheck> {
    return checkMissedHeartbeat(this.#ctx, opts);
  }
  /** SAFE-5: the 15:55 flatten (trading days only) */
  flattenAtDeadline(): Promise<DeadlineOutcome> {
    return flattenAtDeadline(this.#ctx);
  }
  /** anything still open past its day's deadline (a restart at 15:57) → flatten + CRITICAL */
  flattenOverdue(): Promise<CatchUpOutcome> {
    return flattenOverdue(this.#ctx);
  }
  /** DAILY_RESET bead + DAILY_SUMMARY alert, once per trading day */
  dailyReset(opts?: { readonly onlyAfterOpen?: boolean }): Promise<DailyResetOutcome> {
    return dailyReset(this.#ctx, opts);
  }
  /** true when the broker is IB Gateway, whose day (restart window, weekly login) the gateway-day job watches */
  get watchesGatewayDay(): boolean {
    return Boolean(this.#ctx.gateway);
  }
  gatewayDay(): Promise<GatewayDayOutcome> {
    return runGatewayDay(this.#ctx);
  }
  /** honour a pending `phoenix reconnect` once; never throws */
  honourReconnectRequest(): Promise<ReconnectOutcome> {
    return honourReconnectRequest(this.#ctx);
  }

  // === JobRun records (operational, not audit)

  /** a run that started (outcome null), or a complete record (a skipped run) */
  recordRun(r: JobRunRecord): Promise<void> {
    return this.#ctx.store.tx((tx) => tx.jobs.insert(r));
  }
  finishRun(id: string, endedAt: number, outcome: string, detail: string | null): Promise<void> {
    return this.#ctx.store.tx((tx) => tx.jobs.finish(id, endedAt, outcome, detail));
  }
  /** delete runs that started before `before`; returns how many */
  pruneRuns(before: number): Promise<number> {
    return this.#ctx.store.tx((tx) => tx.jobs.prune(before));
  }
}

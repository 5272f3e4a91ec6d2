/**
 * JobRunner: runs the job table's jobs when the Scheduler fires them.
 * - overlap guard: a job never overlaps itself; a tick that finds it still running is not
 *   run and is recorded as a SKIPPED_OVERLAP JobRun;
 * - every run is recorded in the JobRun table: a row at start (outcome null while running,
 *   so a stuck job is visible), finished with end time, outcome (OK, DEGRADED, SKIPPED,
 *   ERROR, …) and detail JSON (scheduledAt, lagMs, durationMs, result or error);
 * - lag = actual start − scheduled time, kept per job for the heartbeat (job lags) and /status;
 * - a failing job never takes the process down (logged, recorded ERROR), and a broken
 *   database does not stop the jobs (the heartbeat must still be able to say so).
 * Time comes from the injected Clock.
 */
import type { Engine, JobHealth, JobRunRecord, Logger } from '../engine/index.js';
import type { ReconcileCoordinator } from './reconcile.trigger.js';
import type { Schedule } from './scheduler.js';

export type RunTrigger = 'start' | 'schedule' | 'manual';

/** What a job's run gets: the engine facade and the job infrastructure. */
export interface JobDeps {
  readonly engine: Engine;
  readonly logger: Logger;
  readonly reconcile: ReconcileCoordinator;
  /** the runner's view of every job (heartbeat: job lags) */
  readonly jobHealth: () => JobHealth[];
  /** dead-man's-switch URL pinged on every OK heartbeat */
  readonly pingUrl?: string;
  readonly fetch: typeof fetch;
  readonly trigger: RunTrigger;
}

export interface JobResult {
  /** default OK */
  readonly outcome?: string;
  readonly detail?: unknown;
}

export interface JobDef {
  readonly name: string;
  readonly schedule: Schedule;
  /** also run once when the jobs start, in table order */
  readonly atStart?: boolean;
  /** a tick for which this is false is not a run (e.g. outside market hours) and is not recorded */
  readonly when?: (deps: JobDeps, now: number) => boolean;
  /** thin: only calls engine use cases */
  run(deps: JobDeps): Promise<JobResult | void>;
}

export interface JobStat extends JobHealth {
  readonly runs: number;
  readonly skippedOverlaps: number;
  readonly maxLagMs: number;
  readonly lastOutcome: string | null;
  readonly lastStartedAt: number | null;
  readonly lastError: string | null;
}

export interface RunRecord {
  readonly job: string;
  readonly outcome: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly lagMs: number;
  readonly detail?: unknown;
  readonly error?: string;
}

interface State {
  running: Promise<RunRecord> | null;
  runningSince: number | null;
  runs: number;
  skipped: number;
  lastLagMs: number | null;
  maxLagMs: number;
  lastOutcome: string | null;
  lastStartedAt: number | null;
  lastError: string | null;
}

export class JobRunner {
  private readonly state = new Map<string, State>();

  constructor(
    private readonly engine: Engine,
    private readonly logger: Logger,
    /** every finished or skipped run (metrics: runs by outcome, lag, last success) */
    private readonly onRun?: (r: RunRecord) => void,
  ) {}

  private stateOf(name: string): State {
    let s = this.state.get(name);
    if (!s) {
      s = { running: null, runningSince: null, runs: 0, skipped: 0, lastLagMs: null, maxLagMs: 0, lastOutcome: null, lastStartedAt: null, lastError: null };
      this.state.set(name, s);
    }
    return s;
  }

  /** Run `job` for a tick due at `scheduledAt`, unless it is still running (then record the skip). */
  async fire(job: JobDef, deps: Omit<JobDeps, 'trigger'>, trigger: RunTrigger, scheduledAt: number): Promise<RunRecord | null> {
    const s = this.stateOf(job.name);
    const now = this.engine.now();
    const lagMs = Math.max(0, now - scheduledAt);
    const full: JobDeps = { ...deps, trigger };
    if (s.running) {
      s.skipped++;
      const runningForMs = now - (s.runningSince ?? now);
      this.logger.warn({ job: job.name, runningForMs }, 'job still running: this tick is skipped (no overlap)');
      await this.record({ id: this.id(), job: job.name, startedAt: now, endedAt: now, outcome: 'SKIPPED_OVERLAP', detail: JSON.stringify({ trigger, scheduledAt, lagMs, runningForMs }) });
      const skipped: RunRecord = { job: job.name, outcome: 'SKIPPED_OVERLAP', startedAt: now, endedAt: now, lagMs };
      this.onRun?.(skipped);
      return skipped;
    }
    try {
      if (job.when && !job.when(full, now)) return null;
    } catch (e) {
      this.logger.error({ job: job.name, err: (e as Error).message }, 'job condition failed');
      return null;
    }
    const run = this.execute(job, full, s, now, lagMs, scheduledAt);
    s.running = run;
    try {
      return await run;
    } finally {
      s.running = null;
      s.runningSince = null;
    }
  }

  private async execute(job: JobDef, deps: JobDeps, s: State, startedAt: number, lagMs: number, scheduledAt: number): Promise<RunRecord> {
    s.runningSince = startedAt;
    s.lastStartedAt = startedAt;
    s.lastLagMs = lagMs;
    s.maxLagMs = Math.max(s.maxLagMs, lagMs);
    s.runs++;
    const id = this.id();
    await this.record({ id, job: job.name, startedAt, endedAt: null, outcome: null, detail: JSON.stringify({ trigger: deps.trigger, scheduledAt, lagMs }) });
    let outcome = 'OK';
    let detail: unknown;
    let error: string | undefined;
    try {
      const r = await job.run(deps);
      outcome = r?.outcome ?? 'OK';
      detail = r?.detail;
    } catch (e) {
      outcome = 'ERROR';
      error = (e as Error).message;
      this.logger.error({ job: job.name, err: error }, 'job failed');
    }
    const endedAt = this.engine.now();
    s.lastOutcome = outcome;
    s.lastError = error ?? null;
    await this.finish(id, endedAt, outcome, JSON.stringify({ trigger: deps.trigger, scheduledAt, lagMs, durationMs: endedAt - startedAt, ...(detail !== undefined ? { result: detail } : {}), ...(error ? { error } : {}) }));
    this.logger.debug({ job: job.name, outcome, lagMs, durationMs: endedAt - startedAt }, 'job run');
    const record: RunRecord = { job: job.name, outcome, startedAt, endedAt, lagMs, ...(detail !== undefined ? { detail } : {}), ...(error ? { error } : {}) };
    this.onRun?.(record);
    return record;
  }

  private id(): string {
    return `job_${this.engine.random.id(12)}`;
  }

  private async record(r: JobRunRecord): Promise<void> {
    try {
      await this.engine.jobs.recordRun(r);
    } catch (e) {
      this.logger.error({ job: r.job, err: (e as Error).message }, 'could not record the job run');
    }
  }

  private async finish(id: string, endedAt: number, outcome: string, detail: string): Promise<void> {
    try {
      await this.engine.jobs.finishRun(id, endedAt, outcome, detail.slice(0, 4000));
    } catch (e) {
      this.logger.error({ id, err: (e as Error).message }, 'could not record the end of a job run');
    }
  }

  /** Lags and running times, for the heartbeat. */
  health(): JobHealth[] {
    const now = this.engine.now();
    return [...this.state.entries()].map(([name, s]) => ({ name, lastLagMs: s.lastLagMs, runningForMs: s.runningSince === null ? null : now - s.runningSince }));
  }

  stats(): JobStat[] {
    const now = this.engine.now();
    return [...this.state.entries()].map(([name, s]) => ({
      name,
      lastLagMs: s.lastLagMs,
      runningForMs: s.runningSince === null ? null : now - s.runningSince,
      runs: s.runs,
      skippedOverlaps: s.skipped,
      maxLagMs: s.maxLagMs,
      lastOutcome: s.lastOutcome,
      lastStartedAt: s.lastStartedAt,
      lastError: s.lastError,
    }));
  }

  /** Resolves when no job is running. */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.state.values()].map((s) => s.running).filter((p): p is Promise<RunRecord> => p !== null);
      if (!running.length) return;
      await Promise.allSettled(running);
    }
  }
}

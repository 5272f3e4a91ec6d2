/**
 * Background jobs (SPEC 10): `startJobs` runs the job table (jobs.table.ts) on a Scheduler
 * (CronScheduler in production, ClockScheduler with a FakeClock in tests) through the
 * JobRunner (overlap guard, JobRun records, lag), and wires the engine's reconciliation hook
 * (fills, rejects, cancels, reconnects → debounced full reconciliation, ≤ 12 per minute).
 *
 * Start-up order: the at-start runs go first, in table order (missed-heartbeat watch reports
 * the downtime before the first new beat; a reconciliation runs before the schedules start).
 */
import { silentLogger, type Cancel, type Engine, type Logger } from '../engine/index.js';
import { jobTable } from './jobs.table.js';
import { ReconcileCoordinator, type CoordinatorOptions } from './reconcile.trigger.js';
import { JobRunner, type JobDef, type JobDeps, type JobStat, type RunRecord } from './runner.js';
import type { Scheduler } from './scheduler.js';

export { ClockScheduler, cronExpression, dailyAt, describeSchedule, every, nextDailyAt, type DailySchedule, type IntervalSchedule, type Schedule, type Scheduler } from './scheduler.js';
export { CronScheduler } from './cron.scheduler.js';
export { jobTable } from './jobs.table.js';
export { JobRunner, type JobDef, type JobDeps, type JobStat, type RunRecord } from './runner.js';
export { ReconcileCoordinator } from './reconcile.trigger.js';

export interface StartJobsOptions {
  readonly engine: Engine;
  readonly scheduler: Scheduler;
  readonly logger?: Logger;
  /** HEARTBEAT_PING_URL */
  readonly pingUrl?: string;
  /** only these jobs (tests); default all */
  readonly only?: readonly string[];
  /** run the at-start jobs (default true) */
  readonly runAtStart?: boolean;
  readonly fetch?: typeof fetch;
  readonly reconcile?: CoordinatorOptions;
  /** replace the table (tests) */
  readonly table?: readonly JobDef[];
  /** every finished or skipped run (metrics) */
  readonly onRun?: (r: RunRecord) => void;
}

export interface Jobs {
  readonly table: readonly JobDef[];
  readonly runner: JobRunner;
  /** reconciliation entry point for on-demand checks (/drift "check now") that respects the rate limit */
  readonly reconcile: ReconcileCoordinator;
  /** run one job now, outside its schedule (CLI, tests); overlap-guarded and recorded */
  runNow(name: string): Promise<RunRecord | null>;
  stats(): JobStat[];
  /** resolves when no job and no triggered reconciliation is running (tests step the clock with it) */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startJobs(opts: StartJobsOptions): Promise<Jobs> {
  const { engine } = opts;
  const logger = (opts.logger ?? engine.logger ?? silentLogger).child({ component: 'jobs' });
  const all = opts.table ?? jobTable(engine.info.constitution);
  const table = opts.only ? all.filter((j) => opts.only?.includes(j.name)) : all;
  const runner = new JobRunner(engine, logger, opts.onRun);
  const reconcile = new ReconcileCoordinator(engine, logger, opts.reconcile);
  const deps: Omit<JobDeps, 'trigger'> = {
    engine,
    logger,
    reconcile,
    jobHealth: () => runner.health(),
    ...(opts.pingUrl ? { pingUrl: opts.pingUrl } : {}),
    fetch: opts.fetch ?? fetch,
  };
  const cancels: Cancel[] = [];
  let stopped = false;
  cancels.push(engine.onReconcileNeeded((reason) => reconcile.request(reason)));
  if (opts.runAtStart !== false) {
    for (const job of table) if (job.atStart) await runner.fire(job, deps, 'start', engine.now());
  }
  for (const job of table) {
    cancels.push(
      opts.scheduler.add(job.name, job.schedule, (scheduledAt) => {
        if (stopped) return;
        runner.fire(job, deps, 'schedule', scheduledAt).catch((e: Error) => logger.error({ job: job.name, err: e.message }, 'job tick failed'));
      }),
    );
  }
  logger.info({ scheduler: opts.scheduler.name, jobs: table.map((j) => j.name) }, 'jobs started');
  return {
    table,
    runner,
    reconcile,
    async runNow(name) {
      const job = table.find((j) => j.name === name) ?? all.find((j) => j.name === name);
      if (!job) throw new Error(`unknown job ${name}; known: ${all.map((j) => j.name).join(', ')}`);
      return runner.fire(job, deps, 'manual', engine.now());
    },
    stats: () => runner.stats(),
    async idle() {
      await runner.idle();
      await reconcile.idle();
      await runner.idle();
    },
    async stop() {
      stopped = true;
      for (const c of cancels) c();
      opts.scheduler.stop();
      reconcile.stop();
      await runner.idle();
    },
  };
}

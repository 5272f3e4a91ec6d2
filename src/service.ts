/**
 * The running service: database, broker session, restart recovery, intake HTTP, and the
 * background loops. Start-up order matters: recovery by orderRef happens before any
 * submission can be attempted (INV-IDEMPOTENT-ORDER-1).
 */
import { createApp, recordConfig, type App, type AppDeps } from './app.js';
import { startIntake, type IntakeServer } from './http/intake.server.js';
import { CronScheduler, startJobs, type Jobs, type Scheduler } from './jobs/index.js';

export interface ServiceOptions extends AppDeps {
  /** how the bot is connected, for the CONFIG bead and the banner */
  readonly telegramLabel: string;
  /** intake port override (0 = ephemeral, for tests) */
  readonly intakePort?: number;
  /** 0 disables the background jobs (tests that drive the engine by hand) */
  readonly sweepEveryMs?: number;
  /** job scheduler override (tests: `new ClockScheduler(fakeClock, random)`); default node-cron */
  readonly scheduler?: Scheduler;
}

export interface Service {
  readonly app: App;
  readonly intake: IntakeServer;
  readonly jobs: Jobs | null;
  stop(): Promise<void>;
}

export async function startService(opts: ServiceOptions): Promise<Service> {
  const { config, logger, clock } = opts;
  const app = await createApp(opts);
  // Bind the port first: a second instance fails here, before it writes or connects anything.
  let intake: IntakeServer;
  try {
    intake = await startIntake({
      engine: app.engine,
      logger,
      host: config.env.INTAKE_HOST,
      port: opts.intakePort ?? config.env.INTAKE_PORT,
      ...(config.env.INTAKE_TOKEN ? { token: config.env.INTAKE_TOKEN } : {}),
      ratePerMinute: config.env.INTAKE_RATE_PER_MIN,
    });
  } catch (e) {
    await app.close();
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new Error(`intake port ${config.env.INTAKE_HOST}:${opts.intakePort ?? config.env.INTAKE_PORT} is in use: is Phoenix already running? (or set INTAKE_PORT)`);
    throw e;
  }
  await recordConfig(app, config, opts.telegramLabel, clock);
  app.engine.attachBroker();
  try {
    await app.broker.connect();
  } catch (e) {
    logger.error({ err: (e as Error).message }, 'broker connect failed; submissions wait until it is ready');
  }
  // A restored broker connection retries approvals that were waiting for it (token clock running).
  app.engine.onReconcileNeeded((reason) => {
    if (reason === 'broker connection restored') void app.engine.retryWaiting().catch((e: Error) => logger.error({ err: e.message }, 'retry after reconnect failed'));
  });
  if (app.broker.health().state === 'READY') {
    const r = await app.engine.recoverFromBroker();
    if (r.checked) logger.info({ ...r }, 'restart recovery by orderRef');
  }
  const jobs =
    opts.sweepEveryMs === 0
      ? null
      : await startJobs({
          engine: app.engine, // also subscribes engine.onReconcileNeeded → debounced reconcile, ≤ 12/min
          scheduler: opts.scheduler ?? new CronScheduler(clock, app.engine.ctx.random),
          logger,
          ...(config.env.HEARTBEAT_PING_URL ? { pingUrl: config.env.HEARTBEAT_PING_URL } : {}),
        });
  return {
    app,
    intake,
    jobs,
    async stop() {
      await jobs?.stop();
      await intake.close();
      await app.close();
    },
  };
}

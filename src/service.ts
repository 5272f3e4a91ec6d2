/**
 * THE composition root (with src/service.front.ts; src/app.ts builds store, broker and engine,
 * src/main.ts is only the process: signals, banner). The running service: database, broker
 * session, restart recovery, intake HTTP, the desk's leader election and the background jobs
 * (`startService`), then the sandbox or Telegram, the bot and the alert sender (`startFrontEnds`).
 * Start-up order matters: recovery by orderRef happens before any submission can be
 * attempted (INV-IDEMPOTENT-ORDER-1). Intake binds first (a second instance fails before it
 * writes anything), so /healthz answers 503 until the jobs, the bot and the alert sender run.
 */
import { createApp, recordConfig, VERSION, type App, type AppDeps } from './app.js';
import type { AppConfig } from './config/load.js';
import type { ServiceFacts } from './http/admin.schema.js';
import { startIntake, type IntakeServer } from './http/intake.server.js';
import { Readiness } from './http/readiness.js';
import { checkAnchorsAtStartup } from './runtime/anchor-startup.js';
import { isPostgresUrl, redactPostgresUrl, sqlitePath } from './store/db-path.js';
import { acquireInstanceLock } from './store/instance-lock.js';
import { KV, RECONCILE_REASON } from './engine/index.js';
import type { LeaderRole } from './store/pg.leader.js';
import type { TelegramRelayStore } from './store/pg.relay.js';
import { startDesk, type DeskLeaderOptions } from './service.desk.js';
import { CronScheduler, startJobs, type Jobs, type RunRecord, type Scheduler } from './jobs/index.js';
import { BeadFeed } from './metrics/bead-feed.js';
import { PhoenixMetrics } from './metrics/metrics.js';

export interface ServiceOptions extends AppDeps {
  /** how the bot is connected, for the CONFIG bead and the banner */
  readonly telegramLabel: string;
  /** intake port override (0 = ephemeral, for tests) */
  readonly intakePort?: number;
  /** 0 disables the background jobs (tests that drive the engine by hand) */
  readonly sweepEveryMs?: number;
  /** job scheduler override (tests: `new ClockScheduler(fakeClock, random)`); default node-cron */
  readonly scheduler?: Scheduler;
  /** started as the demo (`npm start -- --demo`): its own data directory (src/demo/data-dir.ts) */
  readonly demoData?: boolean;
  /** PostgreSQL: the leader election (src/service.desk.ts) */
  readonly leader?: DeskLeaderOptions;
}

export interface Service {
  readonly config: AppConfig;
  readonly app: App;
  readonly intake: IntakeServer;
  readonly jobs: Jobs | null;
  /** what /healthz waits for: bot, alerts (startFrontEnds) and jobs (here) */
  readonly readiness: Readiness;
  /** GET /metrics: this instance's own registry */
  readonly metrics: PhoenixMetrics;
  /** SQLite: always leader. PostgreSQL: leader, follower, or lost (fenced, about to exit) */
  role(): LeaderRole;
  /** run `fn` once this process leads (now, awaited, when it already does): the bot, the alert sender */
  whenLeader(fn: () => Promise<void>): Promise<void>;
  /** PostgreSQL: Telegram updates the desk's followers received on the webhook (the leader's bot takes them) */
  readonly telegramRelay: TelegramRelayStore | null;
  stop(): Promise<void>;
}

/** What GET /v1/admin/status says this process runs (no secrets). */
export function serviceFacts(config: AppConfig, app: App, run: { startedAt: number; intake: string; telegram: string; demoData: boolean }): ServiceFacts {
  const e = config.env;
  const ibkr = app.broker.name === 'ibkr';
  return {
    version: VERSION,
    pid: process.pid,
    startedAt: run.startedAt,
    database: isPostgresUrl(e.DATABASE_URL) ? redactPostgresUrl(e.DATABASE_URL) : sqlitePath(e.DATABASE_URL),
    demoData: run.demoData,
    constitution: { name: config.constitution.name, path: config.constitutionPath, demo: config.constitution.demo, timeZone: config.constitution.session.timeZone },
    mode: e.TRADING_MODE,
    broker: { name: app.broker.name, ...(ibkr ? { host: e.IB_HOST, port: e.IB_PORT, clientId: e.IB_CLIENT_ID, ...(e.IB_ACCOUNT ? { account: e.IB_ACCOUNT } : {}) } : {}) },
    intake: run.intake,
    telegram: run.telegram,
  };
}

/** The parts that must run before /healthz says ready (SPEC 17). */
export const READY_PARTS = ['bot', 'alerts', 'jobs'] as const;

export async function startService(opts: ServiceOptions): Promise<Service> {
  const { config, logger, clock } = opts;
  // SQLite: one service per database file, before anything is opened or written (a PostgreSQL desk elects a leader)
  const lock = isPostgresUrl(config.env.DATABASE_URL) ? null : acquireInstanceLock(sqlitePath(config.env.DATABASE_URL));
  let app: App;
  try {
    app = await createApp(opts);
  } catch (e) {
    lock?.release();
    throw e;
  }
  const readiness = new Readiness(READY_PARTS);
  // Metrics: counted from here on (the bead feed starts at the head of the audit log).
  const metrics = new PhoenixMetrics(clock);
  const beadFeed = new BeadFeed(app.store, metrics);
  await beadFeed.start();
  metrics.setSources({
    beforeScrape: () => beadFeed.pull(),
    broker: () => ({ ...app.broker.health(), name: app.broker.name }),
    health: () => app.engine.health(),
  });
  const startedAt = clock.now();
  let intakeUrl = '';
  const facts = (): ServiceFacts => serviceFacts(config, app, { startedAt, intake: intakeUrl, telegram: opts.telegramLabel, demoData: opts.demoData === true });
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
      readiness,
      metrics,
      admin: { facts },
      ...(config.env.TRADINGVIEW_PASSPHRASE && config.tradingview
        ? {
            tradingview: {
              passphrase: config.env.TRADINGVIEW_PASSPHRASE,
              mapping: config.tradingview,
              timeZone: config.constitution.session.timeZone,
              allowedIps: config.env.TRADINGVIEW_ALLOWED_IPS,
              trustedProxies: config.env.TRADINGVIEW_TRUSTED_PROXIES,
            },
          }
        : {}),
    });
  } catch (e) {
    await app.close();
    lock?.release();
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new Error(`intake port ${config.env.INTAKE_HOST}:${opts.intakePort ?? config.env.INTAKE_PORT} is in use: is Phoenix already running? (or set INTAKE_PORT)`);
    throw e;
  }
  intakeUrl = intake.url;
  await recordStart(app, opts);
  // where the CLI finds this service when its own shell names another INTAKE_PORT (issue 16)
  await app.store.tx((tx) => tx.kv.set(KV.serviceEndpoint, JSON.stringify({ url: intake.url, pid: process.pid, startedAt }), clock.now()));
  // What only the leader does (SQLite: this process, always): the broker session, restart
  // recovery before anything new is sent, the jobs. The bot and the alert sender follow
  // (startFrontEnds, through whenLeader).
  let jobs: Jobs | null = null;
  const leadDuties = async (): Promise<void> => {
    const started = await leadEngine(app, { ...opts, onRun: (r) => metrics.jobRun(r) });
    jobs = started;
    if (started) metrics.setSources({ jobsRunning: () => started.runner.health() });
    readiness.set('jobs', started ? 'running' : 'disabled');
  };
  const desk = await startDesk({ app, config, logger, clock, readiness, leadDuties, ...(opts.leader ? { leader: opts.leader } : {}) });
  return {
    config,
    app,
    intake,
    get jobs() {
      return jobs;
    },
    readiness,
    metrics,
    role: () => desk.role(),
    whenLeader: (fn) => desk.whenLeader(fn),
    telegramRelay: desk.telegramRelay,
    async stop() {
      try {
        readiness.stopAll(); // /healthz 503 first: a load balancer stops sending before we go
        await desk.stopCampaign();
        await jobs?.stop();
        await intake.close();
        await app.close();
        await desk.release(); // last: the next leader must not meet this one's broker session
      } finally {
        lock?.release(); // SQLite: the next service may start
      }
    },
  };
}

export type EngineSideOptions = Pick<ServiceOptions, 'config' | 'logger' | 'clock' | 'telegramLabel' | 'sweepEveryMs' | 'scheduler'> & {
  /** each finished job run (metrics) */
  readonly onRun?: (r: RunRecord) => void;
};

/** Before this process writes anything else: the audit anchor check, then the CONFIG bead. */
export async function recordStart(app: App, opts: EngineSideOptions): Promise<void> {
  const { config, logger, clock } = opts;
  // Before this process writes a bead: does the log still match its anchor journal? (SAFE-12)
  const anchored = await checkAnchorsAtStartup({ store: app.store, file: app.anchors.file, publisher: app.anchors.publisher, clock, logger });
  if (anchored.kind === 'ok' || anchored.kind === 'off' || (anchored.kind === 'new' && anchored.head === 0)) logger.info({ ...anchored, journal: app.anchors.file }, 'audit anchor journal checked');
  else logger.warn({ ...anchored, journal: app.anchors.file }, 'audit anchor journal: see the AUDIT_ANCHOR alert (RB-017)');
  await recordConfig(app, config, opts.telegramLabel, clock);
}

/**
 * What only the leader does, in the order that keeps INV-IDEMPOTENT-ORDER-1: the broker session,
 * restart recovery by orderRef before anything new is sent, then the jobs.
 */
export async function leadEngine(app: App, opts: EngineSideOptions): Promise<Jobs | null> {
  const { config, logger, clock } = opts;
  app.engine.attachBroker();
  try {
    await app.broker.connect();
  } catch (e) {
    logger.error({ err: (e as Error).message }, 'broker connect failed; submissions wait until it is ready');
  }
  // A restored broker connection retries approvals that were waiting for it (token clock running).
  app.engine.onReconcileNeeded((reason) => {
    if (reason === RECONCILE_REASON.brokerRestored) void app.engine.retryWaiting().catch((e: Error) => logger.error({ err: e.message }, 'retry after reconnect failed'));
  });
  if (app.broker.health().state === 'READY') {
    const r = await app.engine.recoverFromBroker();
    if (r.checked) logger.info({ ...r }, 'restart recovery by orderRef');
  }
  return opts.sweepEveryMs === 0
    ? null
    : startJobs({
        engine: app.engine, // also subscribes engine.onReconcileNeeded → debounced reconcile, ≤ 12/min
        scheduler: opts.scheduler ?? new CronScheduler(clock, app.engine.random),
        logger,
        ...(config.env.HEARTBEAT_PING_URL ? { pingUrl: config.env.HEARTBEAT_PING_URL } : {}),
        ...(opts.onRun ? { onRun: opts.onRun } : {}),
      });
}

/**
 * The simulator's start of its in-process Phoenix (SQLite: always the leader): `recordStart`,
 * then `leadEngine` — what `startService` does around binding intake and the leader election.
 */
export async function startEngineSide(app: App, opts: EngineSideOptions): Promise<Jobs | null> {
  await recordStart(app, opts);
  return leadEngine(app, opts);
}

export { startFrontEnds, launchTelegram, type FrontEndOptions, type FrontEnds, type LaunchOptions, type TelegramHandle } from './service.front.js';

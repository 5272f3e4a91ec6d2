/**
 * One Phoenix process of a simulation, built like `npm start` builds it: createApp on the
 * shared database file, the engine side of the start-up (CONFIG bead, broker session, restart
 * recovery by orderRef, the job table on a clock scheduler), the grammY bot with its card
 * syncer, and the alert sender sharing the bot's per-chat budget. What differs from production
 * is only where time, randomness and the outside world come from: the simulation clock, a
 * seeded Random per process, the shared SimBroker through a session proxy, the in-process Bot
 * API (no polling: the driver hands updates to `bot.handleUpdate`), and no HTTP intake (the
 * strategies post through `engine.submitIntent`, the same path intake uses).
 */
import type { Update } from 'grammy/types';
import { AlertSender } from '../src/alerts/sender.js';
import { createApp, type App } from '../src/app.js';
import { createGrammyAlertTransport } from '../src/bot/alert.transport.js';
import { createBot, type PhoenixBot } from '../src/bot/bot.js';
import type { SimBroker } from '../src/broker/sim/index.js';
import type { AppConfig } from '../src/config/load.js';
import { seededRandom, type Logger, type Store } from '../src/engine/index.js';
import { ClockScheduler, type Jobs } from '../src/jobs/index.js';
import { startEngineSide } from '../src/service.js';
import { ScopedClock, type SimClock } from './clock.js';
import { CHAT_ID, SECRETS } from './desk.js';
import { Life } from './life.js';
import { ProcessBroker, type BrokerObserver, type Latency } from './process-broker.js';
import type { PgMirror } from './pg-mirror.js';
import { ProcessStore } from './process-store.js';
import { BOT_INFO, type FakeTelegram } from './telegram.js';

export interface ProcessDeps {
  readonly generation: number;
  readonly seed: number;
  readonly config: AppConfig;
  readonly clock: SimClock;
  readonly broker: SimBroker;
  readonly telegram: FakeTelegram;
  readonly logger: Logger;
  readonly observer: BrokerObserver;
  /** the adapter's latency per placement/cancel (ms of simulation time) */
  readonly latency: Latency;
  /** right before a bracket reaches the broker (the simulator arms that entry's fault) */
  readonly beforeBracket?: () => void;
  /** a kill armed before the process starts (dies during its own start-up) */
  readonly armed?: (life: Life) => void;
  /** PostgreSQL: the checks' mirror (told when a transaction settles; brought up to date at the broker's door) */
  readonly mirror?: PgMirror;
  /** PostgreSQL: the database is open (createApp and the lease done; the rest may wait on the clock) */
  readonly opened?: () => void;
  /** PostgreSQL: the process's store exists (the world waits for its transactions from then on, start-up included) */
  readonly storeOpened?: (store: ProcessStore) => void;
}

export class PhoenixProcess {
  private readonly inflight = new Set<Promise<unknown>>();
  private inner: Store | null = null;
  /** the store as this process sees it (its transactions in flight: PostgreSQL's I/O) */
  store: ProcessStore | null = null;

  private constructor(
    readonly life: Life,
    readonly clock: ScopedClock,
    readonly app: App,
    readonly jobs: Jobs | null,
    readonly bot: PhoenixBot,
    readonly sender: AlertSender,
    readonly broker: ProcessBroker,
  ) {}

  /** Start a process; null when it died during its own start-up (its files are released). */
  static async boot(d: ProcessDeps): Promise<{ readonly proc: PhoenixProcess | null; readonly life: Life }> {
    const life = new Life(d.generation, d.clock.now());
    const clock = new ScopedClock(d.clock);
    life.whenDead(() => clock.kill());
    d.armed?.(life);
    const random = seededRandom((d.seed * 7919 + d.generation * 104_729) >>> 0);
    const logger = d.logger.child({ gen: d.generation });
    const sleep = (ms: number) => new Promise<void>((resolve) => clock.schedule(ms, resolve));
    const mirror = d.mirror;
    const broker = new ProcessBroker(d.broker, life, d.observer, () => d.clock.now(), d.latency, sleep, d.beforeBracket, mirror ? () => mirror.refresh() : undefined);
    let inner: Store | null = null;
    let store: ProcessStore | null = null;
    // PostgreSQL: the process's connections carry its name (its death ends them, see release)
    const appName = `phoenix-sim-g${d.generation}`;
    const config = mirror ? pgConfigFor(d.config, appName) : d.config;
    const app = await createApp({
      config,
      clock,
      random,
      logger,
      broker,
      chatId: String(CHAT_ID),
      storeIdPrefix: `g${d.generation}x`,
      // no Prisma client for inspection: opening it is real I/O whose duration would decide how
      // much simulated time a start-up takes (runs would differ), and nothing here needs it
      inspectDb: false,
      wrapStore: (s) => {
        inner = s;
        // a simulation needs no durability against power loss: commits and checkpoints skip fsync;
        // temporary b-trees (ORDER BY … LIMIT, the store's list queries) in memory, not in a temp file
        const db = (s as unknown as { db?: { pragma(p: string): unknown } }).db;
        if (!mirror) {
          db?.pragma('synchronous = OFF');
          db?.pragma('temp_store = MEMORY');
        }
        store = new ProcessStore(s, life, mirror ? () => void (mirror.dirty = true) : undefined);
        d.storeOpened?.(store);
        return store;
      },
    });
    // PostgreSQL: only a process holding the leader lease marks orders to be sent (INV-LEADER-FENCE-1);
    // the simulator runs one process at a time, and each new one takes the lease from the dead one
    const claim = (inner as { claimLeadership?: (holder: string, now: number) => Promise<number> } | null)?.claimLeadership;
    if (mirror && claim) {
      await claim.call(inner, `sim-g${d.generation}`, clock.now());
      mirror.dirty = true;
    }
    d.opened?.();
    const started = await Promise.race([
      startEngineSide(app, { config: d.config, logger, clock, telegramLabel: 'simulation', scheduler: new ClockScheduler(clock, random) }).then((jobs) => ({ jobs })),
      new Promise<null>((resolve) => life.whenDead(() => resolve(null))),
    ]);
    const transformer = d.telegram.transformer(life);
    const bot = createBot({
      engine: app.engine,
      logger,
      botInfo: BOT_INFO,
      transformers: [transformer],
      config: {
        token: SECRETS.TELEGRAM_BOT_TOKEN,
        chatId: String(CHAT_ID),
        approvers: d.config.env.TELEGRAM_APPROVERS,
        admins: d.config.env.TELEGRAM_ADMINS,
        viewers: d.config.env.TELEGRAM_VIEWERS,
        webhook: { url: d.config.env.TELEGRAM_WEBHOOK_URL ?? 'https://phoenix.sim.invalid/telegram', secret: SECRETS.TELEGRAM_WEBHOOK_SECRET, port: 0 },
      },
      options: {
        runbooksDir: 'runbooks',
        telegramClock: clock,
        syncClock: clock,
        // answers and probes: no auto-retry sleeping on the wall clock; no wall-clock call deadline
        retry: { maxRetryAttempts: 0, maxDelaySeconds: 0 },
        callDeadlineMs: 0,
      },
    });
    let n = 0;
    const sender = new AlertSender({
      store: app.store,
      clock,
      logger: logger.child({ component: 'alerts' }),
      chatId: String(CHAT_ID),
      transport: createGrammyAlertTransport({ token: SECRETS.TELEGRAM_BOT_TOKEN, transformers: [transformer] }),
      budget: bot.budget,
      // the outbox is polled every second (production: 250 ms); one Telegram message per second per chat is the pace anyway
      pollMs: 1000,
      messageId: () => `am_g${d.generation}n${n++}`,
    });
    const p = new PhoenixProcess(life, clock, app, started?.jobs ?? null, bot, sender, broker);
    p.inner = inner;
    p.store = store;
    if (mirror) {
      const pool = (inner as { pool?: { on(e: 'error', f: () => void): unknown } } | null)?.pool;
      p.end = async () => {
        pool?.on('error', () => {}); // its connections are about to be cut
        await mirror.terminate(appName);
      };
    }
    if (life.alive && started !== null) {
      bot.syncer.start();
      await Promise.race([sender.start(), new Promise<void>((resolve) => life.whenDead(resolve))]);
    }
    if (life.alive) return { proc: p, life };
    await p.release();
    return { proc: null, life };
  }

  get alive(): boolean {
    return this.life.alive;
  }

  /** Hand an update to the bot's real handlers (not awaited: updates run concurrently, like the runner). */
  handle(update: Update): void {
    if (!this.alive) return;
    const p = this.bot.bot.handleUpdate(update).catch(() => {});
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /** Run engine work the way an HTTP request would (not awaited by the driver). */
  run<T>(work: () => Promise<T>): void {
    if (!this.alive) return;
    const p = work().catch(() => {});
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  busy(): number {
    return this.inflight.size + this.bot.paced.pending() + this.broker.inFlight;
  }

  kill(note: string): void {
    this.life.die(note);
  }

  /** PostgreSQL: cut this process's connections (what the OS does to a killed process's sockets) */
  end: (() => Promise<void>) | null = null;

  /** After death: release the database connection (the OS closes a killed process's files). */
  async release(): Promise<void> {
    if (!this.end) return releaseStore(this.inner);
    await this.end();
    // (a transaction the dead process never finished may keep its pool waiting: not awaited)
    void releaseStore(this.inner);
  }
}

/** The configuration with the process's connections named `appName` (pg_stat_activity). */
function pgConfigFor(config: AppConfig, appName: string): AppConfig {
  const url = new URL(config.env.DATABASE_URL);
  url.searchParams.set('application_name', appName);
  return { ...config, env: { ...config.env, DATABASE_URL: url.toString() } };
}

export async function releaseStore(inner: Store | null): Promise<void> {
  await inner?.close().catch(() => {});
}

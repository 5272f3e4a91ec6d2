/**
 * Composition root: builds the adapters and injects them into the engine. The only module
 * that knows every layer. `npm start` (src/main.ts), the CLI and the end-to-end tests all
 * build Phoenix through `createApp`, so they run the same code.
 */
import { SimBroker } from './broker/sim/index.js';
import { storeBookPersistence } from './broker/sim/sim.persist.js';
import type { AppConfig } from './config/load.js';
import { Engine, inRestartWindow, seededRandom, type BrokerPort, type Clock, type GatewayDay, type Logger, type Random, type Store } from './engine/index.js';
import { anchorFilePath } from './runtime/anchor-journal.js';
import { AnchorFileSink, AnchorPublisher, AnchorUrlSink, type AnchorSink } from './runtime/anchor-sinks.js';
import { join } from 'node:path';
import type { Db } from './store/database.js';
import { isPostgresUrl, sqlitePath } from './store/db-path.js';
import { migrate } from './store/migrate.js';
import { SqliteStore } from './store/sqlite.store.js';

export const VERSION = '0.1.0';

export interface AppDeps {
  readonly config: AppConfig;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** override the broker (tests; IBKR is built by the caller) */
  readonly broker?: BrokerPort;
  /** chat that receives cards and alerts */
  readonly chatId: string;
  /** fixed prefix for bead/alert row ids instead of a random one (the simulator: repeatable runs) */
  readonly storeIdPrefix?: string;
  /** wrap the store the engine and the app use (the simulator: a process that can be killed at a commit) */
  readonly wrapStore?: (store: Store) => Store;
  /**
   * Load the Prisma client behind `app.db` (default true: tests and tools inspect the
   * database with it). `npm start` passes false: on the default better-sqlite3 store nothing
   * else needs Prisma, whose client costs ~15 MB and ~0.2 s of start-up (issue 17, Memory).
   */
  readonly inspectDb?: boolean;
}

export interface App {
  readonly engine: Engine;
  readonly store: Store;
  /** Prisma client on the same file (created on first use): inspection, tools, tests */
  readonly db: Db;
  readonly broker: BrokerPort;
  /** the audit anchor journal file (null: AUDIT_ANCHOR_FILE=off) and what publishes to it */
  readonly anchors: { readonly file: string | null; readonly publisher: AnchorPublisher };
  /** what the IBKR broker asks before every write to TWS (a reason not to send, or null) */
  setSendGate(gate: () => string | null): void;
  close(): Promise<void>;
}

/** Where audit anchors go (SAFE-12): the journal file (default next to the database) and/or a URL. */
export function buildAnchorPublisher(config: AppConfig, dbFile: string, clock: Clock, logger: Logger): { file: string | null; publisher: AnchorPublisher } {
  const file = anchorFilePath(config.env, dbFile);
  const sinks: AnchorSink[] = [];
  const log = logger.child({ component: 'audit-anchor' });
  if (file) sinks.push(new AnchorFileSink(file, log));
  if (config.env.AUDIT_ANCHOR_URL) sinks.push(new AnchorUrlSink(config.env.AUDIT_ANCHOR_URL, log));
  return { file, publisher: new AnchorPublisher(sinks, clock) };
}

/** The simulator; with `store` it keeps its book in Phoenix's database across restarts (issue 16). */
export function buildSimBroker(config: AppConfig, clock: Clock, logger: Logger, store?: Store): SimBroker {
  return new SimBroker({ clock, random: seededRandom(config.env.SIM_SEED), profile: config.env.SIM_PROFILE, logger, ...(store ? { persistence: storeBookPersistence(store, clock) } : {}) });
}

/**
 * The broker the configuration asks for: the simulator (default) or IB Gateway / TWS. The
 * IBKR client (and rxjs) is only loaded when it is used.
 */
export async function buildBroker(config: AppConfig, clock: Clock, logger: Logger, store?: Store, sendGate?: () => string | null): Promise<BrokerPort> {
  const e = config.env;
  if (e.BROKER === 'ibkr') {
    const { IbkrBroker } = await import('./broker/ibkr/index.js');
    const day = gatewayDayOf(config);
    const tz = config.constitution.session.timeZone;
    return new IbkrBroker({
      host: e.IB_HOST,
      port: e.IB_PORT,
      clientId: e.IB_CLIENT_ID,
      ...(e.IB_ACCOUNT ? { account: e.IB_ACCOUNT } : {}),
      mode: e.TRADING_MODE,
      allowLive: e.IBKR_ALLOW_LIVE,
      clock,
      logger: logger.child({ component: 'ibkr' }),
      inRestartWindow: (now) => inRestartWindow(now, day, tz),
      ...(sendGate ? { sendGate } : {}),
    });
  }
  return buildSimBroker(config, clock, logger, store);
}

/** IB Gateway's day from IB_RESTART_WINDOW / IB_WEEKLY_LOGIN / IB_LOGIN_REMINDER_MIN (SPEC 17). */
export function gatewayDayOf(config: AppConfig): GatewayDay {
  const e = config.env;
  return { restartWindow: e.IB_RESTART_WINDOW, weeklyLogin: e.IB_WEEKLY_LOGIN, remindMinutesBefore: e.IB_LOGIN_REMINDER_MIN };
}

/**
 * The store DATABASE_URL names, its migrations applied: PostgreSQL (postgresql://…, several
 * processes) or a SQLite file — better-sqlite3 directly by default (hot paths stay in the low
 * ms), or Prisma (STORE_ADAPTER=prisma, the portable adapter).
 */
async function openStore(config: AppConfig, clock: Clock, logger: Logger, idPrefix?: string): Promise<{ store: Store; prismaDb: Db | null; usesPrisma: boolean; file: string; anchors: ReturnType<typeof buildAnchorPublisher> }> {
  const url = config.env.DATABASE_URL;
  // Prisma and pg are loaded only by the stores that use them (npm start's default needs neither)
  if (isPostgresUrl(url)) {
    const { pgPool, pgPrisma } = await import('./store/pg.database.js');
    const { PgStore } = await import('./store/pg.store.js');
    await (await import('./store/pg.migrate.js')).migratePostgres(url);
    // no database file: the anchor journal defaults to ./data/phoenix.anchors.jsonl (processes
    // of one desk must share one journal: the same file, or AUDIT_ANCHOR_URL)
    const anchors = buildAnchorPublisher(config, join(process.cwd(), 'data', 'phoenix.db'), clock, logger);
    const pool = pgPool(url);
    const pgDb = pgPrisma(pool);
    const store = new PgStore(pgDb, pool, { onBeadsCommitted: anchors.publisher.committed });
    return { store, prismaDb: store.db, usesPrisma: false, file: '', anchors };
  }
  const file = sqlitePath(url);
  migrate(file);
  const usesPrisma = config.env.STORE_ADAPTER === 'prisma';
  const prismaDb: Db | null = usesPrisma ? await (await import('./store/database.js')).openDatabase(url) : null;
  // every commit that appends beads is anchored outside the database (SAFE-12)
  const anchors = buildAnchorPublisher(config, file, clock, logger);
  const onBeadsCommitted = anchors.publisher.committed;
  const store: Store = prismaDb ? new (await import('./store/prisma.store.js')).PrismaStore(prismaDb, { onBeadsCommitted }) : new SqliteStore(file, { onBeadsCommitted, ...(idPrefix !== undefined ? { idPrefix } : {}) });
  return { store, prismaDb, usesPrisma, file, anchors };
}

/** Open the database (applying pending migrations) and build the engine. Nothing connects yet. */
export async function createApp(deps: AppDeps): Promise<App> {
  const { config } = deps;
  const opened = await openStore(config, deps.clock, deps.logger, deps.storeIdPrefix);
  const { file, anchors } = opened;
  const store = deps.wrapStore ? deps.wrapStore(opened.store) : opened.store;
  let prismaDb = opened.prismaDb;
  const prisma = opened.usesPrisma || deps.inspectDb !== false ? await import('./store/database.js') : null;
  // a desk on PostgreSQL answers it from the leader lease (src/service.desk.ts); else nothing to check
  let sendGate: (() => string | null) | null = null;
  const broker = deps.broker ?? (await buildBroker(config, deps.clock, deps.logger, store, () => sendGate?.() ?? null));
  const engine = new Engine({
    store,
    broker,
    clock: deps.clock,
    random: deps.random,
    logger: deps.logger,
    constitution: config.constitution,
    mode: config.env.TRADING_MODE,
    allowLive: config.env.IBKR_ALLOW_LIVE,
    chatId: deps.chatId,
    // the gateway's restart window and weekly login apply to IB Gateway, whoever built the adapter
    gateway: broker.name === 'ibkr' ? gatewayDayOf(config) : null,
  });
  return {
    engine,
    store,
    get db() {
      if (!prisma) throw new Error('app.db: the Prisma client is not loaded in this process (createApp with inspectDb: false, as `npm start` runs)');
      prismaDb ??= prisma.prismaClient(file);
      return prismaDb;
    },
    broker,
    anchors,
    setSendGate(gate) {
      sendGate = gate;
    },
    async close() {
      engine.detach();
      await broker.disconnect().catch(() => {});
      await store.close();
      await anchors.publisher.flush(); // clean shutdown: every committed head is on disk
      if (prismaDb && !opened.usesPrisma) await prismaDb.$disconnect(); // the inspection client (the Prisma store closes its own)
    },
  };
}

/** The CONFIG bead: what this process started with (digest, mode, broker, constitution). */
export async function recordConfig(app: App, config: AppConfig, telegram: string, clock: Clock): Promise<void> {
  await app.store.tx(async (tx) => {
    tx.beads.append({
      type: 'CONFIG',
      intentId: null,
      ts: clock.now(),
      payload: { digest: config.digest, mode: config.env.TRADING_MODE, broker: config.env.BROKER, constitution: config.constitution.name, telegram, version: VERSION },
    });
  });
}

/**
 * What a CLI command gets: validated configuration, the running service (looked up on demand:
 * service-client.ts) and, on demand, the app on the same database as the service (with an
 * offline broker: a second process never sends orders).
 */
import { createApp, type App } from '../app.js';
import { offlineBroker } from '../broker/offline.broker.js';
import { loadConfig, type AppConfig } from '../config/load.js';
import { demoEnv } from '../demo/data-dir.js';
import { SYSTEM_ACTOR, type Actor } from '../engine/index.js';
import { createLogger } from '../runtime/logger.js';
import { cryptoRandom, systemClock } from '../runtime/system-clock.js';
import { databaseTarget } from '../store/inspect.js';
import { findService, type ServiceLookup } from './service-client.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  readStdin(): Promise<string>;
  /** ask a yes/no question on the terminal (false when not interactive) */
  confirm(question: string): Promise<boolean>;
}

export class CliContext {
  private appPromise: Promise<App> | null = null;
  private servicePromise: Promise<ServiceLookup> | null = null;
  readonly env: Record<string, string | undefined>;

  /** `demo`: `phoenix … --demo` works on the demo's own data directory (src/demo/data-dir.ts) */
  constructor(
    readonly io: CliIo,
    env: Record<string, string | undefined>,
    readonly cwd: string,
    readonly demo = false,
  ) {
    this.env = demo ? demoEnv(env) : env;
  }

  /** The running service on this shell's database, or why there is none (looked up once). */
  service(): Promise<ServiceLookup> {
    this.servicePromise ??= findService({ env: this.env, cwd: this.cwd });
    return this.servicePromise;
  }

  config(): AppConfig {
    return loadConfig(this.env, this.cwd);
  }

  app(): Promise<App> {
    const loaded = this.config();
    // a relative DATABASE_URL is relative to this CLI's working directory (as for the service); a PostgreSQL one is used as it is
    const target = databaseTarget(loaded.env.DATABASE_URL, this.cwd);
    const config = { ...loaded, env: { ...loaded.env, DATABASE_URL: target.kind === 'sqlite' ? `file:${target.file}` : target.url } };
    this.appPromise ??= createApp({ config, clock: systemClock, random: cryptoRandom, logger: createLogger('silent'), broker: offlineBroker, chatId: config.env.TELEGRAM_CHAT_ID ?? '-1001001' });
    return this.appPromise;
  }

  /** The operator at the terminal: full rights (they own the server). */
  operator(): Actor {
    const user = this.env.USER ?? this.env.LOGNAME ?? 'operator';
    return { ...SYSTEM_ACTOR, id: `cli:${user}`, name: `${user} (CLI)`, via: 'cli' };
  }

  async close(): Promise<void> {
    if (this.appPromise) await (await this.appPromise).close();
  }
}

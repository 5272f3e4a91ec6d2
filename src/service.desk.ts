/**
 * Who does what on a desk of several Phoenix processes (issue 18, SPEC 17). On SQLite there is
 * one process and it leads. On PostgreSQL every process serves intake (and /healthz, /metrics,
 * the admin routes) and hands its work to the leader through the database: an intent stored
 * here is carded, approved and sent by the leader, which alone holds the broker session, runs
 * the jobs, the bot and the alert sender. Followers keep trying for the leader lock
 * (src/store/pg.leader.ts) and take over within seconds of the leader's loss; a leader that
 * loses the lock is fenced at once (every transaction it tries rolls back) and exits, so that
 * its supervisor restarts it as a follower with nothing half-running.
 */
import type { App } from './app.js';
import type { AppConfig } from './config/load.js';
import type { Clock, Logger } from './engine/index.js';
import type { Readiness } from './http/readiness.js';
import { isPostgresUrl } from './store/db-path.js';
import type { TelegramRelayServer } from './http/telegram-relay.server.js';
import type { LeaderRole } from './store/pg.leader.js';
import type { TelegramRelayStore } from './store/pg.relay.js';
import type { PgStore } from './store/pg.store.js';

export interface DeskLeaderOptions {
  /** the lock is lost (default: exit with LEADERSHIP_LOST_EXIT_CODE; tests observe instead) */
  readonly onLost?: (why: string) => void;
  readonly pollMs?: number;
  readonly sessionTimeoutMs?: number;
  readonly holder?: string;
}

export const LEADERSHIP_LOST_EXIT_CODE = 3;

export interface Desk {
  role(): LeaderRole;
  whenLeader(fn: () => Promise<void>): Promise<void>;
  /** stop trying for the lock (shutdown) */
  stopCampaign(): Promise<void>;
  /** give the lock back (last step of a clean shutdown) */
  release(): Promise<void>;
  /** PostgreSQL: the Telegram updates followers took on the webhook, for the leader's bot */
  readonly telegramRelay: TelegramRelayStore | null;
}

export async function startDesk(o: {
  readonly app: App;
  readonly config: AppConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly readiness: Readiness;
  readonly leadDuties: () => Promise<void>;
  readonly leader?: DeskLeaderOptions;
}): Promise<Desk> {
  if (!isPostgresUrl(o.config.env.DATABASE_URL)) {
    await o.leadDuties();
    return { role: () => 'leader', whenLeader: (fn) => fn(), stopCampaign: async () => {}, release: async () => {}, telegramRelay: null };
  }
  // pg is loaded only on a desk (npm start on SQLite never imports it: issue 17, Memory)
  const store = o.app.store as PgStore;
  const { PgLeaderElector } = await import('./store/pg.leader.js');
  const { PgTelegramRelay } = await import('./store/pg.relay.js');
  const telegramRelay = new PgTelegramRelay(store.pool);
  let relayServer: TelegramRelayServer | null = null;
  const hooks: (() => Promise<void>)[] = [];
  let elected = false;
  const log = o.logger.child({ component: 'leader' });
  const elector = new PgLeaderElector({
    url: o.config.env.DATABASE_URL,
    store,
    clock: o.clock,
    logger: log,
    ...(o.leader?.pollMs !== undefined ? { pollMs: o.leader.pollMs } : {}),
    ...(o.leader?.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: o.leader.sessionTimeoutMs } : {}),
    ...(o.leader?.holder !== undefined ? { holder: o.leader.holder } : {}),
    onElected: async () => {
      // the leader's own bot serves the webhook port from now on (startFrontEnds, via whenLeader)
      await relayServer?.close();
      relayServer = null;
      await o.leadDuties();
      elected = true;
      for (const fn of hooks.splice(0)) await fn();
    },
    onLost:
      o.leader?.onLost ??
      ((why) => {
        log.error({ why, exitCode: LEADERSHIP_LOST_EXIT_CODE }, 'leadership lost: exiting so that a supervisor restarts this process as a follower');
        process.exit(LEADERSHIP_LOST_EXIT_CODE);
      }),
  });
  // the broker session writes nothing unless this process leads with a confirmed lock
  o.app.setSendGate(() => elector.sendCheck());
  const role = await elector.attempt();
  if (role !== 'leader') {
    for (const part of ['bot', 'alerts', 'jobs']) o.readiness.set(part, 'on-leader');
    log.info({ holder: elector.holder }, 'follower: serving intake; the leader process holds the broker session (this one keeps trying for the lock)');
    relayServer = await startFollowerWebhook(o, telegramRelay, elector.holder);
    elector.start();
  }
  return {
    role: () => elector.role,
    whenLeader: async (fn) => {
      if (elected) return fn();
      hooks.push(fn);
    },
    stopCampaign: async () => {
      await relayServer?.close();
      relayServer = null;
      if (elector.role !== 'leader') await elector.stop();
    },
    release: () => elector.stop(),
    telegramRelay,
  };
}

/** A follower serves the bot webhook (when one is configured) by storing updates for the leader. */
async function startFollowerWebhook(o: { readonly config: AppConfig; readonly clock: Clock; readonly logger: Logger }, inbox: TelegramRelayStore, holder: string): Promise<TelegramRelayServer | null> {
  const env = o.config.env;
  if (!env.TELEGRAM_BOT_TOKEN || !env.TELEGRAM_WEBHOOK_URL || !env.TELEGRAM_WEBHOOK_SECRET) return null;
  const { startTelegramRelay } = await import('./http/telegram-relay.server.js');
  return startTelegramRelay({ webhook: { url: env.TELEGRAM_WEBHOOK_URL, secret: env.TELEGRAM_WEBHOOK_SECRET, port: env.TELEGRAM_WEBHOOK_PORT }, inbox, holder, clock: o.clock, logger: o.logger });
}

/**
 * Running the bot: long polling (default) or a webhook (own node:http server), plus the
 * card syncer. `startBot` returns at once — Telegram being down never blocks or crashes
 * start-up. Identity (getMe, unless `botInfo` was given), setMyCommands, deleteWebhook /
 * setWebhook and polling are retried in the background with backoff, and logged.
 *
 * Long polling uses grammY's runner (@grammyjs/runner): updates are fetched while earlier
 * ones are still being handled and are handled concurrently (per-chat order comes from the
 * bot's `sequentialize`), so one slow update never holds up the rest (SAFE-4). The runner
 * confirms offsets with its next fetch; on stop we confirm what was taken ourselves, like
 * bot.stop() does, so a restart does not handle those updates again.
 */
import { run, type RunnerHandle } from '@grammyjs/runner';
import { webhookCallback, type Api } from 'grammy';
import type { Update } from 'grammy/types';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ALLOWED_UPDATES, type PhoenixBot } from './bot.js';
import { botCommandList } from './commands.js';
import { createTelegramApi } from './telegram-api.js';
import { describeTelegramError } from './telegram-errors.js';

export interface RunningBot {
  readonly mode: 'polling' | 'webhook';
  /** resolves once updates flow (polling started / webhook set); never rejects */
  readonly ready: Promise<void>;
  /** webhook mode: where our HTTP server listens */
  readonly webhookServer?: { readonly host: string; readonly port: number; readonly path: string };
  /** updates being handled right now */
  busy(): number;
  stop(): Promise<void>;
}

export interface StartBotOptions {
  /** default: 'webhook' when the config has a webhook, else 'polling' */
  readonly mode?: 'polling' | 'webhook';
  /** start the card syncer too (default true) */
  readonly syncCards?: boolean;
  /** a desk on PostgreSQL: updates its followers received on the webhook, handled here (the leader) */
  readonly relay?: RelaySource;
}

/** Where the leader's bot takes the updates a follower stored (src/store/pg.relay.ts). */
export interface RelaySource {
  take(limit: number, at: number): Promise<unknown[]>;
  /** forget updates taken before this time (run hourly; Telegram never re-delivers an answered update) */
  prune?(takenBefore: number): Promise<number>;
  /** how often to look when nothing waits (default 100 ms: /halt through a follower stays fast) */
  readonly pollMs?: number;
}

const RELAY_BATCH = 50;
const RELAY_PRUNE_EVERY_MS = 3_600_000;
const RELAY_KEEP_MS = 86_400_000;

/** grammY types signals with the abort-controller shim; at run time they are Node's own. */
type GrammySignal = Parameters<Api['getMe']>[0];
const grammySignal = (s: AbortSignal): GrammySignal => s as unknown as GrammySignal;

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Resolve after `p` settles or `ms` passes, whichever is first (shutdown must not hang). */
const bounded = (p: Promise<unknown>, ms: number): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
    p.then(
      () => resolve(),
      () => resolve(),
    ).finally(() => clearTimeout(t));
  });

export async function startBot(phoenix: PhoenixBot, opts: StartBotOptions = {}): Promise<RunningBot> {
  const { bot, syncer, deps } = phoenix;
  const log = phoenix.services.logger;
  const cfg = deps.config;
  const o = deps.options ?? {};
  const mode = opts.mode ?? (cfg.webhook ? 'webhook' : 'polling');
  const minDelay = o.startRetryMs?.min ?? 1000;
  const maxDelay = o.startRetryMs?.max ?? 30_000;
  const stopping = new AbortController();
  // A bare client (no auto-retry) for start-up probes: fail fast, retry on our own schedule.
  const probe = createTelegramApi(cfg.token, { ...(cfg.apiRoot ? { apiRoot: cfg.apiRoot } : {}), timeoutSeconds: 15, secrets: [cfg.webhook?.secret] });

  /** messages already queued get a moment to leave; then waiting ones are dropped (cards stay in the outbox) */
  const drainSends = async () => {
    await bounded(phoenix.paced.idle(), 1000);
    phoenix.paced.close();
  };

  let markReady: () => void = () => {};
  const ready = new Promise<void>((r) => (markReady = r));
  let commandsSet = false;

  const identify = async (): Promise<void> => {
    if (!bot.isInited()) {
      bot.botInfo = await probe.getMe(grammySignal(stopping.signal));
      log.info({ username: bot.botInfo.username }, 'Telegram reachable');
    }
    if (!commandsSet) {
      // best effort: a failure here must not stop the bot
      await bot.api
        .setMyCommands(botCommandList(phoenix.commands))
        .then(() => (commandsSet = true))
        .catch((e: unknown) => log.warn({ err: describeTelegramError(e) }, 'setMyCommands failed; will try again on the next start'));
    }
  };

  /** Run `attempt` until it succeeds or the bot stops, with doubling backoff. */
  const retrying = async (what: string, attempt: () => Promise<void>): Promise<void> => {
    let delay = minDelay;
    while (!stopping.signal.aborted) {
      try {
        await attempt();
        return;
      } catch (e) {
        if (stopping.signal.aborted) return;
        log.warn({ err: describeTelegramError(e), retryInMs: delay }, `${what} failed; retrying (the rest of Phoenix keeps running)`);
        await sleep(delay, stopping.signal);
        delay = Math.min(maxDelay, delay * 2);
      }
    }
  };

  if (opts.syncCards !== false) {
    syncer.start();
    phoenix.countdown.start();
  }

  // A desk's followers store webhook updates; the leader handles them like its own, concurrently
  // (per-chat order and /halt's fast lane come from the bot's middlewares), once it is ready.
  let relayed = 0;
  const relayLoop = opts.relay
    ? (async (relay: RelaySource) => {
        await Promise.race([ready, new Promise((r) => stopping.signal.addEventListener('abort', r, { once: true }))]);
        let prunedAt = 0;
        while (!stopping.signal.aborted) {
          let got: unknown[] = [];
          try {
            if (relay.prune && Date.now() - prunedAt >= RELAY_PRUNE_EVERY_MS) {
              prunedAt = Date.now();
              await relay.prune(prunedAt - RELAY_KEEP_MS);
            }
            got = await relay.take(RELAY_BATCH, Date.now());
          } catch (e) {
            log.warn({ err: (e as Error).message }, 'taking relayed Telegram updates failed; trying again');
          }
          for (const u of got) {
            relayed++;
            void bot
              .handleUpdate(u as Update)
              .catch((e: unknown) => log.error({ err: describeTelegramError(e) }, 'relayed update failed'))
              .finally(() => relayed--);
          }
          if (got.length < RELAY_BATCH) await sleep(relay.pollMs ?? 100, stopping.signal);
        }
      })(opts.relay)
    : Promise.resolve();

  if (mode === 'polling') {
    let handle: RunnerHandle | null = null;
    const loop = retrying('Telegram long polling', async () => {
      await identify();
      if (stopping.signal.aborted) return;
      await probe.deleteWebhook({ drop_pending_updates: false }, grammySignal(stopping.signal)); // getUpdates answers 409 while one is set
      if (stopping.signal.aborted) return;
      handle = run(bot, {
        runner: { fetch: { timeout: o.pollTimeoutSeconds ?? 30, allowed_updates: [...ALLOWED_UPDATES] }, silent: true, maxRetryTime: 5000, retryInterval: 'exponential' },
        sink: { concurrency: o.concurrency ?? 100 },
      });
      log.info({ mode }, 'Telegram bot polling');
      markReady();
      // resolves when stopped; rejects when fetching keeps failing (then we log and start again)
      await handle.task();
      if (!stopping.signal.aborted) throw new Error('long polling ended unexpectedly');
    });
    return {
      mode,
      ready,
      busy: () => ((handle as RunnerHandle | null)?.size() ?? 0) + relayed,
      async stop() {
        stopping.abort();
        await bounded(relayLoop, 5000);
        const h = handle as RunnerHandle | null;
        if (h?.isRunning()) await bounded(h.stop(), 5000);
        await bounded(loop, 5000);
        const last = phoenix.lastUpdateId();
        if (last !== null) await bounded(probe.getUpdates({ offset: last + 1, limit: 1, timeout: 0 }), 2000);
        await bounded(phoenix.countdown.stop(), 5000);
        await drainSends();
        await bounded(syncer.stop(), 5000);
      },
    };
  }

  // Webhook mode.
  const wh = cfg.webhook;
  if (!wh) throw new Error('webhook mode needs config.webhook (TELEGRAM_WEBHOOK_URL, TELEGRAM_WEBHOOK_SECRET)');
  const path = new URL(wh.url).pathname || '/';
  const handle = webhookCallback(bot, 'http', { secretToken: wh.secret, timeoutMilliseconds: 9000 });
  let inFlight = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://webhook.local');
    if (req.method !== 'POST' || url.pathname !== path) {
      res.writeHead(404).end();
      return;
    }
    // Error boundary around grammY's adapter: a failing update never takes the process down.
    inFlight++;
    handle(req, res)
      .catch((e: unknown) => {
        log.error({ err: describeTelegramError(e) }, 'webhook update failed');
        if (!res.headersSent) res.writeHead(500).end();
        else if (!res.writableEnded) res.end();
      })
      .finally(() => inFlight--);
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  const host = wh.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(wh.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ host, port, path }, 'Telegram webhook server listening');
  const setup = retrying('Telegram setWebhook', async () => {
    await identify();
    if (stopping.signal.aborted) return;
    await probe.setWebhook(wh.url, { secret_token: wh.secret, allowed_updates: [...ALLOWED_UPDATES], drop_pending_updates: false }, grammySignal(stopping.signal));
    log.info({ mode }, 'Telegram webhook set');
    markReady();
  });
  return {
    mode,
    ready,
    webhookServer: { host, port, path },
    busy: () => inFlight + relayed,
    async stop() {
      stopping.abort();
      await bounded(relayLoop, 5000);
      await bounded(setup, 5000);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await bounded(phoenix.countdown.stop(), 5000);
      await drainSends();
      await bounded(syncer.stop(), 5000);
    },
  };
}

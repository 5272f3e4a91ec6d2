/**
 * The Telegram bot (SPEC 5, 12) on grammY, built from injected dependencies.
 *
 *   const phoenix = createBot({ engine, config, logger });
 *   const running = await startBot(phoenix);   // long polling, or a webhook when configured
 *   …
 *   await running.stop();
 *
 * Updates are handled CONCURRENTLY (runner.ts: @grammyjs/runner for long polling; a webhook
 * request per update), in order per chat (`sequentialize`): two taps on one card, or a
 * command and its follow-up, never overlap, and replies keep their order. /halt is the one
 * update that skips the chat's queue: it acts at once, whatever the chat is waiting for.
 *
 * Handlers act, then QUEUE what they say (services.ts → paced-sender.ts → the chat budget,
 * src/alerts/chat-budget.ts, shared with the alert sender): nothing in an update handler
 * waits for Telegram, so a reply sitting out a 429 never holds up the next update (SAFE-4).
 * Kill confirmations go out first, then cards, then the rest.
 *
 * Middleware order (middlewares.ts, each a named function): duplicate-update filter → per-chat order → callback answer guard (every
 * callback query is answered, whatever happens) → access gate (strangers and unknown chats
 * get nothing and leave an ACCESS_DENIED bead) → per-user rate limit → features (the command
 * table, button taps) inside an error boundary. `bot.catch` logs anything that still escapes.
 *
 * Other API calls (answers, getMe, setMyCommands, getUpdates) go through bounded auto-retry
 * and an overall per-call deadline. Every client is guarded by telegram-api.ts: its errors
 * never carry the token (SAFE-6). Telegram being unreachable never crashes the process and
 * never blocks start-up: getMe/setWebhook/polling retry in the background.
 */
import { autoRetry } from '@grammyjs/auto-retry';
import { Bot, type Transformer } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import { resolve } from 'node:path';
import { ChatBudget, type PacingLimits } from '../alerts/chat-budget.js';
import type { CardRecord, Clock, Engine, Logger } from '../engine/index.js';
import { systemClock } from '../runtime/system-clock.js';
import { AccessPolicy, type AccessConfig } from './access.js';
import { COMMANDS, type CommandRow } from './commands.js';
import type { BotContext, BotServices } from './context.js';
import { accessGate, answerEveryCallback, dropDuplicates, features, inChatOrder, rateLimit, reportFailure, UpdateLog } from './middlewares.js';
import { PacedSender } from './paced-sender.js';
import { createServices } from './services.js';
import { CardCountdown } from './countdown.js';
import { CardSyncer } from './syncer.js';
import { createTelegramApi, guardApi } from './telegram-api.js';
import { describeTelegramError } from './telegram-errors.js';

export { isHaltCommand } from './middlewares.js';

export interface WebhookConfig {
  /** public HTTPS URL Telegram posts to (TELEGRAM_WEBHOOK_URL); its path is served locally */
  readonly url: string;
  /** TELEGRAM_WEBHOOK_SECRET, checked on every request (X-Telegram-Bot-Api-Secret-Token) */
  readonly secret: string;
  /** local port of our HTTP server (TELEGRAM_WEBHOOK_PORT; 0 = ephemeral, tests) */
  readonly port: number;
  /** local address (default 0.0.0.0; put a TLS-terminating proxy in front) */
  readonly host?: string;
}

export interface BotConfig extends AccessConfig {
  readonly token: string;
  /** TELEGRAM_API_ROOT: a self-hosted Bot API server, or the sandbox (no trailing slash) */
  readonly apiRoot?: string;
  /** webhook mode when set (TELEGRAM_WEBHOOK_URL); long polling otherwise */
  readonly webhook?: WebhookConfig;
}

export interface BotOptions {
  /** card syncer poll interval (default 1000 ms) */
  readonly syncEveryMs?: number;
  /** keep open cards' time left true in place (countdown.ts; default true) */
  readonly countdown?: boolean;
  /** per-user commands and taps: `burst` at once, one more every `refillMs` (default 10 / 3000 ms of engine time) */
  readonly rateLimit?: { readonly burst: number; readonly refillMs: number };
  /** ACCESS_DENIED beads per stranger (default 5 / 12 000 ms) */
  readonly auditLimit?: { readonly burst: number; readonly refillMs: number };
  /** how long a tap waits for the engine before answering "working on it" (default 2000 ms) */
  readonly decisionWaitMs?: number;
  /** one HTTP request to the Bot API (default 60 s; getUpdates long-polls 30 s) */
  readonly requestTimeoutSeconds?: number;
  /** one API call including all its retries, except getUpdates (default 150 s) */
  readonly callDeadlineMs?: number;
  /** bounded auto-retry (default 5 attempts, retry_after up to 60 s) */
  readonly retry?: { readonly maxRetryAttempts: number; readonly maxDelaySeconds: number };
  /** background start retry backoff (default 1 s doubling to 30 s) */
  readonly startRetryMs?: { readonly min: number; readonly max: number };
  /** where /runbook reads RB-*.md (default ./runbooks) */
  readonly runbooksDir?: string;
  /** long-poll timeout in seconds (default 30) */
  readonly pollTimeoutSeconds?: number;
  /** one paced send or edit (default 10 s): the chat's next message waits for it */
  readonly sendTimeoutSeconds?: number;
  /** Telegram's flood limits for the bot's own budget (default TELEGRAM_PACING; false = none, e.g. a test Bot API without limits) */
  readonly pacing?: Partial<PacingLimits> | false;
  /** the clock Telegram's limits and retry_after run on (default the wall clock; tests: the sandbox's FakeClock) */
  readonly telegramClock?: Clock;
  /** the clock of the card syncer's poll and per-card backoff (default the wall clock; the simulator: its FakeClock) */
  readonly syncClock?: Clock;
  /** updates handled at once (default 100) */
  readonly concurrency?: number;
}

export interface BotDeps {
  readonly engine: Engine;
  readonly config: BotConfig;
  readonly logger: Logger;
  /** known bot identity: no getMe needed to start */
  readonly botInfo?: UserFromGetMe;
  readonly options?: BotOptions;
  /** API transformers installed innermost, before auto-retry (tests, metrics) */
  readonly transformers?: readonly Transformer[];
  /** the per-chat budget to draw from: pass the alert sender's so both share it (default: a new one from `options`) */
  readonly budget?: ChatBudget;
  /** metrics: cards shown, /halt latency */
  readonly observer?: BotObserver;
}

/** What the bot reports for metrics (src/metrics); calls are O(1) and never throw into a handler. */
export interface BotObserver {
  /** the trade card of `intentId` reached the chat for the first time */
  cardShown(intentId: string): void;
  /** /halt: update received → the kill flag is set */
  haltObserved(seconds: number): void;
}

export interface PhoenixBot {
  readonly bot: Bot<BotContext>;
  readonly syncer: CardSyncer;
  /** keeps an open card's "4:12 left" true in place (countdown.ts) */
  readonly countdown: CardCountdown;
  readonly access: AccessPolicy;
  readonly commands: readonly CommandRow[];
  readonly services: BotServices;
  readonly deps: BotDeps;
  /** the per-chat send budget (give it to the AlertSender: one budget per chat) */
  readonly budget: ChatBudget;
  readonly paced: PacedSender;
  /** highest update id this bot has taken (long polling confirms it on stop) */
  lastUpdateId(): number | null;
}

export const ALLOWED_UPDATES = ['message', 'callback_query'] as const;

/** Bound every call (with its retries) in time; getUpdates is bounded by its own timeout. */
export const callDeadline =
  (ms: number): Transformer =>
  (prev, method, payload, signal) => {
    if (method === 'getUpdates' || ms <= 0) return prev(method, payload, signal);
    const timeout = AbortSignal.timeout(ms);
    // grammY types its signals with the abort-controller shim; at run time they are Node's
    const combined = signal ? AbortSignal.any([signal as unknown as AbortSignal, timeout]) : timeout;
    return prev(method, payload, combined as unknown as typeof signal);
  };

export function createBot(deps: BotDeps): PhoenixBot {
  const { engine, config, logger } = deps;
  const o = deps.options ?? {};
  const log = logger.child({ component: 'bot' });
  const secrets = [config.webhook?.secret];
  const bot = new Bot<BotContext>(config.token, {
    ...(deps.botInfo ? { botInfo: deps.botInfo } : {}),
    client: { ...(config.apiRoot ? { apiRoot: config.apiRoot } : {}), timeoutSeconds: o.requestTimeoutSeconds ?? 60 },
  });
  guardApi(bot.api, config.token, secrets); // innermost: errors leave grammY secret-free
  for (const t of deps.transformers ?? []) bot.api.config.use(t);
  // rethrowHttpErrors: auto-retry otherwise retries a network error (no answer at all) forever,
  // whatever maxRetryAttempts says, sleeping on the wall clock; here a network error reaches the
  // caller, which has its own plan (an answer is logged and dropped: Telegram refuses one older
  // than ~15 s anyway; getMe/setWebhook/getUpdates retry in the background with their backoff).
  // No retries at all means no sleep either: auto-retry would still wait 3 s before giving up on a 5xx.
  const retries = o.retry?.maxRetryAttempts ?? 5;
  bot.api.config.use(autoRetry({ maxRetryAttempts: retries, maxDelaySeconds: o.retry?.maxDelaySeconds ?? 60, rethrowHttpErrors: true, rethrowInternalServerErrors: retries === 0 }));
  bot.api.config.use(callDeadline(o.callDeadlineMs ?? 150_000));

  // Messages into chats: their own client WITHOUT auto-retry (a 429 waits in the chat budget).
  const budget = deps.budget ?? new ChatBudget({ clock: o.telegramClock ?? systemClock, ...(o.pacing !== undefined ? { limits: o.pacing } : {}) });
  const sendApi = createTelegramApi(config.token, { ...(config.apiRoot ? { apiRoot: config.apiRoot } : {}), timeoutSeconds: o.sendTimeoutSeconds ?? 10, secrets });
  for (const t of deps.transformers ?? []) sendApi.config.use(t);
  const paced = new PacedSender(sendApi, budget);

  const access = new AccessPolicy(config);
  const observer = deps.observer;
  const syncer = new CardSyncer(paced, engine, log, { everyMs: o.syncEveryMs ?? 1000, ...(o.syncClock ? { clock: o.syncClock } : {}), ...(observer ? { onShown: (card: CardRecord) => card.kind === 'TRADE' && observer.cardShown(card.subjectId) } : {}) });
  const countdown = new CardCountdown(paced, engine, log, { enabled: o.countdown ?? true });
  const services = createServices({
    engine,
    access,
    logger: log,
    paced,
    runbooksDir: o.runbooksDir ?? resolve(process.cwd(), 'runbooks'),
    decisionWaitMs: o.decisionWaitMs ?? 2000,
    rateLimit: o.rateLimit ?? { burst: 10, refillMs: 3000 },
    auditLimit: o.auditLimit ?? { burst: 5, refillMs: 12_000 },
    kickSyncer: () => syncer.kick(),
  });

  const updates = new UpdateLog();
  bot.use(dropDuplicates(updates, log, observer !== undefined));
  bot.use(inChatOrder());
  bot.use(answerEveryCallback(log));
  bot.use(accessGate(access, services, log));
  bot.use(rateLimit(services.commandLimiter, services, log));
  const hooks = { afterCommand: () => syncer.kick(), ...(observer ? { haltObserved: (sec: number) => observer.haltObserved(sec) } : {}) };
  bot.errorBoundary(reportFailure(services, log), features(services, updates, hooks, log));

  bot.catch((err) => {
    log.error({ err: describeTelegramError(err.error), updateId: err.ctx?.update?.update_id }, 'bot error');
  });

  return { bot, syncer, countdown, access, commands: COMMANDS, services, deps, budget, paced, lastUpdateId: () => updates.lastUpdateId };
}

/**
 * The composition root's front half (src/service.ts is the other): the chat — real Telegram
 * or the local sandbox, which is started here — the bot on it, and the alert sender sharing
 * the bot's per-chat send budget. `startFrontEnds` runs on a started service, in the leader
 * process (src/service.desk.ts), and marks bot and alerts in the service's readiness.
 */
import { AlertSender } from './alerts/index.js';
import { createGrammyAlertTransport } from './bot/alert.transport.js';
import { createBot, type BotConfig, type BotDeps, type BotOptions, type PhoenixBot } from './bot/bot.js';
import { sandboxBotConfig, sandboxRefusal, SANDBOX_TOKEN, SANDBOX_USERS, telegramBotConfig } from './bot/launch.js';
import { startBot, type RelaySource, type RunningBot } from './bot/runner.js';
import { meteredAlertTransport, telegramMetricsTransformer } from './bot/telegram.metrics.js';
import type { AppConfig } from './config/load.js';
import type { Engine, Logger } from './engine/index.js';
import { startSandbox, type Sandbox } from './sandbox/server.js';
import type { Service } from './service.js';
import type { AppDeps } from './app.js';

export interface TelegramHandle {
  readonly label: 'telegram' | 'sandbox';
  readonly phoenix: PhoenixBot;
  readonly running: RunningBot;
  readonly sandbox?: Sandbox;
  /** lines for the start-up banner (no secrets) */
  readonly banner: readonly string[];
  /** where the alert sender delivers (same Bot API as the bot; the token is a secret); give it `phoenix.budget` too */
  readonly api: { readonly token: string; readonly apiRoot?: string };
  stop(): Promise<void>;
}

export interface LaunchOptions {
  readonly config: AppConfig;
  readonly engine: Engine;
  readonly logger: Logger;
  /** override SANDBOX_PORT (0 = ephemeral; tests) */
  readonly sandboxPort?: number;
  readonly botOptions?: BotOptions;
  /** metrics: the bot's observer and API transformers (src/metrics) */
  readonly observer?: BotDeps['observer'];
  readonly transformers?: BotDeps['transformers'];
  /** a desk's leader: the updates its followers took on the webhook (src/store/pg.relay.ts) */
  readonly relay?: RelaySource;
}

export interface FrontEndOptions {
  readonly logger: AppDeps['logger'];
  readonly clock: AppDeps['clock'];
  /** override SANDBOX_PORT (0 = ephemeral; tests) */
  readonly sandboxPort?: number;
  readonly botOptions?: BotOptions;
  /** how long to wait for the bot to poll before returning anyway (default 5000 ms) */
  readonly botReadyWaitMs?: number;
  /** how often the leader's bot looks for updates a follower relayed (default 100 ms) */
  readonly relayPollMs?: number;
}

export interface FrontEnds {
  readonly telegram: TelegramHandle;
  readonly alerts: AlertSender;
  /** the bot was receiving updates when startFrontEnds returned (else /healthz waits for it) */
  readonly botReady: boolean;
  stop(): Promise<void>;
}

/**
 * The bot (Telegram or the local sandbox) and the alert sender, on a started service. Marks
 * them in the service's readiness: the bot once updates flow, the sender once it runs.
 */
export async function startFrontEnds(service: Service, opts: FrontEndOptions): Promise<FrontEnds> {
  const { config, app, readiness, metrics } = service;
  const telegram = await launchTelegram({
    config,
    engine: app.engine,
    logger: opts.logger,
    observer: metrics,
    transformers: [telegramMetricsTransformer(metrics, 'bot')],
    ...(opts.sandboxPort !== undefined ? { sandboxPort: opts.sandboxPort } : {}),
    ...(opts.botOptions ? { botOptions: opts.botOptions } : {}),
    ...(service.telegramRelay ? { relay: { take: (limit, at) => service.telegramRelay!.take(limit, at), prune: (before) => service.telegramRelay!.prune(before), ...(opts.relayPollMs ? { pollMs: opts.relayPollMs } : {}) } } : {}),
  });
  let stopped = false;
  let botReady = false;
  const polling = telegram.running.ready.then(() => {
    botReady = true;
    if (!stopped) readiness.set('bot', 'running');
  });
  // Alerts (blocked notices, drift, stalls, connection, heartbeat …) leave the outbox here.
  const alerts = new AlertSender({
    store: app.store,
    clock: opts.clock,
    logger: opts.logger.child({ component: 'alerts' }),
    chatId: app.engine.info.chatId,
    transport: meteredAlertTransport(createGrammyAlertTransport(telegram.api), metrics),
    budget: telegram.phoenix.budget, // one budget per chat: cards, replies and alerts, by priority
    render: { timeZone: app.engine.info.timeZone }, // alert times in the constitution's zone
    levels: config.alerts ?? {},
    observer: { messageSent: (severity, silent) => metrics.alertMessageSent(severity, silent), suppressed: (type, n) => metrics.alertsOff(type, n) },
  });
  try {
    await alerts.start();
  } catch (e) {
    await telegram.stop();
    throw e;
  }
  readiness.set('alerts', 'running');
  // So "Phoenix is running" normally means ready; an unreachable Telegram delays it only this long.
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, opts.botReadyWaitMs ?? 5000);
    void polling.then(() => (clearTimeout(t), resolve()));
  });
  return {
    telegram,
    alerts,
    botReady,
    async stop() {
      stopped = true;
      readiness.set('bot', 'stopped');
      readiness.set('alerts', 'stopped');
      await alerts.stop();
      await telegram.stop();
    },
  };
}

/** The bot for one Bot API (real Telegram or the sandbox): the same wiring, another config. */
function botOf(opts: LaunchOptions, config: BotConfig): PhoenixBot {
  return createBot({
    engine: opts.engine,
    logger: opts.logger,
    options: opts.botOptions ?? {},
    ...(opts.observer ? { observer: opts.observer } : {}),
    ...(opts.transformers ? { transformers: opts.transformers } : {}),
    config,
  });
}

export async function launchTelegram(opts: LaunchOptions): Promise<TelegramHandle> {
  const env = opts.config.env;
  const chatId = opts.engine.info.chatId;
  if (env.TELEGRAM_BOT_TOKEN) {
    const phoenix = botOf(opts, telegramBotConfig(env, chatId, env.TELEGRAM_BOT_TOKEN));
    const running = await startBot(phoenix, opts.relay ? { relay: opts.relay } : {});
    const where = env.TELEGRAM_API_ROOT ? `Bot API at ${env.TELEGRAM_API_ROOT}` : 'api.telegram.org';
    const banner = [
      `  telegram: ${running.mode === 'webhook' ? `webhook (local port ${running.webhookServer?.port ?? env.TELEGRAM_WEBHOOK_PORT})` : 'long polling'} via ${where}; cards go to chat ${chatId}`,
      `            approvers ${env.TELEGRAM_APPROVERS.length}, admins ${env.TELEGRAM_ADMINS.length}, viewers ${env.TELEGRAM_VIEWERS.length}`,
    ];
    return { label: 'telegram', phoenix, running, banner, api: { token: env.TELEGRAM_BOT_TOKEN, ...(env.TELEGRAM_API_ROOT ? { apiRoot: env.TELEGRAM_API_ROOT } : {}) }, stop: () => running.stop() };
  }

  const refusal = sandboxRefusal(env, opts.engine);
  if (refusal) throw new Error(`refusing to start: ${refusal}`);
  const port = opts.sandboxPort ?? env.SANDBOX_PORT;
  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox({
      host: env.SANDBOX_HOST,
      port,
      console: {
        chatId: Number(chatId),
        timeZone: opts.engine.info.timeZone,
        users: [
          { label: 'approver', id: SANDBOX_USERS.approver },
          { label: 'admin', id: SANDBOX_USERS.admin },
          { label: 'stranger', id: SANDBOX_USERS.stranger },
        ],
      },
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new Error(`sandbox port ${env.SANDBOX_HOST}:${port} is in use: is Phoenix already running? (or set SANDBOX_PORT)`);
    throw e;
  }
  sandbox.addChat({ id: Number(chatId), title: 'Phoenix (sandbox)' });
  const phoenix = botOf(opts, sandboxBotConfig(env, chatId, sandbox.apiRoot));
  const running = await startBot(phoenix, { mode: 'polling' });
  const banner = [
    `  telegram: none configured (no TELEGRAM_BOT_TOKEN) — local SANDBOX chat: ${sandbox.url}`,
    `            open it in a browser: approver ${SANDBOX_USERS.approver}, admin ${SANDBOX_USERS.admin}, stranger ${SANDBOX_USERS.stranger}; cards arrive in chat ${chatId}`,
    `            sandbox Bot API root: ${sandbox.apiRoot}`,
  ];
  return {
    label: 'sandbox',
    phoenix,
    running,
    sandbox,
    banner,
    api: { token: SANDBOX_TOKEN, apiRoot: sandbox.apiRoot },
    async stop() {
      await running.stop();
      await sandbox.close();
    },
  };
}

/**
 * Wiring the bot for `npm start` (SPEC 2, 12): with TELEGRAM_BOT_TOKEN, the real Telegram
 * (or TELEGRAM_API_ROOT), long polling or a webhook; without it, the local sandbox on
 * SANDBOX_HOST:SANDBOX_PORT (default 127.0.0.1:8788) with console users approver 1001,
 * admin 1002 and stranger 666 in the main chat, and the real bot running against it.
 */
import type { AppConfig } from '../config/load.js';
import type { Engine, Logger } from '../engine/index.js';
import { startSandbox, type Sandbox } from '../sandbox/server.js';
import { createBot, type BotConfig, type BotDeps, type BotOptions, type PhoenixBot } from './bot.js';
import { startBot, type RelaySource, type RunningBot } from './runner.js';

export const SANDBOX_TOKEN = '7000000001:PHOENIX-SANDBOX';
export const SANDBOX_USERS = { approver: 1001, admin: 1002, stranger: 666 } as const;

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

/**
 * INV-SANDBOX-PAPER-1, second line (config validation is the first): the sandbox lets anyone
 * at this machine tap APPROVE as any user, so it never runs in front of IBKR or real money,
 * whatever built the config. Checks what the engine actually runs, not only what was asked.
 */
export function sandboxRefusal(env: AppConfig['env'], engine: Engine): string | null {
  const broker = engine.info.brokerName;
  const mode = engine.info.mode;
  if (env.BROKER === 'sim' && broker === 'sim' && env.TRADING_MODE !== 'live' && mode !== 'live') return null;
  return `the local sandbox chat runs only with the simulated broker in paper or observe mode (this is broker ${broker}, ${mode} mode): set TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID and TELEGRAM_APPROVERS for real Telegram, or use BROKER=sim TRADING_MODE=paper`;
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
    const phoenix = botOf(opts, {
      token: env.TELEGRAM_BOT_TOKEN,
      ...(env.TELEGRAM_API_ROOT ? { apiRoot: env.TELEGRAM_API_ROOT } : {}),
      chatId,
      approvers: env.TELEGRAM_APPROVERS,
      admins: env.TELEGRAM_ADMINS,
      viewers: env.TELEGRAM_VIEWERS,
      ...(env.TELEGRAM_WEBHOOK_URL && env.TELEGRAM_WEBHOOK_SECRET ? { webhook: { url: env.TELEGRAM_WEBHOOK_URL, secret: env.TELEGRAM_WEBHOOK_SECRET, port: env.TELEGRAM_WEBHOOK_PORT } } : {}),
    });
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
  const phoenix = botOf(opts, {
    token: SANDBOX_TOKEN,
    apiRoot: sandbox.apiRoot,
    chatId,
    approvers: env.TELEGRAM_APPROVERS.length ? env.TELEGRAM_APPROVERS : [String(SANDBOX_USERS.approver)],
    admins: env.TELEGRAM_ADMINS.length ? env.TELEGRAM_ADMINS : [String(SANDBOX_USERS.admin)],
    viewers: env.TELEGRAM_VIEWERS,
  });
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

/**
 * What the bot needs to know to run for `npm start` (SPEC 2, 12): with TELEGRAM_BOT_TOKEN, the
 * real Telegram (or TELEGRAM_API_ROOT), long polling or a webhook; without it, the local
 * sandbox's Bot API, with console users approver 1001, admin 1002 and stranger 666. Starting
 * the sandbox and the bot is the composition root's (src/service.front.ts).
 */
import type { AppConfig } from '../config/load.js';
import type { Engine } from '../engine/index.js';
import type { BotConfig } from './bot.js';

export const SANDBOX_TOKEN = '7000000001:PHOENIX-SANDBOX';
export const SANDBOX_USERS = { approver: 1001, admin: 1002, stranger: 666 } as const;

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

/** The bot on the real Telegram (TELEGRAM_BOT_TOKEN set). */
export function telegramBotConfig(env: AppConfig['env'], chatId: string, token: string): BotConfig {
  return {
    token,
    ...(env.TELEGRAM_API_ROOT ? { apiRoot: env.TELEGRAM_API_ROOT } : {}),
    chatId,
    approvers: env.TELEGRAM_APPROVERS,
    admins: env.TELEGRAM_ADMINS,
    viewers: env.TELEGRAM_VIEWERS,
    ...(env.TELEGRAM_WEBHOOK_URL && env.TELEGRAM_WEBHOOK_SECRET ? { webhook: { url: env.TELEGRAM_WEBHOOK_URL, secret: env.TELEGRAM_WEBHOOK_SECRET, port: env.TELEGRAM_WEBHOOK_PORT } } : {}),
  };
}

/** The bot on the local sandbox's Bot API: the sandbox's console users unless the env names people. */
export function sandboxBotConfig(env: AppConfig['env'], chatId: string, apiRoot: string): BotConfig {
  return {
    token: SANDBOX_TOKEN,
    apiRoot,
    chatId,
    approvers: env.TELEGRAM_APPROVERS.length ? env.TELEGRAM_APPROVERS : [String(SANDBOX_USERS.approver)],
    admins: env.TELEGRAM_ADMINS.length ? env.TELEGRAM_ADMINS : [String(SANDBOX_USERS.admin)],
    viewers: env.TELEGRAM_VIEWERS,
  };
}

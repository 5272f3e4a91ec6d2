/** Public entry of the Telegram bot (see bot.ts for the design). */
export { ALLOWED_UPDATES, createBot, type BotConfig, type BotDeps, type BotOptions, type PhoenixBot, type WebhookConfig } from './bot.js';
export { startBot, type RunningBot, type StartBotOptions } from './runner.js';
export { sandboxBotConfig, sandboxRefusal, SANDBOX_TOKEN, SANDBOX_USERS, telegramBotConfig } from './launch.js';
export { COMMANDS, botCommandList, type CommandRow } from './commands.js';
export { CardSyncer } from './syncer.js';
export { encodeCallback, parseCallback } from './callback-data.js';
export { renderCard } from './render/card.js';

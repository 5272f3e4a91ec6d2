import { Bot } from 'grammy';
import type { Sandbox } from '../../src/sandbox/server.js';

export const TOKEN = '123:abc';

export interface RunningBot {
  bot: Bot;
  /** errors that reached bot.catch */
  errors: unknown[];
  stop(): Promise<void>;
}

/**
 * A real grammY bot long-polling the sandbox. `setup` registers handlers before polling
 * starts; resolves once polling has begun (getMe + deleteWebhook done).
 */
export async function runBot(sandbox: Sandbox, setup: (bot: Bot) => void): Promise<RunningBot> {
  const bot = new Bot(TOKEN, { client: { apiRoot: sandbox.apiRoot } });
  const errors: unknown[] = [];
  setup(bot);
  bot.catch((err) => {
    errors.push(err.error);
  });
  let polling: Promise<void> = Promise.resolve();
  await new Promise<void>((resolve, reject) => {
    polling = bot.start({ allowed_updates: ['message', 'callback_query'], onStart: () => resolve() }).catch(reject);
  });
  return {
    bot,
    errors,
    async stop() {
      await bot.stop();
      await polling;
    },
  };
}

/** Resolve when the sandbox has a getUpdates call waiting (the bot is idle in a long poll). */
export const idlePoll = (sandbox: Sandbox) =>
  sandbox.waitFor(() => sandbox.calls.some((c) => c.method === 'getUpdates' && c.pending), {
    label: 'a pending getUpdates',
  });

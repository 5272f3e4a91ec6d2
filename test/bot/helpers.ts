/**
 * The real grammY bot, over HTTP, against the sandbox Bot API server, with the real engine
 * from makeHarness (SQLite file, FakeClock for engine time, sim broker).
 */
import { createBot, type BotOptions, type PhoenixBot } from '../../src/bot/bot.js';
import { startBot, type RunningBot } from '../../src/bot/runner.js';
import { parseCallback } from '../../src/bot/callback-data.js';
import { startSandbox, type Sandbox, type SandboxMessage, type SandboxOptions, type SandboxUser } from '../../src/sandbox/server.js';
import type { StoredBead } from '../../src/engine/beads.js';
import { CHAT_ID, makeHarness, type Harness } from '../support/harness.js';

export const TOKEN = '123:phoenix-test';
export const CHAT = Number(CHAT_ID);

/** alice + dave approvers, bob admin, carol viewer, mallory a stranger. */
export const PEOPLE = {
  alice: { id: 1001, first_name: 'Alice', username: 'alice' },
  bob: { id: 1002, first_name: 'Bob', username: 'bob' },
  carol: { id: 1003, first_name: 'Carol', username: 'carol' },
  dave: { id: 1004, first_name: 'Dave', username: 'dave' },
  mallory: { id: 666, first_name: 'Mallory', username: 'mallory' },
} as const;

export interface Rig {
  readonly h: Harness;
  readonly sandbox: Sandbox;
  readonly phoenix: PhoenixBot;
  readonly running: RunningBot | null;
  readonly alice: SandboxUser;
  readonly bob: SandboxUser;
  readonly carol: SandboxUser;
  readonly dave: SandboxUser;
  readonly mallory: SandboxUser;
  /** bot messages of a chat (default: the main chat) */
  botMessages(chat?: number): SandboxMessage[];
  /** wait for a bot message in a chat matching `pred` */
  waitMessage(pred: (m: SandboxMessage) => boolean, opts?: { chat?: number; timeoutMs?: number; label?: string }): Promise<SandboxMessage>;
  /** the card message (with buttons) of a card id */
  cardMessage(cardId: string): SandboxMessage | undefined;
  /** submit an intent and wait for its card message */
  proposeAndWaitCard(over?: Record<string, unknown>): Promise<{ intentId: string; cardId: string; message: SandboxMessage }>;
  beads(type?: string): Promise<StoredBead[]>;
  /** resolves when no card is dirty and the syncer is idle */
  outboxDrained(timeoutMs?: number): Promise<void>;
  /** resolves when the sandbox has no update for the bot, the bot handles none and has nothing left to send */
  quiet(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function makeRig(
  opts: {
    bot?: BotOptions;
    start?: boolean;
    sandbox?: SandboxOptions;
    /**
     * Telegram's flood limits on: the sandbox enforces them and the bot's chat budget paces,
     * both on the harness's FakeClock (time moves only when the test moves it). Otherwise the
     * sandbox has no limits and the budget does not pace (priorities, order and 429s still apply).
     */
    flood?: boolean;
    harness?: Parameters<typeof makeHarness>[0];
  } = {},
): Promise<Rig> {
  const h = await makeHarness(opts.harness);
  const sandbox = await startSandbox({ ...(opts.flood ? { rateLimits: true, clock: { now: () => h.clock.now() } } : {}), ...opts.sandbox });
  sandbox.addChat({ id: CHAT, title: 'Phoenix desk' });
  const phoenix = createBot({
    engine: h.engine,
    logger: h.engine.logger,
    config: { token: TOKEN, apiRoot: sandbox.apiRoot, chatId: CHAT_ID, approvers: ['1001', '1004'], admins: ['1002'], viewers: ['1003'] },
    // the countdown edits open cards as engine time passes: off unless a test is about it (countdown: true)
    options: { runbooksDir: 'runbooks', startRetryMs: { min: 50, max: 500 }, pollTimeoutSeconds: 10, countdown: false, ...(opts.flood ? { telegramClock: h.clock } : { pacing: false }), ...opts.bot },
  });
  let running: RunningBot | null = null;
  if (opts.start !== false) {
    running = await startBot(phoenix);
    await running.ready;
  }
  const users = Object.fromEntries(Object.entries(PEOPLE).map(([k, v]) => [k, sandbox.user(v)])) as Record<keyof typeof PEOPLE, SandboxUser>;
  const botMessages = (chat = CHAT) => sandbox.chat(chat).filter((m) => m.from_bot);
  const waitMessage: Rig['waitMessage'] = (pred, o = {}) =>
    sandbox.waitFor(() => botMessages(o.chat ?? CHAT).find(pred), { timeoutMs: o.timeoutMs ?? 5000, label: o.label ?? 'bot message' });
  const cardMessage = (cardId: string) =>
    botMessages().find((m) => m.reply_markup?.inline_keyboard.flat().some((b) => b.callback_data && parseCallback(b.callback_data)?.id === cardId)) ??
    botMessages().find((m) => m.text.includes(`card ${cardId}`));
  return {
    h,
    sandbox,
    phoenix,
    running,
    ...users,
    botMessages,
    waitMessage,
    cardMessage,
    async proposeAndWaitCard(over = {}) {
      const r = await h.engine.submitIntent(h.intent(over));
      if (r.kind !== 'accepted' || r.state !== 'PROPOSED') throw new Error(`intent not proposed: ${JSON.stringify(r)}`);
      const card = await h.app.store.tx((tx) => tx.cards.bySubject(r.intentId, 'TRADE'));
      if (!card) throw new Error('no card');
      const message = await sandbox.waitFor(() => cardMessage(card.id), { label: `card ${card.id}` });
      return { intentId: r.intentId, cardId: card.id, message };
    },
    async beads(type) {
      const all = await h.app.store.tx((tx) => tx.beads.page(0, 100_000));
      return type ? all.filter((b) => b.type === type) : all;
    },
    async outboxDrained(timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        await phoenix.syncer.idle();
        if (!(await h.engine.cards.dirty()).length) return;
        if (Date.now() > until) throw new Error('card outbox not drained');
        phoenix.syncer.kick();
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async quiet(timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        await new Promise((r) => setTimeout(r, 10));
        if (!sandbox.pendingUpdates().length && !(running?.busy() ?? 0) && !phoenix.paced.pending()) return;
        if (Date.now() > until) throw new Error('bot not quiet');
      }
    },
    async close() {
      await running?.stop();
      await phoenix.syncer.stop();
      await sandbox.close();
      await h.close();
    },
  };
}

export const payloadOf = <T = Record<string, unknown>>(b: StoredBead): T => JSON.parse(b.payload) as T;

/** The current version of a message (by id) in a chat. */
export const messageById = (sandbox: Sandbox, id: number, chat = CHAT) => sandbox.chat(chat).find((m) => m.message_id === id);

export const buttonsOf = (m: SandboxMessage | undefined): string[] => m?.reply_markup?.inline_keyboard.flat().map((b) => b.callback_data ?? '') ?? [];

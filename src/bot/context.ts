/**
 * The bot's context type, declared once (style.md lesson 8), and the services every
 * handler gets: the engine, the access policy, the card syncer, the paced sends, options.
 */
import type { Context } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { Lane } from '../alerts/chat-budget.js';
import type { Actor, Cancel, Clock, Engine, Logger } from '../engine/index.js';
import { systemClock } from '../runtime/system-clock.js';
import type { TokenBucket } from '../runtime/token-bucket.js';
import type { AccessPolicy, Rank } from './access.js';

/** Set by the access gate for every update from a known user in an allowed chat. */
export interface RequestState {
  actor: Actor;
  rank: Rank;
}

export type BotContext = Context & { phoenix?: RequestState };

export interface ReplyOptions {
  readonly keyboard?: InlineKeyboardMarkup;
  /** the chat budget's lane (default 'rest'; kill confirmations are 'urgent') */
  readonly lane?: Lane;
  /** HTML parse mode (default true) */
  readonly html?: boolean;
}

export interface BotServices {
  readonly engine: Engine;
  readonly access: AccessPolicy;
  readonly logger: Logger;
  readonly runbooksDir: string;
  /** ask the card syncer to look for dirty cards now */
  kickSyncer(): void;
  /** audit a refusal no engine use case saw (rate-limited per user) */
  auditDenied(ctx: BotContext, action: string, reason: string): Promise<void>;
  readonly commandLimiter: TokenBucket;
  /** how long a tap waits for the engine before answering "working on it" */
  readonly decisionWaitMs: number;
  /**
   * Queue a message into the update's chat, in its lane of the chat budget. Never waits for
   * Telegram (a handler acts, queues its answer and returns); replies keep their order per
   * chat and lane. A reply Telegram refuses is followed by a short "something went wrong".
   */
  reply(ctx: BotContext, text: string, o?: ReplyOptions): void;
  /** Queue an edit of one of our messages (same rules; "message is not modified" is fine). */
  edit(chatId: number, messageId: number, html: string, keyboard: InlineKeyboardMarkup, lane: Lane): void;
}

const answered = new WeakSet<BotContext>();

export const wasAnswered = (ctx: BotContext): boolean => answered.has(ctx);

/**
 * Answer the callback query once; a late or duplicate answer is logged, never thrown. The
 * answer is not a chat message (no chat budget) and is not awaited: an answer sitting out a
 * 429 must not hold up the next update of the chat.
 */
export function answerOnce(ctx: BotContext, text: string | undefined, logger: Logger, showAlert = false): Promise<void> {
  if (!ctx.callbackQuery || answered.has(ctx)) return Promise.resolve();
  answered.add(ctx);
  ctx.answerCallbackQuery(text ? { text, ...(showAlert ? { show_alert: true } : {}) } : {}).catch((e: unknown) => {
    logger.debug({ err: (e as Error).message, updateId: ctx.update.update_id }, 'answerCallbackQuery failed (late or duplicate)');
  });
  return Promise.resolve();
}

/**
 * Resolve with the promise's value, or `timedOut` after `ms` of `clock` time (the promise keeps
 * running). Handlers pass the engine's clock (the wall clock in production; the simulator's
 * FakeClock, so a slow engine is "slow" in simulated time, deterministically).
 */
export async function withDeadline<T>(p: Promise<T>, ms: number, clock: Clock = systemClock): Promise<T | typeof TIMED_OUT> {
  let cancel: Cancel | undefined;
  const t = new Promise<typeof TIMED_OUT>((resolve) => {
    cancel = clock.schedule(ms, () => resolve(TIMED_OUT));
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    cancel?.();
  }
}
export const TIMED_OUT: unique symbol = Symbol('timed out');

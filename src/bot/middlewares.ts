/**
 * The bot's middlewares, in the order createBot (bot.ts) installs them:
 *
 *   dropDuplicates → inChatOrder → answerEveryCallback → accessGate → rateLimit →
 *   errorBoundary(reportFailure, features)
 *
 * Each is a named function of what it needs; createBot only wires them.
 */
import { sequentialize } from '@grammyjs/runner';
import { Composer, type BotError, type Middleware } from 'grammy';
import { performance } from 'node:perf_hooks';
import { dur, type Logger } from '../engine/index.js';
import type { TokenBucket } from '../runtime/token-bucket.js';
import { UpdateDeduper, rankAtLeast, type AccessPolicy } from './access.js';
import { handleCallback } from './callbacks.js';
import { COMMANDS, enabledCommands, type CommandEnv, type CommandRow } from './commands.js';
import { answerOnce, wasAnswered, type BotContext, type BotServices } from './context.js';
import { b, line, renderFitted } from './html.js';
import { somethingWentWrong, type createServices } from './services.js';
import { describeTelegramError } from './telegram-errors.js';

/** `/halt` (optionally `/halt@bot`), the one update that skips its chat's queue. */
export const isHaltCommand = (text: string | undefined): boolean => /^\/halt(?:@[A-Za-z0-9_]+)?(?:\s|$)/i.test(text ?? '');

/** What the bot remembers of the updates it took: the highest id, and when each arrived (/halt latency). */
export class UpdateLog {
  lastUpdateId: number | null = null;
  readonly receivedAt = new WeakMap<object, number>();
}

/** 1. Duplicate updates (webhook re-deliveries, restarts) are ignored. */
export function dropDuplicates(updates: UpdateLog, log: Logger, timed: boolean): Middleware<BotContext> {
  const deduper = new UpdateDeduper();
  return async (ctx, next) => {
    if (timed) updates.receivedAt.set(ctx.update, performance.now());
    const id = ctx.update.update_id;
    updates.lastUpdateId = Math.max(updates.lastUpdateId ?? id, id);
    if (deduper.seen(id)) {
      log.debug({ updateId: id }, 'duplicate update ignored');
      return;
    }
    await next();
  };
}

/** 2. In order per chat (handlers only wait for the engine, never for Telegram); /halt skips the queue. */
export const inChatOrder = (): Middleware<BotContext> => sequentialize<BotContext>((ctx) => (isHaltCommand(ctx.message?.text) ? [] : [String(ctx.chat?.id ?? ctx.from?.id ?? '')]));

/** 3. Every callback query is answered, whatever happens below. */
export function answerEveryCallback(log: Logger): Middleware<BotContext> {
  return async (ctx, next) => {
    try {
      await next();
    } finally {
      if (ctx.callbackQuery && !wasAnswered(ctx)) await answerOnce(ctx, undefined, log);
    }
  };
}

/** 4. Access: strangers and unknown chats learn nothing (and leave an ACCESS_DENIED bead). */
export function accessGate(access: AccessPolicy, services: BotServices, log: Logger): Middleware<BotContext> {
  return async (ctx, next) => {
    const from = ctx.from;
    const chat = ctx.chat;
    const rank = from ? access.rankOf(from.id) : null;
    if (!from || from.is_bot || !chat || rank === null || !access.chatAllowed(chat, from.id)) {
      const what = ctx.callbackQuery ? `callback ${JSON.stringify(String(ctx.callbackQuery.data ?? '').slice(0, 80))}` : ctx.message?.text ? `message ${JSON.stringify(ctx.message.text.slice(0, 60))}` : `update ${Object.keys(ctx.update).filter((k) => k !== 'update_id').join(',')}`;
      await services.auditDenied(ctx, what, rank === null ? 'unknown user' : 'unknown chat');
      if (ctx.callbackQuery) await answerOnce(ctx, 'Not allowed.', log);
      return;
    }
    ctx.phoenix = { actor: access.actor(from), rank };
    await next();
  };
}

/** 5. Per-user rate limit on commands and taps; the table's `unlimited` rows (/halt) are exempt: the fast path stays fast. */
export function rateLimit(limiter: TokenBucket, services: BotServices, log: Logger, commands: readonly CommandRow[] = COMMANDS): Middleware<BotContext> {
  const unlimited = new Map(commands.filter((c) => c.unlimited).map((c) => [c.command, c.minRank] as const));
  return async (ctx, next) => {
    const text = ctx.message?.text ?? '';
    const cmd = /^\/([A-Za-z0-9_]+)/.exec(text)?.[1]?.toLowerCase();
    if (!ctx.callbackQuery && !cmd) return next();
    const exemptFor = cmd ? unlimited.get(cmd) : undefined;
    if (exemptFor && rankAtLeast(ctx.phoenix!.rank, exemptFor)) return next();
    const r = limiter.take(String(ctx.from!.id));
    if (r.ok) return next();
    if (ctx.callbackQuery) return answerOnce(ctx, `Too many taps; wait ${dur(r.retryInMs)}.`, log);
    if (r.firstRefusal) services.reply(ctx, renderFitted([line('⏳ ', b('Slow down'), `: too many commands. Try again in ${dur(r.retryInMs)}.`)]));
  };
}

export interface FeatureHooks {
  /** after every command: cards may have changed */
  afterCommand(): void;
  /** /halt handled: seconds since its update arrived */
  haltObserved?(seconds: number): void;
}

/** 6. The features: the command table (rank-checked), button taps, and a word for anything else. */
export function features(services: BotServices, updates: UpdateLog, hooks: FeatureHooks, log: Logger): Composer<BotContext> {
  const c = new Composer<BotContext>();
  for (const row of enabledCommands(COMMANDS)) {
    c.command(row.command, async (ctx) => {
      const state = ctx.phoenix!;
      if (!rankAtLeast(state.rank, row.minRank)) {
        await services.auditDenied(ctx, `command /${row.command}`, `${row.minRank} role needed`);
        services.reply(ctx, renderFitted([line(`Not allowed: /${row.command} needs the ${row.minRank} role.`)]));
        return;
      }
      const env: CommandEnv = {
        ctx,
        args: (typeof ctx.match === 'string' ? ctx.match : '').trim(),
        actor: state.actor,
        rank: state.rank,
        s: services,
        reply: (html, keyboard) => {
          services.reply(ctx, html, { ...(keyboard ? { keyboard } : {}), lane: row.lane ?? 'rest' });
          return Promise.resolve();
        },
      };
      await row.run(env);
      const t0 = row.command === 'halt' ? updates.receivedAt.get(ctx.update) : undefined;
      if (hooks.haltObserved && t0 !== undefined) hooks.haltObserved((performance.now() - t0) / 1000);
      hooks.afterCommand();
    });
  }
  c.on('callback_query:data', (ctx) => handleCallback(ctx, services));
  c.on('callback_query', (ctx) => answerOnce(ctx, 'This button is not valid.', log));
  c.on('message:text', async (ctx) => {
    const text = ctx.message.text;
    const m = /^\/([A-Za-z0-9_]+)(?:@([A-Za-z0-9_]+))?/.exec(text);
    const addressedToUs = m && (!m[2] || m[2].toLowerCase() === ctx.me.username.toLowerCase());
    if (addressedToUs) services.reply(ctx, renderFitted([line(`Unknown command /${m[1] ?? ''}. /help lists what you can do.`)]));
    else if (ctx.chat.type === 'private') services.reply(ctx, renderFitted([line('Send /help for the commands. Cards arrive in the main chat.')]));
  });
  return c;
}

/** The error boundary around the features: log it, answer the tap or say so in the chat. */
export function reportFailure(services: ReturnType<typeof createServices>, log: Logger): (err: BotError<BotContext>) => Promise<void> {
  return async (err) => {
    const ctx = err.ctx;
    log.error({ err: describeTelegramError(err.error), updateId: ctx.update.update_id }, 'handler failed');
    if (ctx.callbackQuery) await answerOnce(ctx, 'Something went wrong; nothing more was done. Check the card and /status.', log);
    else if (ctx.message) services.replyRaw(ctx, somethingWentWrong(ctx.update.update_id), { noteIfRefused: false });
  };
}

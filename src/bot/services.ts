/**
 * The services every handler gets (context.ts `BotServices`), built once per bot: the
 * engine, access policy and limiters, audited refusals, and replies / edits queued into the
 * chat budget through the paced sender (handlers never wait for Telegram, SAFE-4).
 */
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { Lane } from '../alerts/chat-budget.js';
import type { Engine, Logger } from '../engine/index.js';
import { TokenBucket } from '../runtime/token-bucket.js';
import { AccessPolicy } from './access.js';
import { toTransportError } from './alert.transport.js';
import type { BotContext, BotServices, ReplyOptions } from './context.js';
import { line, renderFitted } from './html.js';
import type { PacedSender } from './paced-sender.js';
import { describeTelegramError, isNotModified } from './telegram-errors.js';

export interface ServiceDeps {
  readonly engine: Engine;
  readonly access: AccessPolicy;
  readonly logger: Logger;
  readonly paced: PacedSender;
  readonly runbooksDir: string;
  readonly decisionWaitMs: number;
  readonly rateLimit: { readonly burst: number; readonly refillMs: number };
  readonly auditLimit: { readonly burst: number; readonly refillMs: number };
  kickSyncer(): void;
}

/** Replies are retried a few times when Telegram answered 5xx or the connection was refused. */
const REPLY_RETRIES = 3;

export const somethingWentWrong = (updateId: number): string => renderFitted([line(`Something went wrong handling that (ref ${updateId}). Check /status before trying again.`)]);

export function createServices(d: ServiceDeps): BotServices & { replyRaw(ctx: BotContext, text: string, o: ReplyOptions & { noteIfRefused: boolean }): void } {
  const { engine, logger: log, paced } = d;
  const now = () => engine.now();
  const auditLimiter = new TokenBucket(now, d.auditLimit.burst, d.auditLimit.refillMs);
  const suppressed = new Map<string, number>();

  const send = (chatId: number, updateId: number, text: string, o: ReplyOptions, noteIfRefused: boolean): void => {
    const extra = {
      ...(o.html === false ? {} : { parse_mode: 'HTML' as const }),
      link_preview_options: { is_disabled: true },
      ...(o.keyboard && o.keyboard.inline_keyboard.length ? { reply_markup: o.keyboard } : {}),
    };
    paced.sendMessage(chatId, text, extra, { lane: o.lane ?? 'rest', retries: REPLY_RETRIES }).catch((e: unknown) => {
      if ((e as Error).name === 'AbortError') return; // the bot is stopping
      log.warn({ err: describeTelegramError(e), updateId, chatId }, 'reply not delivered');
      // Telegram refused the reply itself (not an outage): tell the user, as a failed handler would
      if (noteIfRefused && toTransportError(e).kind === 'permanent') send(chatId, updateId, somethingWentWrong(updateId), {}, false);
    });
  };

  const replyRaw = (ctx: BotContext, text: string, o: ReplyOptions & { noteIfRefused: boolean }): void => {
    const chatId = ctx.chat?.id;
    if (chatId === undefined) return;
    send(chatId, ctx.update.update_id, text, o, o.noteIfRefused);
  };

  return {
    engine,
    access: d.access,
    logger: log,
    runbooksDir: d.runbooksDir,
    kickSyncer: d.kickSyncer,
    commandLimiter: new TokenBucket(now, d.rateLimit.burst, d.rateLimit.refillMs),
    decisionWaitMs: d.decisionWaitMs,
    reply: (ctx, text, o = {}) => replyRaw(ctx, text, { ...o, noteIfRefused: true }),
    replyRaw,
    edit(chatId: number, messageId: number, html: string, keyboard: InlineKeyboardMarkup, lane: Lane) {
      paced.editMessageText(chatId, messageId, html, { parse_mode: 'HTML', reply_markup: keyboard, link_preview_options: { is_disabled: true } }, { lane, retries: REPLY_RETRIES }).catch((e: unknown) => {
        if ((e as Error).name !== 'AbortError' && !isNotModified(e)) log.warn({ err: describeTelegramError(e), chatId, messageId }, 'could not refresh a message');
      });
    },
    async auditDenied(ctx, action, reason) {
      const userId = String(ctx.from?.id ?? ctx.chat?.id ?? 'unknown');
      if (!auditLimiter.take(userId).ok) {
        suppressed.set(userId, (suppressed.get(userId) ?? 0) + 1);
        log.warn({ userId, action: action.slice(0, 80) }, 'access denied (audit rate-limited)');
        return;
      }
      const dropped = suppressed.get(userId) ?? 0;
      suppressed.delete(userId);
      try {
        await engine.recordAccessDenied({
          userId,
          chatId: ctx.chat ? String(ctx.chat.id) : null,
          action,
          reason: dropped ? `${reason} (+${dropped} earlier attempts not recorded: rate limit)` : reason,
        });
      } catch (e) {
        log.error({ err: (e as Error).message }, 'could not record ACCESS_DENIED');
      }
    },
  };
}

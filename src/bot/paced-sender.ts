/**
 * The bot's way to put a message into a chat (SAFE-4): every sendMessage / editMessageText
 * of the bot (cards, command replies, button refreshes) waits for its slot in the chat's
 * budget (src/alerts/chat-budget.ts, shared with the alert sender), by lane, then makes ONE
 * request on a client without auto-retry.
 *
 * - 429: the chat's budget waits out retry_after (for every sender of that chat) and the
 *   message goes back to the FRONT of its lane, so its place in the chat's order is kept.
 *   A 429 never reaches the caller and never sleeps inside an update handler.
 * - Telegram answered 5xx / the connection was refused (never sent): retried `retries`
 *   times with backoff, again from the front of its lane.
 * - Anything that may have reached Telegram (timeout, reset) or was refused for good (400,
 *   403 …) goes back to the caller, who knows whether a retry is safe (cards: the syncer's
 *   outbox; replies: a note in the chat).
 *
 * Update handlers call this without awaiting delivery (they enqueue and return): that is
 * what keeps /halt — and every later update of the chat — from waiting behind Telegram.
 */
import type { Api } from 'grammy';
import { setMaxListeners } from 'node:events';
import type { Message } from 'grammy/types';
import type { ChatBudget, Lane } from '../alerts/chat-budget.js';
import { TelegramRateLimitError } from '../alerts/transport.js';
import { toTransportError } from './alert.transport.js';

type Signal = Parameters<Api['getMe']>[0];
type SendOther = Parameters<Api['sendMessage']>[2];
type EditOther = Parameters<Api['editMessageText']>[3];

/**
 * Thrown by a call that found, once it had its slot, that nothing needs sending any more (a
 * countdown edit for a card that changed meanwhile): the slot is given back uncounted.
 */
export class NothingToSend extends Error {
  constructor(why: string) {
    super(why);
    this.name = 'NothingToSend';
  }
}

export interface PacedOptions {
  readonly lane: Lane;
  /** retries after a failure that certainly did not send (5xx, refused); default 0 */
  readonly retries?: number;
}

export interface PacedStats {
  sent: number;
  rateLimited: number;
  retried: number;
  failed: number;
}

export class PacedSender {
  readonly stats: PacedStats = { sent: 0, rateLimited: 0, retried: 0, failed: 0 };
  private closing = PacedSender.controller();
  private active = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly api: Api,
    readonly budget: ChatBudget,
    private readonly backoffMs: { readonly min: number; readonly max: number } = { min: 1000, max: 30_000 },
  ) {}

  sendMessage(chatId: number | string, text: string, other: SendOther, o: PacedOptions): Promise<Message.TextMessage> {
    return this.run(chatId, o, (signal) => this.api.sendMessage(chatId, text, other, signal));
  }

  editMessageText(chatId: number | string, messageId: number, text: string, other: EditOther, o: PacedOptions): Promise<unknown> {
    return this.run(chatId, o, (signal) => this.api.editMessageText(chatId, messageId, text, other, signal));
  }

  /**
   * An edit composed only once its slot is granted, so it shows the state of that moment and
   * never overwrites a newer one (the countdown of a card's time left). `compose` answers null
   * when there is nothing to send any more.
   */
  async editWhenGranted(
    chatId: number | string,
    o: PacedOptions,
    compose: () => Promise<{ readonly messageId: number; readonly text: string; readonly other: EditOther } | null>,
  ): Promise<'edited' | 'skipped'> {
    try {
      await this.run(chatId, o, async (signal) => {
        const edit = await compose();
        if (!edit) throw new NothingToSend('nothing to edit any more');
        return this.api.editMessageText(chatId, edit.messageId, edit.text, edit.other, signal);
      });
      return 'edited';
    } catch (e) {
      if (e instanceof NothingToSend) return 'skipped';
      throw e;
    }
  }

  /** One request in the chat's order and budget. */
  async run<T>(chatId: number | string, o: PacedOptions, call: (signal: Signal) => Promise<T>): Promise<T> {
    const key = String(chatId);
    const signal = this.closing.signal;
    let attempts = 0;
    let front = false;
    let notBefore = 0;
    this.active++;
    try {
      for (;;) {
        const grant = await this.budget.take(key, o.lane, { signal, front, notBefore });
        try {
          const result = await call(signal as unknown as Signal);
          grant.sent();
          this.stats.sent++;
          return result;
        } catch (e) {
          if (e instanceof NothingToSend) {
            grant.notSent();
            throw e;
          }
          const err = toTransportError(e);
          front = true;
          notBefore = 0;
          if (err instanceof TelegramRateLimitError) {
            grant.rateLimited(err.retryAfterSec);
            this.stats.rateLimited++;
            continue;
          }
          if (err.ambiguous) grant.sent(); // it may count against Telegram's window
          else grant.notSent();
          if (err.kind === 'transient' && !err.ambiguous && attempts < (o.retries ?? 0) && !signal.aborted) {
            attempts++;
            this.stats.retried++;
            notBefore = this.budget.now() + Math.min(this.backoffMs.max, this.backoffMs.min * 2 ** (attempts - 1));
            continue;
          }
          this.stats.failed++;
          throw e;
        }
      }
    } finally {
      if (--this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Messages waiting for a slot or in flight. */
  pending(): number {
    return this.active;
  }

  /** Resolves once nothing is waiting or in flight. */
  idle(): Promise<void> {
    return this.active === 0 ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stop: whatever still waits for a slot (or is in flight) is dropped (cards stay in their outbox). Later sends work again. */
  close(): void {
    this.closing.abort();
    this.closing = PacedSender.controller();
  }

  /** one listener per waiting or in-flight message is normal here, not a leak */
  private static controller(): AbortController {
    const c = new AbortController();
    setMaxListeners(0, c.signal);
    return c;
  }
}

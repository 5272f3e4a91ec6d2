/**
 * The card syncer: the sending side of the card OUTBOX. The engine bumps a card's `version`
 * whenever what it shows changes; the syncer renders every card whose version is ahead of
 * `renderedVersion`, sends it (new card) or edits it in place, and only then records the
 * rendered version (and the message id) with `markCardRendered`.
 *
 * Triggered by `engine.onChange` and by a ~1 s poll (other processes, e.g. the CLI, write to
 * the same database). One sync runs at a time per process, so one card is never sent twice
 * concurrently. Sends and edits go through the chat's budget in the 'card' lane (after kill
 * confirmations and CRITICAL alerts, before the rest); a 429 waits there, never here.
 *
 * Delivery guarantees:
 * - a failing send or edit leaves the card dirty; it is retried later (per-card backoff,
 *   1 s doubling to 60 s) and never dropped;
 * - a card gets one message. The one exception is an UNKNOWN outcome (the request may have
 *   reached Telegram but no answer came back, e.g. a network error that auto-retry then
 *   re-sent): a second copy is preferred to a lost card. Both copies carry buttons that
 *   resolve to the same card id, so either works and the engine decides once; a tap on a
 *   stale copy refreshes it. A message sent whose id could not be recorded (database error)
 *   is remembered in memory and edited, not sent again.
 * - "message is not modified" counts as rendered; a deleted message is re-sent; HTML that
 *   Telegram refuses falls back to plain text instead of retrying forever.
 */
import type { Message } from 'grammy/types';
import type { Cancel, CardRecord, Clock, Engine, Logger } from '../engine/index.js';
import { systemClock } from '../runtime/system-clock.js';
import { cutText, SAFE_TEXT_LIMIT, visibleText } from './html.js';
import type { PacedOptions, PacedSender } from './paced-sender.js';
import { renderCard, type Rendered } from './render/card.js';
import { describeTelegramError, isFormatError, isMessageGone, isNotModified } from './telegram-errors.js';

export interface SyncerOptions {
  /** poll the database every N ms (default 1000; 0 = only on engine changes) */
  readonly everyMs?: number;
  /** cards per pass (default 50) */
  readonly batch?: number;
  /** per-card retry backoff bounds in ms (default 1000 … 60 000) */
  readonly backoffMs?: { readonly min: number; readonly max: number };
  /** the clock the poll and the per-card backoff run on (default the wall clock; the simulator: its FakeClock) */
  readonly clock?: Clock;
  /** a card's message reached the chat (metrics: card shown → tap) */
  readonly onShown?: (card: CardRecord) => void;
}

export interface SyncerStats {
  sent: number;
  edited: number;
  unchanged: number;
  failures: number;
  lastError: string | null;
}

const chatIdOf = (chatId: string): number | string => (/^-?\d+$/.test(chatId) ? Number(chatId) : chatId);

/** failures go back to the outbox (per-card backoff below), not retried in the budget */
const CARD: PacedOptions = { lane: 'card' };

export class CardSyncer {
  readonly stats: SyncerStats = { sent: 0, edited: 0, unchanged: 0, failures: 0, lastError: null };
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private timer: Cancel | undefined;
  private readonly retryTimers = new Set<Cancel>();
  private unsubscribe: (() => void) | undefined;
  private readonly backoff = new Map<string, { attempts: number; nextAt: number }>();
  /** sent, but the message id is not yet in the database */
  private readonly unrecorded = new Map<string, number>();
  private readonly everyMs: number;
  private readonly batch: number;
  private readonly backoffMs: { min: number; max: number };
  private readonly clock: Clock;
  private readonly onShown: ((card: CardRecord) => void) | undefined;

  constructor(
    private readonly paced: PacedSender,
    private readonly engine: Engine,
    private readonly logger: Logger,
    opts: SyncerOptions = {},
  ) {
    this.everyMs = opts.everyMs ?? 1000;
    this.batch = opts.batch ?? 50;
    this.backoffMs = { min: opts.backoffMs?.min ?? 1000, max: opts.backoffMs?.max ?? 60_000 };
    this.clock = opts.clock ?? systemClock;
    this.onShown = opts.onShown;
  }

  start(): void {
    this.stopped = false;
    this.unsubscribe ??= this.engine.onChange(() => this.kick());
    if (this.everyMs > 0 && !this.timer) this.poll();
    this.kick();
  }

  /** The periodic look at the outbox, on the clock (re-armed each time). */
  private poll(): void {
    this.timer = this.clock.schedule(this.everyMs, () => {
      if (this.stopped) return;
      this.poll();
      this.kick();
    });
  }

  /** Look for dirty cards now (coalesced: at most one pass runs, one more is queued). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  }

  /** Resolves when no pass is running (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.();
    this.timer = undefined;
    for (const cancel of this.retryTimers) cancel();
    this.retryTimers.clear();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.idle();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      await this.syncOnce();
    } while (this.again && !this.stopped);
  }

  /** One pass over the dirty cards. Returns how many were brought up to date. */
  async syncOnce(): Promise<number> {
    let cards: CardRecord[];
    try {
      cards = await this.engine.cards.dirty(this.batch);
    } catch (e) {
      this.logger.error({ err: (e as Error).message }, 'card syncer: reading the outbox failed');
      return 0;
    }
    let done = 0;
    const now = this.clock.now();
    for (const card of cards) {
      if (this.stopped) break;
      const b = this.backoff.get(card.id);
      if (b && b.nextAt > now) continue;
      try {
        if (await this.syncCard(card.id)) done++;
      } catch (e) {
        // e.g. the database is busy: the card stays dirty and is retried like a failed send
        this.fail(card, e);
      }
    }
    return done;
  }

  private async syncCard(cardId: string): Promise<boolean> {
    const view = await this.engine.cards.view(cardId);
    if (!view) return false;
    const card = view.card;
    if (card.version <= card.renderedVersion) return false;
    let rendered: Rendered;
    try {
      rendered = renderCard(view);
    } catch (e) {
      // a rendering bug must not block the outbox: show what we can
      this.logger.error({ err: (e as Error).message, cardId }, 'card render failed; sending a minimal card');
      rendered = { html: `Card ${card.id} (${card.kind}, ${card.status}) — details unavailable; see /pending or /status.`, keyboard: { inline_keyboard: [] } };
    }
    const chatId = chatIdOf(card.chatId);
    const known = card.messageId ?? this.unrecorded.get(card.id) ?? null;
    try {
      let messageId: number;
      if (known === null) {
        messageId = (await this.send(chatId, rendered)).message_id;
        this.unrecorded.set(card.id, messageId);
        this.stats.sent++;
        this.onShown?.(card);
      } else {
        const r = await this.edit(chatId, known, rendered);
        if (r === 'gone') {
          messageId = (await this.send(chatId, rendered)).message_id;
          this.unrecorded.set(card.id, messageId);
          this.stats.sent++;
        } else {
          messageId = known;
          if (r === 'edited') this.stats.edited++;
          else this.stats.unchanged++;
        }
      }
      await this.engine.cards.markRendered(card.id, card.version, messageId);
      this.unrecorded.delete(card.id);
      this.backoff.delete(card.id);
      return true;
    } catch (e) {
      this.fail(card, e);
      return false;
    }
  }

  private fail(card: CardRecord, e: unknown): void {
    const prev = this.backoff.get(card.id)?.attempts ?? 0;
    const attempts = prev + 1;
    const delay = Math.min(this.backoffMs.max, this.backoffMs.min * 2 ** (attempts - 1));
    this.backoff.set(card.id, { attempts, nextAt: this.clock.now() + delay });
    this.stats.failures++;
    this.stats.lastError = describeTelegramError(e);
    this.logger.warn({ cardId: card.id, kind: card.kind, attempts, retryInMs: delay, err: this.stats.lastError }, 'card not delivered yet; it stays in the outbox and is retried');
    // make sure a pass happens when the per-card backoff ends
    const cancel = this.clock.schedule(delay + 5, () => {
      this.retryTimers.delete(cancel);
      this.kick();
    });
    this.retryTimers.add(cancel);
  }

  private async send(chatId: number | string, r: Rendered): Promise<Message.TextMessage> {
    const extra = { link_preview_options: { is_disabled: true }, ...(r.keyboard.inline_keyboard.length ? { reply_markup: r.keyboard } : {}) };
    try {
      return await this.paced.sendMessage(chatId, r.html, { parse_mode: 'HTML', ...extra }, CARD);
    } catch (e) {
      if (!isFormatError(e)) throw e;
      this.logger.error({ err: describeTelegramError(e) }, 'card HTML refused by Telegram; sending plain text');
      return this.paced.sendMessage(chatId, plainFallback(r.html), extra, CARD);
    }
  }

  private async edit(chatId: number | string, messageId: number, r: Rendered): Promise<'edited' | 'unchanged' | 'gone'> {
    const extra = { reply_markup: r.keyboard, link_preview_options: { is_disabled: true } };
    try {
      await this.paced.editMessageText(chatId, messageId, r.html, { parse_mode: 'HTML', ...extra }, CARD);
      return 'edited';
    } catch (e) {
      if (isNotModified(e)) return 'unchanged';
      if (isMessageGone(e)) return 'gone';
      if (!isFormatError(e)) throw e;
      this.logger.error({ err: describeTelegramError(e) }, 'card HTML refused by Telegram; editing to plain text');
      try {
        await this.paced.editMessageText(chatId, messageId, plainFallback(r.html), extra, CARD);
        return 'edited';
      } catch (e2) {
        if (isNotModified(e2)) return 'unchanged';
        throw e2;
      }
    }
  }
}

function plainFallback(html: string): string {
  const text = visibleText(html);
  return text.length <= SAFE_TEXT_LIMIT ? text : `${cutText(text, SAFE_TEXT_LIMIT - 1)}…`;
}

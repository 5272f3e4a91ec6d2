/**
 * An open card's time left, kept true in place (SPEC 5, 12). The card's first line says
 * "4:12 left"; this edits it at sensible steps of the time left — every whole minute, then at
 * 0:30 — so a card that stays open counts down without flooding the chat: a 5-minute card
 * gets 5 edits (4:00, 3:00, 2:00, 1:00, 0:30), then the engine's expiry edits it to EXPIRED.
 *
 * These edits are the least important thing Phoenix sends, and they never get in the way:
 * - they draw from THE per-chat budget (src/alerts/chat-budget.ts) in the 'rest' lane, behind
 *   kill confirmations, CRITICAL alerts and cards;
 * - one is asked for only while the chat's budget is idle (nothing waiting, the next slot free
 *   now) and, in a group, while at least half of the rolling window is unused, so they never
 *   take the slots urgent messages need (the window's urgent reserve stays untouched too);
 *   a skipped step is caught up at the next look, showing the time left of that moment;
 * - the text is composed only once the slot is granted (PacedSender.editWhenGranted), from the
 *   card as it is then: a card decided, changed or not yet rendered meanwhile is left to the
 *   card syncer, so a countdown never overwrites a newer state.
 *
 * Time left is engine time (the injected Clock: the wall clock in production, a FakeClock in
 * tests).
 */
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { Cancel, Clock, Engine, Logger } from '../engine/index.js';
import { isGroupChat } from '../alerts/chat-budget.js';
import type { PacedSender } from './paced-sender.js';
import { renderTradeCard, tradeCardOpen } from './render/card.js';
import { isNotModified } from './telegram-errors.js';

/**
 * The step a card's time left is in: whole minutes while more than 30 s are left (4:12 → 5,
 * 4:00 → 4), 0 for the last 30 s, -1 once it is over. The card is edited when its step changes.
 */
export function countdownStep(leftMs: number): number {
  if (leftMs <= 0) return -1;
  if (leftMs <= 30_000) return 0;
  return Math.ceil(leftMs / 60_000);
}

/** When the step of a card with `leftMs` to go changes next, as time left (null: no more steps). */
export function nextStepAt(leftMs: number): number | null {
  if (leftMs > 60_000) return (Math.ceil(leftMs / 60_000) - 1) * 60_000;
  if (leftMs > 30_000) return 30_000;
  return null;
}

/**
 * The countdown edit of one card as it is NOW (called once the chat's slot is granted), or null
 * when the card is decided, expired, changed (the syncer has a newer version to show) or moved:
 * then the countdown stays out of the way.
 */
export async function countdownEdit(engine: Engine, cardId: string, messageId: number): Promise<{ messageId: number; text: string; other: { parse_mode: 'HTML'; reply_markup: InlineKeyboardMarkup; link_preview_options: { is_disabled: true } } } | null> {
  const view = await engine.cards.view(cardId);
  if (!view || view.kind !== 'TRADE' || !tradeCardOpen(view) || view.card.version !== view.card.renderedVersion || view.card.messageId !== messageId) return null;
  if (view.card.expiresAt <= view.now) return null;
  const rendered = renderTradeCard(view);
  return { messageId, text: rendered.html, other: { parse_mode: 'HTML', reply_markup: rendered.keyboard, link_preview_options: { is_disabled: true } } };
}

export interface CountdownOptions {
  /** false: never look by itself (tests call tickOnce); default true */
  readonly enabled?: boolean;
  /** how soon to look again when a step was due but the chat's budget was busy (default 1000 ms of engine time) */
  readonly retryMs?: number;
}

export interface CountdownStats {
  /** countdown edits Telegram took */
  edits: number;
  /** steps not edited (yet) because the chat's budget was busy (caught up later) */
  deferred: number;
  /** slots given back because the card changed before its edit */
  skipped: number;
  failures: number;
}

const chatIdOf = (chatId: string): number | string => (/^-?\d+$/.test(chatId) ? Number(chatId) : chatId);

/**
 * Looks only when something can be due: at the next step of the open cards (a timer on the
 * engine clock), and when the engine says cards changed (a new card). No polling: a test that
 * moves the clock by days costs nothing.
 */
export class CardCountdown {
  readonly stats: CountdownStats = { edits: 0, deferred: 0, skipped: 0, failures: 0 };
  /** card id → the step its message shows */
  private readonly shown = new Map<string, number>();
  private readonly clock: Clock;
  private readonly enabled: boolean;
  private readonly retryMs: number;
  private timer: Cancel | null = null;
  private timerAt = Infinity;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly paced: PacedSender,
    private readonly engine: Engine,
    private readonly logger: Logger,
    opts: CountdownOptions = {},
  ) {
    this.clock = engine.clock;
    this.enabled = opts.enabled ?? true;
    this.retryMs = opts.retryMs ?? 1000;
  }

  start(): void {
    if (!this.stopped || !this.enabled) return;
    this.stopped = false;
    this.unsubscribe = this.engine.onChange(() => this.kick());
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.sleepUntil(Infinity);
    await this.running;
  }

  /** Look now (coalesced: one pass at a time, one more queued). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          const next = await this.tickOnce();
          if (!this.stopped) this.sleepUntil(next);
        } catch (e) {
          this.logger.warn({ err: (e as Error).message }, 'card countdown pass failed; the next look retries');
          if (!this.stopped) this.sleepUntil(this.clock.now() + this.retryMs);
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = null;
    });
  }

  /** Resolves when no pass is running (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private sleepUntil(at: number): void {
    if (at === this.timerAt) return;
    this.timer?.();
    this.timer = null;
    this.timerAt = at;
    if (at === Infinity) return;
    this.timer = this.clock.schedule(Math.max(0, at - this.clock.now()), () => {
      this.timer = null;
      this.timerAt = Infinity;
      this.kick();
    });
  }

  /**
   * One look at the open cards: edit those whose step changed, while the chat's budget is idle.
   * Returns when the next look is due (engine time; Infinity when no card can change step).
   */
  async tickOnce(): Promise<number> {
    const now = this.clock.now();
    const pending = await this.engine.cards.pending();
    const open = new Set<string>();
    let next = Infinity;
    let busy = false;
    for (const { card } of pending) {
      if (!card || card.status !== 'OPEN') continue;
      open.add(card.id);
      const left = card.expiresAt - now;
      const step = countdownStep(left);
      const upcoming = nextStepAt(left);
      if (upcoming !== null) next = Math.min(next, card.expiresAt - upcoming);
      if (card.messageId === null) continue; // not sent yet: the syncer sends it with the time left of then
      // a card first seen here shows the step of when it was created (it is sent right after)
      const shown = this.shown.get(card.id) ?? countdownStep(card.expiresAt - card.createdAt);
      this.shown.set(card.id, shown);
      if (step < 0 || step === shown) continue;
      if (busy || !this.budgetIdle(card.chatId)) {
        busy = true; // the chat is busy: look again soon
        this.stats.deferred++;
        continue;
      }
      await this.edit(card.id, card.chatId, card.messageId);
      this.shown.set(card.id, step); // edited, skipped or failed: this step is done (no retry storm)
    }
    for (const id of this.shown.keys()) if (!open.has(id)) this.shown.delete(id);
    return busy ? Math.min(next, this.clock.now() + this.retryMs) : next;
  }

  /** Idle: nothing waiting for the chat, its next slot free now, and in a group half its window unused. */
  private budgetIdle(chatId: string): boolean {
    const budget = this.paced.budget;
    const t = budget.now();
    if (budget.waiting(chatId) > 0 || budget.nextSlot(chatId, 'rest', t) > t) return false;
    const window = budget.limits.groupPerWindow;
    return !isGroupChat(chatId) || window <= 0 || budget.recent(chatId, t) < Math.floor(window / 2);
  }

  private async edit(cardId: string, chatId: string, messageId: number): Promise<void> {
    try {
      const r = await this.paced.editWhenGranted(chatIdOf(chatId), { lane: 'rest' }, () => countdownEdit(this.engine, cardId, messageId));
      // skipped: nothing to show for this step (the syncer shows the card's new state)
      if (r === 'skipped') this.stats.skipped++;
      else this.stats.edits++;
    } catch (e) {
      if (isNotModified(e)) return;
      this.stats.failures++;
      this.logger.warn({ cardId, err: (e as Error).message }, 'countdown edit failed; the next step tries again');
    }
  }
}

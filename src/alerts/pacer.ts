/**
 * Per-chat send pacing inside Telegram's flood limits (Bot FAQ): about 1 message/s per chat,
 * 20 messages per rolling minute in a group (negative chat id), about 30/s across chats.
 * Pure bookkeeping: callers pass the time in. Share one pacer between everything that
 * sends to the same chats (alerts, cards) so they draw from one budget.
 *
 * Sends are recorded when their response arrives (or they failed in a way that may have
 * reached Telegram): Telegram stamped the message no later than that, so pacing from the
 * recorded time never undercuts its window.
 */

export interface PacingLimits {
  /** minimum gap between two sends to one chat (default 1000 ms) */
  readonly perChatGapMs: number;
  /** sends per rolling window in a group chat (default 20) */
  readonly groupPerWindow: number;
  /** the group window (default 60 s) */
  readonly groupWindowMs: number;
  /** slots of the group window only CRITICAL messages may use (default 4) */
  readonly criticalReserve: number;
  /** sends per rolling second across all chats (default 30) */
  readonly globalPerSecond: number;
}

export const TELEGRAM_PACING: PacingLimits = {
  perChatGapMs: 1000,
  groupPerWindow: 20,
  groupWindowMs: 60_000,
  criticalReserve: 4,
  globalPerSecond: 30,
};

export const isGroupChat = (chatId: string): boolean => chatId.trim().startsWith('-');

interface ChatState {
  sends: number[];
  blockedUntil: number;
}

export class ChatPacer {
  private readonly chats = new Map<string, ChatState>();
  private global: number[] = [];
  readonly limits: PacingLimits;

  constructor(limits: Partial<PacingLimits> = {}) {
    this.limits = { ...TELEGRAM_PACING, ...limits };
  }

  private chat(chatId: string): ChatState {
    let c = this.chats.get(chatId);
    if (!c) {
      c = { sends: [], blockedUntil: 0 };
      this.chats.set(chatId, c);
    }
    return c;
  }

  /** Earliest time (ms) a send to `chatId` may start. `critical` may use the reserve. */
  nextSlot(chatId: string, now: number, critical = false): number {
    const L = this.limits;
    const c = this.chat(chatId);
    c.sends = c.sends.filter((t) => t > now - Math.max(L.groupWindowMs, L.perChatGapMs));
    this.global = this.global.filter((t) => t > now - 1000);
    let at = Math.max(now, c.blockedUntil);
    const last = c.sends[c.sends.length - 1];
    if (last !== undefined) at = Math.max(at, last + L.perChatGapMs);
    if (isGroupChat(chatId)) {
      const cap = Math.max(1, L.groupPerWindow - (critical ? 0 : L.criticalReserve));
      if (c.sends.length >= cap) at = Math.max(at, (c.sends[c.sends.length - cap] as number) + L.groupWindowMs);
    }
    if (L.globalPerSecond > 0 && this.global.length >= L.globalPerSecond) {
      at = Math.max(at, (this.global[this.global.length - L.globalPerSecond] as number) + 1000);
    }
    return at;
  }

  /** A send to `chatId` reached (or may have reached) Telegram at `at`. */
  record(chatId: string, at: number): void {
    const c = this.chat(chatId);
    c.sends.push(at);
    c.sends.sort((a, b) => a - b);
    this.global.push(at);
    this.global.sort((a, b) => a - b);
  }

  /** Telegram said 429: nothing to this chat before `until`. */
  block(chatId: string, until: number): void {
    const c = this.chat(chatId);
    c.blockedUntil = Math.max(c.blockedUntil, until);
  }

  /** Sends recorded for `chatId` inside the group window ending at `now`. */
  recent(chatId: string, now: number): number {
    return this.chat(chatId).sends.filter((t) => t > now - this.limits.groupWindowMs).length;
  }
}

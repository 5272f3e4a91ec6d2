/**
 * THE per-chat send budget (SPEC 9, 12; SAFE-4). Everything Phoenix sends to a Telegram chat
 * draws from it: cards (the bot's card syncer), command replies and button refreshes (the
 * bot), alert digests (the alert sender). One budget per chat, inside Telegram's flood
 * limits (Bot FAQ: about 1 message/s per chat, 20 per rolling minute in a group, about 30/s
 * across chats), handed out by priority lane:
 *
 *   urgent  kill confirmations (/halt …) and CRITICAL alerts; may use the group reserve
 *   card    evidence cards and their edits
 *   rest    everything else: command replies, WARNING/INFO digests
 *
 * `take(chat, lane)` queues a waiter; the chat's pump grants the most urgent lane whose head
 * is allowed now (FIFO inside a lane), at most ONE send in flight per chat, so messages reach
 * Telegram in the order they were granted and the accounting is exact. The holder reports
 * how it went: `sent` (Telegram took it, or may have: counts from the response time, so
 * pacing never undercuts Telegram's window), `notSent`, or `rateLimited` (429: the whole
 * chat waits out retry_after, every lane). A 429'd sender re-queues at the FRONT of its lane,
 * so its place (and the chat's order) is kept.
 *
 * Time comes from the injected Clock: the clock Telegram's limits run on (the wall clock in
 * production; a FakeClock driving the sandbox's limits in tests). No I/O here.
 */
import type { Cancel, Clock } from '../engine/index.js';

export type Lane = 'urgent' | 'card' | 'rest';
/** most urgent first */
export const LANES: readonly Lane[] = ['urgent', 'card', 'rest'];
const RANK: Record<Lane, number> = { urgent: 0, card: 1, rest: 2 };

export interface PacingLimits {
  /** minimum gap between two sends to one chat (default 1000 ms) */
  readonly perChatGapMs: number;
  /** sends per rolling window in a group chat (default 20; 0 = no window) */
  readonly groupPerWindow: number;
  /** the group window (default 60 s) */
  readonly groupWindowMs: number;
  /** slots of the group window only the urgent lane may use (default 4) */
  readonly criticalReserve: number;
  /** sends per rolling second across all chats (default 30; 0 = no cap) */
  readonly globalPerSecond: number;
}

export const TELEGRAM_PACING: PacingLimits = {
  perChatGapMs: 1000,
  groupPerWindow: 20,
  groupWindowMs: 60_000,
  criticalReserve: 4,
  globalPerSecond: 30,
};

/** No pacing (a test Bot API without limits): priorities, one-in-flight and 429s still apply. */
export const NO_PACING: PacingLimits = { perChatGapMs: 0, groupPerWindow: 0, groupWindowMs: 60_000, criticalReserve: 0, globalPerSecond: 0 };

export const isGroupChat = (chatId: string): boolean => chatId.trim().startsWith('-');

/** One send's slot; exactly one of the three reports ends it (later calls are ignored). */
export interface Grant {
  readonly chatId: string;
  readonly lane: Lane;
  /** Telegram took it, or may have (an ambiguous failure): counts against the windows at `at` */
  sent(at?: number): void;
  /** it did not reach Telegram, or Telegram refused it without counting it */
  notSent(): void;
  /** Telegram said 429: nothing to this chat for `retryAfterSec` */
  rateLimited(retryAfterSec: number): void;
}

export interface TakeOptions {
  /** aborting removes the waiter; take() rejects with an AbortError */
  readonly signal?: AbortSignal;
  /** queue at the head of the lane (a retry keeps its place) */
  readonly front?: boolean;
  /** not before this clock time (retry backoff) */
  readonly notBefore?: number;
}

export interface BudgetOptions {
  readonly clock: Clock;
  /** Telegram's limits by default; false = no pacing */
  readonly limits?: Partial<PacingLimits> | false;
}

interface Waiter {
  readonly lane: Lane;
  readonly notBefore: number;
  resolve(g: Grant): void;
  reject(e: Error): void;
  detach(): void;
}

interface ChatState {
  sends: number[];
  blockedUntil: number;
  readonly queues: Record<Lane, Waiter[]>;
  inFlight: boolean;
  timer: Cancel | null;
  timerAt: number;
}

const abortError = (): Error => Object.assign(new Error('the send was cancelled before it got a slot'), { name: 'AbortError' });

export class ChatBudget {
  readonly limits: PacingLimits;
  private readonly clock: Clock;
  private readonly chats = new Map<string, ChatState>();
  private global: number[] = [];

  constructor(opts: BudgetOptions) {
    this.clock = opts.clock;
    this.limits = opts.limits === false ? NO_PACING : { ...TELEGRAM_PACING, ...opts.limits };
  }

  now(): number {
    return this.clock.now();
  }

  /**
   * Earliest time a send in `lane` may start: Telegram's limits, a 429 block, and (an
   * estimate) the work already waiting in lanes at least as urgent or in flight. Callers
   * that decide whether to compose something now compare it with `now`.
   */
  nextSlot(chatId: string, lane: Lane, now = this.clock.now()): number {
    const at = this.paceAt(chatId, lane, now);
    const c = this.chats.get(chatId);
    if (!c) return at;
    const ahead = LANES.filter((l) => RANK[l] <= RANK[lane]).reduce((n, l) => n + c.queues[l].length, 0) + (c.inFlight ? 1 : 0);
    return ahead === 0 ? at : Math.max(at, now) + Math.max(1, this.limits.perChatGapMs) * ahead;
  }

  /** Wait for this chat's next slot in `lane`. */
  take(chatId: string, lane: Lane, opts: TakeOptions = {}): Promise<Grant> {
    const signal = opts.signal;
    if (signal?.aborted) return Promise.reject(abortError());
    const c = this.chat(chatId);
    return new Promise<Grant>((resolve, reject) => {
      const onAbort = () => {
        const q = c.queues[lane];
        const i = q.indexOf(waiter);
        if (i >= 0) q.splice(i, 1);
        reject(abortError());
        this.pump(chatId);
      };
      const waiter: Waiter = {
        lane,
        notBefore: opts.notBefore ?? 0,
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.front) c.queues[lane].unshift(waiter);
      else c.queues[lane].push(waiter);
      this.pump(chatId);
    });
  }

  /** A send known from elsewhere (e.g. the outbox after a restart) reached Telegram at `at`. */
  record(chatId: string, at: number): void {
    const c = this.chat(chatId);
    c.sends.push(at);
    c.sends.sort((a, b) => a - b);
    this.global.push(at);
    this.global.sort((a, b) => a - b);
    this.pump(chatId);
  }

  /** Telegram said 429 for this chat: nothing to it before `until`. */
  block(chatId: string, until: number): void {
    const c = this.chat(chatId);
    c.blockedUntil = Math.max(c.blockedUntil, until);
    this.pump(chatId);
  }

  /** Sends recorded for `chatId` inside the group window ending at `now`. */
  recent(chatId: string, now = this.clock.now()): number {
    return this.chat(chatId).sends.filter((t) => t > now - this.limits.groupWindowMs).length;
  }

  /** Sends waiting for a slot (one chat, or all). */
  waiting(chatId?: string): number {
    const count = (c: ChatState) => LANES.reduce((n, l) => n + c.queues[l].length, 0);
    if (chatId !== undefined) {
      const c = this.chats.get(chatId);
      return c ? count(c) : 0;
    }
    let n = 0;
    for (const c of this.chats.values()) n += count(c);
    return n;
  }

  // === internals

  private chat(chatId: string): ChatState {
    let c = this.chats.get(chatId);
    if (!c) {
      c = { sends: [], blockedUntil: 0, queues: { urgent: [], card: [], rest: [] }, inFlight: false, timer: null, timerAt: Infinity };
      this.chats.set(chatId, c);
    }
    return c;
  }

  /** Telegram's limits only: earliest start of a send in `lane` (urgent may use the reserve). */
  private paceAt(chatId: string, lane: Lane, now: number): number {
    const L = this.limits;
    const c = this.chat(chatId);
    c.sends = c.sends.filter((t) => t > now - Math.max(L.groupWindowMs, L.perChatGapMs));
    this.global = this.global.filter((t) => t > now - 1000);
    let at = Math.max(now, c.blockedUntil);
    const last = c.sends[c.sends.length - 1];
    if (last !== undefined && L.perChatGapMs > 0) at = Math.max(at, last + L.perChatGapMs);
    if (isGroupChat(chatId) && L.groupPerWindow > 0) {
      const cap = Math.max(1, L.groupPerWindow - (lane === 'urgent' ? 0 : L.criticalReserve));
      if (c.sends.length >= cap) at = Math.max(at, (c.sends[c.sends.length - cap] as number) + L.groupWindowMs);
    }
    if (L.globalPerSecond > 0 && this.global.length >= L.globalPerSecond) {
      at = Math.max(at, (this.global[this.global.length - L.globalPerSecond] as number) + 1000);
    }
    return at;
  }

  /** Grant the chat's slot to the most urgent ready waiter, or wake up when one will be. */
  private pump(chatId: string): void {
    const c = this.chat(chatId);
    if (c.inFlight) return this.sleep(c, Infinity, chatId);
    const now = this.clock.now();
    let earliest = Infinity;
    for (const lane of LANES) {
      const head = c.queues[lane][0];
      if (!head) continue;
      const at = Math.max(this.paceAt(chatId, lane, now), head.notBefore);
      if (at <= now) {
        c.queues[lane].shift();
        head.detach();
        c.inFlight = true;
        this.sleep(c, Infinity, chatId);
        head.resolve(this.grant(chatId, lane));
        return;
      }
      earliest = Math.min(earliest, at);
    }
    this.sleep(c, earliest, chatId);
  }

  /** Keep exactly one timer per chat, for the earliest moment something may be granted. */
  private sleep(c: ChatState, at: number, chatId: string): void {
    if (c.timerAt === at) return;
    c.timer?.();
    c.timer = null;
    c.timerAt = at;
    if (at === Infinity) return;
    c.timer = this.clock.schedule(Math.max(0, at - this.clock.now()), () => {
      c.timer = null;
      c.timerAt = Infinity;
      this.pump(chatId);
    });
  }

  private grant(chatId: string, lane: Lane): Grant {
    let open = true;
    const end = (f: (c: ChatState) => void) => {
      if (!open) return;
      open = false;
      const c = this.chat(chatId);
      c.inFlight = false;
      f(c);
      this.pump(chatId);
    };
    return {
      chatId,
      lane,
      sent: (at = this.clock.now()) =>
        end((c) => {
          c.sends.push(at);
          c.sends.sort((a, b) => a - b);
          this.global.push(at);
          this.global.sort((a, b) => a - b);
        }),
      notSent: () => end(() => {}),
      rateLimited: (retryAfterSec) =>
        end((c) => {
          c.blockedUntil = Math.max(c.blockedUntil, this.clock.now() + Math.max(1, retryAfterSec) * 1000);
        }),
    };
  }
}

/**
 * Flood control modelled on the Bot FAQ numbers: about 1 message/s per chat (private chats
 * may burst a little), 20 messages per rolling minute per group (edits count there too),
 * 30 messages/s across all chats. Time comes only from the injected clock, so a fake clock
 * drives 429s deterministically. Rejected calls do not consume capacity.
 */

export interface SandboxClock {
  now(): number;
}

/** A limit set to 0 is switched off. */
export interface RateLimitConfig {
  /** sustained sends per second per chat */
  perChatPerSecond: number;
  /** sends a private chat may burst before the 1/s pace applies */
  privateBurst: number;
  /** same for groups (negative chat ids) */
  groupBurst: number;
  /** sends + edits per rolling minute in a group */
  groupPerMinute: number;
  /** sends per rolling second across all chats */
  globalPerSecond: number;
  /** optional: sends + edits per rolling minute in ANY chat */
  strictPerMinute?: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitConfig = {
  perChatPerSecond: 1,
  privateBurst: 3,
  groupBurst: 1,
  groupPerMinute: 20,
  globalPerSecond: 30,
};

/** Only the per-minute cap of `strictPerMinute`, for `rateLimits: false` + `strictPerMinute: N`. */
export const NO_RATE_LIMITS: RateLimitConfig = {
  perChatPerSecond: 0,
  privateBurst: 1,
  groupBurst: 1,
  groupPerMinute: 0,
  globalPerSecond: 0,
};

export type RateKind = 'send' | 'edit';

interface Bucket {
  tokens: number;
  at: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** Whole seconds until `ms` has passed, never below 1 (Telegram never says "retry after 0"). */
const toRetryAfter = (ms: number): number => Math.max(1, Math.ceil(ms / SECOND));

/** Timestamps of accepted events inside a rolling window. */
class Window {
  private stamps: number[] = [];
  constructor(
    private readonly size: number,
    private readonly max: number,
  ) {}

  /** ms until a slot frees, or 0 when there is room now */
  waitMs(now: number): number {
    this.stamps = this.stamps.filter((t) => t > now - this.size);
    if (this.stamps.length < this.max) return 0;
    const oldest = this.stamps[this.stamps.length - this.max] as number;
    return oldest + this.size - now;
  }

  add(now: number): void {
    this.stamps.push(now);
  }
}

export class RateLimiter {
  private readonly buckets = new Map<number, Bucket>();
  private readonly groupWindows = new Map<number, Window>();
  private readonly strictWindows = new Map<number, Window>();
  private global: Window;

  constructor(
    private readonly clock: SandboxClock,
    readonly config: RateLimitConfig = DEFAULT_RATE_LIMITS,
  ) {
    this.global = new Window(SECOND, config.globalPerSecond);
  }

  /**
   * Ask for one send/edit in `chatId`. Returns undefined and records it when allowed, or the
   * retry_after (seconds) the 429 must carry.
   */
  take(chatId: number, kind: RateKind): number | undefined {
    const now = this.clock.now();
    const isGroup = chatId < 0;
    const waits: number[] = [];

    const { perChatPerSecond, globalPerSecond, groupPerMinute } = this.config;
    const bucket = kind === 'send' && perChatPerSecond > 0 ? this.refill(chatId, isGroup, now) : undefined;
    if (bucket && bucket.tokens < 1) waits.push(((1 - bucket.tokens) * SECOND) / perChatPerSecond);
    const global = kind === 'send' && globalPerSecond > 0 ? this.global : undefined;
    if (global) waits.push(global.waitMs(now));
    const group = isGroup && groupPerMinute > 0 ? this.window(this.groupWindows, chatId, groupPerMinute) : undefined;
    if (group) waits.push(group.waitMs(now));
    const strict =
      this.config.strictPerMinute !== undefined && this.config.strictPerMinute > 0
        ? this.window(this.strictWindows, chatId, this.config.strictPerMinute)
        : undefined;
    if (strict) waits.push(strict.waitMs(now));

    const wait = Math.max(0, ...waits);
    if (wait > 0) return toRetryAfter(wait);

    if (bucket) bucket.tokens -= 1;
    global?.add(now);
    group?.add(now);
    strict?.add(now);
    return undefined;
  }

  reset(): void {
    this.buckets.clear();
    this.groupWindows.clear();
    this.strictWindows.clear();
    this.global = new Window(SECOND, this.config.globalPerSecond);
  }

  private refill(chatId: number, isGroup: boolean, now: number): Bucket {
    const capacity = Math.max(1, isGroup ? this.config.groupBurst : this.config.privateBurst);
    const b = this.buckets.get(chatId) ?? { tokens: capacity, at: now };
    const elapsed = Math.max(0, now - b.at);
    b.tokens = Math.min(capacity, b.tokens + (elapsed * this.config.perChatPerSecond) / SECOND);
    b.at = now;
    this.buckets.set(chatId, b);
    return b;
  }

  private window(map: Map<number, Window>, chatId: number, max: number): Window {
    let w = map.get(chatId);
    if (!w) {
      w = new Window(MINUTE, max);
      map.set(chatId, w);
    }
    return w;
  }
}

/**
 * The one token bucket (command and audit limits in the bot, the HTTP intake): per key, on an
 * injected clock, `burst` actions at once, then one more every `refillMs`. `take` says whether
 * the action may run and, when not, how long until it may and whether this is the first refusal
 * since the key was last allowed (so a user is told once, not on every message).
 */
export type Take = { readonly ok: true } | { readonly ok: false; readonly firstRefusal: boolean; readonly retryInMs: number };

export class TokenBucket {
  private readonly buckets = new Map<string, { tokens: number; at: number; warned: boolean }>();

  constructor(
    private readonly now: () => number,
    readonly burst: number,
    readonly refillMs: number,
  ) {}

  /** `perMinute` actions a minute, evenly, bursts up to `burst` (the HTTP intake's terms). */
  static perMinute(now: () => number, perMinute: number, burst: number): TokenBucket {
    return new TokenBucket(now, burst, 60_000 / perMinute);
  }

  take(key = ''): Take {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now, warned: false };
    const refill = this.refillMs > 0 ? Math.floor((now - b.at) / this.refillMs) : this.burst;
    if (refill > 0) {
      b.tokens = Math.min(this.burst, b.tokens + refill);
      b.at = b.tokens >= this.burst ? now : b.at + refill * this.refillMs;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      b.warned = false;
      this.buckets.set(key, b);
      this.prune(now);
      return { ok: true };
    }
    const firstRefusal = !b.warned;
    b.warned = true;
    this.buckets.set(key, b);
    return { ok: false, firstRefusal, retryInMs: Math.max(0, b.at + this.refillMs - now) };
  }

  private prune(now: number): void {
    if (this.buckets.size < 10_000) return;
    for (const [k, b] of this.buckets) if (now - b.at > this.refillMs * this.burst * 2) this.buckets.delete(k);
  }
}

/** A Retry-After in whole seconds, never below 1. */
export const retryAfterSec = (retryInMs: number): number => Math.max(1, Math.ceil(retryInMs / 1000));

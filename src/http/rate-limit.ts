/** Token bucket: `perMinute` requests refill evenly; bursts up to `burst`. Time is injected. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly perMinute: number, private readonly burst: number, private readonly now: () => number) {
    this.tokens = burst;
    this.last = now();
  }

  /** true when a request may pass; otherwise `retryAfterSec()` says when. */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.perMinute) / 60_000);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  retryAfterSec(): number {
    return Math.max(1, Math.ceil(((1 - this.tokens) * 60) / this.perMinute));
  }
}

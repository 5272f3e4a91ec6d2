/**
 * The one token bucket (issue 15): bot command/audit limits and the HTTP intake share it.
 */
import { describe, expect, it } from 'vitest';
import { retryAfterSec, TokenBucket } from '../../src/runtime/token-bucket.js';

describe('token bucket', () => {
  it('CV rate limit: exactly `burst` pass at once, the next is refused once as the first refusal, and one more passes exactly one refill later', () => {
    let t = 1_000;
    const b = new TokenBucket(() => t, 3, 60_000);
    expect([b.take('a'), b.take('a'), b.take('a')].every((r) => r.ok)).toBe(true);
    expect(b.take('a')).toEqual({ ok: false, firstRefusal: true, retryInMs: 60_000 });
    expect(b.take('a')).toMatchObject({ ok: false, firstRefusal: false });
    expect(b.take('b').ok).toBe(true); // keys are independent
    t += 59_999; // one ms short of a refill
    expect(b.take('a')).toEqual({ ok: false, firstRefusal: false, retryInMs: 1 });
    t += 1; // exactly one refill
    expect(b.take('a').ok).toBe(true);
    expect(b.take('a')).toEqual({ ok: false, firstRefusal: true, retryInMs: 60_000 });
  });

  it('CV rate limit: perMinute terms refill evenly and never hold more than the burst; Retry-After is whole seconds, at least 1', () => {
    let t = 0;
    const b = TokenBucket.perMinute(() => t, 6, 2); // one every 10 s
    expect(b.take().ok && b.take().ok).toBe(true);
    const refused = b.take();
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(retryAfterSec(refused.retryInMs)).toBe(10);
    t += 3_600_000; // an idle hour refills to the burst, not beyond
    expect([b.take(), b.take(), b.take()].map((r) => r.ok)).toEqual([true, true, false]);
    expect(retryAfterSec(0)).toBe(1);
    expect(retryAfterSec(1_001)).toBe(2);
  });
});

import type { Cancel, Clock } from '../../src/engine/ports.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * Deterministic clock for tests: time moves only when `advance`/`set` are called, and
 * scheduled callbacks run in due order as time passes them. `flush()` lets promise
 * continuations triggered by those callbacks run before the next timer fires.
 */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start: number | string = '2026-11-23T15:00:00Z') {
    this.t = typeof start === 'number' ? start : Date.parse(start);
  }

  now(): number {
    return this.t;
  }

  schedule(delayMs: number, fn: () => void): Cancel {
    const timer: Timer = { at: this.t + Math.max(0, delayMs), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((x) => x !== timer);
    };
  }

  /** Number of callbacks waiting to run. */
  pending(): number {
    return this.timers.length;
  }

  /** Move time forward by `ms`, running every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flushMicrotasks();
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
    await flushMicrotasks();
  }

  /** Jump to an absolute time (ISO string or epoch ms), running due timers. */
  async set(to: number | string): Promise<void> {
    const target = typeof to === 'number' ? to : Date.parse(to);
    if (target < this.t) throw new Error('FakeClock cannot go back in time');
    await this.advance(target - this.t);
  }
}

/** Let queued promise continuations (and I/O callbacks already due) run. */
export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

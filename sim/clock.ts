/**
 * The one clock of a simulation. Time moves only when the driver moves it; every timer of every
 * part (the broker, each Phoenix process's jobs, alert sender, card syncer, chat budget) lives
 * here, so a run is a pure function of its seed and its actions.
 *
 * Two ways to move:
 * - `run(to)`   every timer fires at its own due time, in (due, scheduling) order, and the async
 *               work it starts settles before the next one fires (FakeClock semantics);
 * - `leap(to)`  time jumps to `to` first and each timer that fell due fires once, late and back
 *               to back (their async work interleaves) — like a host that suspended the process.
 *               Interval jobs resynchronise (ClockScheduler) and the missed-heartbeat watch reports
 *               the gap. The driver leaps only over stretches where nothing is pending.
 *
 * `ProcessClock` is one Phoenix process's view: its timers die with it (a killed process runs
 * nothing more), and nothing it schedules after its death ever fires.
 */
import type { Cancel, Clock } from '../src/engine/index.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** Hooks the driver runs between timers (settle async work; restart a dead process). */
export interface RunHooks {
  settle(): Promise<void>;
  afterTimer?(): Promise<void>;
}

const MAX_TIMERS_PER_MOVE = 2_000_000;

export class SimClock implements Clock {
  private t: number;
  private seq = 0;
  private heap: Timer[] = [];
  private live = 0;

  constructor(start: number) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  schedule(delayMs: number, fn: () => void): Cancel {
    const timer: Timer = { at: this.t + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.push(timer);
    this.live++;
    return () => {
      if (timer.cancelled) return;
      timer.cancelled = true;
      this.live--;
    };
  }

  /** Timers waiting to fire. */
  pending(): number {
    return this.live;
  }

  /** Due time of the next timer, if any. */
  nextDue(): number | undefined {
    this.dropCancelled();
    return this.heap[0]?.at;
  }

  /** Move to `to`, firing every timer at its due time. */
  async run(to: number, hooks: RunHooks): Promise<void> {
    await this.move(to, hooks, false);
  }

  /** Jump to `to`; timers that fell due fire once, at `to`. */
  async leap(to: number, hooks: RunHooks): Promise<void> {
    await this.move(to, hooks, true);
  }

  private async move(to: number, hooks: RunHooks, leap: boolean): Promise<void> {
    if (to < this.t) throw new Error(`SimClock cannot go back in time (${new Date(to).toISOString()} < ${new Date(this.t).toISOString()})`);
    if (leap) {
      this.t = to;
      // waking from a suspension: every timer that fell due runs back to back, their work interleaves
      for (let rounds = 0; ; rounds++) {
        if (rounds > MAX_TIMERS_PER_MOVE) throw new Error('SimClock: a timer keeps rescheduling itself at once (livelock)');
        const due: Timer[] = [];
        for (let next = this.takeDue(to); next; next = this.takeDue(to)) due.push(next);
        if (!due.length) break;
        for (const timer of due) timer.fn();
        await hooks.settle();
        if (hooks.afterTimer) await hooks.afterTimer();
      }
      await hooks.settle();
      return;
    }
    await hooks.settle();
    for (let n = 0; ; n++) {
      if (n > MAX_TIMERS_PER_MOVE) throw new Error('SimClock: a timer keeps rescheduling itself at once (livelock)');
      const next = this.takeDue(to);
      if (!next) break;
      this.t = Math.max(this.t, next.at);
      next.fn();
      await hooks.settle();
      if (hooks.afterTimer) await hooks.afterTimer();
    }
    this.t = to;
    await hooks.settle();
  }

  /** The earliest live timer due at or before `to`, taken off the heap (it will not run again), or undefined. */
  private takeDue(to: number): Timer | undefined {
    this.dropCancelled();
    const next = this.heap[0];
    if (!next || next.at > to) return undefined;
    this.pop();
    this.live--;
    next.cancelled = true;
    return next;
  }

  // === binary heap ordered by (at, seq)

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(x: Timer): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i] as Timer, h[p] as Timer)) break;
      [h[i], h[p]] = [h[p] as Timer, h[i] as Timer];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as Timer;
    if (!h.length) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l] as Timer, h[m] as Timer)) m = l;
      if (r < h.length && this.less(h[r] as Timer, h[m] as Timer)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m] as Timer, h[i] as Timer];
      i = m;
    }
  }

  private dropCancelled(): void {
    while (this.heap.length && (this.heap[0] as Timer).cancelled) this.pop();
  }
}

/** A process's (or the broker's) scope on the shared clock: `kill()` cancels all its timers for good. */
export class ScopedClock implements Clock {
  private readonly cancels = new Set<Cancel>();
  private dead = false;

  constructor(private readonly root: SimClock) {}

  now(): number {
    return this.root.now();
  }

  schedule(delayMs: number, fn: () => void): Cancel {
    if (this.dead) return () => {};
    const cancel = this.root.schedule(delayMs, () => {
      this.cancels.delete(cancel);
      if (!this.dead) fn();
    });
    this.cancels.add(cancel);
    return () => {
      cancel();
      this.cancels.delete(cancel);
    };
  }

  /** Timers of this scope still waiting. */
  pending(): number {
    return this.cancels.size;
  }

  kill(): void {
    this.dead = true;
    for (const c of this.cancels) c();
    this.cancels.clear();
  }
}

/** Let every promise continuation that is already queued run (no real I/O happens in a simulation). */
export async function settleMicrotasks(rounds = 2): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

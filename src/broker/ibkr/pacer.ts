/**
 * Pacer: the adapter's own FIFO in front of @stoqey/ib, spacing requests evenly
 * (one every 1000/rate ms, no bursts).
 *
 * Why on top of the client's limiter (maxReqPerSec 40 = 4 per 100 ms)? Measured against the
 * TWS test server, that limiter lets 43 messages land within one rolling second (its 4-token
 * bursts plus arrival jitter); IBKR disconnects at 50. Even spacing at ≤ 38/s keeps the
 * observed rate at ~38–40. Also, a queued-but-unsent request lives here, per session: when the
 * session dies the queue is dropped, so "not written" really means "never sent".
 */
import type { Cancel, Clock } from '../../engine/index.js';

/** A queued send; one that returns a promise holds the queue until it settles (the last look). */
export type PacedSend = () => void | Promise<void>;

export class Pacer {
  private queue: PacedSend[] = [];
  private holding = false;
  private lastSent = Number.NEGATIVE_INFINITY;
  private timer: Cancel | null = null;
  private closed = false;
  private readonly intervalMs: number;

  constructor(
    private readonly clock: Clock,
    ratePerSec: number,
    private readonly onError: (e: unknown) => void,
  ) {
    this.intervalMs = 1000 / Math.max(1, ratePerSec);
  }

  /**
   * Queue `send` (FIFO). Returns false when the pacer is closed (session gone): nothing will be
   * sent. A send that returns a promise (the entry's last look, then the write) holds every
   * later request until it settles, so the legs of a bracket still leave in order.
   */
  run(send: PacedSend): boolean {
    if (this.closed) return false;
    this.queue.push(send);
    this.pump();
    return true;
  }

  get queued(): number {
    return this.queue.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Drop everything still queued; later run() calls are refused. */
  close(): void {
    this.closed = true;
    this.timer?.();
    this.timer = null;
    this.queue = [];
  }

  private pump(): void {
    if (this.timer || this.closed || this.holding) return;
    while (this.queue.length > 0 && !this.closed) {
      const now = this.clock.now();
      const wait = this.lastSent + this.intervalMs - now;
      if (wait > 0) {
        this.timer = this.clock.schedule(wait, () => {
          this.timer = null;
          this.pump();
        });
        return;
      }
      const send = this.queue.shift();
      this.lastSent = now;
      let held: void | Promise<void> = undefined;
      try {
        held = send?.();
      } catch (e) {
        this.onError(e);
      }
      if (held instanceof Promise) {
        this.holding = true;
        held
          .catch((e: unknown) => this.onError(e))
          .finally(() => {
            this.holding = false;
            this.pump();
          });
        return;
      }
    }
  }
}

/**
 * In-order, non-reentrant event delivery for the simulated broker.
 *
 * Mechanism: `push` appends to a FIFO and, if no drain is pending, schedules one with
 * `queueMicrotask`. So events never reach a listener inside the broker call that produced
 * them, 0-delay events (INSTANT fills) arrive after a microtask flush without any clock
 * advance, and an event emitted by a listener (e.g. it calls `cancel`) is queued behind the
 * current one: every listener sees every event in production order and is never re-entered.
 * Clock-delayed events (delayed fills) are pushed from a `clock.schedule` callback and then
 * delivered the same way.
 *
 * A listener that throws is logged and skipped; the others still get the event.
 */
import type { BrokerEvent, Logger } from '../../engine/index.js';

export type BrokerListener = (e: BrokerEvent) => void;

interface Subscription {
  readonly fn: BrokerListener;
  active: boolean;
}

export class EventQueue {
  private readonly subs: Subscription[] = [];
  private queue: BrokerEvent[] = [];
  private scheduled = false;
  private draining = false;

  constructor(private readonly logger: Logger) {}

  /** Queue an event; it is frozen so listeners cannot alter what others see. */
  push(e: BrokerEvent): void {
    this.queue.push(Object.freeze(e));
    if (this.scheduled || this.draining) return;
    this.scheduled = true;
    queueMicrotask(() => this.drain());
  }

  /** Add a listener; the returned function removes it (also for already-queued events). */
  subscribe(fn: BrokerListener): () => void {
    const sub: Subscription = { fn, active: true };
    this.subs.push(sub);
    return () => {
      if (!sub.active) return;
      sub.active = false;
      this.subs.splice(this.subs.indexOf(sub), 1);
    };
  }

  private drain(): void {
    this.scheduled = false;
    this.draining = true;
    try {
      for (let i = 0; i < this.queue.length; i++) {
        const e = this.queue[i] as BrokerEvent;
        for (const sub of [...this.subs]) {
          if (!sub.active) continue;
          try {
            sub.fn(e);
          } catch (err) {
            this.logger.error({ err, event: e.kind }, 'sim broker listener threw');
          }
        }
      }
    } finally {
      this.queue = [];
      this.draining = false;
    }
  }
}

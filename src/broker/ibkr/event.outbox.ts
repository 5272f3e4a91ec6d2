/**
 * Ordered delivery of port events with commission joining.
 *
 * IB sends a fill as execDetails and, separately and usually a few ms later, a
 * commissionReport with the same execId. Choice (documented for the engine): a `fill` event is
 * HELD until its commission report arrives, at most `commissionWaitMs`; after that it is emitted
 * with commission 0 (the later report still updates `executions()`). Events produced after a
 * held fill wait behind it, so listeners always see the broker's order (e.g. fill before the
 * FILLED status that follows it on the wire).
 */
import type { BrokerEvent, BrokerFill, Cancel, Clock, Logger } from '../../engine/index.js';

interface Entry {
  readonly event?: BrokerEvent;
  readonly execId?: string;
  ready: boolean;
  cancel?: Cancel;
}

export class EventOutbox {
  private readonly queue: Entry[] = [];
  private readonly listeners = new Set<(e: BrokerEvent) => void>();
  private flushing = false;
  private drainWaiters: Array<() => void> = [];

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly commissionWaitMs: number,
    /** current fill for an execId (with whatever commission is known) */
    private readonly fillOf: (execId: string) => BrokerFill | undefined,
  ) {}

  subscribe(listener: (e: BrokerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  push(event: BrokerEvent): void {
    this.queue.push({ event, ready: true });
    this.flush();
  }

  /** A new fill; `complete` when its commission is already known. */
  pushFill(execId: string, complete: boolean): void {
    const entry: Entry = { execId, ready: complete };
    if (!complete) {
      entry.cancel = this.clock.schedule(this.commissionWaitMs, () => {
        if (entry.ready) return;
        this.logger.warn({ execId, waitMs: this.commissionWaitMs }, 'commission report late: fill emitted with commission 0');
        entry.ready = true;
        this.flush();
      });
    }
    this.queue.push(entry);
    this.flush();
  }

  commissionArrived(execId: string): void {
    const entry = this.queue.find((e) => e.execId === execId && !e.ready);
    if (!entry) return;
    entry.ready = true;
    entry.cancel?.();
    this.flush();
  }

  /** Resolves when nothing is held (every fill got its commission or its window passed). */
  drained(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Release everything held (shutdown). */
  releaseAll(): void {
    for (const e of this.queue) {
      e.ready = true;
      e.cancel?.();
    }
    this.flush();
  }

  private flush(): void {
    if (this.flushing) return; // a listener pushed while we deliver: the running loop picks it up
    this.flushing = true;
    try {
      for (;;) {
        const head = this.queue[0];
        if (!head || !head.ready) break;
        this.queue.shift();
        const event = head.event ?? this.fillEvent(head.execId);
        if (event) this.deliver(event);
      }
    } finally {
      this.flushing = false;
    }
    if (this.queue.length === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  private fillEvent(execId: string | undefined): BrokerEvent | undefined {
    if (execId === undefined) return undefined;
    const fill = this.fillOf(execId);
    return fill ? { kind: 'fill', fill } : undefined;
  }

  private deliver(event: BrokerEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch (e) {
        this.logger.error({ err: e, kind: event.kind }, 'broker event listener threw');
      }
    }
  }
}

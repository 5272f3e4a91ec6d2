/**
 * The simulated broker's memory across restarts (issue 16): a real broker keeps its orders,
 * executions and positions when Phoenix restarts; an in-memory simulator forgets them, and
 * reconciliation then reports the positions Phoenix remembers as CRITICAL drift. SimBroker
 * takes a `SimBookPersistence` (here: the Store's `simBook` repository, in Phoenix's own
 * database) and uses it through `SimBookSaver`; the book logic itself knows nothing of it.
 *
 * Ordering: the broker calls `changed()` before it queues the event that reports a change, so
 * the save is queued on the store (one transaction at a time, in order) before the engine's
 * transaction that books the event: Phoenix never remembers an execution the broker would
 * forget. Saves are deltas (new and open orders, new executions, the positions, the id
 * counters) and idempotent (upserts; known execIds skipped), so a failed one is repaired by a
 * full save at the next change.
 */
import type { Clock, Logger, SimBookState, Store } from '../../engine/index.js';
import { isOpen, orderState, type SimBook } from './sim.book.js';

export interface SimBookPersistence {
  /** the saved book, null when none was saved yet */
  load(): Promise<SimBookState | null>;
  /** upsert the orders and positions given, add the executions not saved yet, set the counters */
  save(change: SimBookState): Promise<void>;
}

/** The book in Phoenix's database (the Store's simBook repository). */
export function storeBookPersistence(store: Store, clock: Clock): SimBookPersistence {
  return {
    load: () => store.tx((tx) => tx.simBook.load()),
    save: (change) => store.tx((tx) => tx.simBook.save(change, clock.now())),
  };
}

export class SimBookSaver {
  /** orders book.all()[0..savedOrders) were saved; of those, `open` may still change */
  private savedOrders = 0;
  private savedExecs = 0;
  private open = new Set<string>();
  private lastPositions = '';
  private lastCounters = '';
  private scheduled = false;
  private readonly inflight = new Set<Promise<void>>();

  /** `book` holds what was just loaded (or nothing): that is what the store has. */
  constructor(
    private readonly book: SimBook,
    private readonly persistence: SimBookPersistence,
    private readonly logger: Logger,
  ) {
    this.markSaved();
  }

  /** Something in the book changed: save it in a microtask (one save per synchronous burst). */
  changed(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.saveNow();
    });
  }

  /** Wait until every change so far is saved (disconnect: before the store closes). */
  async flush(): Promise<void> {
    if (this.scheduled) {
      this.scheduled = false;
      this.saveNow();
    }
    while (this.inflight.size) await Promise.all([...this.inflight]);
  }

  private markSaved(): void {
    const all = this.book.all();
    this.savedOrders = all.length;
    this.savedExecs = this.book.executions().length;
    this.open = new Set(all.filter(isOpen).map((o) => o.brokerOrderId));
    this.lastPositions = JSON.stringify(this.book.positionStates());
    this.lastCounters = JSON.stringify(this.book.counters());
  }

  private saveNow(): void {
    const all = this.book.all();
    const touched = [...[...this.open].flatMap((id) => this.book.get(id) ?? []), ...all.slice(this.savedOrders)];
    const executions = this.book.executions().slice(this.savedExecs);
    const positions = this.book.positionStates();
    const counters = this.book.counters();
    const positionsText = JSON.stringify(positions);
    const countersText = JSON.stringify(counters);
    if (!touched.length && !executions.length && positionsText === this.lastPositions && countersText === this.lastCounters) return;
    const orders = touched.map(orderState);
    this.savedOrders = all.length;
    this.savedExecs += executions.length;
    this.open = new Set(touched.filter(isOpen).map((o) => o.brokerOrderId));
    this.lastPositions = positionsText;
    this.lastCounters = countersText;
    const p = this.persistence
      .save({ ...counters, orders, executions, positions })
      .catch((e: Error) => {
        // the next change saves everything again (idempotent), so nothing stays lost
        this.logger.error({ err: e.message }, 'simulated broker: saving its book failed; retried with the next change');
        this.savedOrders = 0;
        this.savedExecs = 0;
        this.open = new Set();
        this.lastPositions = '';
        this.lastCounters = '';
      })
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }
}

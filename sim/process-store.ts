/**
 * The store as one simulated process sees it: the real SqliteStore on the shared database
 * file, with the process's death wired in at transaction boundaries.
 *
 * - kill `before` commit n: transaction n runs its work, then the process dies and the work is
 *   rolled back (its savepoint; transactions grouped into the same COMMIT before it are
 *   durable but nobody in the dead process hears about them — a crash right after them);
 * - kill `after` commit n: transaction n is durable, the process dies before it learns so.
 * After death every transaction — running, queued or new — never returns.
 */
import type { Store, Tx } from '../src/engine/index.js';
import { never, type Life } from './life.js';

class Killed extends Error {
  constructor() {
    super('simulated process killed');
    this.name = 'SimKilled';
  }
}

export class ProcessStore implements Store {
  /** the inner store's transactions not yet settled (PostgreSQL: real I/O the simulator waits for) */
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly inner: Store,
    private readonly life: Life,
    /** a transaction settled (committed or rolled back): the checks' PostgreSQL mirror is stale */
    private readonly onSettled?: () => void,
  ) {}

  /** Transactions of this process still running in the database (0 on SQLite between settles). */
  get pending(): number {
    return this.running.size;
  }

  /** Until every transaction started so far has settled. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }

  /** The better-sqlite3 handle the alert outbox uses (duck-typed by outboxDbFor). */
  get db(): unknown {
    return (this.inner as unknown as { db?: unknown }).db;
  }

  tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const life = this.life;
    if (!life.alive) return never();
    const n = life.count('commit');
    const inner = this.inner.tx(async (tx) => {
      if (!life.alive) throw new Killed();
      const result = await fn(tx);
      if (!life.alive) throw new Killed();
      if (life.dueAt('commit', n, 'before')) {
        life.die(`killed before commit #${n}`);
        throw new Killed();
      }
      return result;
    });
    if (this.onSettled) {
      const onSettled = this.onSettled;
      const settled = inner.then(onSettled, onSettled).finally(() => this.running.delete(settled));
      this.running.add(settled);
    }
    return inner.then(
      (result) => {
        if (life.dueAt('commit', n, 'after')) life.die(`killed after commit #${n}`);
        return life.alive ? result : never<T>();
      },
      (error: unknown) => (life.alive ? Promise.reject(error) : never<T>()),
    );
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

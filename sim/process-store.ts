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
  constructor(
    private readonly inner: Store,
    private readonly life: Life,
  ) {}

  /** The better-sqlite3 handle the alert outbox uses (duck-typed by outboxDbFor). */
  get db(): unknown {
    return (this.inner as unknown as { db?: unknown }).db;
  }

  tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const life = this.life;
    if (!life.alive) return never();
    const n = life.count('commit');
    return this.inner
      .tx(async (tx) => {
        if (!life.alive) throw new Killed();
        const result = await fn(tx);
        if (!life.alive) throw new Killed();
        if (life.dueAt('commit', n, 'before')) {
          life.die(`killed before commit #${n}`);
          throw new Killed();
        }
        return result;
      })
      .then(
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

/**
 * The Store on PostgreSQL (issue 18). Transactions run on `pg` directly (src/store/pg.tx.ts:
 * the native SQLite store's statements for PostgreSQL); Prisma's client on the same pool stays
 * available for inspection and tools (`db`). What several processes on one database need is all
 * inside the database:
 *
 * - One writer at a time. Every transaction (the alert sender's too) takes the desk's write lock
 *   (`pg_advisory_xact_lock`) first and holds it to COMMIT: the same one-at-a-time semantics as
 *   SQLite's BEGIN IMMEDIATE, across processes. The gates read open quantity, trades today and
 *   P&L and then write; two processes approving at once would otherwise each pass a limit the
 *   pair breaks (write skew). It also gives the bead chain one head and one sequence (no fork:
 *   the head is read and extended under the lock) and alert rowids in commit order (the
 *   outbox's cursor never skips a late commit).
 * - Fencing (INV-LEADER-FENCE-1): every transaction of a process that has led checks, after the
 *   lock, that its epoch is still the lease's; a write that makes a broker order PENDING (about
 *   to be sent) is refused to any process without it. A leader that lost its lock (paused, cut
 *   off) finds a newer epoch and the transaction rolls back: nothing is marked sent.
 * - Append-only beads: triggers (prisma/postgres/migrations) refuse UPDATE, DELETE, TRUNCATE.
 *
 * Token consume and state transitions are single conditional UPDATEs, as on SQLite.
 */
import type pg from 'pg';
import type { AlertDraft, BeadDraft, CommittedBeads, Store, Tx } from '../engine/index.js';
import type { Db } from './database.js';
import type { PgDb } from './pg.database.js';
import { PG_LOCK } from './pg.migrate.js';
import { flushPg } from './pg.flush.js';
import { pgTx } from './pg.tx.js';

/** The one LeaderLease row of a desk. */
export const LEASE_NAME = 'desk';

export class FencedError extends Error {
  constructor(
    readonly mine: number | null,
    readonly current: number | null,
  ) {
    super(mine === null ? 'this process is not the leader: it never sends orders (the leader does)' : `leadership lost (epoch ${mine}, now ${current ?? 'none'}): order not sent`);
    this.name = 'FencedError';
  }
}

// One round trip: BEGIN, then the lock (each statement of a simple query takes its own snapshot,
// so the epoch read after it sees a takeover committed while we waited).
const BEGIN_LOCKED = `BEGIN; SELECT pg_advisory_xact_lock(${PG_LOCK.write});`;
const BEGIN_LOCKED_EPOCH = `${BEGIN_LOCKED} SELECT epoch FROM "LeaderLease" WHERE name = '${LEASE_NAME}';`;

export class PgStore implements Store {
  /** the leader epoch this process holds (null: it never led); set by claimLeadership */
  private epoch: number | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closing = false;

  constructor(
    readonly pgDb: PgDb,
    readonly pool: pg.Pool,
    private readonly opts: { onBeadsCommitted?: (c: CommittedBeads) => void } = {},
  ) {}

  /** Prisma on the same pool (inspection, tools, tests). Its API is the SQLite client's: one model. */
  get db(): Db {
    return this.pgDb as unknown as Db;
  }

  /**
   * This process's transactions, one after another: they would queue on the database's write
   * lock anyway; queueing here keeps that wait off the pool's connections and the server's lock
   * manager (16 intake requests in flight ran at 0.7× the one-at-a-time rate without it).
   */
  private queue: Promise<unknown> = Promise.resolve();

  tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new Error('store is closed: the transaction was not run'));
    const p = this.queue.then(() => this.run(fn));
    this.queue = p.catch(() => {});
    this.inFlight.add(p);
    const done = () => void this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  private async run<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    let broken: unknown = null;
    let appended: CommittedBeads | null = null;
    let result: T;
    try {
      const begun = (await c.query(this.epoch === null ? BEGIN_LOCKED : BEGIN_LOCKED_EPOCH)) as unknown as pg.QueryResult[];
      if (this.epoch !== null) {
        const current = (begun[2]?.rows[0] as { epoch?: number } | undefined)?.epoch ?? null;
        if (current !== this.epoch) throw new FencedError(this.epoch, current);
      }
      const beads: BeadDraft[] = [];
      const alerts: AlertDraft[] = [];
      result = await fn(pgTx(c, beads, alerts, { beforeOrderSend: () => this.checkEpoch(c) }));
      appended = await flushPg(c, beads, alerts);
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch((re: unknown) => (broken = re));
      throw e;
    } finally {
      c.release(broken ? (broken as Error) : undefined);
    }
    if (appended) {
      try {
        this.opts.onBeadsCommitted?.(appended);
      } catch {
        /* the anchor sink logs its own failures; the commit stands */
      }
    }
    return result;
  }

  private async checkEpoch(c: pg.PoolClient): Promise<void> {
    const row = (await c.query<{ epoch: number }>(`SELECT epoch FROM "LeaderLease" WHERE name = $1`, [LEASE_NAME])).rows[0];
    if (this.epoch === null || row?.epoch !== this.epoch) throw new FencedError(this.epoch, row?.epoch ?? null);
  }

  /** The fencing token this process presents (null: it never led). */
  get leaderEpoch(): number | null {
    return this.epoch;
  }

  /**
   * Take the lease after winning the leader lock (src/store/pg.leader.ts): the next epoch, under
   * the write lock, so every transaction of the previous leader either committed before this
   * one or will see the new epoch and roll back. Once set, the epoch is never cleared: a
   * process that loses the lock stays fenced until it exits.
   */
  async claimLeadership(holder: string, now: number): Promise<number> {
    if (this.epoch !== null) throw new Error(`this process already led (epoch ${this.epoch}): a lost leader exits, it does not lead again`);
    const client = await this.pool.connect();
    try {
      await client.query(BEGIN_LOCKED);
      const { rows } = await client.query<{ epoch: number }>(
        `INSERT INTO "LeaderLease"(name, epoch, holder, since) VALUES ($1, 1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET epoch = "LeaderLease".epoch + 1, holder = excluded.holder, since = excluded.since RETURNING epoch`,
        [LEASE_NAME, holder, new Date(now).toISOString()],
      );
      await client.query('COMMIT');
      this.epoch = rows[0]!.epoch;
      return this.epoch;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  /** Let running transactions finish (a pool ended under one would wait for it forever), then close. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.inFlight]);
    await this.pgDb.$disconnect();
    await this.pool.end();
  }
}

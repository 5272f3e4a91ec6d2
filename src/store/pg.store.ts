/**
 * The Store on PostgreSQL (issue 18): the Prisma store on Prisma's pg driver adapter, plus what
 * several processes on one database need, all inside the database:
 *
 * - One writer at a time. Every transaction takes the desk's write lock
 *   (`pg_advisory_xact_lock`) first and holds it to COMMIT: the same one-at-a-time semantics as
 *   SQLite's BEGIN IMMEDIATE, across processes. The gates read open quantity, trades today and
 *   P&L and then write; two processes approving at once would otherwise each pass a limit the
 *   pair breaks (write skew). It also gives the bead chain one head and one sequence (no fork:
 *   the head is read and extended under the lock) and alert rowids in commit order (the
 *   outbox's cursor never skips a late commit).
 * - Fencing (INV-LEADER-FENCE-1): a write that makes a broker order PENDING (about to be sent)
 *   checks, in its own transaction, that this process holds the current leader epoch. A leader
 *   that lost its lock (paused, cut off) finds a newer epoch there and the transaction rolls
 *   back: nothing is marked sent, so nothing is sent.
 * - Append-only beads: triggers (prisma/postgres/migrations) refuse UPDATE, DELETE, TRUNCATE.
 *
 * Token consume and state transitions are single conditional UPDATEs (the Prisma store's
 * updateMany with the expected state in the WHERE), as on SQLite.
 */
import type pg from 'pg';
import type { CommittedBeads } from '../engine/audit.anchor.js';
import type { Tx } from '../engine/store.port.js';
import type { OutboxDb, SqlExec } from '../alerts/outbox.db.js';
import type { Db } from './database.js';
import type { PgDb } from './pg.database.js';
import { PG_LOCK } from './pg.migrate.js';
import { PrismaStore } from './prisma.store.js';

/** The one LeaderLease row of a desk. */
export const LEASE_NAME = 'desk';

export class FencedError extends Error {
  constructor(readonly mine: number | null, readonly current: number | null) {
    super(mine === null ? 'this process is not the leader: it never sends orders (the leader does)' : `leadership lost (epoch ${mine}, now ${current ?? 'none'}): order not sent`);
    this.name = 'FencedError';
  }
}

/** `?` placeholders (the outbox's portable SQL) → PostgreSQL's `$1, $2, …`. */
export const toPgParams = (sql: string): string => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

export class PgStore extends PrismaStore {
  /** the leader epoch this process holds (null: follower); set by src/store/pg.leader.ts */
  private epoch: number | null = null;

  constructor(
    readonly pgDb: PgDb,
    readonly pool: pg.Pool,
    opts: { onBeadsCommitted?: (c: CommittedBeads) => void } = {},
  ) {
    // The PostgreSQL client is generated from the same model (plus Alert.rowid, which no
    // repository writes): its API is the SQLite client's, so the Prisma store drives it.
    super(pgDb as unknown as Db, {
      ...opts,
      skipDuplicates: true,
      begin: async (c) => {
        await c.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${PG_LOCK.write})`);
        // a process that has led checks, in every transaction, that it still does (its own
        // statement: READ COMMITTED takes a fresh snapshot, so a takeover committed while we
        // waited for the lock is seen)
        if (this.epoch !== null) await this.checkEpoch(c);
      },
      // a process that never led never marks an order sent
      beforeOrderSend: async (c) => this.checkEpoch(c),
    });
  }

  private async checkEpoch(c: { leaderLease: Db['leaderLease'] }): Promise<void> {
    const row = await c.leaderLease.findUnique({ where: { name: LEASE_NAME }, select: { epoch: true } });
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
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [PG_LOCK.write]);
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

  /** The alert outbox's transactions (src/alerts/outbox.db.ts), under the same write lock. */
  outboxDb(): OutboxDb {
    return {
      tx: async (fn) => {
        const client = await this.pool.connect();
        try {
          await client.query('BEGIN');
          await client.query('SELECT pg_advisory_xact_lock($1)', [PG_LOCK.write]);
          const sql: SqlExec = {
            all: async (text, ...p) => (await client.query(toPgParams(text), p)).rows as Record<string, unknown>[],
            run: async (text, ...p) => (await client.query(toPgParams(text), p)).rowCount ?? 0,
          };
          const result = await fn(sql);
          await client.query('COMMIT');
          return result;
        } catch (e) {
          await client.query('ROLLBACK').catch(() => {});
          throw e;
        } finally {
          client.release();
        }
      },
    };
  }

  private readonly inFlight = new Set<Promise<unknown>>();
  private closing = false;

  override tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new Error('store is closed: the transaction was not run'));
    const p = super.tx(fn);
    this.inFlight.add(p);
    void p.then(
      () => this.inFlight.delete(p),
      () => this.inFlight.delete(p),
    );
    return p;
  }

  /** Let running transactions finish (a pool ended under one would wait for it forever), then close. */
  override async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.inFlight]);
    await super.close();
    await this.pool.end();
  }
}

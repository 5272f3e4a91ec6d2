/**
 * Store on better-sqlite3 directly: the default runtime adapter. Same schema (Prisma
 * migrations), same encoding, same Store contract as PrismaStore (both pass
 * test/store/store.contract.test.ts), about 100× less overhead per statement — the approval path
 * runs ~25 statements, so this is what keeps it in the low milliseconds (see bench/).
 *
 * Transactions run strictly one at a time on the one connection (a unit sees only committed
 * data and its own writes; nothing interleaves with it). Beads/alerts buffered by a unit are
 * flushed at its end. Units queued behind a running one share its COMMIT (group commit,
 * see `drain`), each in a SAVEPOINT, so a failure rolls back exactly that unit.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  alertDef,
  chainBeads,
  EMPTY_HEAD,
  groupKeyOf,
  type AlertDraft,
  type BeadDraft,
  type CommittedBeads,
  type Store,
  type StoredBead,
  type Tx,
} from '../engine/index.js';
import * as r from './sqlite.rows.js';
import { sqliteRepos } from './sqlite.tx.js';

/** How many queued transactions may share one COMMIT. */
const MAX_GROUP = 64;

interface Unit {
  fn: (tx: Tx) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * Row ids for beads and alerts: unique, not secret (cards and tokens get cryptographic ids
 * from the engine's Random). A random per-process prefix plus a counter is unique across
 * restarts and costs nothing on the hot path.
 */
const ID_PREFIX = randomBytes(6).toString('base64url');
let idCounter = 0;
const newId = (prefix: string) => `${prefix}_${ID_PREFIX}${(idCounter++).toString(36)}`;

export class SqliteStore implements Store {
  readonly db: Database.Database;
  private readonly stmts = new Map<string, Database.Statement>();
  private readonly pending: Unit[] = [];
  private draining = false;
  private queue: Promise<unknown> = Promise.resolve();

  private readonly checkpointTimer: NodeJS.Timeout;

  /** row ids for beads and alerts (see newId) */
  private readonly rowId: (prefix: string) => string;

  private readonly onBeadsCommitted: ((c: CommittedBeads) => void) | undefined;

  /**
   * `onBeadsCommitted` hears, after each COMMIT that appended beads, which ones (the audit
   * anchor journal, SAFE-12). Called synchronously; it must only queue work, never throw.
   * `idPrefix` replaces the random per-process prefix of bead and alert row ids with a fixed one
   * and a counter of this store's own: the simulator's runs are then repeatable byte for byte.
   */
  constructor(file: string, opts: { checkpointEveryMs?: number; onBeadsCommitted?: (c: CommittedBeads) => void; idPrefix?: string } = {}) {
    this.onBeadsCommitted = opts.onBeadsCommitted;
    const fixed = opts.idPrefix;
    let n = 0;
    this.rowId = fixed === undefined ? newId : (prefix) => `${prefix}_${fixed}${(n++).toString(36)}`;
    mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    // WAL checkpoints copy pages back into the database file; SQLite runs them inside the
    // COMMIT that crosses 1,000 pages, a multi-ms stall on whatever commit is unlucky (an
    // approval, say). Run them in the background when no transaction is open instead.
    this.db.pragma('wal_autocheckpoint = 0');
    this.checkpointTimer = setInterval(() => this.checkpoint(), opts.checkpointEveryMs ?? 2000);
    this.checkpointTimer.unref();
  }

  /** PASSIVE checkpoint between transactions; never blocks a writer for long. */
  checkpoint(): void {
    if (!this.db.open || this.db.inTransaction || this.busy) return;
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      /* a reader holds the WAL; the next tick retries */
    }
  }

  private busy = false;

  /** Cached prepared statement. */
  q(sql: string): Database.Statement {
    let st = this.stmts.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.stmts.set(sql, st);
    }
    return st;
  }

  tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closing) return reject(new Error('store is closed: the transaction was not run'));
      this.pending.push({ fn: fn as Unit['fn'], resolve: resolve as Unit['resolve'], reject });
      if (!this.draining) this.queue = this.drain();
    });
  }

  /**
   * Group commit: transactions that queue up while one runs share its BEGIN … COMMIT, each
   * inside its own SAVEPOINT, so a failing one rolls back alone and the others pay for one
   * WAL write instead of one each. Every caller resolves only after the shared COMMIT, so
   * nothing is reported done before it is durable; units run strictly one after another.
   */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.pending.length) {
        const done: { unit: Unit; result: unknown }[] = [];
        const failed: { unit: Unit; error: unknown }[] = [];
        this.busy = true;
        try {
          this.q('BEGIN IMMEDIATE').run();
        } catch (error) {
          // cannot even begin (e.g. the connection closed): every waiting caller hears why
          this.busy = false;
          for (const unit of this.pending.splice(0)) unit.reject(error);
          break;
        }
        let n = 0;
        let appended = null as CommittedBeads | null;
        for (let unit = this.pending.shift(); unit; unit = n < MAX_GROUP ? this.pending.shift() : undefined) {
          n++;
          const beads: BeadDraft[] = [];
          const alerts: AlertDraft[] = [];
          this.q('SAVEPOINT unit').run();
          try {
            const result = await unit.fn(this.makeTx(beads, alerts));
            const last = this.flush(beads, alerts);
            this.q('RELEASE unit').run();
            done.push({ unit, result });
            // units of one COMMIT run back to back under the write lock: their beads are contiguous
            if (last) appended = { from: appended?.from ?? last.from, seq: last.seq, hash: last.hash };
          } catch (error) {
            this.q('ROLLBACK TO unit').run();
            this.q('RELEASE unit').run();
            failed.push({ unit, error });
          }
        }
        try {
          this.q('COMMIT').run();
        } catch (error) {
          if (this.db.inTransaction) this.q('ROLLBACK').run();
          for (const d of done) failed.push({ unit: d.unit, error });
          done.length = 0;
        } finally {
          this.busy = false;
        }
        if (appended && done.length) this.announce(appended);
        for (const d of done) d.unit.resolve(d.result);
        for (const f of failed) f.unit.reject(f.error);
      }
    } finally {
      this.draining = false;
    }
  }

  private closing = false;

  async close(): Promise<void> {
    this.closing = true;
    await this.queue;
    clearInterval(this.checkpointTimer);
    if (this.db.open) {
      this.checkpoint();
      this.db.close();
    }
  }

  private announce(c: CommittedBeads): void {
    try {
      this.onBeadsCommitted?.(c);
    } catch {
      /* the anchor sink logs its own failures; the commit stands */
    }
  }

  /** Insert the unit's alerts and beads; returns the range of beads it appended. */
  private flush(beads: BeadDraft[], alerts: AlertDraft[]): CommittedBeads | null {
    for (const a of alerts) {
      const def = alertDef(a.type);
      const id = this.rowId('alr');
      this.q(`INSERT INTO "Alert"(id, type, severity, groupKey, payload, createdAt, status) VALUES (?, ?, ?, ?, ?, ?, 'PENDING')`).run(id, a.type, def.severity, groupKeyOf(a), JSON.stringify(a.payload), r.iso(a.at));
      beads.push({ type: 'ALERT', intentId: a.payload.intentId ?? null, payload: { alertId: id, alertType: a.type, severity: def.severity, event: 'RAISED' }, ts: a.at });
    }
    if (!beads.length) return null;
    const head = (this.q(`SELECT seq, hash FROM "Bead" ORDER BY seq DESC LIMIT 1`).get() as { seq: number; hash: string } | undefined) ?? EMPTY_HEAD;
    const ins = this.q(`INSERT INTO "Bead"(seq, id, type, intentId, payload, ts, prevHash, hash, hashVersion) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const rows = chainBeads(head, beads, () => this.rowId('bd'));
    for (const b of rows) ins.run(b.seq, b.id, b.type, b.intentId, b.payload, r.iso(b.ts), b.prevHash, b.hash, b.hashVersion);
    const last = rows[rows.length - 1] as StoredBead;
    return { from: rows[0]!.seq, seq: last.seq, hash: last.hash };
  }

  private insert(table: string, row: r.Row): void {
    const cols = Object.keys(row);
    this.q(`INSERT INTO "${table}"(${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...cols.map((c) => row[c]));
  }

  private updateWhere(table: string, set: r.Row, where: string, params: unknown[]): number {
    const cols = Object.keys(set);
    if (!cols.length) return 0;
    return this.q(`UPDATE "${table}" SET ${cols.map((c) => `"${c}" = ?`).join(', ')} WHERE ${where}`).run(...cols.map((c) => set[c]), ...params).changes;
  }

  /**
   * A unit's Tx: the store's one set of query functions, with the unit's own bead and alert
   * buffers. (Built once, not per unit: a hundred closures per transaction were an eighth of
   * the CPU time of the simulator's whole trading days.)
   */
  private makeTx(beadBuffer: BeadDraft[], alertBuffer: AlertDraft[]): Tx {
    const shared = (this.shared ??= this.sharedTx());
    return {
      ...shared,
      beads: { ...shared.beads, append: (draft) => void beadBuffer.push(draft) },
      alerts: { ...shared.alerts, enqueue: (d) => void alertBuffer.push(d) },
    };
  }

  private shared: Tx | undefined;

  /** Everything of a Tx but its buffers (sqlite.tx.ts). */
  private sharedTx(): Tx {
    return sqliteRepos({ q: (sql) => this.q(sql), insert: (t, row) => this.insert(t, row), updateWhere: (t, set, where, p) => this.updateWhere(t, set, where, p) });
  }
}

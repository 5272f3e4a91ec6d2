/**
 * The checks' own read-only connection to the simulation's database file. It sees what is
 * committed and nothing else (WAL snapshot per statement), never what a transaction in flight
 * has written — exactly what survives a kill. Rows are mapped with the store's own mappers.
 */
import Database from 'better-sqlite3';
import type { CardRecord, IntentRecord, OrderRecord, StoredBead } from '../src/engine/index.js';
import { beadFromRow, cardFromRow, intentFromRow, orderFromRow, type Row } from '../src/store/sqlite.rows.js';

export class Reader {
  readonly db: Database.Database;
  private readonly stmts = new Map<string, Database.Statement>();

  constructor(file: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
    // the checks' ORDER BY … LIMIT queries sort in memory (no temp file per statement)
    this.db.pragma('temp_store = MEMORY');
    this.dataVersion = this.db.prepare('PRAGMA data_version').pluck();
  }

  private q(sql: string): Database.Statement {
    let st = this.stmts.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.stmts.set(sql, st);
    }
    return st;
  }

  /**
   * Results read since the last commit (any connection's), by query and parameters: the checks
   * ask the same questions several times between two commits (before time moves, after each
   * second, after the step), and nothing can have changed while `PRAGMA data_version` — which
   * moves whenever another connection commits — has not. Cached rows are shared: read-only.
   */
  private readonly cache = new Map<string, unknown>();
  private version: unknown = null;
  private readonly dataVersion: Database.Statement;

  private fresh(): void {
    const v = this.dataVersion.get();
    if (v !== this.version) {
      this.version = v;
      this.cache.clear();
    }
  }

  private cached<T>(kind: 'all' | 'get', sql: string, params: unknown[], read: () => T): T {
    this.fresh();
    const key = `${kind}\u0000${sql}\u0000${params.length ? JSON.stringify(params) : ''}`;
    if (this.cache.has(key)) return this.cache.get(key) as T;
    const r = read();
    this.cache.set(key, r);
    return r;
  }

  all(sql: string, ...params: unknown[]): Row[] {
    return this.cached('all', sql, params, () => this.q(sql).all(...params) as Row[]);
  }

  get(sql: string, ...params: unknown[]): Row | undefined {
    return this.cached('get', sql, params, () => this.q(sql).get(...params) as Row | undefined);
  }

  count(sql: string, ...params: unknown[]): number {
    return Number((this.get(sql, ...params) as { c?: number } | undefined)?.c ?? 0);
  }

  intent(id: string): IntentRecord | null {
    const r = this.get(`SELECT * FROM "Intent" WHERE id = ?`, id);
    return r ? intentFromRow(r) : null;
  }

  intentBySignal(signalId: string): IntentRecord | null {
    const r = this.get(`SELECT * FROM "Intent" WHERE signalId = ?`, signalId);
    return r ? intentFromRow(r) : null;
  }

  intentsIn(states: readonly string[]): IntentRecord[] {
    return this.all(`SELECT * FROM "Intent" WHERE state IN (${states.map(() => '?').join(',')}) ORDER BY createdAt, rowid`, ...states).map(intentFromRow);
  }

  intentsUpdatedSince(iso: string): IntentRecord[] {
    return this.all(`SELECT * FROM "Intent" WHERE updatedAt >= ?`, iso).map(intentFromRow);
  }

  orders(intentId: string): OrderRecord[] {
    return this.all(`SELECT * FROM "BrokerOrder" WHERE intentId = ? ORDER BY createdAt, rowid`, intentId).map(orderFromRow);
  }

  card(subjectId: string, kind: string): CardRecord | null {
    const r = this.get(`SELECT * FROM "Card" WHERE subjectId = ? AND kind = ? ORDER BY createdAt DESC, rowid DESC LIMIT 1`, subjectId, kind);
    return r ? cardFromRow(r) : null;
  }

  newestCard(kind: string, subjectPrefix: string): CardRecord | null {
    const r = this.get(`SELECT * FROM "Card" WHERE kind = ? AND subjectId >= ? AND subjectId < ? ORDER BY createdAt DESC, rowid DESC LIMIT 1`, kind, subjectPrefix, `${subjectPrefix}\uffff`);
    return r ? cardFromRow(r) : null;
  }

  beadsAfter(seq: number, limit = 100_000): StoredBead[] {
    return this.all(`SELECT * FROM "Bead" WHERE seq > ? ORDER BY seq LIMIT ?`, seq, limit).map(beadFromRow);
  }

  beadsOf(intentId: string): StoredBead[] {
    return this.all(`SELECT * FROM "Bead" WHERE intentId = ? ORDER BY seq`, intentId).map(beadFromRow);
  }

  headSeq(): number {
    return Number((this.get(`SELECT MAX(seq) AS s FROM "Bead"`) as { s?: number } | undefined)?.s ?? 0);
  }

  close(): void {
    this.db.close();
  }
}

/** Prisma's SQLite DateTime text for epoch ms (what the columns hold). */
export const isoOf = (ms: number): string => new Date(ms).toISOString().replace('Z', '+00:00');

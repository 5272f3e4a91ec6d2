/**
 * The checks' view of a simulation on PostgreSQL: what is committed in the PostgreSQL database,
 * copied into a SQLite file of the same schema (the SQLite migrations), which the checks' Reader
 * opens read-only as it opens the store's own file on SQLite. The checks are synchronous and
 * speak SQLite (rowid, json_extract, the store's row mappers); PostgreSQL is real network I/O.
 * So the mirror is brought up to date (`refresh`, async) wherever the simulator may await —
 * after every settle, at the broker's door — and the checks then read it as they read SQLite.
 *
 * A refresh copies only what changed: one snapshot (REPEATABLE READ), the rows whose `xmin` (the
 * transaction that wrote that row version) is at or after the previous snapshot's xmin — every
 * transaction before it had ended, so nothing is missed — upserted by primary key (the row keeps
 * its SQLite rowid; new rows arrive in commit order, and Alert keeps PostgreSQL's explicit rowid).
 * The two tables the store deletes from (JobRun's prune, SystemState) are compared by key.
 * Nothing changed (the same snapshot as last time): one round trip, no copy.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { migrate } from '../src/store/migrate.js';

const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;
const INT8 = 20;
const BOOL = 16;

/** PostgreSQL values as the SQLite store writes them (Prisma's DateTime text, 0/1, numbers). */
const sqliteTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === TIMESTAMP) return (s: string) => new Date(`${s.replace(' ', 'T')}Z`).toISOString().replace('Z', '+00:00');
    if (oid === TIMESTAMPTZ) return (s: string) => new Date(s).toISOString().replace('Z', '+00:00');
    if (oid === INT8) return (s: string) => Number(s);
    if (oid === BOOL) return (s: string) => (s === 't' ? 1 : 0);
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** tables whose rows never change once written (the SQLite migrations' triggers refuse UPDATE) */
const APPEND_ONLY = new Set(['Bead']);

/** tables the store deletes rows from (src/store/pg.tx.ts) */
const DELETING = new Set(['JobRun', 'SystemState']);

interface Table {
  readonly name: string;
  readonly cols: readonly string[];
  readonly pk: readonly string[];
  /** PostgreSQL has SQLite's rowid as a column (Alert) */
  readonly rowid: boolean;
  readonly upsert: Database.Statement;
}

export class PgMirror {
  private readonly writer: Database.Database;
  private tables: Table[] = [];
  private snapshot = '';
  private xmin = 0;
  /** a transaction settled since the last refresh (set by the simulated process's store) */
  dirty = true;
  refreshes = 0;
  copies = 0;

  private constructor(
    private readonly client: pg.Client,
    readonly file: string,
  ) {
    migrate(file);
    this.writer = new Database(file);
    this.writer.pragma('synchronous = OFF');
  }

  static async open(url: string, file: string): Promise<PgMirror> {
    const client = new pg.Client({ connectionString: url, types: sqliteTypes });
    await client.connect();
    return new PgMirror(client, file);
  }

  private async describe(): Promise<void> {
    const pgCols = new Map<string, Set<string>>();
    for (const r of (await this.client.query<{ t: string; c: string }>(`SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = current_schema()`)).rows) {
      pgCols.set(r.t, (pgCols.get(r.t) ?? new Set()).add(r.c));
    }
    const names = this.writer.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'`).pluck().all() as string[];
    this.tables = names.flatMap((name) => {
      const there = pgCols.get(name);
      if (!there) return [];
      const info = this.writer.prepare(`SELECT name, pk FROM pragma_table_info(?)`).all(name) as { name: string; pk: number }[];
      const cols = info.map((c) => c.name).filter((c) => there.has(c));
      const pk = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
      const rowid = there.has('rowid');
      const all = rowid ? ['rowid', ...cols] : cols;
      const rest = cols.filter((c) => !pk.includes(c));
      // a row copied again (a transaction older than it was still open at the last snapshot) is
      // the same row; the append-only tables' triggers refuse even an unchanged UPDATE
      const set = rest.length && !APPEND_ONLY.has(name) ? `DO UPDATE SET ${rest.map((c) => `"${c}" = excluded."${c}"`).join(', ')}` : 'DO NOTHING';
      const upsert = this.writer.prepare(`INSERT INTO "${name}"(${all.map((c) => `"${c}"`).join(', ')}) VALUES (${all.map((c) => `@${c}`).join(', ')}) ON CONFLICT(${pk.map((c) => `"${c}"`).join(', ')}) ${set}`);
      return [{ name, cols, pk, rowid, upsert }];
    });
  }

  private chain: Promise<void> = Promise.resolve();

  /** Bring the mirror up to what PostgreSQL has committed now (no-op when nothing settled since). */
  refresh(force = false): Promise<void> {
    // one at a time: a caller that finds a refresh running waits for it, then for its own
    this.chain = this.chain.then(() => this.refreshNow(force));
    return this.chain;
  }

  private async refreshNow(force: boolean): Promise<void> {
    if (!this.dirty && !force) return;
    this.dirty = false;
    this.refreshes++;
    // (the tables exist once the first process has migrated the database)
    if (!this.tables.length) await this.describe();
    if (!this.tables.length) return;
    const snap = (await this.client.query<{ s: string }>(`SELECT pg_current_snapshot()::text AS s`)).rows[0]!.s;
    if (snap === this.snapshot) return;
    this.copies++;
    const selects = this.tables.map((t) => {
      const cols = (t.rowid ? ['rowid', ...t.cols] : t.cols).map((c) => `"${c}"`).join(', ');
      return `SELECT ${cols} FROM "${t.name}" WHERE xmin::text::bigint >= ${this.xmin} ORDER BY ${t.rowid ? '"rowid"' : 'xmin::text::bigint, ctid'};`;
    });
    const keys = this.tables.filter((t) => DELETING.has(t.name)).map((t) => `SELECT ${t.pk.map((c) => `"${c}"`).join(', ')} FROM "${t.name}";`);
    const text = `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_current_snapshot()::text AS s, pg_snapshot_xmin(pg_current_snapshot())::text AS x; ${selects.join(' ')} ${keys.join(' ')} COMMIT;`;
    const results = (await this.client.query(text)) as unknown as pg.QueryResult[];
    const head = results[1]!.rows[0] as { s: string; x: string };
    const copy = this.writer.transaction(() => {
      this.tables.forEach((t, i) => {
        for (const row of results[2 + i]!.rows as Record<string, unknown>[]) t.upsert.run(row);
      });
      this.tables
        .filter((t) => DELETING.has(t.name))
        .forEach((t, i) => {
          const live = new Set((results[2 + this.tables.length + i]!.rows as Record<string, unknown>[]).map((r) => JSON.stringify(t.pk.map((c) => r[c]))));
          const del = this.writer.prepare(`DELETE FROM "${t.name}" WHERE ${t.pk.map((c) => `"${c}" = ?`).join(' AND ')}`);
          for (const r of this.writer.prepare(`SELECT ${t.pk.map((c) => `"${c}"`).join(', ')} FROM "${t.name}"`).raw().all() as unknown[][]) {
            if (!live.has(JSON.stringify(r))) del.run(...r);
          }
        });
    });
    copy();
    this.snapshot = head.s;
    this.xmin = Number(head.x);
  }

  /**
   * A killed process's connections end with it (the OS closes its sockets): the server rolls back
   * what they had open and frees their locks. `name`: the process's application_name.
   */
  async terminate(name: string): Promise<void> {
    await this.client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`, [name]);
  }

  async close(): Promise<void> {
    this.writer.close();
    await this.client.end().catch(() => {});
  }
}

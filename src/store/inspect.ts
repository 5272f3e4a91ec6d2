/**
 * A read-only look at the database for the operator CLI (`phoenix doctor`, `phoenix status`,
 * the service lookup): which migrations ran, the tail of the audit chain, one kv value. It
 * never creates, migrates or writes (doctor must not change what it diagnoses), and it works
 * on both databases DATABASE_URL can name: a SQLite file or a PostgreSQL server. This is the
 * CLI's only way to the data outside a running app: no SQL outside src/store.
 */
import { isAbsolute, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { KvKey, StoredBead } from '../engine/index.js';
import { isPostgresUrl, redactPostgresUrl } from './db-path.js';
import { listMigrations, pendingMigrations } from './migrate.js';
import { beadFromRow, type Row } from './sqlite.rows.js';

export type DatabaseTarget = { readonly kind: 'sqlite'; readonly file: string } | { readonly kind: 'postgres'; readonly url: string };

/** What DATABASE_URL names; a relative SQLite path is relative to `cwd` (as the service resolves it). */
export function databaseTarget(databaseUrl: string, cwd: string): DatabaseTarget {
  if (isPostgresUrl(databaseUrl)) return { kind: 'postgres', url: databaseUrl };
  const p = databaseUrl.replace(/^file:/, '').split('?')[0] ?? '';
  return { kind: 'sqlite', file: isAbsolute(p) ? p : resolve(cwd, p) };
}

/** The database as the service names it in /v1/admin/status: the absolute file, or the URL without its password. */
export const databaseName = (t: DatabaseTarget): string => (t.kind === 'sqlite' ? t.file : redactPostgresUrl(t.url));

export interface SchemaFacts {
  /** SQLite's journal mode (null on PostgreSQL) */
  readonly journalMode: string | null;
  /** migrations of this code not applied to the database, oldest first */
  readonly pending: readonly string[];
  /** migrations this code has */
  readonly total: number;
}

export interface DatabaseReader {
  /** throws when the database cannot be read (not a database, unreachable, refused) */
  schema(): Promise<SchemaFacts>;
  /** the newest `lastN` beads in chain order, and how many there are */
  beadTail(lastN: number): Promise<{ readonly total: number; readonly beads: StoredBead[] }>;
  /** one kv value; null when absent or when the table does not exist yet (never started) */
  kvGet(key: KvKey): Promise<string | null>;
  close(): Promise<void>;
}

/** Open the database read-only (SQLite: the file must exist; PostgreSQL: connects). */
export async function openReader(t: DatabaseTarget): Promise<DatabaseReader> {
  return t.kind === 'sqlite' ? sqliteReader(t.file) : postgresReader(t.url);
}

function sqliteReader(file: string): DatabaseReader {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  return {
    async schema() {
      const journalMode = String(db.pragma('journal_mode', { simple: true }));
      db.prepare('SELECT count(*) FROM sqlite_master').get(); // reads the header: "not a database" shows here
      return { journalMode, pending: pendingMigrations(file), total: listMigrations().length };
    },
    async beadTail(lastN) {
      const total = Number((db.prepare('SELECT COUNT(*) AS n FROM "Bead"').get() as { n: number }).n);
      const beads = (db.prepare('SELECT * FROM "Bead" ORDER BY seq DESC LIMIT ?').all(lastN) as Row[]).reverse().map(beadFromRow);
      return { total, beads };
    },
    async kvGet(key) {
      try {
        const row = db.prepare(`SELECT value FROM "SystemState" WHERE key = ?`).get(key) as { value: string } | undefined;
        return row ? row.value : null;
      } catch {
        return null; // no such table yet
      }
    },
    async close() {
      db.close();
    },
  };
}

async function postgresReader(url: string): Promise<DatabaseReader> {
  const { default: pg } = await import('pg');
  const { rawTypes } = await import('./pg.types.js');
  const { PG_MIGRATIONS_DIR } = await import('./pg.migrate.js');
  const c = new pg.Client({ connectionString: url, types: rawTypes, connectionTimeoutMillis: 5000, application_name: 'phoenix cli (read-only)' });
  c.on('error', () => {}); // a server gone mid-read fails the next query, not the process
  await c.connect();
  await c.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
  const exists = async (table: string) => (await c.query<{ t: string | null }>(`SELECT to_regclass($1) AS t`, [`"${table}"`])).rows[0]?.t != null;
  return {
    async schema() {
      const all = listMigrations(PG_MIGRATIONS_DIR);
      if (!(await exists('_prisma_migrations'))) return { journalMode: null, pending: all, total: all.length };
      const done = new Set((await c.query<{ n: string }>(`SELECT migration_name AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`)).rows.map((r) => r.n));
      return { journalMode: null, pending: all.filter((m) => !done.has(m)), total: all.length };
    },
    async beadTail(lastN) {
      const total = Number((await c.query<{ n: number }>(`SELECT COUNT(*) AS n FROM "Bead"`)).rows[0]?.n ?? 0);
      const rows = (await c.query(`SELECT * FROM "Bead" ORDER BY seq DESC LIMIT $1`, [lastN])).rows as Row[];
      return { total, beads: rows.reverse().map(beadFromRow) };
    },
    async kvGet(key) {
      if (!(await exists('SystemState'))) return null;
      return (await c.query<{ value: string }>(`SELECT value FROM "SystemState" WHERE key = $1`, [key])).rows[0]?.value ?? null;
    },
    async close() {
      await c.end().catch(() => {});
    },
  };
}

/**
 * Applies pending migrations from prisma/migrations at start-up, in-process and in
 * milliseconds (spawning the Prisma CLI costs seconds). Rows are written to Prisma's own
 * `_prisma_migrations` table in its format, so `npm run db:migrate` / `prisma migrate
 * status` agree with what ran here.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'prisma', 'migrations');

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" TEXT PRIMARY KEY NOT NULL,
  "checksum" TEXT NOT NULL,
  "finished_at" DATETIME,
  "migration_name" TEXT NOT NULL,
  "logs" TEXT,
  "rolled_back_at" DATETIME,
  "started_at" DATETIME NOT NULL DEFAULT current_timestamp,
  "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

export interface MigrationReport {
  readonly applied: string[];
  readonly pending: string[];
}

export function listMigrations(dir = MIGRATIONS_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort();
}

/** Which migrations are not yet applied (no writes). */
export function pendingMigrations(file: string, dir = MIGRATIONS_DIR): string[] {
  if (!existsSync(file)) return listMigrations(dir);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const has = db.prepare(`SELECT name FROM sqlite_master WHERE type='table' AND name='_prisma_migrations'`).get();
    const done = new Set<string>(has ? db.prepare(`SELECT migration_name AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`).all().map((r) => (r as { n: string }).n) : []);
    return listMigrations(dir).filter((m) => !done.has(m));
  } finally {
    db.close();
  }
}

/** Apply every pending migration, each in its own transaction. */
export function migrate(file: string, dir = MIGRATIONS_DIR): MigrationReport {
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.exec(CREATE_TABLE);
    const done = new Set(db.prepare(`SELECT migration_name AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`).all().map((r) => (r as { n: string }).n));
    const applied: string[] = [];
    for (const name of listMigrations(dir)) {
      if (done.has(name)) continue;
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      const checksum = createHash('sha256').update(sql).digest('hex');
      const now = new Date().toISOString();
      db.transaction(() => {
        db.exec(sql);
        db.prepare(`INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count) VALUES (?, ?, ?, ?, NULL, NULL, ?, 1)`).run(randomUUID(), checksum, now, name, now);
      })();
      applied.push(name);
    }
    return { applied, pending: [] };
  } finally {
    db.close();
  }
}

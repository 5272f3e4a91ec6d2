/**
 * Applies pending PostgreSQL migrations (prisma/postgres/migrations) at start-up, as
 * src/store/migrate.ts does for SQLite, in Prisma's `_prisma_migrations` format. Several
 * processes may start at once: a session advisory lock makes them take turns, and the second
 * finds nothing left to do. Each migration runs in its own transaction (DDL is transactional
 * in PostgreSQL): a failing one leaves the database as it was before it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { listMigrations } from './migrate.js';

export const PG_MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'prisma', 'postgres', 'migrations');

/** pg_advisory_lock keys Phoenix uses (one namespace: 0x50480000 + n, "PH"). */
export const PG_LOCK = { migrate: 0x50480001, write: 0x50480002, leader: 0x50480003 } as const;

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

export interface PgMigrationReport {
  readonly applied: string[];
}

export async function migratePostgres(url: string, dir = PG_MIGRATIONS_DIR): Promise<PgMigrationReport> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('SELECT pg_advisory_lock($1)', [PG_LOCK.migrate]);
    await c.query(CREATE_TABLE);
    const done = new Set((await c.query<{ n: string }>(`SELECT migration_name AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`)).rows.map((r) => r.n));
    const applied: string[] = [];
    for (const name of listMigrations(dir)) {
      if (done.has(name)) continue;
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      const checksum = createHash('sha256').update(sql).digest('hex');
      await c.query('BEGIN');
      try {
        await c.query(sql);
        await c.query(`INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES ($1, $2, now(), $3, now(), 1)`, [randomUUID(), checksum, name]);
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK');
        throw new Error(`PostgreSQL migration ${name} failed: ${(e as Error).message}`);
      }
      applied.push(name);
    }
    return { applied };
  } finally {
    await c.end(); // also releases the advisory lock
  }
}

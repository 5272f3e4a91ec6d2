/**
 * One model, two databases (issue 18): prisma/schema.prisma is the source of truth; the
 * PostgreSQL schema is derived from it, and each database's migrations must build exactly the
 * tables its schema describes. Any drift between the four files fails here.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { pgSchemaFrom, PG_SCHEMA, SQLITE_SCHEMA } from '../../scripts/pg-schema.mjs';
import { migrate } from '../../src/store/migrate.js';
import { migratePostgres } from '../../src/store/pg.migrate.js';
import { usePostgres } from '../support/postgres.js';

const pg = usePostgres();

/** The DDL Prisma would write for a schema, from nothing (no database needed). */
function ddlOf(schema: string): string {
  const r = spawnSync(process.execPath, ['scripts/prisma.mjs', 'migrate', 'diff', '--from-empty', '--to-schema-datamodel', schema, '--script'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`prisma migrate diff failed: ${r.stderr}`);
  return r.stdout;
}

const CATALOG = `
  SELECT 'col ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || COALESCE(column_default, '-') AS x
    FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'
  UNION ALL
  SELECT 'idx ' || indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'
  UNION ALL
  SELECT 'con ' || conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '_prisma_migrations'
  ORDER BY 1`;

function sqliteCatalog(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    const out: string[] = [];
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_prisma_migrations' ORDER BY name`).all() as { name: string }[];
    for (const { name } of tables) {
      for (const c of db.prepare(`PRAGMA table_info("${name}")`).all() as { name: string; type: string; notnull: number; dflt_value: string | null; pk: number }[]) out.push(`col ${name}.${c.name} ${c.type} ${c.notnull} ${c.dflt_value ?? '-'} ${c.pk}`);
      for (const i of db.prepare(`PRAGMA index_list("${name}")`).all() as { name: string; unique: number }[]) {
        const cols = (db.prepare(`PRAGMA index_info("${i.name}")`).all() as { name: string }[]).map((c) => c.name).join(',');
        out.push(`idx ${name} ${i.name} ${i.unique} ${cols}`);
      }
    }
    return out.sort();
  } finally {
    db.close();
  }
}

describe('one model for SQLite and PostgreSQL (issue 18)', () => {
  it('prisma/postgres/schema.prisma is exactly what scripts/pg-schema.mjs derives from prisma/schema.prisma (npm run db:generate)', () => {
    const derived = pgSchemaFrom(readFileSync(SQLITE_SCHEMA, 'utf8')) as string;
    expect(readFileSync(PG_SCHEMA, 'utf8')).toBe(derived);
    // the derivation changes the provider and adds Alert.rowid, nothing else about the model
    expect(derived).toContain('provider = "postgresql"');
    const models = (s: string) => [...s.matchAll(/^model (\w+) \{/gm)].map((m) => m[1]);
    expect(models(derived)).toEqual(models(readFileSync(SQLITE_SCHEMA, 'utf8')));
  });

  it('the derivation refuses a schema its rules no longer fit (it never silently skips a rule)', () => {
    expect(() => pgSchemaFrom('model Alert {\n  id String @id\n}\n')).toThrow(/matched 0 times/);
  });

  it('the PostgreSQL migrations build exactly the tables, columns, indexes and keys of prisma/postgres/schema.prisma', async () => {
    const fromMigrations = await pg().createDatabase('drift_migrations');
    await migratePostgres(fromMigrations);
    await pg().createDatabase('drift_schema');
    await pg().query('drift_schema', ddlOf(PG_SCHEMA));
    const a = (await pg().query<{ x: string }>('drift_migrations', CATALOG)).map((r) => r.x);
    const b = (await pg().query<{ x: string }>('drift_schema', CATALOG)).map((r) => r.x);
    expect(a.length).toBeGreaterThan(100);
    expect(a).toEqual(b);
  }, 60_000);

  it('the SQLite migrations build exactly the tables, columns and indexes of prisma/schema.prisma', () => {
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-drift-'));
    try {
      migrate(join(dir, 'migrations.db'));
      const fresh = new Database(join(dir, 'schema.db'));
      fresh.exec(ddlOf(SQLITE_SCHEMA));
      fresh.close();
      const a = sqliteCatalog(join(dir, 'migrations.db'));
      expect(a.length).toBeGreaterThan(100);
      expect(a).toEqual(sqliteCatalog(join(dir, 'schema.db')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

/**
 * `npm run db:migrate` (scripts/db-migrate.ts) on both databases (issue 18: it failed on
 * PostgreSQL, where Prisma's offline CLI has no schema engine): applies what is pending with the
 * migrators `npm start` uses, then finds nothing to do; a bad URL is a clear error, no change.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listMigrations } from '../../src/store/migrate.js';
import { PG_MIGRATIONS_DIR } from '../../src/store/pg.migrate.js';
import { usePostgres } from '../support/postgres.js';

const pg = usePostgres();
const dir = mkdtempSync(join(tmpdir(), 'phoenix-dbmigrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (url: string) => {
  const env = { ...process.env, DATABASE_URL: url };
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/db-migrate.ts'], { env, encoding: 'utf8', cwd: process.cwd() });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('npm run db:migrate', () => {
  it('SQLite: applies every migration, then is up to date', () => {
    const url = `file:${join(dir, 'phoenix.db')}`;
    const first = run(url);
    expect(first.code).toBe(0);
    for (const m of listMigrations()) expect(first.out).toContain(m);
    expect(run(url)).toMatchObject({ code: 0, out: expect.stringContaining('up to date') });
  });

  it('PostgreSQL: applies every migration (the password never printed), then is up to date', async () => {
    const url = (await pg().createDatabase()).replace('phoenix@', 'phoenix:s3cret-pw@');
    const first = run(url);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    for (const m of listMigrations(PG_MIGRATIONS_DIR)) expect(first.out).toContain(m);
    expect(first.out + first.err).not.toContain('s3cret-pw');
    const tables = await pg().query(new URL(url).pathname.slice(1), `SELECT count(*)::int AS n FROM "_prisma_migrations"`);
    expect(tables[0]!.n).toBe(listMigrations(PG_MIGRATIONS_DIR).length);
    expect(run(url)).toMatchObject({ code: 0, out: expect.stringContaining('up to date') });
  });

  it('a DATABASE_URL that is neither: exit 2 with what a valid one looks like', () => {
    const r = run('mysql://root@db/phoenix');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/SQLite file URL like file:.*PostgreSQL URL like postgresql:\/\//);
  });
});

/**
 * The test support's PostgreSQL (issue 18): a real server from Debian's package, started in a
 * temporary directory on a free port, one database per caller, gone after stop.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startPostgres } from '../support/postgres.js';

describe('test support: a real PostgreSQL server', () => {
  it('starts (initdb + pg_ctl as the postgres user), hands out isolated databases, and stops leaving nothing behind', async () => {
    const server = await startPostgres();
    let dir = '';
    try {
      const [v] = await server.query<{ v: string; d: string }>('postgres', `SELECT current_setting('server_version_num') AS v, current_setting('data_directory') AS d`);
      expect(Number(v!.v)).toBeGreaterThanOrEqual(150000);
      dir = v!.d;
      const a = await server.createDatabase('iso_a');
      const b = await server.createDatabase('iso_b');
      expect(a).toBe(server.url('iso_a'));
      await server.query('iso_a', 'CREATE TABLE t (x int)');
      await expect(server.query('iso_b', 'SELECT * FROM t')).rejects.toThrow(/does not exist/);
      expect(b).toMatch(/^postgresql:\/\/phoenix@127\.0\.0\.1:\d+\/iso_b$/);
    } finally {
      server.stop();
    }
    expect(existsSync(dir)).toBe(false);
    await expect(server.query('postgres', 'SELECT 1')).rejects.toThrow();
  });
});

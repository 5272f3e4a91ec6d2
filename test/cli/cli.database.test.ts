/**
 * The operator CLI's own reads of the database (issue 15: no SQL outside src/store; issue 18:
 * the CLI on PostgreSQL too): `phoenix status` with no service running, and `phoenix doctor`'s
 * database and audit-chain checks, on a SQLite file and on a real PostgreSQL server, through
 * src/store/inspect.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/context.js';
import { runCli } from '../../src/cli/index.js';
import { KV } from '../../src/engine/kv.keys.js';
import { listMigrations } from '../../src/store/migrate.js';
import { PG_MIGRATIONS_DIR } from '../../src/store/pg.migrate.js';
import { beadRows, tamperDb } from '../engine/helpers.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { adapterEnv, usePostgres } from '../support/postgres.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const CONSTITUTION = join(repoRoot, 'config', 'constitution.yaml');

const pg = usePostgres();

function terminal() {
  const out: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => out.push(l), readStdin: async () => '', confirm: async () => false };
  return { io, out, text: () => out.join('\n') };
}

async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** the report line of one doctor check */
const line = (text: string, name: string): string => text.split('\n').find((x) => new RegExp(`^(OK|WARN|FAIL|SKIP)\\s+${name}\\s{2,}`).test(x)) ?? `(no ${name} line in)\n${text}`;

for (const adapter of ['sqlite', 'postgres'] as const) {
  describe(`operator CLI on ${adapter}`, () => {
    let h: Harness;
    let cwd: string;
    afterEach(async () => {
      await h?.close();
      if (cwd) rmSync(cwd, { recursive: true, force: true });
    });

    /** a used database (intents, beads, a recorded service address) and the shell's environment on it */
    async function used(): Promise<{ env: Record<string, string>; url: string; recordedPort: number }> {
      const pgEnv = adapter === 'postgres' ? await adapterEnv('postgres', pg) : {};
      h = await makeHarness({ env: pgEnv });
      cwd = mkdtempSync(join(tmpdir(), 'phoenix-cli-db-'));
      const url = pgEnv.DATABASE_URL ?? `file:${h.dbFile}`;
      for (let i = 0; i < 3; i++) await h.engine.submitIntent(h.intent(), 'http');
      const recordedPort = await deadPort();
      await h.app.store.tx((tx) => tx.kv.set(KV.serviceEndpoint, JSON.stringify({ url: `http://127.0.0.1:${recordedPort}`, pid: 1, startedAt: h.clock.now() }), h.clock.now()));
      const env = { DATABASE_URL: url, CONSTITUTION_PATH: CONSTITUTION, BROKER: 'sim', TRADING_MODE: 'paper', INTAKE_HOST: '127.0.0.1', INTAKE_PORT: String(await deadPort()) };
      return { env, url, recordedPort };
    }

    it(`issue 18: \`phoenix status\` with no service running reads the ${adapter} database: says so, names the address the last start recorded there, shows the database's view`, async () => {
      const { env, url, recordedPort } = await used();
      const t = terminal();
      expect(await runCli(['status'], t.io, env, cwd)).toBe(0);
      const shown = adapter === 'sqlite' ? h.dbFile : url;
      expect(t.out[0]).toBe(`Service not running — showing the database (${shown}).`);
      expect(t.text()).toContain(`nothing answers at http://127.0.0.1:${recordedPort} (where the last start on this database listened)`);
      expect(t.text()).toContain('Broker: offline DISCONNECTED (not submitting) — not connected: the service is not running');
      expect(t.text()).toContain('Pending cards: 3'); // the three intents submitted above, read from this database
    });

    it(`issue 18: \`phoenix doctor\` on ${adapter}: database OK with every migration applied, the audit chain verifies; one edited bead → audit chain FAIL naming it`, async () => {
      const { env, url } = await used();
      const total = adapter === 'sqlite' ? listMigrations().length : listMigrations(PG_MIGRATIONS_DIR).length;
      let t = terminal();
      await runCli(['doctor'], t.io, env, cwd);
      expect(line(t.text(), 'database')).toMatch(adapter === 'sqlite' ? new RegExp(`^OK\\s+database\\s+.*phoenix\\.db: opens, WAL, ${total}/${total} migrations applied`) : new RegExp(`^OK\\s+database\\s+postgresql://.*: connects, ${total}/${total} migrations applied`));
      expect(line(t.text(), 'audit chain')).toMatch(/^OK\s+audit chain\s+all \d+ beads verified/);

      const victim = adapter === 'sqlite' ? beadRows(h.dbFile).at(-2)! : null;
      let seq: number;
      if (adapter === 'sqlite') {
        seq = victim!.seq;
        tamperDb(h.dbFile, (db) => db.prepare(`UPDATE "Bead" SET payload = ? WHERE seq = ?`).run('{"tampered":true}', seq));
      } else {
        const db = new URL(url).pathname.slice(1);
        seq = Number((await pg().query<{ s: number }>(db, `SELECT MAX(seq) - 1 AS s FROM "Bead"`))[0]!.s);
        // the append-only triggers refuse it; the owner can switch them off (what doctor must catch)
        await pg().query(db, `ALTER TABLE "Bead" DISABLE TRIGGER USER`);
        await pg().query(db, `UPDATE "Bead" SET payload = '{"tampered":true}' WHERE seq = $1`, [seq]);
        await pg().query(db, `ALTER TABLE "Bead" ENABLE TRIGGER USER`);
      }
      t = terminal();
      expect(await runCli(['doctor'], t.io, env, cwd)).toBe(1);
      expect(line(t.text(), 'audit chain')).toMatch(new RegExp(`^FAIL\\s+audit chain\\s+BROKEN at bead #${seq} `));
    });
  });
}

describe('operator CLI on PostgreSQL: an empty or unreachable server', () => {
  let cwd: string;
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));

  it('issue 18: doctor on a new, empty PostgreSQL database → database WARN "no migrations applied yet" (npm start migrates it), audit SKIP; status says no service runs', async () => {
    cwd = mkdtempSync(join(tmpdir(), 'phoenix-cli-db-'));
    const url = await pg().createDatabase();
    const env = { DATABASE_URL: url, CONSTITUTION_PATH: CONSTITUTION, BROKER: 'sim', TRADING_MODE: 'paper', INTAKE_HOST: '127.0.0.1', INTAKE_PORT: String(await deadPort()) };
    const t = terminal();
    await runCli(['doctor'], t.io, env, cwd);
    expect(line(t.text(), 'database')).toMatch(/^WARN\s+database\s+postgresql:\/\/.*: empty database \(no migrations applied yet\)/);
    expect(line(t.text(), 'audit chain')).toMatch(/^SKIP\s+audit chain\s+not checked: the database is not usable/);
    expect(line(t.text(), 'service')).toContain(`not running on this database (${url})`);
  });

  it('issue 18: doctor against a PostgreSQL server that does not answer → database FAIL with the fix; the password in DATABASE_URL is never printed', async () => {
    cwd = mkdtempSync(join(tmpdir(), 'phoenix-cli-db-'));
    const secret = 'pg-secret-0123456789';
    const env = { DATABASE_URL: `postgresql://phoenix:${secret}@127.0.0.1:${await deadPort()}/phoenix`, CONSTITUTION_PATH: CONSTITUTION, BROKER: 'sim', TRADING_MODE: 'paper', INTAKE_HOST: '127.0.0.1', INTAKE_PORT: String(await deadPort()) };
    const t = terminal();
    expect(await runCli(['doctor'], t.io, env, cwd)).toBe(1);
    expect(line(t.text(), 'database')).toMatch(/^FAIL\s+database\s+postgresql:\/\/phoenix:\*\*\*@127\.0\.0\.1:\d+\/phoenix cannot be reached/);
    expect(t.text()).toContain('check that the server runs and that DATABASE_URL names it right');
    expect(t.text()).not.toContain(secret);
  });
});

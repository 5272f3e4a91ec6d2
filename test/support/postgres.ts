/**
 * A real PostgreSQL server for tests (issue 18): Debian's binaries, a fresh data directory in
 * a temp folder (`initdb`), a free port on 127.0.0.1 (`pg_ctl start`), one database per caller
 * (`createDatabase`), stopped after (`stop`, and on process exit even when a test failed).
 *
 * Nothing is skipped silently: when PostgreSQL is not installed or does not start, `startPostgres`
 * throws and the test file fails (CI installs the `postgresql` package, see .ci/run).
 *
 * `initdb` refuses to run as root; as root (the sessions and CI) the server runs as the
 * `postgres` user the package creates (../shared/reference/postgres-tests.md).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from './ports.js';

export interface PgServer {
  readonly port: number;
  /** postgresql://phoenix@127.0.0.1:<port>/<database> */
  url(database?: string): string;
  /** a new empty database; its URL */
  createDatabase(name?: string): Promise<string>;
  /** run one SQL statement on a database (test assertions, set-up) */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(database: string, sql: string, params?: unknown[]): Promise<R[]>;
  stop(): void;
}

/** Debian's PostgreSQL binaries, newest major first. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (!majors.length) throw new Error('PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install -y postgresql (see .ci/run)');
  return join(root, majors[0]!, 'bin');
}

const isRoot = () => process.getuid?.() === 0;

/** Run a PostgreSQL binary as the `postgres` user when we are root; never under faketime. */
function runPg(bin: string, args: string[]): void {
  const env = { ...process.env };
  delete env.LD_PRELOAD;
  delete env.FAKETIME;
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${bin.split('/').pop()} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || r.error?.message || '').trim().slice(-1500)}`);
}

let seq = 0;

/** `settings`: extra server settings (`-c name=value`), e.g. the bench's durability settings. */
export async function startPostgres(opts: { settings?: Record<string, string> } = {}): Promise<PgServer> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-pg-'));
  if (isRoot()) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()), Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()));
  else chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  runPg(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'phoenix', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  let port = 0;
  // a port found free can be taken before the server binds it: try a few
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      // fsync off by default: a test server's durability is not under test (the drills kill
      // Phoenix, not PostgreSQL)
      const settings = { fsync: 'off', max_connections: '200', ...opts.settings };
      const flags = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`).join(' ');
      runPg(join(bin, 'pg_ctl'), ['-D', data, '-l', log, '-w', '-t', '30', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 ${flags}`, 'start']);
      break;
    } catch (e) {
      const why = existsSync(log) ? readFileSync(log, 'utf8').slice(-1500) : '';
      if (attempt >= 3 || !/could not bind|address already in use/i.test(why)) throw new Error(`PostgreSQL did not start: ${(e as Error).message}\n${why}`);
    }
  }
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stop);
    try {
      runPg(join(bin, 'pg_ctl'), ['-D', data, '-w', '-t', '30', '-m', 'immediate', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  process.on('exit', stop);
  const url = (database = 'postgres') => `postgresql://phoenix@127.0.0.1:${port}/${database}`;
  const query = async <R extends pg.QueryResultRow>(database: string, sql: string, params: unknown[] = []) => {
    const c = new pg.Client({ connectionString: url(database) });
    await c.connect();
    try {
      return (await c.query<R>(sql, params)).rows;
    } finally {
      await c.end();
    }
  };
  return {
    port,
    url,
    query,
    async createDatabase(name = `t${process.pid}_${++seq}`) {
      await query('postgres', `CREATE DATABASE "${name}"`);
      return url(name);
    },
    stop,
  };
}

/**
 * One server for the calling test file: started before its tests, stopped after them. Returns
 * a getter (the server exists only once `beforeAll` ran).
 */
export function usePostgres(): () => PgServer {
  let server: PgServer | null = null;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(() => server?.stop());
  return () => {
    if (!server) throw new Error('PostgreSQL is not running (usePostgres() runs in beforeAll)');
    return server;
  };
}

/** The store adapters every per-adapter suite runs on (issue 18: PostgreSQL among them). */
export const STORE_ADAPTERS = ['sqlite', 'prisma', 'postgres'] as const;
export type StoreAdapterName = (typeof STORE_ADAPTERS)[number];

/** Environment for a harness on `adapter`: PostgreSQL gets a fresh database on the file's server. */
export async function adapterEnv(adapter: StoreAdapterName, pg: () => PgServer): Promise<Record<string, string>> {
  return adapter === 'postgres' ? { DATABASE_URL: await pg().createDatabase() } : { STORE_ADAPTER: adapter };
}

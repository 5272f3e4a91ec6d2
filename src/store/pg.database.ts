/**
 * PostgreSQL connections (issue 18): `DATABASE_URL=postgresql://…` selects PostgreSQL, anything
 * else (`file:…`) SQLite. One pg pool per process, shared by Prisma's driver adapter (the
 * repositories) and the few raw statements the store runs itself (write lock, fencing, the
 * alert outbox), so a process holds at most `PG_POOL_MAX` connections.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated-pg/client.js';

export type PgDb = InstanceType<typeof PrismaClient>;

export { isPostgresUrl, postgresPassword, redactPostgresUrl } from './db-path.js';

const TIMESTAMP = 1114; // timestamp without time zone: Prisma's DateTime on PostgreSQL, always UTC
const TIMESTAMPTZ = 1184;
const INT8 = 20;

/**
 * Raw rows as the SQLite rows look: timestamps as epoch-ready ISO text in UTC (pg would read
 * `timestamp` in the process's local zone), counts as numbers.
 */
const rawTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === TIMESTAMP) return (s: string) => `${s.replace(' ', 'T')}Z`;
    if (oid === TIMESTAMPTZ) return (s: string) => new Date(s).toISOString();
    if (oid === INT8) return (s: string) => Number(s);
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * A transaction left open this long with nothing sent (its process frozen or cut off) is ended
 * by the server. It may hold the desk's write lock: without this a frozen leader would keep
 * every other process, and the takeover itself, waiting for as long as it stays frozen. No
 * store transaction waits on anything but the database between its statements.
 */
export const PG_IDLE_IN_TRANSACTION_MS = 3000;

/** This process among the desk's: host, pid and a nonce (a recycled pid is another process). */
export const PROCESS_NAME = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

/**
 * Every session of a process carries its name (pg_stat_activity.application_name), so a new
 * leader can end the sessions of the one it replaces (src/store/pg.leader.ts). At most 63 bytes.
 */
export const sessionName = (processName: string): string => `phoenix ${processName}`.slice(0, 63);

export function pgPool(url: string, max = 10, processName = PROCESS_NAME): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, types: rawTypes, connectionTimeoutMillis: 10_000, idle_in_transaction_session_timeout: PG_IDLE_IN_TRANSACTION_MS, application_name: sessionName(processName) });
  // a client losing its server (restart, failover, a session the server ended) must not crash
  // the process: idle clients report to the pool, checked-out ones (a transaction between two
  // statements) to their own listener; the next query on it fails and its transaction rolls back
  pool.on('error', () => {});
  pool.on('connect', (client) => void client.on('error', () => {}));
  return pool;
}

/** Prisma on the shared pool (the pool stays ours: PrismaClient.$disconnect does not end it). */
export function pgPrisma(pool: pg.Pool): PgDb {
  return new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: false }) });
}

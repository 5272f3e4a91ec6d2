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
import { rawTypes } from './pg.types.js';

export type PgDb = InstanceType<typeof PrismaClient>;

export { isPostgresUrl, postgresPassword, redactPostgresUrl } from './db-path.js';

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

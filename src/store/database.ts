/**
 * Opens the SQLite database through Prisma's better-sqlite3 driver adapter (JavaScript
 * engines; nothing native is downloaded). WAL mode so readers never block the writer.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient } from './generated/client.js';
import { sqlitePath } from './db-path.js';

export { sqlitePath };

export type Db = InstanceType<typeof PrismaClient>;

/** A Prisma client on a SQLite file (no pragmas; the file is already in WAL mode). */
export function prismaClient(file: string): Db {
  return new PrismaClient({ adapter: new PrismaBetterSQLite3({ url: `file:${file}` }) });
}

export async function openDatabase(databaseUrl: string): Promise<Db> {
  const file = sqlitePath(databaseUrl);
  mkdirSync(dirname(file), { recursive: true });
  const db = prismaClient(file);
  await db.$queryRawUnsafe('PRAGMA journal_mode = WAL');
  await db.$queryRawUnsafe('PRAGMA synchronous = NORMAL');
  await db.$queryRawUnsafe('PRAGMA busy_timeout = 5000');
  return db;
}

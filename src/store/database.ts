/**
 * Opens the SQLite database through Prisma's better-sqlite3 driver adapter (JavaScript
 * engines; nothing native is downloaded). WAL mode so readers never block the writer.
 */
import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient } from './generated/client.js';

export type Db = InstanceType<typeof PrismaClient>;

/** `file:./data/phoenix.db` → absolute path (relative paths are from the working directory). */
export function sqlitePath(databaseUrl: string): string {
  if (!databaseUrl.startsWith('file:')) throw new Error(`DATABASE_URL must be a SQLite file: URL (got ${databaseUrl.split(':')[0]}:)`);
  const p = databaseUrl.slice('file:'.length).split('?')[0] ?? '';
  return isAbsolute(p) ? p : resolve(process.cwd(), p);
}

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

/**
 * Where the SQLite file is. Its own module so the default store (better-sqlite3) never loads
 * the Prisma client just to resolve a path (src/store/database.ts is Prisma's side).
 */
import { isAbsolute, resolve } from 'node:path';

/** `file:./data/phoenix.db` → absolute path (relative paths are from the working directory). */
export function sqlitePath(databaseUrl: string): string {
  if (!databaseUrl.startsWith('file:')) throw new Error(`DATABASE_URL must be a SQLite file: URL (got ${databaseUrl.split(':')[0]}:)`);
  const p = databaseUrl.slice('file:'.length).split('?')[0] ?? '';
  return isAbsolute(p) ? p : resolve(process.cwd(), p);
}

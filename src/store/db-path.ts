/**
 * What DATABASE_URL names (a SQLite file or a PostgreSQL server) and where the SQLite file is.
 * Its own module so the default store (better-sqlite3) never loads the Prisma client or pg just
 * to read a URL (src/store/database.ts and pg.database.ts are their sides).
 */
import { isAbsolute, resolve } from 'node:path';

/** `file:./data/phoenix.db` → absolute path (relative paths are from the working directory). */
export function sqlitePath(databaseUrl: string): string {
  if (!databaseUrl.startsWith('file:')) throw new Error(`DATABASE_URL must be a SQLite file: URL (got ${databaseUrl.split(':')[0]}:)`);
  const p = databaseUrl.slice('file:'.length).split('?')[0] ?? '';
  return isAbsolute(p) ? p : resolve(process.cwd(), p);
}

export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//i.test(url);

/** The URL without its password (logs, /v1/admin/status, the banner). */
export function redactPostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgresql://(unparsable URL)';
  }
}

/** The password in a PostgreSQL URL (cut out of every log line like the other secrets), or undefined. */
export function postgresPassword(url: string): string | undefined {
  if (!isPostgresUrl(url)) return undefined;
  try {
    const p = decodeURIComponent(new URL(url).password);
    return p || undefined;
  } catch {
    return undefined;
  }
}

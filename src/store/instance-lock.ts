/**
 * One Phoenix service per SQLite database. On SQLite the service is always the leader (broker
 * session, restart recovery, the flatten deadline, the alert sender, the bot); a second
 * `npm start` on the same file with other ports would be a second leader: two flatten
 * deadlines, two alert senders, two bots polling one token. (A PostgreSQL desk elects its
 * leader instead: src/store/pg.leader.ts.)
 *
 * The lock is an EXCLUSIVE transaction held on a side file (`<database>.lock`) for the life of
 * the service. SQLite takes it with an OS file lock, which the kernel drops when the process
 * dies, however it dies (kill -9 included): a restart after a crash never waits, and there is
 * no pid file to go stale. A second connection, in this process or another, gets SQLITE_BUSY
 * at once (no busy timeout).
 */
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { KV } from '../engine/index.js';

/**
 * What the running service recorded about itself (KV `service.endpoint`), when that process is
 * alive and runs node: the record is written once the intake port is bound, so during a start-up
 * it may still be an earlier run's, whose pid the system may since have given to another program.
 */
export interface LockHolder {
  readonly pid: number;
  readonly url: string | null;
}

export class InstanceLockBusy extends Error {
  constructor(
    readonly database: string,
    readonly holder: LockHolder | null,
  ) {
    super(`another Phoenix service is running on the database ${database}${holder ? ` (pid ${holder.pid}${holder.url ? `, intake ${holder.url}` : ''})` : ''}: stop it first (Ctrl+C in its terminal; \`npx phoenix status\` shows it). One database has one service: two would both send orders, flatten and alert.`);
    this.name = 'InstanceLockBusy';
  }
}

export interface InstanceLock {
  readonly file: string;
  /** Let the next service start (idempotent). */
  release(): void;
}

/**
 * `<database>.lock` beside the real file: two spellings of one database (a relative path, a
 * symlink to it) are one lock.
 */
export function lockFileOf(databaseFile: string): string {
  const dir = dirname(databaseFile);
  const real = existsSync(databaseFile) ? realpathSync(databaseFile) : join(realpathSync(dir), basename(databaseFile));
  return `${real}.lock`;
}

/**
 * Open lock connections, held here as well as by their InstanceLock: a connection that only a
 * dropped object referred to would be closed by the garbage collector, and the lock with it.
 */
const HELD = new Set<Database.Database>();

/** Take the database's instance lock, or throw InstanceLockBusy naming who holds it. */
export function acquireInstanceLock(databaseFile: string): InstanceLock {
  mkdirSync(dirname(databaseFile), { recursive: true });
  const file = lockFileOf(databaseFile);
  const db = new Database(file, { timeout: 0 });
  try {
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code === 'SQLITE_BUSY') throw new InstanceLockBusy(databaseFile, holderOf(databaseFile));
    throw e;
  }
  HELD.add(db);
  return {
    file,
    release() {
      if (!HELD.delete(db)) return;
      try {
        db.exec('ROLLBACK');
      } finally {
        db.close();
      }
    },
  };
}

/** The holder as it recorded itself, if that process is alive on this machine. */
function holderOf(databaseFile: string): LockHolder | null {
  if (!existsSync(databaseFile)) return null;
  try {
    const db = new Database(databaseFile, { readonly: true, fileMustExist: true, timeout: 1000 });
    try {
      const row = db.prepare(`SELECT value FROM "SystemState" WHERE key = ?`).get(KV.serviceEndpoint) as { value?: string } | undefined;
      const v = row?.value ? (JSON.parse(row.value) as { pid?: unknown; url?: unknown }) : null;
      if (!v || typeof v.pid !== 'number' || !runsNode(v.pid)) return null;
      return { pid: v.pid, url: typeof v.url === 'string' ? v.url : null };
    } finally {
      db.close();
    }
  } catch {
    return null; // not migrated yet, or unreadable: the message goes without the details
  }
}

/** Is `pid` a live node process? (Without /proc — not Linux — alive is all we can tell.) */
function runsNode(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return /(^|\/)node\0/.test(readFileSync(`/proc/${pid}/cmdline`, 'latin1'));
  } catch {
    return !existsSync('/proc/self');
  }
}

/**
 * One service per SQLite database (src/store/instance-lock.ts): a second service on the same
 * file is refused before it opens anything, whoever holds the lock (this process or another),
 * and the lock goes with its holder however that one ends (kill -9 included).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { KV } from '../../src/engine/index.js';
import { migrate } from '../../src/store/migrate.js';
import { acquireInstanceLock, InstanceLockBusy } from '../../src/store/instance-lock.js';
import { repoRoot } from '../e2e/service.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dbFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-lock-'));
  dirs.push(dir);
  return join(dir, 'phoenix.db');
}

/**
 * Another process that takes the lock, says so, and holds it until killed. It drops the lock
 * object and collects garbage all the while: the lock must not depend on someone keeping it.
 */
async function holderProcess(file: string): Promise<ChildProcess> {
  const code = `const { acquireInstanceLock } = await import(${JSON.stringify(join(repoRoot, 'src/store/instance-lock.ts'))}); acquireInstanceLock(${JSON.stringify(file)}); globalThis.gc(); process.stdout.write('held\\n'); setInterval(() => globalThis.gc(), 50);`;
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', code], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => (c.toString().includes('held') ? resolve() : undefined));
    child.once('exit', (c) => reject(new Error(`the holder exited with ${c}: ${err}`)));
  });
  return child;
}

const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));

describe('one Phoenix service per SQLite database', () => {
  it('a second lock on the same database is refused while the first is held, and granted once it is released (release twice is harmless)', () => {
    const file = dbFile();
    const first = acquireInstanceLock(file);
    expect(() => acquireInstanceLock(file)).toThrow(InstanceLockBusy);
    first.release();
    first.release();
    const again = acquireInstanceLock(file);
    again.release();
  });

  it('two spellings of one database are one lock: a symlink to the file, a path through a symlinked directory', () => {
    const file = dbFile();
    migrate(file);
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-lock-link-'));
    dirs.push(dir);
    symlinkSync(file, join(dir, 'linked.db'));
    symlinkSync(dirname(file), join(dir, 'data'));
    const first = acquireInstanceLock(file);
    expect(() => acquireInstanceLock(join(dir, 'linked.db'))).toThrow(InstanceLockBusy);
    expect(() => acquireInstanceLock(join(dir, 'data', 'phoenix.db'))).toThrow(InstanceLockBusy);
    first.release();
    acquireInstanceLock(join(dir, 'linked.db')).release();
  });

  it('another database is another lock', () => {
    const a = acquireInstanceLock(dbFile());
    const b = acquireInstanceLock(dbFile());
    a.release();
    b.release();
  });

  it('held by another process: refused at once, naming its pid and intake; killed with SIGKILL: granted at once (the kernel drops the lock)', async () => {
    const file = dbFile();
    migrate(file);
    const child = await holderProcess(file);
    const db = new Database(file);
    db.prepare(`INSERT INTO "SystemState"(key, value, updatedAt) VALUES (?, ?, ?)`).run(KV.serviceEndpoint, JSON.stringify({ url: 'http://127.0.0.1:48787', pid: child.pid, startedAt: 0 }), new Date(0).toISOString());
    db.close();
    const t0 = Date.now();
    let refused: unknown;
    try {
      acquireInstanceLock(file).release();
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(InstanceLockBusy);
    expect(Date.now() - t0).toBeLessThan(1000); // no busy wait
    expect((refused as InstanceLockBusy).holder).toEqual({ pid: child.pid, url: 'http://127.0.0.1:48787' });
    expect((refused as Error).message).toContain(`pid ${child.pid}, intake http://127.0.0.1:48787`);
    expect((refused as Error).message).toContain('stop it first');

    child.kill('SIGKILL');
    await exited(child);
    const lock = acquireInstanceLock(file);
    lock.release();
  }, 30_000);

  it.each([
    ['is gone', () => 2 ** 22 + 17],
    ['now belongs to another program (not node)', () => {
      const other = spawn('sleep', ['30'], { stdio: 'ignore' });
      children.push(other);
      return other.pid!;
    }],
  ])('a recorded holder whose pid %s is not named (an earlier run\'s record), and the refusal still stands', async (_, pidOf) => {
    const file = dbFile();
    migrate(file);
    await holderProcess(file);
    const db = new Database(file);
    db.prepare(`INSERT INTO "SystemState"(key, value, updatedAt) VALUES (?, ?, ?)`).run(KV.serviceEndpoint, JSON.stringify({ url: 'http://127.0.0.1:1', pid: pidOf(), startedAt: 0 }), new Date(0).toISOString());
    db.close();
    let refused: InstanceLockBusy | undefined;
    try {
      acquireInstanceLock(file).release();
    } catch (e) {
      refused = e as InstanceLockBusy;
    }
    expect(refused).toBeInstanceOf(InstanceLockBusy);
    expect(refused!.holder).toBeNull();
    expect(refused!.message).not.toContain('http://127.0.0.1:1');
  }, 30_000);
});

/**
 * A careless second `npm start` in the same install, on other ports: on SQLite the service is
 * always the leader (broker session, jobs, alert sender, bot), so a second one would send,
 * flatten and alert twice. It must refuse before it writes anything, say who runs, and leave the
 * first one serving; once the first has stopped, the next start works at once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { freePort, freshInstallDir, startService, StartError, type RunningService } from './service.js';

const CLOCK = '2026-11-24T15:30:00Z'; // Tue 10:30 ET: pinned, the answer never depends on the hour

async function ports(): Promise<Record<string, string>> {
  return { INTAKE_PORT: String(await freePort()), SANDBOX_PORT: String(await freePort()) };
}

function beadCount(dir: string): number {
  const db = new Database(join(dir, 'data', 'phoenix.db'), { readonly: true });
  try {
    return Number((db.prepare(`SELECT COUNT(*) AS c FROM "Bead"`).get() as { c: number }).c);
  } finally {
    db.close();
  }
}

describe('one service per SQLite database', () => {
  const dir = freshInstallDir();
  let first: RunningService | undefined;
  afterAll(async () => {
    await first?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a second npm start on the same database (other ports) exits 1 before writing a bead, naming the running one; the first keeps serving; after it stops, a new start works', async () => {
    first = await startService(await ports(), { dir, clockAt: CLOCK, timeoutMs: 30_000 });
    const beads = beadCount(dir);
    let refused: StartError | undefined;
    try {
      const second = await startService(await ports(), { dir, clockAt: CLOCK, timeoutMs: 30_000 });
      await second.stop();
    } catch (e) {
      refused = e as StartError;
    }
    expect(refused, 'the second service started').toBeInstanceOf(StartError);
    expect(refused!.message).toContain('exited early with 1');
    expect(refused!.output).toContain(`another Phoenix service is running on the database ${join(dir, 'data', 'phoenix.db')} (pid `);
    expect(refused!.output).toContain(`intake ${first.intakeUrl}`);
    expect(beadCount(dir)).toBe(beads);
    expect((await fetch(`${first.intakeUrl}/healthz`)).status).toBe(200);

    await first.stop();
    first = await startService(await ports(), { dir, clockAt: CLOCK, timeoutMs: 30_000 });
    expect((await fetch(`${first.intakeUrl}/healthz`)).status).toBe(200);
  }, 120_000);
});

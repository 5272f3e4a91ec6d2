/**
 * Issue 18: the simulator runs a budget on PostgreSQL too. The in-process Phoenix opens the
 * PostgreSQL store through createApp (DATABASE_URL=postgresql://…), each world on a fresh
 * database of a real server (test/support/postgres.ts); kills and restarts reopen it; every
 * invariant is checked against what PostgreSQL committed. Not deterministic (real I/O): the
 * budget expects 0 violations, not a fingerprint.
 *
 * INV-ACCOUNT-SCOPE-1 was left out of this budget until the simulator settled a starting process
 * too: its transactions (restart recovery, the replayed broker events, the first jobs) each took
 * as much simulated time as the clock ran while PostgreSQL answered — a start-up took up to an
 * hour, a fill received during it waited minutes to be applied, and reconciliation's 10 s wait
 * for received events ran out: a CRITICAL position drift that real I/O would not have given.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Driver } from '../../sim/driver.js';
import { ProcessStore } from '../../sim/process-store.js';
import { run, worldSpec, type SimDatabases } from '../../sim/run.js';
import { pgDatabases } from '../../sim/pg-databases.js';
import { World } from '../../sim/world.js';
import { usePostgres } from '../support/postgres.js';

const pg = usePostgres();
const SEEDS = [1, 2];
const DAYS = 5;
describe('issue 18: the deterministic simulator on PostgreSQL', () => {
  it(`${SEEDS.length} seeds × ${DAYS} trading days on PostgreSQL: 0 violations, and the rows were in PostgreSQL`, async () => {
    const server = pg();
    const base = pgDatabases(server.url());
    const seen: { url: string; intents: number; beads: number; leases: number }[] = [];
    // keep each world's database until it has been looked at
    const databases: SimDatabases = {
      create: () => base.create(),
      async drop(url) {
        const name = new URL(url).pathname.slice(1);
        const [c] = await server.query<{ i: string; b: string; l: string }>(name, `SELECT (SELECT COUNT(*) FROM "Intent") AS i, (SELECT COUNT(*) FROM "Bead") AS b, (SELECT MAX(epoch) FROM "LeaderLease") AS l`);
        seen.push({ url, intents: Number(c!.i), beads: Number(c!.b), leases: Number(c!.l) });
        await base.drop(url);
      },
    };
    for (const seed of SEEDS) {
      const r = await run({ seed, days: DAYS, database: databases });
      process.stdout.write(`sim on PostgreSQL: seed ${seed}, ${r.stats.days} days in ${(r.ms / 1000).toFixed(1)} s, ${r.stats.steps} steps, ${r.stats.intents} intents, ${r.stats.restarts} kills/restarts\n`);
      expect(r.violation, r.violation ? `${r.violation.id}: ${r.violation.message}` : '').toBeNull();
      expect(r.stats.intents).toBeGreaterThan(0);
      expect(r.stats.restarts).toBeGreaterThan(0);
      // (World.close fails a PostgreSQL run whose process wrote a SQLite store file)
    }
    expect(seen).toHaveLength(SEEDS.length);
    for (const s of seen) {
      expect(s.intents).toBeGreaterThan(0);
      expect(s.beads).toBeGreaterThan(0);
      // every restart took the lease anew: one epoch per process
      expect(s.leases).toBeGreaterThan(1);
    }
  }, 180_000);

  afterEach(() => vi.restoreAllMocks());

  it('INV-ACCOUNT-SCOPE-1: a process starting up on PostgreSQL is settled like a running one — no transaction takes simulated time, so received broker events are applied before reconciliation stops waiting for them', async () => {
    const base = pgDatabases(pg().url());
    const url = await base.create();
    const world = new World({ ...worldSpec(2, 0, 'REALISTIC'), years: 1, databaseUrl: url });
    const driver = new Driver(world);
    // how much simulated time each transaction of any process took, start-up included
    const spans: { ms: number; gen: number }[] = [];
    const tx = ProcessStore.prototype.tx;
    vi.spyOn(ProcessStore.prototype, 'tx').mockImplementation(function <T>(this: ProcessStore, fn: Parameters<typeof tx<T>>[0]) {
      const from = world.now();
      const gen = world.generation;
      const p = tx.call(this, fn) as Promise<T>;
      p.then(
        () => spans.push({ ms: world.now() - from, gen }),
        () => {},
      );
      return p;
    });
    try {
      await world.start();
      const t0 = world.now();
      await driver.step({ t: t0 + 1000, acts: [{ k: 'kill', on: 'now', n: 0, phase: 'before', downMs: 1000 }] });
      await driver.step({ t: t0 + 120_000, acts: [{ k: 'wait' }] });
      expect(world.generation).toBe(2);
      // the second process was up as soon as it started (it waits on no timer), not minutes later
      expect(world.aliveSince).toBe(t0 + 2000);
      const second = spans.filter((s) => s.gen === 2);
      expect(second.length).toBeGreaterThan(10);
      expect(spans.filter((s) => s.ms > 0)).toEqual([]);
    } finally {
      await world.close();
      await base.drop(url);
    }
  }, 60_000);
});


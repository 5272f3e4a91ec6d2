/**
 * Issue 18: the approval path and intake throughput on PostgreSQL next to SQLite, one run, same
 * engine, same simulated broker, same count. SQLite is the default native store (better-sqlite3,
 * WAL, synchronous=NORMAL: a commit is not fsynced); PostgreSQL 15 runs locally (127.0.0.1 TCP)
 * with fsync on and synchronous_commit=off, the comparable durability (a commit survives a
 * process crash, not a power cut). The PostgreSQL store runs its statements through `pg`
 * directly with the desk's write lock in every transaction; the bare write transaction row says
 * what the same transaction costs through Prisma's driver adapter (why the store does not use it).
 *
 *   BENCH_ONLY=postgres npm run bench
 */
import { kvKeyOf } from '../src/engine/index.js';
import { performance } from 'node:perf_hooks';
import { SimBroker } from '../src/broker/sim/index.js';
import { PG_LOCK } from '../src/store/pg.migrate.js';
import { PgStore } from '../src/store/pg.store.js';
import type { Harness } from '../test/support/harness.js';
import { startPostgres } from '../test/support/postgres.js';
import { approvalRig, intakeThroughput } from './approval.rig.js';
import { percentile, type BenchRow } from './stats.js';

interface Figures {
  p50: number;
  p99: number;
  intake1: number;
  intake16: number;
}

async function measure(env: Record<string, string>, n: number): Promise<{ f: Figures; h: Harness }> {
  const { h, approveOne } = await approvalRig(env);
  for (let i = 0; i < 30; i++) await approveOne();
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(await approveOne());
  const intake1 = await intakeThroughput(h, 1000, 1);
  const intake16 = await intakeThroughput(h, 2000, 16);
  return { f: { p50: percentile(times, 50), p99: percentile(times, 99), intake1, intake16 }, h };
}

/**
 * One write transaction (the desk's write lock + one upsert): through the store (`pg`
 * directly), and the same through Prisma's interactive transaction on the same pool — what the
 * store would pay per transaction on Prisma (an approval runs four, ~25 statements).
 */
async function bareTx(store: PgStore, n: number): Promise<{ prisma: number; raw: number }> {
  const prisma: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    await store.tx((tx) => tx.kv.set(kvKeyOf.contract('bench'), String(i), 0));
    raw.push(performance.now() - t);
    t = performance.now();
    await store.pgDb.$transaction(async (c) => {
      await c.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${PG_LOCK.write})`);
      await c.systemState.upsert({ where: { key: 'bench-prisma' }, create: { key: 'bench-prisma', value: String(i), updatedAt: new Date(0) }, update: { value: String(i) } });
    });
    prisma.push(performance.now() - t);
  }
  return { prisma: percentile(prisma, 50), raw: percentile(raw, 50) };
}

export async function benchPostgres(n = 500): Promise<BenchRow[]> {
  const server = await startPostgres({ settings: { fsync: 'on', synchronous_commit: 'off' } });
  try {
    const sqlite = await measure({}, n);
    await sqlite.h.close();
    const pg = await measure({ DATABASE_URL: await server.createDatabase('bench') }, n);
    const bare = await bareTx(pg.h.app.store as PgStore, 500);
    await pg.h.close();
    const s = sqlite.f;
    const p = pg.f;
    return [
      { name: `PostgreSQL: approval path p50 (APPROVE → placeOrder, n=${n})`, value: p.p50, unit: 'ms', baseline: `SQLite p50 ${s.p50.toFixed(3)} ms`, ratio: p.p50 / s.p50 },
      { name: `PostgreSQL: approval path p99 (APPROVE → placeOrder, n=${n})`, value: p.p99, unit: 'ms', baseline: `SQLite p99 ${s.p99.toFixed(3)} ms`, ratio: p.p99 / s.p99 },
      { name: 'PostgreSQL: intake throughput, one at a time', value: p.intake1, unit: 'intents/s', baseline: `SQLite ${s.intake1.toFixed(0)}/s`, ratio: p.intake1 / s.intake1 },
      { name: 'PostgreSQL: intake throughput, 16 in flight', value: p.intake16, unit: 'intents/s', baseline: `SQLite ${s.intake16.toFixed(0)}/s`, ratio: p.intake16 / s.intake16 },
      { name: 'PostgreSQL: bare write tx p50 (write lock + upsert), the store (pg directly)', value: bare.raw, unit: 'ms', baseline: `through Prisma ${bare.prisma.toFixed(3)} ms`, ratio: bare.raw / bare.prisma },
    ];
  } finally {
    server.stop();
  }
}

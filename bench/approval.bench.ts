/**
 * Approval path (SPEC 16): APPROVE → broker.placeBracket, engine time per intent over ≥1,000
 * intents on a file SQLite database with the simulated broker, next to the cost of one bare
 * write transaction on the same database (Prisma interactive transaction, and raw
 * better-sqlite3 for reference). Also intake throughput (validation + gates + card queued).
 */
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import type { Harness } from '../test/support/harness.js';
import { approvalRig, intakeThroughput } from './approval.rig.js';
import { SimBroker } from '../src/broker/sim/index.js';
import { percentile, type BenchRow } from './stats.js';

export async function benchApproval(n = 1000): Promise<BenchRow[]> {
  const { h, approveOne } = await approvalRig();
  try {
    // warm-up
    for (let i = 0; i < 50; i++) await approveOne();
    const times: number[] = [];
    for (let i = 0; i < n; i++) times.push(await approveOne());
    const bare = await bareTransactions(h.app.db, h.dbFile, 1000);
    const intake = await intakeThroughput(h, 3000, 1);
    const intakeConcurrent = await intakeThroughput(h, 6000, 16);
    const p50 = percentile(times, 50);
    const p99 = percentile(times, 99);
    return [
      { name: 'approval path p50 (APPROVE → placeOrder)', value: p50, unit: 'ms', baseline: `bare Prisma write tx p50 ${bare.prismaP50.toFixed(3)} ms`, ratio: p50 / bare.prismaP50 },
      { name: 'approval path p99 (APPROVE → placeOrder)', value: p99, unit: 'ms', baseline: `bare Prisma write tx p99 ${bare.prismaP99.toFixed(3)} ms`, ratio: p99 / bare.prismaP99, target: '≤ 5 ms and ≤ 3× bare tx' },
      { name: 'bare write tx, raw better-sqlite3 (reference)', value: bare.rawP50, unit: 'ms', baseline: 'same database file' },
      { name: 'intake throughput, 16 requests in flight (validate + gates + card queued)', value: intakeConcurrent, unit: 'intents/s', baseline: `one at a time: ${intake.toFixed(0)}/s`, target: '≥ 2,000/s' },
    ];
  } finally {
    await h.close();
  }
}

async function bareTransactions(db: Harness['app']['db'], file: string, n: number) {
  const prisma: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await db.$transaction(async (tx) => {
      await tx.systemState.upsert({ where: { key: 'bench' }, create: { key: 'bench', value: String(i), updatedAt: new Date(0) }, update: { value: String(i) } });
    });
    prisma.push(performance.now() - t);
  }
  const raw = new Database(file);
  const stmt = raw.prepare(`INSERT INTO "SystemState"(key, value, updatedAt) VALUES ('bench-raw', ?, 0) ON CONFLICT(key) DO UPDATE SET value = excluded.value`);
  const once = raw.transaction((v: string) => stmt.run(v));
  const rawTimes: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    once(String(i));
    rawTimes.push(performance.now() - t);
  }
  raw.close();
  return { prismaP50: percentile(prisma, 50), prismaP99: percentile(prisma, 99), rawP50: percentile(rawTimes, 50) };
}

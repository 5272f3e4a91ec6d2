/**
 * Approval path (SPEC 16): APPROVE → broker.placeBracket, engine time per intent over ≥1,000
 * intents on a file SQLite database with the simulated broker, next to the cost of one bare
 * write transaction on the same database (Prisma interactive transaction, and raw
 * better-sqlite3 for reference). Also intake throughput (validation + gates + card queued).
 */
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { SimBroker } from '../src/broker/sim/index.js';
import { seededRandom, type BracketRequest, type BrokerPort, type SubmitPermit } from '../src/engine/index.js';
import { approver, makeHarness, cardOf } from '../test/support/harness.js';
import { percentile, type BenchRow } from './stats.js';

/** Big limits so 1,000 trades in one "day" are not refused by the trade/position gates. */
const BENCH_LIMITS = { limits: { maxTradesPerDay: 1e9, maxPositionPerInstrument: 1e9, dailyLossCapUsd: 1e9, maxConsecutiveLosses: 1e9 } };

export async function benchApproval(n = 1000): Promise<BenchRow[]> {
  let placedAt = 0;
  const h = await makeHarness({
    constitution: BENCH_LIMITS,
    broker: (clock) => {
      const sim = new SimBroker({ clock, random: seededRandom(9), profile: 'INSTANT', prices: { MES: 6010.25 } });
      const place = sim.placeBracket.bind(sim);
      (sim as BrokerPort).placeBracket = (req: BracketRequest, permit: SubmitPermit) => {
        placedAt = performance.now();
        return place(req, permit);
      };
      return sim;
    },
  });
  try {
    // warm-up
    for (let i = 0; i < 50; i++) await oneApproval(h);
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const { t0 } = await oneApproval(h, (t) => times.push(placedAt - t));
      void t0;
    }
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

  async function oneApproval(hh: typeof h, record?: (t0: number) => void) {
    const r = await hh.engine.submitIntent(hh.intent());
    if (r.kind !== 'accepted' || r.state !== 'PROPOSED') throw new Error(`bench intent not proposed: ${JSON.stringify(r)}`);
    const card = await cardOf(hh, r.intentId);
    const t0 = performance.now();
    const d = await hh.engine.decide(card.id, 'APPROVE', approver);
    if (d.kind !== 'approved' || d.submit.kind !== 'submitted') throw new Error(`bench approval failed: ${JSON.stringify(d)}`);
    record?.(t0);
    await hh.settle();
    return { t0 };
  }
}

async function bareTransactions(db: Awaited<ReturnType<typeof makeHarness>>['app']['db'], file: string, n: number) {
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

/** Intents through the engine's intake, `inFlight` at a time (as concurrent HTTP requests). */
async function intakeThroughput(h: Awaited<ReturnType<typeof makeHarness>>, n: number, inFlight: number): Promise<number> {
  const bodies = Array.from({ length: n }, () => h.intent());
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const r = await h.engine.submitIntent(bodies[next++]);
      if (r.kind !== 'accepted' || r.state !== 'PROPOSED') throw new Error(`intake bench: ${JSON.stringify(r)}`);
    }
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return n / ((performance.now() - t) / 1000);
}

/**
 * The approval-path bench rig, shared by approval.bench.ts (SQLite) and postgres.bench.ts
 * (PostgreSQL next to SQLite): a harness with limits no bench run reaches and a simulated broker
 * that notes when placeBracket is called, one measured APPROVE, and intake throughput.
 */
import { performance } from 'node:perf_hooks';
import { SimBroker } from '../src/broker/sim/index.js';
import { seededRandom, type BracketRequest, type BrokerPort, type SubmitPermit } from '../src/engine/index.js';
import { approver, cardOf, makeHarness, type Harness } from '../test/support/harness.js';

/** Big limits so thousands of trades in one "day" are not refused by the trade/position gates. */
export const BENCH_LIMITS = { limits: { maxTradesPerDay: 1e9, maxPositionPerInstrument: 1e9, dailyLossCapUsd: 1e9, maxConsecutiveLosses: 1e9 } };

export interface ApprovalRig {
  readonly h: Harness;
  /** one intent through intake, then APPROVE: ms from the decision to broker.placeBracket */
  approveOne(): Promise<number>;
}

export async function approvalRig(env: Record<string, string> = {}): Promise<ApprovalRig> {
  let placedAt = 0;
  const h = await makeHarness({
    env,
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
  const approveOne = async () => {
    const r = await h.engine.submitIntent(h.intent());
    if (r.kind !== 'accepted' || r.state !== 'PROPOSED') throw new Error(`bench intent not proposed: ${JSON.stringify(r)}`);
    const card = await cardOf(h, r.intentId);
    const t0 = performance.now();
    const d = await h.engine.decide(card.id, 'APPROVE', approver);
    if (d.kind !== 'approved' || d.submit.kind !== 'submitted') throw new Error(`bench approval failed: ${JSON.stringify(d)}`);
    const ms = placedAt - t0;
    await h.settle();
    return ms;
  };
  return { h, approveOne };
}

/** Intents through the engine's intake, `inFlight` at a time (as concurrent HTTP requests): intents/s. */
export async function intakeThroughput(h: Harness, n: number, inFlight: number): Promise<number> {
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

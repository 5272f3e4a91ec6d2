/**
 * Running simulations. A run of D days is cut into worlds of at most `epochDays` trading days
 * each (a fresh database, broker and chat per world, seeded from the run's seed and the world's
 * number), so a 10,000-day run keeps each database small; days within a world share one database
 * and the positions, drifts and kill flags they leave behind.
 *
 * `runHistory` replays an explicit action list in a fresh world: what --replay and the shrinker use.
 */
import type { SimProfile } from '../src/broker/sim/index.js';
import type { Action } from './actions.js';
import { addDays, calendarFor } from './calendar.js';
import type { DeskVariant } from './desk.js';
import { Driver } from './driver.js';
import { generateDay } from './gen/day.js';
import { dice, subSeed } from './gen/rng.js';
import { worldHash } from './hash.js';
import { World, type Violation } from './world.js';

export interface WorldSpec {
  readonly seed: number;
  readonly profile: SimProfile;
  readonly variant: DeskVariant;
  readonly startDay: string;
}

export interface History extends WorldSpec {
  readonly version: 1;
  readonly actions: readonly Action[];
  /** what failed, where */
  readonly violation?: FoundViolation;
  /** the run it came from */
  readonly origin?: { readonly seed: number; readonly world: number; readonly days: number };
}

export interface FoundViolation extends Violation {
  /** index into the world's actions */
  readonly step: number;
  /** the trading day, and its number within the run */
  readonly day: string;
  readonly dayOfRun: number;
  readonly at: string;
  readonly all: readonly Violation[];
}

export interface RunStats {
  days: number;
  steps: number;
  leaps: number;
  seconds: number;
  restarts: number;
  intents: number;
  brokerOrders: number;
  executions: number;
  telegramCalls: number;
  logLines: number;
}

export interface RunReport {
  readonly seed: number;
  readonly days: number;
  readonly profile: SimProfile;
  readonly violation: FoundViolation | null;
  /** the failing world's history (for the shrinker and --replay) */
  readonly history: History | null;
  readonly hashes: string[];
  readonly stats: RunStats;
  readonly ms: number;
}

export interface RunOptions {
  readonly seed: number;
  readonly days: number;
  readonly profile?: SimProfile;
  /** trading days per world (default 25) */
  readonly epochDays?: number;
  /** only these invariants (default all) */
  readonly only?: readonly string[];
  readonly log?: (line: string) => void;
  /** force the desk variant (default: drawn per world) */
  readonly variant?: DeskVariant;
  /** PostgreSQL instead of SQLite files: a fresh database per world (docs/SIMULATION.md "On PostgreSQL") */
  readonly database?: SimDatabases;
}

/** Where a run on PostgreSQL gets its databases: a fresh one per world, dropped after it. */
export interface SimDatabases {
  create(): Promise<string>;
  drop(url: string): Promise<void>;
}

/** The world a run's `n`-th epoch simulates. */
export function worldSpec(seed: number, n: number, profile: SimProfile, variant?: DeskVariant): WorldSpec {
  const d = dice(subSeed(seed, n, 'world'));
  return {
    seed: subSeed(seed, n, 'seed'),
    profile,
    variant: variant ?? (d.chance(0.5) ? 'busy' : 'default'),
    startDay: addDays('2026-01-05', d.int(0, 700)),
  };
}

export const emptyStats = (): RunStats => ({ days: 0, steps: 0, leaps: 0, seconds: 0, restarts: 0, intents: 0, brokerOrders: 0, executions: 0, telegramCalls: 0, logLines: 0 });

function addStats(s: RunStats, w: World, drv: Driver, days: number): void {
  s.days += days;
  s.steps += drv.steps;
  s.leaps += drv.leaps;
  s.seconds += drv.seconds;
  s.restarts += w.generation - 1;
  s.intents += w.reader?.count(`SELECT COUNT(*) AS c FROM "Intent"`) ?? 0;
  const t = w.broker.truth();
  s.brokerOrders += t.orders.length;
  s.executions += t.executions.length;
  s.telegramCalls += w.telegram.stats.calls;
  s.logLines += w.logs.lines;
}

export async function run(o: RunOptions): Promise<RunReport> {
  const started = performance.now();
  const profile = o.profile ?? 'REALISTIC';
  const stats = emptyStats();
  const hashes: string[] = [];
  for (const e of epochsOf(o)) {
    const r = await runEpoch(o, e);
    mergeStats(stats, r.stats);
    if (r.hash) hashes.push(r.hash);
    if (r.violation) return { seed: o.seed, days: o.days, profile, violation: r.violation, history: r.history, hashes, stats, ms: performance.now() - started };
  }
  return { seed: o.seed, days: o.days, profile, violation: null, history: null, hashes, stats, ms: performance.now() - started };
}

/** One world of a run: its number, how many trading days it simulates, and the run's days before it. */
export interface Epoch {
  readonly n: number;
  readonly days: number;
  readonly dayOffset: number;
}

/** The worlds a run is cut into (each independent of the others: sim/parallel.ts runs them side by side). */
export function epochsOf(o: Pick<RunOptions, 'days' | 'epochDays'>): Epoch[] {
  const epochDays = o.epochDays ?? 25;
  const out: Epoch[] = [];
  for (let n = 0, done = 0; done < o.days; n++) {
    const days = Math.min(epochDays, o.days - done);
    out.push({ n, days, dayOffset: done });
    done += days;
  }
  return out;
}

/** What one world of a run gave (plain data: it crosses a worker's message port). */
export interface EpochResult {
  readonly n: number;
  readonly stats: RunStats;
  readonly hash: string | null;
  readonly violation: FoundViolation | null;
  readonly history: History | null;
}

/** Run the run's `e.n`-th world in a fresh world (database, broker, chat) and close it. */
export async function runEpoch(o: RunOptions, e: Epoch): Promise<EpochResult> {
  const profile = o.profile ?? 'REALISTIC';
  const spec = worldSpec(o.seed, e.n, profile, o.variant);
  const databaseUrl = o.database ? await o.database.create() : undefined;
  const r = await runWorld(spec, { days: e.days, only: o.only, dayOffset: e.dayOffset, ...(o.log ? { log: o.log } : {}), ...(databaseUrl ? { databaseUrl } : {}) });
  const stats = emptyStats();
  addStats(stats, r.world, r.driver, r.violation ? r.daysRun : e.days);
  await r.world.close();
  if (databaseUrl) await o.database?.drop(databaseUrl);
  const history: History | null = r.violation ? { version: 1, ...spec, actions: r.actions, violation: r.violation, origin: { seed: o.seed, world: e.n, days: o.days } } : null;
  return { n: e.n, stats, hash: r.hash, violation: r.violation, history };
}

export function mergeStats(into: RunStats, s: RunStats): void {
  for (const k of Object.keys(s) as (keyof RunStats)[]) into[k] += s[k];
}

interface WorldRun {
  readonly world: World;
  readonly driver: Driver;
  readonly violation: FoundViolation | null;
  readonly actions: Action[];
  readonly daysRun: number;
  readonly hash: string | null;
}

/** Generate and run `days` trading days in a fresh world. */
async function runWorld(spec: WorldSpec, o: { days: number; only?: readonly string[] | undefined; dayOffset: number; log?: (line: string) => void; databaseUrl?: string }): Promise<WorldRun> {
  const world = new World({ ...spec, years: Math.ceil(o.days / 200) + 1, ...(o.databaseUrl ? { databaseUrl: o.databaseUrl } : {}) });
  const driver = new Driver(world, o.only);
  await world.start();
  const actions: Action[] = [];
  let day = world.calendar.nextTradingDay(spec.startDay);
  let open: Record<string, number> = {};
  for (let i = 0; i < o.days; i++) {
    const plan = generateDay({ seed: spec.seed, index: i, day, calendar: world.calendar, variant: spec.variant, open });
    open = plan.close;
    for (const a of plan.actions) {
      actions.push(a);
      const v = await driver.step(a);
      if (v.length) {
        const first = v[0] as Violation;
        const violation: FoundViolation = { ...first, step: actions.length - 1, day, dayOfRun: o.dayOffset + i + 1, at: new Date(world.now()).toISOString(), all: v };
        return { world, driver, violation, actions, daysRun: i + 1, hash: null };
      }
    }
    o.log?.(`day ${o.dayOffset + i + 1} ${day}: ${plan.actions.length} actions, ${world.generation} process(es) so far`);
    day = world.calendar.nextTradingDay(addDays(day, 1));
  }
  return { world, driver, violation: null, actions, daysRun: o.days, hash: worldHash(world).all };
}

export interface ReplayResult {
  readonly violation: FoundViolation | null;
  readonly hash: string;
  readonly steps: number;
}

/** Replay a history's actions in a fresh world; stops at the first violation. */
export async function runHistory(h: WorldSpec & { readonly actions: readonly Action[] }, only?: readonly string[]): Promise<ReplayResult> {
  const world = new World({ ...h, years: 2 + Math.ceil((h.actions.length ? h.actions[h.actions.length - 1]!.t - h.actions[0]!.t : 0) / (365 * 86_400_000)) });
  const driver = new Driver(world, only);
  try {
    await world.start();
    for (let i = 0; i < h.actions.length; i++) {
      const v = await driver.step(h.actions[i]!);
      if (v.length) {
        const first = v[0] as Violation;
        const day = world.local().day;
        return { violation: { ...first, step: i, day, dayOfRun: 0, at: new Date(world.now()).toISOString(), all: v }, hash: '', steps: i + 1 };
      }
    }
    return { violation: null, hash: worldHash(world).all, steps: h.actions.length };
  } finally {
    await world.close();
  }
}

export { calendarFor };

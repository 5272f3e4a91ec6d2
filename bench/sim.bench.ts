/**
 * Simulated trading days per second (SPEC 16, 18; issue 14): the deterministic simulator running
 * whole days of the real engine, store, jobs, alert sender and bot handlers with its seeded
 * actors and faults and every invariant after every step (seed 1, REALISTIC, worlds of 25 days
 * like `npm run sim`).
 *
 *   baseline  the same number of trading days with Phoenix running and nobody acting (the jobs,
 *             the alert sender and the card syncer through each day, every invariant checked):
 *             the floor a simulated day costs before anything happens in it
 *   one thread  the same run's worlds one after another, beside the figure for worlds side by side
 *             on one worker thread per core (`npm run sim` does that by default; same verdicts)
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Action } from '../sim/actions.js';
import { addDays, nyTime } from '../sim/calendar.js';
import { runParallel } from '../sim/parallel.js';
import { calendarFor, run, runHistory, worldSpec } from '../sim/run.js';
import type { BenchRow } from './stats.js';

/** `days` quiet trading days: waypoints only (the open, the deadline, the evening). */
async function quietDays(days: number): Promise<number> {
  const spec = worldSpec(1, 0, 'REALISTIC');
  const cal = calendarFor(spec.startDay, Math.ceil(days / 200) + 1);
  const actions: Action[] = [];
  let day = cal.nextTradingDay(spec.startDay);
  for (let i = 0; i < days; i++) {
    for (const hhmm of ['09:30', '12:00', '15:55', '16:30']) actions.push({ t: nyTime(day, hhmm), acts: [{ k: 'wait' }] });
    day = cal.nextTradingDay(addDays(day, 1));
  }
  const t0 = performance.now();
  const r = await runHistory({ ...spec, actions });
  if (r.violation) throw new Error(`sim bench: a quiet day violated ${r.violation.id}: ${r.violation.message}`);
  return days / ((performance.now() - t0) / 1000);
}

export async function benchSim(days = Number(process.env.SIM_BENCH_DAYS ?? 100)): Promise<BenchRow[]> {
  const quiet = await quietDays(days);
  const cpu0 = process.cpuUsage();
  const r = await run({ seed: 1, days });
  const cpu = process.cpuUsage(cpu0);
  if (r.violation) throw new Error(`sim bench: seed 1 violated ${r.violation.id} on day ${r.violation.dayOfRun}: ${r.violation.message}`);
  const perSec = r.stats.days / (r.ms / 1000);
  const perCpuSec = r.stats.days / ((cpu.user + cpu.system) / 1e6);
  const workers = availableParallelism();
  const p = await runParallel({ seed: 1, days }, workers);
  if (p.violation || p.hashes.join() !== r.hashes.join()) throw new Error('sim bench: the worlds side by side did not give the serial run\'s hashes');
  const parPerSec = p.stats.days / (p.ms / 1000);
  return [
    {
      name: `simulated trading days per second, one thread (${r.stats.days} days, ${r.stats.steps} steps, ${r.stats.intents} intents, ${r.stats.restarts} restarts, every invariant after every step; ${perCpuSec.toFixed(1)} per CPU second)`,
      value: perSec,
      unit: 'days/s',
      baseline: `quiet days (Phoenix running, nobody acting): ${quiet.toFixed(1)} days/s`,
      ratio: perSec / quiet,
    },
    {
      name: `simulated trading days per second, ${r.hashes.length} worlds on ${workers} worker threads (the same ${p.stats.days} days, identical world hashes)`,
      value: parPerSec,
      unit: 'days/s',
      baseline: `one thread: ${perSec.toFixed(2)} days/s`,
      ratio: parPerSec / perSec,
      target: '≥ 50 days/s',
    },
  ];
}

/**
 * Simulated trading days per second (SPEC 16, 18): the deterministic simulator running whole days
 * of the real engine, store, jobs, alert sender and bot handlers with its seeded actors and faults
 * and every invariant after every step (seed 1, REALISTIC). Next to it, in the same run, the CPU
 * time it used: on a busy machine the wall-clock figure drops, the CPU figure much less.
 */
import { run } from '../sim/run.js';
import type { BenchRow } from './stats.js';

export async function benchSim(days = Number(process.env.SIM_BENCH_DAYS ?? 40)): Promise<BenchRow[]> {
  const cpu0 = process.cpuUsage();
  const r = await run({ seed: 1, days, epochDays: days });
  const cpu = process.cpuUsage(cpu0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  const wall = r.days / (r.ms / 1000);
  return [
    {
      name: `simulated trading days per second (${r.stats.days} days, ${r.stats.steps} steps, every invariant after every step)`,
      value: wall,
      unit: 'days/s',
      baseline: `per CPU second: ${(r.stats.days / cpuSec).toFixed(2)} days; ${r.violation ? `VIOLATION ${r.violation.id}` : '0 violations'}`,
      ratio: wall / (r.stats.days / cpuSec),
      target: '≥ 50 days/s',
    },
  ];
}

/**
 * A run's worlds side by side, one per worker thread (`npm run sim -- --workers N`). Worlds are
 * independent (each its own database file, broker, chat and clock, seeded from the run's seed and
 * its number), so a world gives the same history, hash and verdict in any worker: the report is
 * the serial run's — the same hashes in world order, and, if any world fails, the violation of
 * the lowest-numbered failing world (worlds after it are not started; those already running end).
 *
 * SQLite only: a run on PostgreSQL shares one server and is not deterministic anyway.
 */
import { Worker } from 'node:worker_threads';
import { emptyStats, epochsOf, mergeStats, type EpochResult, type RunOptions, type RunReport } from './run.js';

/** What a worker is told: the run (minus its callbacks) and the worlds are sent one at a time. */
export type WorkerRun = Omit<RunOptions, 'log' | 'database'> & { readonly logs: boolean };
export type ToWorker = { readonly epoch: ReturnType<typeof epochsOf>[number] } | { readonly done: true };
export type FromWorker = { readonly result: EpochResult } | { readonly log: string } | { readonly error: string };

// a worker's entry is loaded before `--import tsx` hooks apply (Node 20): register tsx, then import the .ts
// (tsx resolved here, from this file, not from the worker's working directory)
const BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => { t.register(); return import(${JSON.stringify(new URL('./parallel.worker.ts', import.meta.url).href)}); })`;

export async function runParallel(o: RunOptions, workers: number): Promise<RunReport> {
  if (o.database) throw new Error('--workers runs SQLite worlds only (a PostgreSQL run is serial)');
  const started = performance.now();
  const queue = epochsOf(o);
  const results = new Map<number, EpochResult>();
  let firstFailing = Infinity;
  const data: WorkerRun = { seed: o.seed, days: o.days, ...(o.profile ? { profile: o.profile } : {}), ...(o.epochDays ? { epochDays: o.epochDays } : {}), ...(o.only ? { only: o.only } : {}), ...(o.variant ? { variant: o.variant } : {}), logs: !!o.log };

  // one worker failing ends the run: the others are stopped, not left running behind a rejection
  const threads: Worker[] = [];
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const w = new Worker(BOOT, { eval: true, workerData: data });
      threads.push(w);
      const next = () => {
        const e = queue.shift();
        // a world after a failing one is never started: the serial run would have stopped before it
        if (!e || e.n > firstFailing) return void w.postMessage({ done: true } satisfies ToWorker);
        w.postMessage({ epoch: e } satisfies ToWorker);
      };
      w.on('message', (m: FromWorker) => {
        if ('log' in m) return o.log?.(m.log);
        if ('error' in m) return reject(new Error(m.error));
        results.set(m.result.n, m.result);
        if (m.result.violation) firstFailing = Math.min(firstFailing, m.result.n);
        next();
      });
      w.on('error', reject);
      w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`simulation worker exited with ${code}`))));
      next();
    });
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(workers, queue.length)) }, one));
  } catch (e) {
    await Promise.all(threads.map((w) => w.terminate()));
    throw e;
  }

  // the serial run's report: worlds in order up to the first failing one
  const stats = emptyStats();
  const hashes: string[] = [];
  const profile = o.profile ?? 'REALISTIC';
  for (const n of [...results.keys()].sort((a, b) => a - b)) {
    if (n > firstFailing) break;
    const r = results.get(n) as EpochResult;
    mergeStats(stats, r.stats);
    if (r.hash) hashes.push(r.hash);
    if (r.violation) return { seed: o.seed, days: o.days, profile, violation: r.violation, history: r.history, hashes, stats, ms: performance.now() - started };
  }
  return { seed: o.seed, days: o.days, profile, violation: null, history: null, hashes, stats, ms: performance.now() - started };
}

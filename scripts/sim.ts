/**
 * `npm run sim -- --seed S --days D [--profile REALISTIC|ADVERSARIAL|INSTANT] [--out DIR]`
 * `npm run sim -- --seed S --days D --db postgres` (a PostgreSQL server of its own, Debian's binaries)
 * `npm run sim -- --seed S --days D --database-url postgresql://…` (a fresh database per world on that server)
 * `npm run sim -- --seed S --days D --workers N` (worlds side by side on N threads; default: one per core, SQLite)
 * `npm run sim -- --replay FILE`
 *
 * Deterministic simulation of whole trading days (docs/SIMULATION.md). Exit 0: no invariant
 * violated. Exit 1: a violation — its seed, day and step are printed, the history is shrunk to
 * the shortest that still fails, written to a file and printed; `--replay FILE` replays it.
 */
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { SimProfile } from '../src/broker/sim/index.js';
import { describeHistory, readHistory, writeHistory } from '../sim/history.js';
import { INVARIANT_IDS } from '../sim/invariants/index.js';
import { pgDatabases } from '../sim/pg-databases.js';
import { runParallel } from '../sim/parallel.js';
import { epochsOf, run, runHistory, type History, type RunOptions, type SimDatabases } from '../sim/run.js';
import { shrink } from '../sim/shrink.js';

function args(argv: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) m.set(a.slice(2), 'true');
    else (m.set(a.slice(2), next), i++);
  }
  return m;
}

const say = (s: string) => process.stdout.write(`${s}\n`);

async function replay(file: string): Promise<number> {
  const h = readHistory(file);
  say(`replaying ${file}: ${h.actions.length} actions, world seed ${h.seed}, ${h.profile}, ${h.variant} desk, from ${h.startDay}`);
  const r = await runHistory(h);
  if (!r.violation) {
    say(`no violation (${r.steps} steps); final state ${r.hash.slice(0, 16)}`);
    return 0;
  }
  say(`VIOLATION ${r.violation.id} at step ${r.violation.step} (${r.violation.at}): ${r.violation.message}`);
  return 1;
}

async function main(): Promise<number> {
  const a = args(process.argv.slice(2));
  if (a.has('help')) {
    say('npm run sim -- --seed S --days D [--profile REALISTIC|ADVERSARIAL|INSTANT] [--epoch N] [--out DIR] [--no-shrink] [--workers N] [--db sqlite|postgres | --database-url postgresql://…]\nnpm run sim -- --replay FILE');
    say(`invariants: ${INVARIANT_IDS.join(', ')}`);
    return 0;
  }
  if (a.has('replay')) return replay(a.get('replay') as string);
  const seed = Number(a.get('seed') ?? 1);
  const days = Number(a.get('days') ?? 20);
  const profile = (a.get('profile') ?? 'REALISTIC').toUpperCase() as SimProfile;
  if (!['INSTANT', 'REALISTIC', 'ADVERSARIAL'].includes(profile)) throw new Error(`--profile must be INSTANT, REALISTIC or ADVERSARIAL (got ${profile})`);
  if (!Number.isInteger(seed) || !Number.isInteger(days) || days < 1) throw new Error('--seed and --days must be whole numbers (days ≥ 1)');
  const quiet = a.has('quiet');
  const db = a.get('db') ?? (a.has('database-url') ? 'postgres' : 'sqlite');
  if (!['sqlite', 'postgres'].includes(db)) throw new Error(`--db must be sqlite or postgres (got ${db})`);
  let database: SimDatabases | undefined;
  let stopServer = () => {};
  if (db === 'postgres') {
    let url = a.get('database-url');
    if (!url) {
      // a server of its own (test/support/postgres.ts: initdb + pg_ctl on a free port), stopped at exit
      const server = await (await import('../test/support/postgres.js')).startPostgres();
      stopServer = () => server.stop();
      url = server.url();
    }
    database = pgDatabases(url);
  }
  say(`simulating ${days} trading day(s), seed ${seed}, profile ${profile}, on ${db === 'postgres' ? 'PostgreSQL (not deterministic: real I/O)' : 'SQLite'}`);
  const opts: RunOptions = { seed, days, profile, ...(database ? { database } : {}), ...(a.has('epoch') ? { epochDays: Number(a.get('epoch')) } : {}), ...(quiet ? {} : { log: (l) => (Number(l.split(' ')[1]) % 50 === 0 ? say(l) : undefined) }) };
  // worlds are independent: side by side on SQLite, one per core unless told (the report is the serial run's)
  const workers = Math.min(Number(a.get('workers') ?? (database ? 1 : availableParallelism())), epochsOf(opts).length);
  if (!Number.isInteger(workers) || workers < 1) throw new Error('--workers must be a whole number ≥ 1');
  if (database && workers > 1) throw new Error('--workers runs SQLite worlds only (a PostgreSQL run is serial)');
  if (workers > 1) say(`${epochsOf(opts).length} worlds on ${workers} worker threads`);
  const report = await (workers > 1 ? runParallel(opts, workers) : run(opts)).finally(stopServer);
  const s = report.stats;
  const perSec = s.days / (report.ms / 1000);
  say(`${s.days} day(s) in ${(report.ms / 1000).toFixed(1)} s (${perSec.toFixed(2)} days/s): ${s.steps} steps, ${s.intents} intents, ${s.brokerOrders} broker orders, ${s.executions} executions, ${s.restarts} kills/restarts, ${s.telegramCalls} Telegram calls, ${s.logLines} log lines`);
  if (!report.violation || !report.history) {
    say('0 violations');
    return 0;
  }
  const v = report.violation;
  say(`\nVIOLATION ${v.id} — seed ${seed}, day ${v.dayOfRun} (${v.day}), step ${v.step}, at ${v.at}\n  ${v.message}`);
  for (const other of v.all.slice(1, 6)) say(`  also ${other.id}: ${other.message}`);
  let history: History = report.history;
  if (!a.has('no-shrink')) {
    say(`shrinking ${history.actions.length} actions (same world seed ${history.seed}) …`);
    const r = await shrink(history, { log: quiet ? undefined : (l) => say(`  ${l}`) });
    history = r.history;
    say(`shrunk to ${r.to} action(s) in ${r.tests} replays`);
  }
  const dir = a.get('out') ?? 'sim-failures';
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `sim-${seed}-${v.id}-day${v.dayOfRun}.json`);
  writeHistory(file, history);
  say(`\nshortest failing history (${history.actions.length} actions), written to ${file}:`);
  for (const line of describeHistory(history)) say(`  ${line}`);
  say(`\nreplay: npm run sim -- --replay ${file}`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`sim failed: ${e.stack ?? e.message}\n`);
    process.exit(2);
  },
);

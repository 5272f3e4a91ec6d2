/**
 * `npm run bench`: every figure of SPEC 16 in one run, each next to its baseline from the
 * same run, printed as a table and written to bench/results.md with the machine it ran on.
 * Sections owned by other modules are loaded when present.
 *
 * BENCH_ONLY=halt,audit (section keys) runs just those; their rows replace the same rows in
 * bench/results.md and the others are kept, with a note saying which rows are newer.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchApproval } from './approval.bench.js';
import { benchAudit } from './audit.bench.js';
import { benchHalt } from './halt.bench.js';
import { benchSim } from './sim.bench.js';
import { benchStartup } from './startup.bench.js';
import type { BenchRow } from './stats.js';

type Section = { key: string; name: string; run: () => Promise<BenchRow[]> };

async function optional(path: string, fn: string): Promise<(() => Promise<BenchRow[]>) | null> {
  try {
    const mod = (await import(path)) as Record<string, () => Promise<BenchRow[]>>;
    return mod[fn] ?? null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return null;
    throw e;
  }
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(3));

async function main(): Promise<void> {
  let sections: Section[] = [
    { key: 'approval', name: 'approval & intake', run: () => benchApproval(1000) },
    { key: 'audit', name: 'audit', run: () => benchAudit(1_000_000) },
  ];
  const recon = await optional('./reconcile.bench.js', 'benchReconcile');
  if (recon) sections.push({ key: 'reconcile', name: 'reconciliation', run: recon });
  const alerts = await optional('./alerts.bench.js', 'benchAlertFloodRows');
  if (alerts) sections.push({ key: 'alerts', name: 'alert flood', run: alerts });
  const postgres = await optional('./postgres.bench.js', 'benchPostgres');
  if (postgres) sections.push({ key: 'postgres', name: 'PostgreSQL next to SQLite', run: postgres });
  sections.push({ key: 'halt', name: '/halt fast path', run: () => benchHalt() });
  sections.push({ key: 'startup', name: 'start-up & memory', run: () => benchStartup() });
  sections.push({ key: 'sim', name: 'deterministic simulation', run: () => benchSim() });
  const only = (process.env.BENCH_ONLY ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  if (only.length) sections = sections.filter((s) => only.includes(s.key));

  const rows: BenchRow[] = [];
  for (const s of sections) {
    process.stderr.write(`bench: ${s.name}…\n`);
    rows.push(...(await s.run()));
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
  const rowLines = rows.map((r) => `| ${r.name} | ${fmt(r.value)} ${r.unit} | ${r.baseline ?? ''} | ${r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : ''} | ${r.target ?? ''} |`);
  const header = ['| figure | value | baseline (same run) | ratio | target |', '|---|---|---|---|---|'];
  const file = join(import.meta.dirname, 'results.md');
  process.stdout.write(`${[`Machine: ${machine}`, '', ...header, ...rowLines].join('\n')}\n`);
  let text: string;
  if (only.length && existsSync(file)) {
    // partial run: keep the other sections' rows, replace this run's (same figure = same text before any '(')
    const old = readFileSync(file, 'utf8').split('\n');
    const keyOf = (l: string) => l.split('|')[1]?.split('(')[0]?.trim() ?? '';
    const fresh = new Set(rowLines.map(keyOf));
    const kept = old.filter((l) => l.startsWith('| ') && !l.startsWith('| figure') && !fresh.has(keyOf(l)));
    const notes = old.filter((l) => l.startsWith('Machine:') || l.startsWith('Rows for'));
    text = [...notes.filter((l) => !l.includes(`Rows for ${only.join(',')}:`)), `Rows for ${only.join(',')}: ${machine}`, '', ...header, ...kept, ...rowLines].join('\n');
  } else {
    text = [`Machine: ${machine}`, '', ...header, ...rowLines].join('\n');
  }
  writeFileSync(file, `${text}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});

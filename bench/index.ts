/**
 * `npm run bench`: every figure of SPEC 16 in one run, each next to its baseline from the
 * same run, printed as a table and written to bench/results.md with the machine it ran on.
 * Sections owned by other modules are loaded when present.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchApproval } from './approval.bench.js';
import { benchAudit } from './audit.bench.js';
import { benchStartup } from './startup.bench.js';
import type { BenchRow } from './stats.js';

type Section = { name: string; run: () => Promise<BenchRow[]> };

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
  const sections: Section[] = [
    { name: 'approval & intake', run: () => benchApproval(1000) },
    { name: 'audit', run: () => benchAudit(1_000_000) },
  ];
  const recon = await optional('./reconcile.bench.js', 'benchReconcile');
  if (recon) sections.push({ name: 'reconciliation', run: recon });
  const alerts = await optional('./alerts.bench.js', 'benchAlertFloodRows');
  if (alerts) sections.push({ name: 'alert flood', run: alerts });
  sections.push({ name: 'start-up & memory', run: () => benchStartup() });

  const rows: BenchRow[] = [];
  for (const s of sections) {
    process.stderr.write(`bench: ${s.name}…\n`);
    rows.push(...(await s.run()));
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
  const lines = [
    `Machine: ${machine}`,
    '',
    '| figure | value | baseline (same run) | ratio | target |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.name} | ${fmt(r.value)} ${r.unit} | ${r.baseline ?? ''} | ${r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : ''} | ${r.target ?? ''} |`),
  ];
  const text = lines.join('\n');
  process.stdout.write(`${text}\n`);
  writeFileSync(join(import.meta.dirname, 'results.md'), `${text}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});

/**
 * `npm run chaos` — the BUNNY suite report (SPEC 15).
 *
 * Runs vitest (the whole suite, or the files/filters given) with the JSON reporter, matches
 * every test to the SPEC 15 chaos vectors and SPEC 14 invariants of scripts/chaos.catalog.ts by
 * the title convention (`INV-…: ` / `CV <vector name>: `), and writes reports/chaos-report.md:
 * one row per vector (fault, observed outcome, invariants, beads, proving tests, PASS / FAIL /
 * MISSING) and one row per invariant. The verdict is FAIL (exit 1) when ANY test of the run
 * failed — a proving test or not —, when a test file could not run, when vitest itself exited
 * non-zero, or when a row is MISSING or FAILED; a short summary is printed either way.
 *
 * "Beads checked" is what the passing proving tests of a vector actually asserted: tests check
 * beads through test/support/beads-checked.ts (`expectBeads`), which records each checked type
 * in the test's meta only when its assertion ran and held; the JSON reporter carries it here.
 * The bead types SPEC 15 expects (catalog `specBeads`) are only used to flag the ones no test
 * asserts.
 *
 *   npm run chaos                              whole suite
 *   npm run chaos -- test/engine test/jobs     only these files/dirs (vitest filters)
 *   npm run chaos -- --from results.json       build the report from an existing vitest JSON
 *   npm run chaos -- --out path/report.md      write the report elsewhere
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { INVARIANTS, VECTORS, type InvariantRow, type VectorRow } from './chaos.catalog.js';

// ---------------------------------------------------------------------------------------------
// vitest JSON reporter format (the parts we read)

export type VitestStatus = 'passed' | 'failed' | 'skipped' | 'pending' | 'todo' | 'disabled';

export interface VitestAssertion {
  readonly ancestorTitles: readonly string[];
  readonly title: string;
  readonly fullName?: string;
  readonly status: VitestStatus;
  readonly duration?: number | null;
  readonly failureMessages?: readonly string[] | null;
  /** task meta: `beadsChecked` is written by test/support/beads-checked.ts */
  readonly meta?: { readonly beadsChecked?: readonly string[] } | null;
}

export interface VitestFile {
  readonly name: string;
  readonly status: string;
  readonly message?: string;
  readonly startTime?: number;
  readonly endTime?: number;
  readonly assertionResults: readonly VitestAssertion[];
}

export interface VitestJson {
  readonly numTotalTests: number;
  readonly numPassedTests: number;
  readonly numFailedTests: number;
  readonly numPendingTests?: number;
  readonly numTodoTests?: number;
  readonly numTotalTestSuites?: number;
  readonly startTime?: number;
  readonly success: boolean;
  readonly testResults: readonly VitestFile[];
}

// ---------------------------------------------------------------------------------------------
// Matching

export type TestResult = 'PASS' | 'FAIL' | 'SKIP';
export type RowStatus = 'PASS' | 'FAIL' | 'MISSING';

export interface TestRef {
  readonly file: string;
  readonly path: readonly string[];
  readonly title: string;
  readonly result: TestResult;
  readonly durationMs: number | null;
  readonly failure: string | null;
  /** invariant ids named in the title prefixes (own title and enclosing describes) */
  readonly invariants: readonly string[];
  /** catalog vector ids matched */
  readonly vectors: readonly string[];
  /** `CV …` names in the title prefixes that match no catalog vector */
  readonly unknownCv: readonly string[];
  /** bead types this test asserted (recorded by expectBeads while it ran) */
  readonly beads: readonly string[];
}

export interface Catalog {
  readonly invariants: readonly InvariantRow[];
  readonly vectors: readonly VectorRow[];
}

export const CATALOG: Catalog = { invariants: INVARIANTS, vectors: VECTORS };

const norm = (s: string) =>
  s
    .toLowerCase()
    .replace(/[\u2013\u2014]/g, '-')
    .replace(/\u2026/g, '...')
    .replace(/\s+/g, ' ')
    .trim();

/** `INV-RECONCILE-AUDIT-1/2` → [INV-RECONCILE-AUDIT-1, INV-RECONCILE-AUDIT-2] */
function expandIds(segment: string): string[] {
  const out: string[] = [];
  for (const m of segment.matchAll(/INV(?:-[A-Z0-9]+)+(?:\/\d+)*/gi)) {
    const [head, ...alts] = m[0].toUpperCase().split('/');
    if (!head || !/-\d+$/.test(head)) continue;
    out.push(head);
    const base = head.replace(/\d+$/, '');
    for (const a of alts) out.push(`${base}${a}`);
  }
  return out;
}

/** A review finding's id leading a title (`SAFE-4: INV-HALT-FAST-1: …`): skipped, not a tag. */
const HOLE_ID = /^[A-Z]+-\d+$/;

/**
 * The leading tagged segments of one title: `INV-A-1, INV-B-1: CV some vector: what it shows`
 * → invariants [INV-A-1, INV-B-1], cv ["some vector"]. Stops at the first untagged segment;
 * a review finding's id in front (`SAFE-4: INV-…`) is skipped.
 */
export function parseTitle(title: string): { invariants: string[]; cv: string[] } {
  const invariants: string[] = [];
  const cv: string[] = [];
  const segs = title.split(':');
  if (segs.length > 1 && HOLE_ID.test(segs[0]!.trim())) segs.shift();
  for (const raw of segs) {
    const seg = raw.trim();
    if (/^INV-/i.test(seg)) invariants.push(...expandIds(seg));
    else if (/^CV\s+\S/i.test(seg)) cv.push(seg.replace(/^CV\s+/i, ''));
    else break;
  }
  return { invariants, cv };
}

/** The catalog vector a `CV <name>` segment names: the longest matching name or alias wins. */
export function matchVector(cvSegment: string, vectors: readonly VectorRow[]): VectorRow | null {
  const seg = norm(cvSegment);
  let best: { row: VectorRow; len: number } | null = null;
  for (const row of vectors) {
    for (const name of [row.name, ...(row.aliases ?? [])].map(norm)) {
      if (!seg.startsWith(name)) continue;
      const next = seg.charAt(name.length);
      if (next && /[a-z0-9]/.test(next)) continue;
      if (!best || name.length > best.len) best = { row, len: name.length };
    }
  }
  return best?.row ?? null;
}

function patternHit(patterns: readonly RegExp[] | undefined, texts: readonly string[]): boolean {
  return !!patterns?.some((p) => texts.some((t) => p.test(t)));
}

function resultOf(s: VitestStatus): TestResult {
  return s === 'passed' ? 'PASS' : s === 'failed' ? 'FAIL' : 'SKIP';
}

/** Every test of the run, with what it proves. */
export function classify(json: VitestJson, root: string, catalog: Catalog = CATALOG): TestRef[] {
  const out: TestRef[] = [];
  for (const f of json.testResults) {
    const file = relative(root, f.name) || f.name;
    for (const a of f.assertionResults) {
      const titles = [...a.ancestorTitles, a.title];
      const texts = [...titles, titles.join(' › '), titles.join(' ')];
      const invariants = new Set<string>();
      const vectors = new Set<string>();
      const unknownCv: string[] = [];
      for (const t of titles) {
        const p = parseTitle(t);
        p.invariants.forEach((i) => invariants.add(i));
        for (const name of p.cv) {
          const v = matchVector(name, catalog.vectors);
          if (v) vectors.add(v.id);
          else unknownCv.push(name.split(/[:→(]/)[0]!.trim());
        }
      }
      for (const inv of catalog.invariants) if (patternHit(inv.patterns, texts)) invariants.add(inv.id);
      for (const v of catalog.vectors) if (patternHit(v.patterns, texts)) vectors.add(v.id);
      out.push({
        file,
        path: a.ancestorTitles,
        title: a.title,
        result: resultOf(a.status),
        durationMs: typeof a.duration === 'number' ? a.duration : null,
        failure: a.failureMessages?.length ? a.failureMessages.join('\n') : null,
        invariants: [...invariants],
        vectors: [...vectors],
        // a CV name the catalog does not know is only "outside the catalog" when no pattern placed the test
        unknownCv: vectors.size ? [] : unknownCv,
        beads: [...(a.meta?.beadsChecked ?? [])],
      });
    }
  }
  return out;
}

export interface RowResult<R> {
  readonly row: R;
  readonly status: RowStatus;
  readonly tests: readonly TestRef[];
  readonly note: string | null;
}

function statusOf(tests: readonly TestRef[]): { status: RowStatus; note: string | null } {
  if (tests.some((t) => t.result === 'FAIL')) return { status: 'FAIL', note: null };
  if (tests.some((t) => t.result === 'PASS')) return { status: 'PASS', note: null };
  if (tests.length) return { status: 'MISSING', note: `only skipped tests (${tests.length})` };
  return { status: 'MISSING', note: 'no test with this title prefix yet' };
}

export interface SuiteError {
  readonly file: string;
  readonly message: string;
}

export interface ChaosReport {
  readonly ok: boolean;
  /** every failed test of the run, proving a catalog row or not */
  readonly failedTests: readonly TestRef[];
  readonly vectors: readonly RowResult<VectorRow>[];
  readonly invariants: readonly RowResult<InvariantRow>[];
  readonly suiteErrors: readonly SuiteError[];
  readonly tests: readonly TestRef[];
  /** CV names / INV ids used in titles that the catalog does not know */
  readonly unknownVectors: readonly string[];
  readonly unknownInvariants: readonly string[];
  readonly markdown: string;
  readonly summary: string;
}

export interface ReportOptions {
  readonly root: string;
  readonly catalog?: Catalog;
  /** ISO time shown in the header (tests pass a fixed one) */
  readonly generatedAt?: string;
  readonly commit?: string | null;
  readonly command?: string;
  readonly reportPath?: string;
  /** vitest's own exit code when the script ran it (non-zero → FAIL whatever the JSON says) */
  readonly runnerExitCode?: number | null;
}

/** Build the report (pure: no I/O). */
export function buildReport(json: VitestJson, opts: ReportOptions): ChaosReport {
  const catalog = opts.catalog ?? CATALOG;
  const tests = classify(json, opts.root, catalog);
  const vectors = catalog.vectors.map((row) => {
    const ts = tests.filter((t) => t.vectors.includes(row.id));
    return { row, tests: ts, ...statusOf(ts) };
  });
  const invariants = catalog.invariants.map((row) => {
    const ts = tests.filter((t) => t.invariants.includes(row.id));
    return { row, tests: ts, ...statusOf(ts) };
  });
  const suiteErrors: SuiteError[] = json.testResults
    .filter((f) => f.status === 'failed' && (f.assertionResults.length === 0 || (f.message ?? '').trim() !== ''))
    .map((f) => ({ file: relative(opts.root, f.name) || f.name, message: (f.message ?? '').trim() || 'the file failed without running any test' }));
  const knownInv = new Set(catalog.invariants.map((i) => i.id));
  const unknownInvariants = [...new Set(tests.flatMap((t) => t.invariants).filter((i) => !knownInv.has(i)))].sort();
  const unknownVectors = [...new Set(tests.flatMap((t) => t.unknownCv))].sort((a, b) => a.localeCompare(b));
  const bad = (r: RowResult<unknown>) => r.status !== 'PASS';
  const failedTests = tests.filter((t) => t.result === 'FAIL');
  const runnerFailed = (opts.runnerExitCode ?? 0) !== 0 || json.success === false || json.numFailedTests > 0;
  const ok = !vectors.some(bad) && !invariants.some(bad) && suiteErrors.length === 0 && failedTests.length === 0 && !runnerFailed;
  const partial = { ok, failedTests, vectors, invariants, suiteErrors, tests, unknownVectors, unknownInvariants, runnerExitCode: opts.runnerExitCode ?? null };
  return { ...partial, markdown: renderMarkdown(json, partial, opts, catalog), summary: renderSummary(json, partial, opts) };
}

// ---------------------------------------------------------------------------------------------
// Rendering

type Partial = Omit<ChaosReport, 'markdown' | 'summary'> & { readonly runnerExitCode: number | null };

/** The bead types the passing proving tests asserted, in first-seen order; SPEC beads no test asserts flagged. */
function beadsCell(v: RowResult<VectorRow>): string {
  const asserted = [...new Set(v.tests.filter((t) => t.result === 'PASS').flatMap((t) => t.beads))];
  const unasserted = v.row.specBeads.filter((b) => b !== '(all)' && !asserted.includes(b));
  const shown = asserted.length ? asserted.join(', ') : '— (no proving test asserts a bead)';
  return unasserted.length ? `${shown}<br>⚠ not asserted: ${unasserted.join(', ')}` : shown;
}

const cell = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
const badge = (s: RowStatus | TestResult) => (s === 'PASS' ? '✅ PASS' : s === 'FAIL' ? '❌ FAIL' : s === 'SKIP' ? '⏭ SKIP' : '⚠️ MISSING');
const ms = (d: number | null) => (d === null ? '' : d >= 1000 ? ` (${(d / 1000).toFixed(1)} s)` : ` (${Math.round(d)} ms)`);

/** The part of a title after its INV/CV prefixes: what the test observed. */
function outcomeText(t: TestRef): string {
  const segs = t.title.split(':');
  let i = segs.length > 1 && HOLE_ID.test(segs[0]!.trim()) ? 1 : 0;
  while (i < segs.length - 1 && (/^\s*INV-/i.test(segs[i]!) || /^\s*CV\s/i.test(segs[i]!))) i++;
  return segs.slice(i).join(':').trim() || t.title;
}

function fullTitle(t: TestRef): string {
  return [...t.path, t.title].join(' › ');
}

function counts(rows: readonly RowResult<unknown>[]): Record<RowStatus, number> {
  const c: Record<RowStatus, number> = { PASS: 0, FAIL: 0, MISSING: 0 };
  for (const r of rows) c[r.status]++;
  return c;
}

function firstLines(text: string, n: number): string {
  return text
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, n)
    .join('\n');
}

function runLine(json: VitestJson): string {
  const files = json.testResults.length;
  const skipped = (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
  const ends = json.testResults.map((f) => f.endTime ?? 0).filter(Boolean);
  const secs = json.startTime && ends.length ? ` in ${((Math.max(...ends) - json.startTime) / 1000).toFixed(0)} s` : '';
  return `${files} test files, ${json.numTotalTests} tests: ${json.numPassedTests} passed, ${json.numFailedTests} failed, ${skipped} skipped${secs}`;
}

function renderMarkdown(json: VitestJson, r: Partial, opts: ReportOptions, catalog: Catalog): string {
  const vc = counts(r.vectors);
  const ic = counts(r.invariants);
  const L: string[] = [];
  L.push('# BUNNY chaos report');
  L.push('');
  L.push(`Generated ${opts.generatedAt ?? new Date().toISOString()}${opts.commit ? ` at commit \`${opts.commit}\`` : ''}${opts.command ? ` by \`${opts.command}\`` : ''}.`);
  L.push(`vitest: ${runLine(json)}.`);
  L.push('');
  L.push(`**Result: ${r.ok ? 'PASS' : 'FAIL'}** — chaos vectors (SPEC 15): ${vc.PASS} PASS · ${vc.FAIL} FAIL · ${vc.MISSING} MISSING of ${r.vectors.length}; invariants (SPEC 14): ${ic.PASS} PASS · ${ic.FAIL} FAIL · ${ic.MISSING} MISSING of ${r.invariants.length}; failed tests in the run: ${r.failedTests.length}${r.suiteErrors.length ? `; ${r.suiteErrors.length} test file(s) could not run` : ''}${r.runnerExitCode ? `; vitest exited ${r.runnerExitCode}` : ''}.`);
  L.push('');
  L.push('Tests are matched by title: `INV-…: ` for invariants, `CV <vector name>: ` for vectors (aliases and explicit patterns in `scripts/chaos.catalog.ts`). The verdict is FAIL when any test of the run fails. "Beads checked" lists the bead types the passing proving tests asserted (`expectBeads` in test/support/beads-checked.ts records them as they run); SPEC bead types no proving test asserts are flagged "not asserted".');
  L.push('');
  L.push('## Chaos vectors (SPEC 15)');
  L.push('');
  L.push('| # | Vector | Injected fault | Observed outcome | Invariants proven | Beads checked | Proving tests | Status |');
  L.push('|---|---|---|---|---|---|---|---|');
  const invStatus = new Map(r.invariants.map((i) => [i.row.id, i.status]));
  for (const v of r.vectors) {
    const passed = v.tests.filter((t) => t.result === 'PASS').length;
    const outcome = v.tests.length
      ? `${passed}/${v.tests.length} passed` + v.tests.slice(0, 4).map((t) => `<br>${t.result === 'PASS' ? '✅' : t.result === 'FAIL' ? '❌' : '⏭'} ${outcomeText(t)}`).join('') + (v.tests.length > 4 ? `<br>… +${v.tests.length - 4} more` : '')
      : `— (${v.note ?? 'no test'}); expected: ${v.row.expected}`;
    const observedInv = [...new Set(v.tests.flatMap((t) => t.invariants))].filter((i) => !v.row.invariants.includes(i));
    const inv = [...v.row.invariants, ...observedInv].map((i) => `${i}${invStatus.get(i) === 'PASS' ? ' ✓' : ''}`).join('<br>') || '— (SPEC 7 rule)';
    const proving = v.tests.length ? v.tests.map((t) => `\`${t.file}\` › ${fullTitle(t)} — **${t.result}**${ms(t.durationMs)}`).join('<br>') : '**MISSING**';
    L.push(`| ${v.row.id} | ${cell(v.row.name)} | ${cell(v.row.fault)} | ${cell(outcome)} | ${inv} | ${beadsCell(v)} | ${cell(proving)} | ${badge(v.status)} |`);
  }
  L.push('');
  L.push('## Invariants (SPEC 14)');
  L.push('');
  L.push('| Invariant | Guarantees | Proving tests | Exercised by vectors | Status |');
  L.push('|---|---|---|---|---|');
  for (const i of r.invariants) {
    const proving = i.tests.length ? i.tests.map((t) => `\`${t.file}\` › ${fullTitle(t)} — **${t.result}**${ms(t.durationMs)}`).join('<br>') : `**MISSING** (${i.note ?? ''})`;
    const by = catalog.vectors.filter((v) => v.invariants.includes(i.row.id)).map((v) => v.id);
    L.push(`| ${i.row.id} | ${cell(i.row.summary)} | ${cell(proving)} | ${by.join(', ') || '—'} | ${badge(i.status)} |`);
  }
  if (r.failedTests.length) {
    L.push('');
    L.push('## Failures');
    for (const t of r.failedTests) {
      const proves = [...t.vectors, ...t.invariants];
      L.push('');
      L.push(`### ❌ ${fullTitle(t)}`);
      L.push(`\`${t.file}\` — ${proves.length ? `proves ${proves.join(', ')}` : 'not a proving test (the verdict is FAIL all the same)'}`);
      L.push('');
      L.push('```');
      L.push(firstLines(t.failure ?? '(no message)', 12));
      L.push('```');
    }
  }
  const missing = [...r.vectors.filter((v) => v.status === 'MISSING').map((v) => `${v.row.id} ${v.row.name} — write a test titled \`CV ${v.row.name}: …\``), ...r.invariants.filter((i) => i.status === 'MISSING').map((i) => `${i.row.id} — write a test titled \`${i.row.id}: …\``)];
  if (missing.length) {
    L.push('');
    L.push('## Missing');
    L.push('');
    for (const m of missing) L.push(`- ${m}`);
  }
  if (r.suiteErrors.length) {
    L.push('');
    L.push('## Test files that could not run');
    for (const e of r.suiteErrors) {
      L.push('');
      L.push(`- \`${e.file}\``);
      L.push('');
      L.push('```');
      L.push(firstLines(e.message, 8));
      L.push('```');
    }
  }
  if (r.unknownVectors.length || r.unknownInvariants.length) {
    L.push('');
    L.push('## Tagged tests outside the catalog');
    L.push('');
    L.push('Titles with a `CV …` / `INV-…` prefix that match no SPEC row (extra coverage, or a name to align with the catalog):');
    L.push('');
    for (const n of r.unknownVectors) L.push(`- CV ${n}: ${r.tests.filter((t) => t.unknownCv.includes(n)).length} test(s)`);
    for (const n of r.unknownInvariants) L.push(`- ${n}: ${r.tests.filter((t) => t.invariants.includes(n)).length} test(s)`);
  }
  L.push('');
  return L.join('\n');
}

function renderSummary(json: VitestJson, r: Partial, opts: ReportOptions): string {
  const vc = counts(r.vectors);
  const ic = counts(r.invariants);
  const list = (rows: readonly RowResult<VectorRow | InvariantRow>[], s: RowStatus) =>
    rows
      .filter((x) => x.status === s)
      .map((x) => ('name' in x.row ? `${x.row.id} ${x.row.name}` : x.row.id))
      .join('; ');
  const lines = [
    `BUNNY chaos: ${r.ok ? 'PASS' : 'FAIL'}`,
    ...(r.failedTests.length ? [`  FAILED tests (${r.failedTests.length}): ${r.failedTests.map((t) => `${t.file} › ${fullTitle(t)}`).join('; ')}`] : []),
    ...(r.runnerExitCode ? [`  vitest exited ${r.runnerExitCode}`] : []),
    `  vectors    (SPEC 15): ${vc.PASS} PASS · ${vc.FAIL} FAIL · ${vc.MISSING} MISSING of ${r.vectors.length}`,
    `  invariants (SPEC 14): ${ic.PASS} PASS · ${ic.FAIL} FAIL · ${ic.MISSING} MISSING of ${r.invariants.length}`,
  ];
  for (const [label, rows, s] of [
    ['FAILED vectors', r.vectors, 'FAIL'],
    ['MISSING vectors', r.vectors, 'MISSING'],
    ['FAILED invariants', r.invariants, 'FAIL'],
    ['MISSING invariants', r.invariants, 'MISSING'],
  ] as const) {
    const l = list(rows as readonly RowResult<VectorRow | InvariantRow>[], s);
    if (l) lines.push(`  ${label}: ${l}`);
  }
  if (r.suiteErrors.length) lines.push(`  test files that could not run: ${r.suiteErrors.map((e) => e.file).join(', ')}`);
  lines.push(`  vitest: ${runLine(json)}`);
  if (opts.reportPath) lines.push(`  report: ${opts.reportPath}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// CLI

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Args {
  from: string | null;
  out: string;
  json: string;
  filters: string[];
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { from: null, out: join(repoRoot, 'reports/chaos-report.md'), json: join(repoRoot, 'reports/tmp/chaos-vitest.json'), filters: [] };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (!v) throw new Error(`${x} needs a value`);
      return resolve(v);
    };
    if (x === '--from') a.from = value();
    else if (x === '--out') a.out = value();
    else if (x === '--json') a.json = value();
    else if (x === '--help' || x === '-h') {
      process.stdout.write('usage: npm run chaos [-- [vitest filters…] [--from results.json] [--out report.md] [--json vitest-output.json]]\n');
      process.exit(0);
    } else a.filters.push(x);
  }
  return a;
}

function runVitest(jsonPath: string, filters: readonly string[]): Promise<number> {
  const req = createRequire(join(repoRoot, 'package.json'));
  const bin = join(dirname(req.resolve('vitest/package.json')), 'vitest.mjs');
  mkdirSync(dirname(jsonPath), { recursive: true });
  rmSync(jsonPath, { force: true });
  const args = [bin, 'run', '--reporter=dot', '--reporter=json', `--outputFile.json=${jsonPath}`, ...filters];
  process.stdout.write(`chaos: vitest ${args.slice(1).join(' ')}\n`);
  return new Promise((resolveExit) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: 'inherit', env: process.env });
    child.once('exit', (code, signal) => resolveExit(code ?? (signal ? 128 : 1)));
    child.once('error', () => resolveExit(127));
  });
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const args = parseArgs(argv);
  let jsonPath = args.from;
  let vitestExit: number | null = null;
  if (!jsonPath) {
    vitestExit = await runVitest(args.json, args.filters);
    jsonPath = args.json;
  }
  if (!existsSync(jsonPath)) {
    process.stderr.write(`chaos: no vitest results at ${jsonPath}${vitestExit !== null ? ` (vitest exited ${vitestExit})` : ''}; nothing to report\n`);
    return 2;
  }
  const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as VitestJson;
  const reportPath = relative(process.cwd(), args.out) || args.out;
  const report = buildReport(json, {
    root: repoRoot,
    commit: gitCommit(),
    command: args.from ? `npm run chaos -- --from ${relative(repoRoot, jsonPath)}` : `npm run chaos${args.filters.length ? ` -- ${args.filters.join(' ')}` : ''}`,
    reportPath,
    runnerExitCode: vitestExit,
  });
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, report.markdown);
  process.stdout.write(`\n${report.summary}\n`);
  return report.ok ? 0 : 1;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  main().then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`chaos: ${e.message}\n`);
      process.exit(2);
    },
  );
}

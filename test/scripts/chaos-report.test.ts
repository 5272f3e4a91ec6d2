/**
 * The `npm run chaos` report builder (scripts/chaos.ts) on a fake vitest JSON result: title
 * matching (INV prefixes, `CV <name>:` after an INV prefix, describe-level tags, aliases, the
 * longest name winning, explicit catalog patterns), row status (PASS / FAIL / MISSING), the
 * markdown tables and the summary, and the CLI's exit code with --from; the verdict fails on ANY
 * failed test of the run, and "Beads checked" comes from the tests' own expectBeads records.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { INVARIANTS, VECTORS } from '../../scripts/chaos.catalog.js';
import { buildReport, main, matchVector, parseTitle, type VitestAssertion, type VitestJson } from '../../scripts/chaos.js';

const ROOT = '/repo';
const ok = (title: string, ancestors: string[] = [], duration = 12): VitestAssertion => ({ ancestorTitles: ancestors, title, status: 'passed', duration, failureMessages: [] });
const bad = (title: string, message: string, ancestors: string[] = []): VitestAssertion => ({ ancestorTitles: ancestors, title, status: 'failed', duration: 40, failureMessages: [message] });
const skip = (title: string): VitestAssertion => ({ ancestorTitles: [], title, status: 'skipped', duration: null, failureMessages: [] });

function fakeRun(files: Record<string, VitestAssertion[]>, broken: Record<string, string> = {}): VitestJson {
  const testResults = [
    ...Object.entries(files).map(([name, assertionResults]) => ({ name: `${ROOT}/${name}`, status: assertionResults.some((a) => a.status === 'failed') ? 'failed' : 'passed', message: '', startTime: 1_000, endTime: 5_000, assertionResults })),
    ...Object.entries(broken).map(([name, message]) => ({ name: `${ROOT}/${name}`, status: 'failed', message, startTime: 1_000, endTime: 1_100, assertionResults: [] })),
  ];
  const all = testResults.flatMap((f) => f.assertionResults);
  return {
    numTotalTests: all.length,
    numPassedTests: all.filter((a) => a.status === 'passed').length,
    numFailedTests: all.filter((a) => a.status === 'failed').length,
    numPendingTests: all.filter((a) => a.status === 'skipped').length,
    numTodoTests: 0,
    startTime: 1_000,
    success: all.every((a) => a.status !== 'failed') && !Object.keys(broken).length,
    testResults,
  };
}

/** A run that proves every catalog row (one passing test per invariant and per vector). */
function completeRun(): Record<string, VitestAssertion[]> {
  return {
    'test/all/invariants.test.ts': INVARIANTS.map((i) => ok(`${i.id}: holds`)),
    'test/all/vectors.test.ts': VECTORS.map((v) => ok(`CV ${v.name}: injected and survived`)),
  };
}

describe('chaos report builder', () => {
  it('parseTitle reads the leading INV/CV segments (lists, a/b ranges, CV after INV) and stops at the first untagged one', () => {
    expect(parseTitle('INV-T2-TOKEN-1: a token is single use')).toEqual({ invariants: ['INV-T2-TOKEN-1'], cv: [] });
    expect(parseTitle('INV-T2-TOKEN-1, INV-T2-TOKEN-AUDIT-1: both')).toEqual({ invariants: ['INV-T2-TOKEN-1', 'INV-T2-TOKEN-AUDIT-1'], cv: [] });
    expect(parseTitle('INV-RECONCILE-AUDIT-1/2: drift and resolution beads').invariants).toEqual(['INV-RECONCILE-AUDIT-1', 'INV-RECONCILE-AUDIT-2']);
    expect(parseTitle('INV-IDEMPOTENT-ORDER-1: CV process killed after commit but before the send → restart: no order')).toEqual({ invariants: ['INV-IDEMPOTENT-ORDER-1'], cv: ['process killed after commit but before the send → restart'] });
    expect(parseTitle('cv token replay: lower case works')).toEqual({ invariants: [], cv: ['token replay'] });
    expect(parseTitle('a plain test mentioning INV-T2-TOKEN-1: later')).toEqual({ invariants: [], cv: [] });
    expect(parseTitle('CVS export: not a vector')).toEqual({ invariants: [], cv: [] });
    expect(parseTitle('SAFE-4: INV-HALT-FAST-1: /halt within 1 s')).toEqual({ invariants: ['INV-HALT-FAST-1'], cv: [] }); // a review finding's id in front
  });

  it('matchVector: case-insensitive names and aliases; the longest name wins (partial-fill drift is not partial fill 50%); no match inside a word', () => {
    const id = (s: string) => matchVector(s, VECTORS)?.id ?? null;
    expect(id('token replay')).toBe('CV-01');
    expect(id('Token Replay')).toBe('CV-01');
    expect(id('pacing burst')).toBe('CV-31'); // alias
    expect(id('partial fill 50%')).toBe('CV-09');
    expect(id('partial fill drift')).toBe('CV-10');
    expect(id('partial-fill drift (broker says 60%)')).toBe('CV-10');
    expect(id('broker timeout')).toBe('CV-07');
    expect(id('process killed mid-submission (after send) → restart')).toBe('CV-21');
    expect(id('account mismatch')).toBe('CV-30');
    expect(id('alert flood of 10,000')).toBe('CV-26');
    expect(id('token replayed')).toBeNull(); // "replay" + "ed": not the same name
    expect(id('bracket')).toBeNull();
  });

  it('a complete passing run: every row PASS, ok, and the markdown has one row per vector (33) and per invariant (40: SPEC 14 first list + the first adversarial review, INV-AUDIT-ANCHOR-1 and INV-LEADER-FENCE-1 + the money review)', () => {
    expect(VECTORS).toHaveLength(33);
    expect(INVARIANTS).toHaveLength(40);
    expect(INVARIANTS.map((i) => i.id)).toContain('INV-AUDIT-ANCHOR-1');
    expect(INVARIANTS.map((i) => i.id)).toEqual(expect.arrayContaining(['INV-PROTECTED-1', 'INV-FILL-COMPLETE-1', 'INV-PNL-DAY-1', 'INV-ACCOUNT-SCOPE-1']));
    expect(new Set(VECTORS.map((v) => v.id)).size).toBe(33);
    for (const v of VECTORS) for (const i of v.invariants) expect(INVARIANTS.map((x) => x.id), `${v.id} names ${i}`).toContain(i);
    const r = buildReport(fakeRun(completeRun()), { root: ROOT, generatedAt: '2026-11-24T15:00:00.000Z', commit: 'abc1234' });
    expect(r.ok).toBe(true);
    expect(r.vectors.every((v) => v.status === 'PASS')).toBe(true);
    expect(r.invariants.every((i) => i.status === 'PASS')).toBe(true);
    const vectorRows = r.markdown.split('\n').filter((l) => /^\| CV-\d\d \|/.test(l));
    const invariantRows = r.markdown.split('\n').filter((l) => /^\| INV-/.test(l));
    expect(vectorRows).toHaveLength(33);
    expect(invariantRows).toHaveLength(40);
    expect(r.markdown).toContain('**Result: PASS**');
    expect(r.markdown).toContain('commit `abc1234`');
    expect(r.markdown).toContain('| Vector | Injected fault | Observed outcome | Invariants proven | Beads checked | Proving tests | Status |');
    expect(r.summary).toMatch(/^BUNNY chaos: PASS/);
    expect(r.summary).toContain('33 PASS · 0 FAIL · 0 MISSING of 33');
  });

  it('PASS / FAIL / MISSING per row: a failing proving test fails its rows; rows without tests are MISSING (skipped-only too); summary and exit flag say so', () => {
    const files = completeRun();
    // drop the token-replay vector test and every test of INV-OUTBOX-1, skip the heartbeat one
    files['test/all/vectors.test.ts'] = files['test/all/vectors.test.ts']!.filter((a) => !a.title.startsWith('CV token replay') && !a.title.startsWith('CV heartbeat jitter'));
    files['test/all/vectors.test.ts'].push(skip('CV heartbeat jitter bounds: skipped today'));
    files['test/all/invariants.test.ts'] = files['test/all/invariants.test.ts']!.filter((a) => !a.title.startsWith('INV-OUTBOX-1'));
    // a second, failing proof of INV-T2-GATE-1 and of "order without token"
    files['test/engine/gate.test.ts'] = [bad('INV-T2-GATE-1: CV order without token: a raw broker call places nothing', 'AssertionError: expected 1 to be 0\n    at gate.test.ts:10:5')];
    const r = buildReport(fakeRun(files), { root: ROOT, generatedAt: '2026-11-24T15:00:00.000Z' });
    const v = (id: string) => r.vectors.find((x) => x.row.id === id)!;
    const i = (id: string) => r.invariants.find((x) => x.row.id === id)!;
    expect(r.ok).toBe(false);
    expect(v('CV-01').status).toBe('MISSING');
    expect(v('CV-22')).toMatchObject({ status: 'MISSING', note: 'only skipped tests (1)' });
    expect(v('CV-04').status).toBe('FAIL');
    expect(v('CV-04').tests.map((t) => t.result).sort()).toEqual(['FAIL', 'PASS']);
    expect(i('INV-T2-GATE-1').status).toBe('FAIL');
    expect(i('INV-OUTBOX-1').status).toBe('MISSING');
    expect(i('INV-T2-TOKEN-1').status).toBe('PASS');
    expect(r.summary).toMatch(/^BUNNY chaos: FAIL/);
    expect(r.summary).toContain('FAILED vectors: CV-04 order without token');
    expect(r.summary).toMatch(/MISSING vectors: CV-01 token replay; CV-22 heartbeat jitter bounds/);
    expect(r.summary).toContain('FAILED invariants: INV-T2-GATE-1');
    expect(r.summary).toContain('MISSING invariants: INV-OUTBOX-1');
    // the markdown: the vector row names its failing test with file and title, and a Failures section quotes it
    const row = r.markdown.split('\n').find((l) => l.startsWith('| CV-04 |'))!;
    expect(row).toContain('`test/engine/gate.test.ts` › INV-T2-GATE-1: CV order without token: a raw broker call places nothing — **FAIL**');
    expect(row).toContain('❌ FAIL');
    expect(row).toContain('INV-T2-GATE-1');
    expect(r.markdown.split('\n').find((l) => l.startsWith('| CV-01 |'))).toContain('⚠️ MISSING');
    expect(r.markdown).toContain('## Failures');
    expect(r.markdown).toContain('AssertionError: expected 1 to be 0');
    expect(r.markdown).toContain('## Missing');
    expect(r.markdown).toContain('CV-01 token replay — write a test titled `CV token replay: …`');
  });

  it('describe-level tags, catalog patterns, INV lists in one title, tags outside the catalog, and test files that could not run', () => {
    const r = buildReport(
      fakeRun(
        {
          'test/broker/pacing.test.ts': [ok('100 orders at once are queued in order', ['CV pacing burst: the IBKR adapter'])],
          'test/engine/t2.test.ts': [ok('INV-T2-TOKEN-1: of 8 concurrent submitWithToken calls exactly one submits'), ok('INV-RECONCILE-AUDIT-1/2: drift and resolution beads')],
          'test/broker/ibkr/reconnect.test.ts': [ok('after a drop, exactly 3 reconnect attempts, then escalation', ['INV-IBKR-RECONNECT-1: adapter'])],
          'test/audit.test.ts': [ok('INV-AUDIT-CHAIN-1: an edited payload is detected, naming that bead')],
          'test/misc.test.ts': [ok('CV bracket: three linked orders'), ok('INV-MADE-UP-9: not in SPEC 14'), ok('no tags at all')],
        },
        { 'test/broken.test.ts': 'SyntaxError: Unexpected token (3:14)' },
      ),
      { root: ROOT, generatedAt: '2026-11-24T15:00:00.000Z' },
    );
    const v = (id: string) => r.vectors.find((x) => x.row.id === id)!;
    expect(v('CV-31').status).toBe('PASS'); // describe-level CV tag via alias
    expect(v('CV-06').status).toBe('PASS'); // token validation race ← the INV-T2-TOKEN-1 concurrency test (catalog pattern)
    expect(v('CV-19').status).toBe('PASS'); // reconnect exhaustion ← INV-IBKR-RECONNECT-1 "3 reconnect attempts" (pattern on the describe › title path)
    expect(v('CV-33').status).toBe('PASS'); // tampered bead ← INV-AUDIT-CHAIN-1 edited payload (pattern)
    expect(r.invariants.find((i) => i.row.id === 'INV-RECONCILE-AUDIT-2')!.status).toBe('PASS');
    expect(r.invariants.find((i) => i.row.id === 'INV-IBKR-RECONNECT-1')!.status).toBe('PASS');
    expect(r.unknownVectors).toEqual(['bracket']);
    expect(r.unknownInvariants).toEqual(['INV-MADE-UP-9']);
    expect(r.suiteErrors).toEqual([{ file: 'test/broken.test.ts', message: 'SyntaxError: Unexpected token (3:14)' }]);
    expect(r.markdown).toContain('## Test files that could not run');
    expect(r.markdown).toContain('## Tagged tests outside the catalog');
    expect(r.markdown).toContain('- CV bracket: 1 test(s)');
    expect(r.summary).toContain('test files that could not run: test/broken.test.ts');
    // pipes and newlines in titles cannot break the table
    const tricky = buildReport(fakeRun({ 't.test.ts': [ok('CV token replay: a | b\nc')] }), { root: ROOT });
    expect(tricky.markdown.split('\n').find((l) => l.startsWith('| CV-01 |'))).toContain('a \\| b<br>c');
  });

  it('a failing test that proves no catalog row still makes the verdict FAIL: every row PASS, one unrelated test failed → ok false, summary and report name it', () => {
    const files = completeRun();
    files['test/misc/unrelated.test.ts'] = [ok('formats money'), bad('formats dates in New York time', 'AssertionError: expected "10:00" to be "09:00"')];
    const r = buildReport(fakeRun(files), { root: ROOT, generatedAt: '2026-11-24T15:00:00.000Z' });
    expect(r.vectors.every((v) => v.status === 'PASS')).toBe(true);
    expect(r.invariants.every((i) => i.status === 'PASS')).toBe(true);
    expect(r.ok).toBe(false);
    expect(r.failedTests.map((t) => t.title)).toEqual(['formats dates in New York time']);
    expect(r.summary).toMatch(/^BUNNY chaos: FAIL\n {2}FAILED tests \(1\): test\/misc\/unrelated\.test\.ts › formats dates in New York time/);
    expect(r.markdown).toContain('**Result: FAIL**');
    expect(r.markdown).toContain('failed tests in the run: 1');
    expect(r.markdown).toContain('### ❌ formats dates in New York time');
    expect(r.markdown).toContain('not a proving test (the verdict is FAIL all the same)');
    // vitest reporting failure without a failed test (an unhandled error) or exiting non-zero fails the verdict too
    expect(buildReport({ ...fakeRun(completeRun()), success: false }, { root: ROOT }).ok).toBe(false);
    expect(buildReport(fakeRun(completeRun()), { root: ROOT, runnerExitCode: 1 }).ok).toBe(false);
    expect(buildReport(fakeRun(completeRun()), { root: ROOT, runnerExitCode: 0 }).ok).toBe(true);
  });

  it('"Beads checked" comes from what the passing proving tests asserted (expectBeads meta), never from the catalog: a test that stops asserting a bead drops it', () => {
    const withMeta = (a: VitestAssertion, beadsChecked: string[]): VitestAssertion => ({ ...a, meta: { beadsChecked } });
    const cell = (r: ReturnType<typeof buildReport>, id: string) => r.markdown.split('\n').find((l) => l.startsWith(`| ${id} |`))!.split(' | ')[5];
    const files = completeRun();
    const vectors = files['test/all/vectors.test.ts']!;
    const at = (name: string) => vectors.findIndex((a) => a.title.startsWith(`CV ${name}:`));
    vectors[at('token replay')] = withMeta(vectors[at('token replay')]!, ['T2_TOKEN', 'ORDER']);
    vectors[at('broker rejection (margin)')] = withMeta(vectors[at('broker rejection (margin)')]!, ['POSITION']);
    // a second proving test of token replay that failed: what it recorded does not count
    files['test/engine/replay.test.ts'] = [withMeta(bad('CV token replay: second proof', 'boom'), ['CARD'])];
    const r = buildReport(fakeRun(files), { root: ROOT });
    expect(cell(r, 'CV-01')).toBe('T2_TOKEN, ORDER');
    expect(cell(r, 'CV-08')).toBe('POSITION<br>⚠ not asserted: ORDER, ALERT');
    expect(cell(r, 'CV-12')).toBe('— (no proving test asserts a bead)<br>⚠ not asserted: POSITION');
    // the same run after the replay test stopped asserting ORDER beads
    vectors[at('token replay')] = withMeta(vectors[at('token replay')]!, ['T2_TOKEN']);
    expect(cell(buildReport(fakeRun(files), { root: ROOT }), 'CV-01')).toBe('T2_TOKEN<br>⚠ not asserted: ORDER');
  });

  describe('CLI (--from)', () => {
    let dir: string;
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('writes the report, prints the summary, exits 1 with MISSING rows and 0 when everything is proven; 2 without results', async () => {
      dir = mkdtempSync(join(tmpdir(), 'phoenix-chaos-'));
      const out = join(dir, 'report.md');
      const partialJson = join(dir, 'partial.json');
      writeFileSync(partialJson, JSON.stringify(fakeRun({ 'test/x.test.ts': [ok('CV token replay: refused')] })));
      const writes: string[] = [];
      const orig = process.stdout.write.bind(process.stdout);
      process.stdout.write = ((chunk: string) => {
        writes.push(String(chunk));
        return true;
      }) as typeof process.stdout.write;
      let partialCode: number;
      let completeCode: number;
      let oneFailedCode: number;
      try {
        partialCode = await main(['--from', partialJson, '--out', out]);
        const completeJson = join(dir, 'complete.json');
        writeFileSync(completeJson, JSON.stringify(fakeRun(completeRun())));
        completeCode = await main(['--from', completeJson, '--out', join(dir, 'complete.md')]);
        const oneFailedJson = join(dir, 'one-failed.json');
        writeFileSync(oneFailedJson, JSON.stringify(fakeRun({ ...completeRun(), 'test/misc/unrelated.test.ts': [bad('formats dates', 'AssertionError')] })));
        oneFailedCode = await main(['--from', oneFailedJson, '--out', join(dir, 'one-failed.md')]);
      } finally {
        process.stdout.write = orig;
      }
      expect(partialCode).toBe(1);
      expect(completeCode).toBe(0);
      expect(oneFailedCode).toBe(1); // every catalog row proven, one other test failed: FAIL, non-zero exit
      expect(readFileSync(join(dir, 'one-failed.md'), 'utf8')).toContain('**Result: FAIL**');
      const md = readFileSync(out, 'utf8');
      expect(md).toMatch(/^# BUNNY chaos report/);
      expect(md.split('\n').find((l) => l.startsWith('| CV-01 |'))).toContain('✅ PASS');
      expect(writes.join('')).toContain('BUNNY chaos: FAIL');
      expect(writes.join('')).toContain('BUNNY chaos: PASS');
      const errs: string[] = [];
      const origErr = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((chunk: string) => {
        errs.push(String(chunk));
        return true;
      }) as typeof process.stderr.write;
      try {
        expect(await main(['--from', join(dir, 'nope.json'), '--out', out])).toBe(2);
      } finally {
        process.stderr.write = origErr;
      }
      expect(errs.join('')).toMatch(/no vitest results/);
    });
  });
});

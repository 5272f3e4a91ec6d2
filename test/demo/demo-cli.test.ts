/**
 * `phoenix demo` through `runCli` against a real intake server (node:http on 127.0.0.1, the
 * harness engine behind it, its /v1/admin/status saying what it runs): one line per intent with
 * its answer; it posts only to the DEMO service (its own data directory), stops after --count,
 * says what it waits for (a kill flag that lapses at a known time), prints no warnings, and
 * gives a clear "start the demo service" hint with a non-zero exit when nothing listens.
 */
import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import type { CliIo } from '../../src/cli/context.js';
import { DEFAULT_COUNT, parseDemoArgs, runDemo } from '../../src/demo/index.js';
import { silentLogger } from '../../src/engine/ports.js';
import type { ServiceFacts } from '../../src/http/admin.schema.js';
import { startIntake, type IntakeServer } from '../../src/http/intake.server.js';
import { admin, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { freePort } from '../support/ports.js';

const TOKEN = 'demo-intake-token-0123456789abcdef';

function terminal() {
  const out: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => out.push(l), readStdin: async () => '', confirm: async () => false };
  return { io, out, text: () => out.join('\n') };
}

/** What the service's admin route says it runs: the demo on its own data, or the real setup. */
function facts(h: Harness, demoData: boolean): ServiceFacts {
  return {
    version: '0.1.0',
    pid: process.pid,
    startedAt: h.clock.now(),
    database: h.dbFile,
    demoData,
    constitution: { name: demoData ? 'demo' : 'default', path: demoData ? 'config/constitution.demo.yaml' : 'config/constitution.yaml', demo: demoData, timeZone: 'America/New_York' },
    mode: 'paper',
    broker: { name: 'sim' },
    intake: '',
    telegram: 'sandbox',
  };
}

describe('phoenix demo against a running intake', () => {
  let h: Harness;
  let intake: IntakeServer;
  let cwd: string;
  let port: string;

  async function start(opts: { token?: string; demoData?: boolean } = {}) {
    // the CLI stamps stateAsOf with the wall clock: the engine's clock starts there too
    h = await harness({ clockStart: new Date().toISOString(), constitution: { demo: true, session: { enforce: false } } });
    intake = await startIntake({ engine: h.engine, logger: silentLogger, host: '127.0.0.1', port: 0, ratePerMinute: 600, admin: { facts: () => facts(h, opts.demoData ?? true) }, ...(opts.token ? { token: opts.token } : {}) });
    port = new URL(intake.url).port;
  }
  const harness = useHarness();
  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'phoenix-demo-'));
  });
  afterEach(async () => {
    await intake?.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('issue 16: one line per intent with its answer (state, denials, 400 problems); the deliberately stale one comes LAST, and the demo says until when its kill flag pauses entries; exit 0', async () => {
    await start();
    const t = terminal();
    const code = await runCli(['demo', '--count', '9', '--every', '0s', '--seed', '1'], t.io, { INTAKE_HOST: '127.0.0.1', INTAKE_PORT: port }, cwd);
    expect(code, t.text()).toBe(0);
    const lines = t.out.filter((l) => /^#\d\d /.test(l));
    expect(lines).toHaveLength(9);
    expect(t.text()).toContain(`Phoenix demo: 9 mock signals to http://127.0.0.1:${port}/v1/intents (seed 1; 8 at once, then one every 0 s`);
    expect(t.text()).toContain('service: the DEMO service (PAPER mode, constitution "demo", broker sim READY, its own database data/demo/)');
    expect(lines[0]).toMatch(/^#01 (BUY|SELL) 1 \w+ .* → 202 PROPOSED int_\w+ {2}\(card sent: tap APPROVE or PASS\)$/);
    expect(lines[2]).toMatch(/→ 202 CANCELLED int_\w+ {2}QUALITY: DVS 0\.\d\d < 0\.80 {2}\[on purpose: low DVS/);
    expect(lines[4]).toMatch(/→ 202 CANCELLED int_\w+ {2}RISK_PER_TRADE: risk \$\d+\.\d\d > cap \$15\.00/);
    expect(lines[5]).toMatch(/→ 400 invalid, nothing stored: stopLoss: stopLoss is required; \(body\): unknown field\(s\): stop_loss/);
    expect(lines[7]).toMatch(/→ 202 PROPOSED /); // the stale one is no longer in the middle of the run…
    expect(lines[8]).toMatch(/→ 202 CANCELLED int_\w+ {2}STATE_CONFLICT: market state is \d+ min old/); // …but last
    expect(t.text()).not.toMatch(/KILL_ACTIVE: kill flag active/); // so no signal is wasted on the pause
    expect(t.text()).toContain('sent 9: 5 PROPOSED, 3 CANCELLED, 1 invalid (400)');
    expect(t.text()).toMatch(/The stale signal set a kill flag: new entries answer KILL_ACTIVE until \d\d:\d\d E[SD]T; it lapses by itself, \/resume \(or npx phoenix resume --demo\) lifts it now\./);
    expect(t.text()).toContain("Everything here went to the demo's own database (data/demo/); your real setup was not touched.");
    expect(await h.app.db.intent.count()).toBe(8); // the malformed one stored nothing
  });

  it('issue 16: it ends by itself: without --count it sends the default (a few minutes at 3 s), not an endless stream', () => {
    expect(DEFAULT_COUNT).toBe(40);
    expect(parseDemoArgs([])).toMatchObject({ count: 40, everyMs: 3000, stale: true });
    expect(parseDemoArgs(['--count', '5'])).toMatchObject({ count: 5 });
    expect(() => parseDemoArgs(['--count', '0'])).toThrow(/--count needs a whole number ≥ 1/);
  });

  it('issue 16: it never posts to the real setup: a service that is not the demo (its own data directory) is refused, with how to start the demo; nothing is stored', async () => {
    await start({ demoData: false });
    const t = terminal();
    expect(await runCli(['demo', '--count', '3', '--every', '0'], t.io, { INTAKE_HOST: '127.0.0.1', INTAKE_PORT: port }, cwd)).toBe(1);
    expect(t.text()).toContain(`The service at http://127.0.0.1:${port} is your real setup (database ${h.dbFile}, constitution "default"): the demo never posts to it.`);
    expect(t.text()).toContain('start the demo service, which keeps its own database (data/demo/): npm start -- --demo');
    expect(t.out.some((l) => /^#\d\d /.test(l))).toBe(false);
    expect(await h.app.db.intent.count()).toBe(0);
  });

  it('sends the bearer INTAKE_TOKEN; a wrong one is refused before any signal, with the fix (exit 1)', async () => {
    await start({ token: TOKEN });
    const ok = terminal();
    expect(await runCli(['demo', '--count', '2', '--every', '0'], ok.io, { INTAKE_HOST: '127.0.0.1', INTAKE_PORT: port, INTAKE_TOKEN: TOKEN }, cwd)).toBe(0);
    expect(ok.out.filter((l) => / → 202 PROPOSED /.test(l))).toHaveLength(1);
    expect(ok.out.filter((l) => / → 202 CANCELLED .*STATE_CONFLICT/.test(l))).toHaveLength(1);

    const bad = terminal();
    expect(await runCli(['demo', '--count', '5', '--every', '0'], bad.io, { INTAKE_HOST: '127.0.0.1', INTAKE_PORT: port, INTAKE_TOKEN: 'not-the-right-token-0123456789' }, cwd)).toBe(1);
    expect(bad.out.filter((l) => /^#\d\d /.test(l))).toHaveLength(0);
    expect(bad.text()).toMatch(/refused the demo's INTAKE_TOKEN \(401 missing or wrong bearer token/);
    expect(bad.text()).toContain('Set INTAKE_TOKEN to the same value the service runs with');
  });

  it('issue 16: a kill flag that lapses (the last run\'s stale pause) is waited for VISIBLY, with the time left, then the signals go out', async () => {
    await start();
    // a stale intent sets the 5-minute kill flag on the service's clock
    const stale = await h.engine.submitIntent(h.intent({ stateAsOf: new Date(h.clock.now() - 40 * 60_000).toISOString() }));
    expect(stale).toMatchObject({ state: 'CANCELLED' });
    const t = terminal();
    let lapsed = false;
    const io = {
      out: (l: string) => {
        t.io.out(l);
        // the service's clock moves on while the demo waits: the flag lapses
        if (!lapsed && l.includes('waiting for it to lapse')) {
          lapsed = true;
          void h.clock.advance(5 * 60_000 + 1000);
        }
      },
      err: t.io.err,
    };
    const code = await runDemo({ io, env: { INTAKE_PORT: port }, cwd, args: ['--count', '2', '--every', '0', '--no-stale'] });
    expect(code, t.text()).toBe(0);
    expect(t.text()).toMatch(/A kill flag pauses new entries on the demo service until \d\d:\d\d E[SD]T \(stale market state.*\): waiting for it to lapse, 5:00 left\. Ctrl\+C stops; \/resume \(or npx phoenix resume --demo\) lifts it now\./);
    const lines = t.out.filter((l) => /^#\d\d /.test(l));
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => / → 202 PROPOSED /.test(l))).toBe(true); // none wasted on KILL_ACTIVE
  });

  it('issue 16: a kill flag with no end (/halt) is named with how to lift it; nothing is posted (exit 1)', async () => {
    await start();
    await h.engine.halt(admin, 'desk closed');
    const t = terminal();
    expect(await runDemo({ io: t.io, env: { INTAKE_PORT: port }, cwd, args: ['--count', '3', '--every', '0'] })).toBe(1);
    expect(t.text()).toMatch(/A kill flag is active on the demo service with no end \(desk closed, set by .*\): every new entry would answer KILL_ACTIVE\./);
    expect(t.text()).toContain('Lift it in the chat with /resume (or: npx phoenix resume --demo), then run the demo again.');
    expect(t.out.some((l) => /^#\d\d /.test(l))).toBe(false);
  });

  it('issue 16: no MaxListenersExceededWarning: the waits between signals leave no listener on the Ctrl+C signal', async () => {
    await start();
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const stop = new AbortController();
      const t = terminal();
      // 14 waits on one signal: the old wait left one 'abort' listener each (the 11th warned)
      const code = await runDemo({ io: t.io, env: { INTAKE_PORT: port }, cwd, args: ['--count', '15', '--burst', '1', '--every', '1ms', '--no-stale'], signal: stop.signal });
      expect(code, t.text()).toBe(0);
      expect(t.out.filter((l) => /^#\d\d /.test(l))).toHaveLength(15);
      expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('phoenix demo without a service', () => {
  it('says Phoenix is not running and how to start the demo service; exit non-zero', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'phoenix-demo-'));
    try {
      const port = await freePort();
      const t = terminal();
      const code = await runCli(['demo', '--count', '3'], t.io, { INTAKE_HOST: '127.0.0.1', INTAKE_PORT: String(port) }, cwd);
      expect(code).toBe(1);
      expect(t.text()).toContain(`Phoenix is not running at http://127.0.0.1:${port} (connection refused).`);
      expect(t.text()).toContain('  npm start -- --demo');
      expect(t.text()).toContain('every card says DEMO, and your real data is never touched');
      expect(t.out.some((l) => /^#\d\d /.test(l))).toBe(false);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('bad options are a usage error (exit 2); --print writes the intents as JSON lines without posting', async () => {
    const t = terminal();
    expect(await runCli(['demo', '--every', 'soon'], t.io, {}, tmpdir())).toBe(2);
    expect(t.text()).toContain('--every needs a duration like 3s, 500ms or 1m (got soon)');
    const p = terminal();
    expect(await runCli(['demo', '--print', '--count', '3', '--seed', '9'], p.io, {}, tmpdir())).toBe(0);
    expect(p.out).toHaveLength(3);
    expect(p.out.map((l) => (JSON.parse(l) as { signalId: string }).signalId.startsWith('demo-9-'))).toEqual([true, true, true]);
  });
});

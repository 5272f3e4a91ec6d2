/**
 * `phoenix demo` through `runCli` against a real intake server (node:http on 127.0.0.1, the
 * harness engine behind it): one line per intent with its answer, and a clear "start the
 * service" hint with a non-zero exit when nothing listens.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import type { CliIo } from '../../src/cli/context.js';
import { runDemo } from '../../src/demo/index.js';
import { silentLogger } from '../../src/engine/ports.js';
import { startIntake, type IntakeServer } from '../../src/http/intake.server.js';
import { makeHarness, type Harness } from '../support/harness.js';

const TOKEN = 'demo-intake-token-0123456789abcdef';

function terminal() {
  const out: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => out.push(l), readStdin: async () => '', confirm: async () => false };
  return { io, out, text: () => out.join('\n') };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('phoenix demo against a running intake', () => {
  let h: Harness;
  let intake: IntakeServer;
  let cwd: string;
  let port: string;

  async function start(token?: string) {
    // the CLI stamps stateAsOf with the wall clock: the engine's clock starts there too
    h = await makeHarness({ clockStart: new Date().toISOString(), constitution: { demo: true, session: { enforce: false } } });
    intake = await startIntake({ engine: h.engine, logger: silentLogger, host: '127.0.0.1', port: 0, ratePerMinute: 600, ...(token ? { token } : {}) });
    port = new URL(intake.url).port;
  }
  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'phoenix-demo-'));
  });
  afterEach(async () => {
    await intake?.close();
    await h?.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('prints one line per intent with its answer (state, denials, 400 problems) and a tally; exit 0', async () => {
    await start();
    const t = terminal();
    const code = await runCli(['demo', '--count', '9', '--every', '0s', '--seed', '1'], t.io, { INTAKE_HOST: '127.0.0.1', INTAKE_PORT: port }, cwd);
    expect(code, t.text()).toBe(0);
    const lines = t.out.filter((l) => /^#\d\d /.test(l));
    expect(lines).toHaveLength(9);
    expect(t.text()).toContain(`posting mock signals to http://127.0.0.1:${port}/v1/intents (seed 1; 8 at once`);
    expect(t.text()).toContain('service: PAPER mode, broker READY, DEMO constitution');
    expect(lines[0]).toMatch(/^#01 (BUY|SELL) 1 \w+ .* → 202 PROPOSED int_\w+ {2}\(card sent: tap APPROVE or PASS\)$/);
    expect(lines[2]).toMatch(/→ 202 CANCELLED int_\w+ {2}QUALITY: DVS 0\.\d\d < 0\.80 {2}\[on purpose: low DVS/);
    expect(lines[4]).toMatch(/→ 202 CANCELLED int_\w+ {2}RISK_PER_TRADE: risk \$\d+\.\d\d > cap \$15\.00/);
    expect(lines[5]).toMatch(/→ 400 invalid, nothing stored: stopLoss: stopLoss is required; \(body\): unknown field\(s\): stop_loss/);
    expect(lines[7]).toMatch(/→ 202 CANCELLED int_\w+ {2}STATE_CONFLICT: market state is \d+ min old/);
    expect(lines[8]).toMatch(/→ 202 CANCELLED int_\w+ {2}KILL_ACTIVE: kill flag active/);
    expect(t.text()).toContain('sent 9: 4 PROPOSED, 4 CANCELLED, 1 invalid (400)');
    expect(await h.app.db.intent.count()).toBe(8); // the malformed one stored nothing
  });

  it('sends the bearer INTAKE_TOKEN; a wrong one stops at the first 401 with the fix (exit 1)', async () => {
    await start(TOKEN);
    const ok = terminal();
    expect(await runCli(['demo', '--count', '2', '--every', '0'], ok.io, { INTAKE_HOST: '127.0.0.1', INTAKE_PORT: port, INTAKE_TOKEN: TOKEN }, cwd)).toBe(0);
    expect(ok.out.filter((l) => / → 202 PROPOSED /.test(l))).toHaveLength(2);

    const bad = terminal();
    expect(await runCli(['demo', '--count', '5', '--every', '0'], bad.io, { INTAKE_HOST: '127.0.0.1', INTAKE_PORT: port, INTAKE_TOKEN: 'not-the-right-token-0123456789' }, cwd)).toBe(1);
    expect(bad.out.filter((l) => /^#\d\d /.test(l))).toHaveLength(1);
    expect(bad.text()).toMatch(/→ 401 missing or wrong bearer token/);
    expect(bad.text()).toContain('set INTAKE_TOKEN to the same value the service runs with');
  });

  it('endless mode: after the stale one it waits for the kill flag instead of posting; Ctrl+C ends it with the tally', async () => {
    await start();
    const t = terminal();
    const stop = new AbortController();
    const io = { out: (l: string) => (t.io.out(l), l.includes('waiting for the kill flag') && stop.abort()), err: t.io.err };
    const code = await runDemo({ io, env: { INTAKE_PORT: port }, cwd, args: ['--every', '10ms'], signal: stop.signal });
    expect(code).toBe(0);
    expect(t.out.filter((l) => /^#\d\d /.test(l))).toHaveLength(8);
    expect(t.text()).toContain('sent 8: 4 PROPOSED, 3 CANCELLED, 1 invalid (400)');
  });
});

describe('phoenix demo without a service', () => {
  it('says Phoenix is not running and how to start it in demo mode; exit non-zero', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'phoenix-demo-'));
    try {
      const port = await freePort();
      const t = terminal();
      const code = await runCli(['demo', '--count', '3'], t.io, { INTAKE_HOST: '127.0.0.1', INTAKE_PORT: String(port) }, cwd);
      expect(code).toBe(1);
      expect(t.text()).toContain(`Phoenix is not running at http://127.0.0.1:${port} (connection refused).`);
      expect(t.text()).toContain('  CONSTITUTION_PATH=config/constitution.demo.yaml npm start');
      expect(t.text()).toContain('every card says DEMO');
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

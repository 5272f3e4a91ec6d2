/**
 * Issue 16 "operator truth", on the REAL process: the service is started (npm start, replayed
 * by ./service.ts) with a configuration of ITS OWN shell that the operator's shell does not
 * have: the demo constitution, BROKER=ibkr with IB Gateway not running (a dead port), its own
 * INTAKE_PORT, Telegram through a sandbox Bot API. The CLI then runs in the same directory with
 * a BARE environment (nothing set: this shell alone would mean the default constitution, the
 * simulated broker, port 8787). It must still tell the service's truth:
 *   - `phoenix status`: the demo constitution and the ibkr broker DOWN (it used to print
 *     `constitution: default` and `Broker: offline DISCONNECTED`);
 *   - `phoenix intent submit`: gated by the demo constitution (the clock is pinned at night,
 *     when the default constitution would answer SESSION_CLOSED);
 *   - `phoenix doctor`: FAIL for the dead broker the service uses (it used to say "all good");
 * and once the service is stopped, status says so on its first line and shows the database.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import type { CliIo } from '../../src/cli/context.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { freePort, freshInstallDir, readmeIntent, runPhoenixCli, startService, type RunningService } from './service.js';

/** Wed 2026-11-25 03:00 New York: the real constitution's session is closed, the demo's is not */
const AT_NIGHT = '2026-11-25T08:00:00Z';

function terminal(stdin = '') {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), readStdin: async () => stdin, confirm: async () => false };
  return { io, out, err, text: () => [...out, ...err].join('\n') };
}

describe('issue 16: the CLI with a bare environment tells the running service\'s truth', () => {
  let telegram: Sandbox;
  let svc: RunningService | undefined;
  let ibPort: number;
  let intakePort: number;
  const dir = freshInstallDir();

  beforeAll(async () => {
    telegram = await startSandbox();
    ibPort = await freePort(); // nothing listens: IB Gateway not running
    intakePort = await freePort();
    svc = await startService(
      {
        CONSTITUTION_PATH: 'config/constitution.demo.yaml',
        BROKER: 'ibkr',
        IB_HOST: '127.0.0.1',
        IB_PORT: String(ibPort),
        IB_ACCOUNT: 'DU1234567',
        TELEGRAM_BOT_TOKEN: '7000000004:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        TELEGRAM_API_ROOT: telegram.apiRoot,
        TELEGRAM_CHAT_ID: '-1001001',
        TELEGRAM_APPROVERS: '1001',
        INTAKE_PORT: String(intakePort),
      },
      { timeoutMs: 40_000, clockAt: AT_NIGHT, dir },
    );
  }, 60_000);

  afterAll(async () => {
    await svc?.stop();
    await telegram?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 20_000);

  it('issue 16: the start-up banner says plainly that no entry can be sent while the broker is down', () => {
    const out = svc!.stdout();
    expect(out).toMatch(/Phoenix is running \(PAPER mode, ibkr broker, DEMO constitution\), but the broker is DOWN: no entry can be sent until it is back\./);
    expect(out).toContain(`  broker:  DOWN: ibkr at 127.0.0.1:${ibPort} is `);
    expect(out).toContain('NO ENTRY CAN BE SENT until the broker is back.');
    expect(out).toContain('once fixed: npx phoenix reconnect');
  });

  it('issue 16: `phoenix status` (a real CLI process, bare environment) shows the service\'s demo constitution and its ibkr broker DOWN, not this shell\'s defaults', async () => {
    const r = await runPhoenixCli(['status'], { cwd: svc!.dir });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^Service: running at http://127\\.0\\.0\\.1:${intakePort} — pid \\d+, up since \\w{3} \\d\\d:\\d\\d E[SD]T, database data/phoenix\\.db$`));
    expect(r.stdout).toContain('note: this shell\'s configuration (.env + environment) would start constitution "default" (config/constitution.yaml) instead of "demo" (config/constitution.demo.yaml), broker sim instead of ibkr; shown is what the service runs');
    expect(r.stdout).toMatch(/^Mode: PAPER \(DEMO\) {3}constitution: demo( {3}at \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T)?$/m);
    expect(r.stdout).toMatch(/^Broker: ibkr (DOWN|DISCONNECTED) \(not submitting\)/m);
    // what the CLI used to print from its own shell
    expect(r.stdout).not.toMatch(/constitution: default|Broker: offline|Service not running/);
  });

  it('issue 16: `phoenix intent submit` goes to the running service and is gated by ITS constitution (at night: PROPOSED on the demo one, not SESSION_CLOSED)', async () => {
    const t = terminal(JSON.stringify(readmeIntent({}, svc!.now())));
    expect(await runCli(['intent', 'submit', '-'], t.io, {}, svc!.dir)).toBe(0);
    expect(t.err[0]).toBe(`sent to the running service at http://127.0.0.1:${intakePort} (constitution "demo", PAPER mode, broker ibkr ${t.err[0]!.match(/broker ibkr (\w+)\)/)?.[1]})`);
    expect(t.err[0]).toMatch(/broker ibkr (DOWN|DISCONNECTED)\)$/);
    const res = JSON.parse(t.out[0]!) as { intentId: string; state: string; denials: { code: string }[] };
    expect(res.state).toBe('PROPOSED'); // the default constitution at 03:00 ET would be CANCELLED, SESSION_CLOSED
    expect(res.denials).toEqual([]);
    const db = new Database(join(svc!.dir, 'data', 'phoenix.db'), { readonly: true });
    try {
      const bead = db.prepare(`SELECT payload FROM "Bead" WHERE type = 'INTENT' AND intentId = ?`).get(res.intentId) as { payload: string };
      expect(JSON.parse(bead.payload)).toMatchObject({ source: 'cli', outcome: 'PROPOSED' });
    } finally {
      db.close();
    }
  });

  it('issue 16: `phoenix doctor` with a bare environment FAILs the dead broker the service uses (it used to say "all good")', async () => {
    const t = terminal();
    expect(await runCli(['doctor', '--beads', '0'], t.io, {}, svc!.dir)).toBe(1);
    const text = t.text();
    expect(text).toMatch(new RegExp(`^FAIL\\s+service\\s+running at http://127\\.0\\.0\\.1:${intakePort} \\(PAPER mode, constitution "demo" DEMO, broker ibkr at 127\\.0\\.0\\.1:${ibPort} (DOWN|DISCONNECTED)\\)`, 'm'));
    expect(text).toMatch(/problem: the service's broker ibkr at .* is (DOWN|DISCONNECTED).*: no entry can be sent until it is back/);
    expect(text).toMatch(new RegExp(`^FAIL\\s+broker\\s+IB Gateway/TWS not reachable at 127\\.0\\.0\\.1:${ibPort}`, 'm'));
    expect(text).toContain('checked as the running service uses it (broker ibkr, PAPER mode)');
    expect(text).not.toMatch(/all good/);
    expect(text).not.toMatch(/simulated broker .* always reachable/);
  });

  it('issue 16: with the service stopped, status says so on its first line and shows the database with what the last start ran', async () => {
    await svc!.stop();
    svc = undefined;
    // (a port nobody uses instead of the default 8787, where another Phoenix of this machine may run)
    const unused = await freePort();
    const t = terminal();
    expect(await runCli(['status'], t.io, { INTAKE_PORT: String(unused) }, dir)).toBe(0);
    expect(t.out.slice(0, 3)).toEqual([
      'Service not running — showing the database (data/phoenix.db).',
      `  nothing answers at http://127.0.0.1:${unused}`,
      `  nothing answers at http://127.0.0.1:${intakePort} (where the last start on this database listened)`,
    ]);
    const text = t.out.join('\n');
    expect(text).toMatch(/^ {2}last start: Wed 0\d:\d\d EST, constitution "demo", PAPER mode, broker ibkr$/m);
    expect(text).toMatch(/^Mode: PAPER {3}constitution: demo( {3}at \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T)?$/m);
    expect(text).toContain('Broker: ibkr DISCONNECTED (not submitting) — not connected: the service is not running');
    expect(text).toContain('Pending cards: 1'); // the intent submitted above, from the database
  });
});

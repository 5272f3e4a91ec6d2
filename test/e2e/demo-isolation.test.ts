/**
 * Issue 16, on REAL processes in one install directory (a copy of config/, as a new machine
 * has it), every service clock pinned inside the session (Tue 2026-11-24 10:30 New York, so
 * the test passes at any hour):
 *   1. the demo service (`npm start -- --demo`), fed by `npx phoenix demo` (its own process),
 *      with two cards approved in the sandbox chat: positions open, trades counted, the stale
 *      signal's kill flag set: all of it in data/demo/phoenix.db;
 *   2. the demo service restarted on its database: the simulated broker remembers its book, so
 *      the start-up reconciliation finds 0 drifts (it used to find CRITICAL ones);
 *   3. a plain `npm start` in the same directory, and the README intent: it behaves exactly as
 *      on a fresh machine (compared with a run in a fresh directory): PROPOSED, no denial, no
 *      position, no kill flag, no trade counted, no drift. Before, it answered TRADES_PER_DAY
 *      and the position limit, with 6 CRITICAL drifts.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import type { CliIo } from '../../src/cli/context.js';
import { parseAdminStatus, type AdminStatus } from '../../src/http/admin.schema.js';
import { buttonTexts, chatMessages, freePort, freshInstallDir, readmeIntent, runPhoenixCli, startService, submitIntent, until, type ChatMessage, type RunningService } from './service.js';

const IN_SESSION = '2026-11-24T15:30:00Z';

function terminal() {
  const out: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => out.push(l), readStdin: async () => '', confirm: async () => false };
  return { io, out };
}

async function adminStatus(svc: RunningService): Promise<AdminStatus> {
  const res = await fetch(`${svc.intakeUrl}/v1/admin/status`);
  const a = parseAdminStatus(await res.json());
  if (!a) throw new Error(`not an admin answer (${res.status})`);
  return a;
}

async function tap(svc: RunningService, m: ChatMessage, label: string): Promise<void> {
  const data = m.reply_markup?.inline_keyboard.flat().find((b) => b.text.includes(label))?.callback_data;
  if (!data) throw new Error(`no ${label} button on message ${m.message_id}`);
  const res = await fetch(new URL('/sandbox/api/tap', svc.consoleUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: 1001, chatId: -1001001, messageId: m.message_id, data }) });
  if (!res.ok) throw new Error(`tap answered ${res.status}`);
}

/** What "exactly as on a fresh machine" compares: everything but ids and times. */
function comparable(a: AdminStatus) {
  const s = a.status;
  return {
    mode: s.mode,
    demo: s.demo,
    constitution: s.constitution,
    broker: { name: s.broker.name, state: s.broker.state },
    kills: s.kills.length,
    open: s.open.map((i) => `${i.state} ${i.side} ${i.quantity} ${i.instrument.symbol}`),
    pending: s.pending.map((i) => `${i.side} ${i.quantity} ${i.instrument.symbol}`),
    today: s.today,
    unresolvedDrifts: s.unresolvedDrifts.length,
    database: a.service.database.endsWith(join('data', 'phoenix.db')),
    demoData: a.service.demoData,
  };
}

describe('issue 16: the demo never touches the real setup, and a restart invents no drift', () => {
  const dir = freshInstallDir();
  const fresh = freshInstallDir();
  const running: RunningService[] = [];
  let env: Record<string, string>;

  afterAll(async () => {
    for (const s of running) await s.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(fresh, { recursive: true, force: true });
  }, 30_000);

  async function start(where: string, args: string[] = []): Promise<RunningService> {
    const svc = await startService(env, { dir: where, args, clockAt: IN_SESSION, timeoutMs: 30_000 });
    running.push(svc);
    return svc;
  }
  async function stop(svc: RunningService): Promise<void> {
    await svc.stop();
    running.splice(running.indexOf(svc), 1);
  }

  let demoOpen: string[] = [];

  it('issue 16: `npx phoenix demo` against `npm start -- --demo` runs to its end without a warning, and everything lands in data/demo/', async () => {
    env = { INTAKE_PORT: String(await freePort()), SANDBOX_PORT: String(await freePort()) };
    const demo = await start(dir, ['--demo']);
    expect(demo.stdout()).toMatch(/Phoenix is running \(PAPER mode, sim broker, DEMO constitution\)\./);
    expect(demo.stdout()).toContain('  demo:    its own database data/demo/phoenix.db; your real data is untouched. Feed it signals: npx phoenix demo');

    // first run without the stale signal (its kill flag would refuse the approvals below)
    const first = await runPhoenixCli(['demo', '--count', '6', '--every', '0s', '--seed', '4', '--no-stale'], { cwd: dir, env: { INTAKE_PORT: env.INTAKE_PORT! }, clockAt: demo.now(), timeoutMs: 60_000 });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stderr).toBe(''); // no MaxListenersExceededWarning, no warning at all
    expect(first.stdout).toContain('service: the DEMO service (PAPER mode, constitution "demo", broker sim READY, its own database data/demo/)');
    expect(first.stdout.split('\n').filter((l) => /^#\d\d /.test(l))).toHaveLength(6);

    // approve two cards in the chat (the demo constitution allows two trades a day)
    const cards = await until(async () => {
      const withButtons = (await chatMessages(demo.consoleUrl)).filter((m) => m.from_bot && buttonTexts(m).includes('✅ APPROVE'));
      return withButtons.length >= 2 ? withButtons : undefined;
    }, { timeoutMs: 15_000, label: 'two DEMO cards with APPROVE in the sandbox chat' });
    const symbols = new Set<string>();
    for (const m of cards) {
      const symbol = /(?:BUY|SELL) 1 (\w+)/.exec(m.text)?.[1];
      if (!symbol || symbols.has(symbol) || symbols.size === 2) continue; // one position per instrument
      symbols.add(symbol);
      await tap(demo, m, 'APPROVE');
    }
    expect(symbols.size).toBe(2);
    await until(async () => ((await adminStatus(demo)).status.open.filter((i) => i.state === 'MANAGED').length === 2 ? true : undefined), {
      timeoutMs: 15_000,
      label: 'both approved entries filled and protected at the simulated broker',
    });

    // a second run, ending with the deliberately stale signal: its kill flag pauses entries, and the demo says until when
    const second = await runPhoenixCli(['demo', '--count', '4', '--every', '0s', '--seed', '5'], { cwd: dir, env: { INTAKE_PORT: env.INTAKE_PORT! }, clockAt: demo.now(), timeoutMs: 60_000 });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stderr).toBe('');
    expect(second.stdout).toMatch(/→ 202 CANCELLED int_\w+ {2}STATE_CONFLICT: /);
    expect(second.stdout).toMatch(/The stale signal set a kill flag: new entries answer KILL_ACTIVE until 10:3\d EST/);

    // the CLI: `--demo` talks to the demo service; without it the demo service is named, not used, and nothing is created
    const withDemo = terminal();
    expect(await runCli(['status', '--demo'], withDemo.io, { INTAKE_PORT: env.INTAKE_PORT! }, dir)).toBe(0);
    expect(withDemo.out[0]).toMatch(new RegExp(`^Service: running at ${demo.intakeUrl.replace(/\./g, '\\.')} — pid \\d+, up since Tue 10:3\\d EST, database data/demo/phoenix\\.db \\(the DEMO service, on its own data\\)$`));
    expect(withDemo.out.join('\n')).toMatch(/^Mode: PAPER \(DEMO\) {3}constitution: demo( {3}at \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T)?$/m);
    const real = terminal();
    expect(await runCli(['status'], real.io, { INTAKE_PORT: env.INTAKE_PORT! }, dir)).toBe(0);
    expect(real.out).toEqual([
      'No service reachable on this database — showing the database (data/phoenix.db).',
      `  ${demo.intakeUrl} is the DEMO service, on its own database (data/demo/phoenix.db): add --demo to talk to it`,
      '  no database there yet: npm start creates it (nothing has run on this configuration)',
    ]);

    const after = await adminStatus(demo);
    expect(after.service.demoData).toBe(true);
    expect(after.status.today.trades).toBe(2);
    expect(after.status.kills.length).toBe(1); // the stale signal's pause
    demoOpen = after.status.open.map((i) => `${i.state} ${i.side} ${i.quantity} ${i.instrument.symbol}`).sort();
    expect(demoOpen).toHaveLength(2);
    await stop(demo);

    expect(existsSync(join(dir, 'data', 'demo', 'phoenix.db'))).toBe(true);
    expect(existsSync(join(dir, 'data', 'demo', 'phoenix.anchors.jsonl'))).toBe(true); // its anchors too
    expect(existsSync(join(dir, 'data', 'phoenix.db'))).toBe(false); // the real database was never even created
  }, 120_000);

  it('issue 16: the demo service restarted on its database finds the simulated broker as it left it: 0 drifts, the positions still open', async () => {
    const again = await start(dir, ['--demo']);
    const a = await until(async () => {
      const s = await adminStatus(again);
      return s.status.lastReconciliation !== null ? s : undefined;
    }, { timeoutMs: 15_000, label: 'the start-up reconciliation' });
    expect(a.status.unresolvedDrifts).toEqual([]);
    expect(a.status.open.map((i) => `${i.state} ${i.side} ${i.quantity} ${i.instrument.symbol}`).sort()).toEqual(demoOpen);
    expect(a.status.unprotected).toEqual([]); // the stops rest at the broker as before
    await stop(again);
  }, 60_000);

  it('issue 16: after the demo, a plain `npm start` + the README intent behaves exactly as on a fresh machine', async () => {
    const results: { answer: unknown; status: ReturnType<typeof comparable> }[] = [];
    for (const where of [dir, fresh]) {
      const svc = await start(where);
      expect(svc.stdout()).toMatch(/Phoenix is running \(PAPER mode, sim broker\)\./);
      expect(svc.stdout()).not.toContain('demo:');
      const { status, body } = await submitIntent(svc.intakeUrl, readmeIntent({}, svc.now()));
      expect(status).toBe(202);
      const a = await until(async () => {
        const s = await adminStatus(svc);
        return s.status.lastReconciliation !== null ? s : undefined;
      }, { timeoutMs: 15_000, label: 'the start-up reconciliation' });
      results.push({ answer: { state: body.state, denials: body.denials }, status: comparable(a) });
      await stop(svc);
    }
    const [afterDemo, onFresh] = results;
    expect(afterDemo!.answer).toEqual({ state: 'PROPOSED', denials: [] });
    expect(afterDemo).toEqual(onFresh);
    expect(afterDemo!.status).toMatchObject({ kills: 0, open: [], pending: ['BUY 1 MES'], today: { trades: 0, realizedPnlCents: 0, consecutiveLosses: 0 }, unresolvedDrifts: 0, demoData: false, constitution: 'default' });
  }, 90_000);
});

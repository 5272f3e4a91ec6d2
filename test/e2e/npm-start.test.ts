/**
 * `npm start` with an EMPTY environment (PATH and HOME only: the real constitution, the default
 * ports 8787/8788, no bot token → the local sandbox), the README's curl intent, and what the
 * newcomer then sees in the sandbox chat (GET /sandbox/api/chat?chatId=-1001001):
 *   - inside the US session the answer is PROPOSED and the evidence card arrives with APPROVE/PASS;
 *   - outside it (nights, weekends, holidays, no-trade windows) the answer is CANCELLED with a
 *     SESSION_CLOSED denial that says when the next window opens; no card is sent, and the
 *     blocked notice goes to the alert outbox — delivered to the chat when the alert sender is
 *     wired into `npm start`, otherwise it waits in the outbox (/healthz outboxBacklog).
 * Both are checked on every run: the service's clock is pinned (faketime) once inside the session
 * (Tue 2026-11-24 10:30 ET) and once at night (Wed 2026-11-25 03:00 ET), so the answer never
 * depends on whether New York is open while the suite runs.
 *
 * This is the only test on the default ports 8787/8788 (it also covers what the engine-core
 * issue asks of `npm start`: ./data/phoenix.db created, /healthz, 202, idempotent 409). It
 * waits (up to 30 s) until they are free, in case a developer's own Phoenix is running.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buttonTexts, chatMessages, portBusy, readmeIntent, repoRoot, startService, StartError, submitIntent, until, type RunningService } from './service.js';

const INTAKE = 'http://127.0.0.1:8787';
const CONSOLE = 'http://127.0.0.1:8788/';
const NEXT_WINDOW = /^session closed: .+; next window opens \w{3},? \d{2}:\d{2} E[SD]T$/;

/** Is an alert sender started by `npm start`? (static: the composition files start one) */
const alertSenderWired = ['src/main.ts', 'src/service.ts', 'src/app.ts', 'src/bot/launch.ts'].some((f) => {
  try {
    return /\bstartAlertSender\b|\bnew AlertSender\b/.test(readFileSync(join(repoRoot, f), 'utf8'));
  } catch {
    return false;
  }
});

const SCENARIOS = [
  { label: 'inside the session (Tue 10:30 ET)', clockAt: '2026-11-24T15:30:00Z', expect: 'PROPOSED' },
  { label: 'at night (Wed 03:00 ET)', clockAt: '2026-11-25T08:00:00Z', expect: 'CANCELLED' },
] as const;

describe.each(SCENARIOS)('npm start $label: the README intent reaches the sandbox chat', ({ clockAt, expect: expected }) => {
  let svc: RunningService | undefined;

  beforeAll(async () => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      // event-driven: poll until the default ports are free (another `npm start` run may hold them)
      await until(async () => ((await portBusy(8787)) || (await portBusy(8788)) ? undefined : true), {
        timeoutMs: Math.max(0, deadline - Date.now()),
        label: 'ports 8787 and 8788 to be free (a developer\'s own Phoenix, or the other scenario)',
      });
      try {
        svc = await startService({}, { timeoutMs: 15_000, clockAt });
        return;
      } catch (e) {
        // lost the race for a port between the probe and the bind: wait for it again
        if (!(e instanceof StartError) || !/is in use/.test(e.output) || Date.now() >= deadline) throw e;
      }
    }
  }, 50_000);

  afterAll(async () => {
    await svc?.stop();
  }, 15_000);

  it('creates ./data/phoenix.db in the working directory, and /healthz answers 200', async () => {
    expect(existsSync(join(svc!.dir, 'data', 'phoenix.db'))).toBe(true);
    expect(svc!.stdout()).toMatch(/INTAKE_TOKEN not set: intake accepts requests from this machine only/);
    const res = await fetch(`${INTAKE}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', mode: 'paper', killActive: false });
  });

  it('prints the real-constitution banner and the sandbox console address on the default port', () => {
    expect(svc!.stdout()).toMatch(/Phoenix is running \(PAPER mode, sim broker\)\./); // no DEMO
    expect(svc!.intakeUrl).toBe(INTAKE);
    expect(svc!.consoleUrl).toBe(CONSOLE);
    expect(svc!.stdout()).toContain('open it in a browser: approver 1001, admin 1002, stranger 666; cards arrive in chat -1001001');
  });

  it(`the README curl intent is ${expected}: a card with APPROVE/PASS in chat -1001001, or a denial that says when the next window opens and no card`, async () => {
    const intent = readmeIntent({}, svc!.now());
    const { status, body } = await submitIntent(INTAKE, intent);
    expect(status).toBe(202);
    expect(Object.keys(body).sort()).toEqual(['denials', 'intentId', 'state']);
    expect(body.intentId).toMatch(/^int_/);
    // idempotent on signalId: the same intent again is 409 with the first id, nothing duplicated
    const again = await submitIntent(INTAKE, intent);
    expect(again.status).toBe(409);
    expect(again.body.intentId).toBe(body.intentId);
    expect(body.state).toBe(expected);

    if (expected === 'PROPOSED') {
      expect(body.denials).toEqual([]);
      const card = await until(async () => (await chatMessages(CONSOLE)).find((m) => m.from_bot && m.text.includes(body.intentId)), {
        timeoutMs: 8_000,
        label: `the card of ${body.intentId} in chat -1001001`,
      });
      expect(buttonTexts(card)).toEqual(['✅ APPROVE', '❌ PASS']);
      for (const s of ['PAPER', 'BUY 1 MES Dec26', 'BRACKET', 'mes-orb', 'Entry 6010.25', 'Risk $11.25', 'Valid for']) expect(card.text).toContain(s);
      expect(card.text).not.toContain('DEMO');
      return;
    }

    // outside the session
    expect(body.denials.map((d) => d.code)).toEqual(['SESSION_CLOSED']);
    expect(body.denials[0]!.message).toMatch(NEXT_WINDOW);
    expect((await chatMessages(CONSOLE)).filter((m) => buttonTexts(m).length > 0)).toEqual([]); // no card to approve
    if (alertSenderWired) {
      // INTENT_BLOCKED is grouped for 10 s before its notice is sent
      const notice = await until(async () => (await chatMessages(CONSOLE)).find((m) => m.from_bot && /next window opens/.test(m.text)), {
        timeoutMs: 15_000,
        label: 'the blocked notice (INTENT_BLOCKED alert) in chat -1001001',
      });
      expect(notice.text).toMatch(/blocked/i);
      expect(buttonTexts(notice)).toEqual([]);
    } else {
      // no sender in `npm start` yet: the notice is queued in the alert outbox, not lost
      const health = (await (await fetch(`${INTAKE}/healthz`)).json()) as { outboxBacklog: number; demo: boolean };
      expect(health.demo).toBe(false);
      expect(health.outboxBacklog).toBeGreaterThanOrEqual(1);
      console.info('npm-start-card: the alert sender is not wired into `npm start` yet; the SESSION_CLOSED notice waits in the outbox');
    }
  });
});

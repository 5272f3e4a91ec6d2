/**
 * SAFE-14 (issue 12) on the REAL process (`npm start` replayed by test/e2e/service.ts):
 * BROKER=ibkr with something on IB_PORT that accepts TCP and never answers (IB Gateway hung or
 * not logged in), so the broker connect waits its full 10 s timeout; Telegram is a sandbox Bot
 * API run by this test (TELEGRAM_BOT_TOKEN + TELEGRAM_API_ROOT: the sandbox chat itself never
 * serves IBKR, INV-SANDBOX-PAPER-1).
 *   - while it starts, /healthz answers 503 "starting" (it used to answer 200 "ok" here);
 *   - the banner says plainly that the broker is DOWN, with what to check;
 *   - once the bot polls, /healthz answers 200 "degraded" with the broker reason, never "ok".
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { freePort, startService, until, type RunningService } from './service.js';

type Health = { status: string; reasons: string[]; broker: string; lastHeartbeat: unknown };

describe('SAFE-14: the real process with IB Gateway not answering', () => {
  let telegram: Sandbox;
  let gateway: Server;
  const sockets = new Set<Socket>();
  let ibPort: number;
  let intakeUrl: string;
  let svc: RunningService | undefined;
  const seen: { code: number; body: Health }[] = [];

  beforeAll(async () => {
    telegram = await startSandbox();
    gateway = createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', () => r()));
    ibPort = (gateway.address() as { port: number }).port;
    const intakePort = await freePort();
    intakeUrl = `http://127.0.0.1:${intakePort}`;
    let started = false;
    // poll /healthz from the moment intake binds until the banner is printed
    const polling = (async () => {
      while (!started) {
        try {
          const res = await fetch(`${intakeUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
          seen.push({ code: res.status, body: (await res.json()) as Health });
        } catch {
          /* not listening yet */
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    try {
      svc = await startService(
        {
          BROKER: 'ibkr',
          IB_HOST: '127.0.0.1',
          IB_PORT: String(ibPort),
          IB_ACCOUNT: 'DU1234567', // BROKER=ibkr names its account (issue 16); the gateway never answers anyway
          IB_RESTART_WINDOW: 'off', // a real process on the wall clock: a drop at 23:50 ET would be the expected restart
          TELEGRAM_BOT_TOKEN: '7000000002:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
          TELEGRAM_API_ROOT: telegram.apiRoot,
          TELEGRAM_CHAT_ID: '-1001001',
          TELEGRAM_APPROVERS: '1001',
          INTAKE_PORT: String(intakePort),
        },
        { timeoutMs: 40_000 },
      );
    } finally {
      started = true;
      await polling;
    }
  }, 60_000);

  afterAll(async () => {
    await svc?.stop();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => gateway.close(() => r()));
    await telegram.close();
  }, 20_000);

  it('SAFE-14: /healthz answers 503 "starting" while the broker connect is still waiting (not 200 "ok")', () => {
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((s) => s.code === 200 && s.body.status === 'ok')).toEqual([]);
    const starting = seen.filter((s) => s.code === 503);
    expect(starting.length).toBeGreaterThan(0);
    expect(starting[0]!.body.status).toBe('starting');
    expect(starting[0]!.body.reasons).toEqual(expect.arrayContaining(['the bot not running yet', 'the alert sender not running yet']));
  });

  it('SAFE-14: the start-up banner says the broker is DOWN and what to check', () => {
    const out = svc!.stdout();
    // issue 16: "running" never reads as "orders go out": the first line says no entry can be sent
    expect(out).toMatch(/Phoenix is running \(PAPER mode, ibkr broker\), but the broker is DOWN: no entry can be sent until it is back\./);
    expect(out).not.toMatch(/Phoenix is running \(PAPER mode, ibkr broker\)\./);
    expect(out).toContain(`  broker:  DOWN: ibkr at 127.0.0.1:${ibPort} is DOWN (connect failed: no nextValidId within 10000 ms)`);
    expect(out).toContain('NO ENTRY CAN BE SENT until the broker is back. Intents are still checked and carded, and');
    expect(out).toContain("approval's 5 min. /healthz says \"degraded\" with the reason.");
    expect(out).toContain(`is IB Gateway (or TWS) running and logged in, with the API on port ${ibPort}? npx phoenix doctor checks it`);
    expect(out).not.toMatch(/SANDBOX chat/);
  });

  it('SAFE-14: once the bot and the alert sender run, /healthz is 200 "degraded" with the broker reason and the last heartbeat', async () => {
    const r = await until(async () => {
      const res = await fetch(`${intakeUrl}/healthz`);
      const body = (await res.json()) as Health;
      return res.status === 200 ? body : undefined;
    }, { timeoutMs: 10_000, label: '/healthz 200' });
    expect(r.status).toBe('degraded');
    expect(r.broker).toBe('DOWN');
    expect(r.reasons[0]).toMatch(/^broker ibkr DOWN: connect failed: no nextValidId within 10000 ms/);
    expect(r.lastHeartbeat).toMatchObject({ status: 'DEGRADED' });
  });
});

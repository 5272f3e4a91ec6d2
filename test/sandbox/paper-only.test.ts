/**
 * SAFE-7 (issue 12), INV-SANDBOX-PAPER-1: without TELEGRAM_BOT_TOKEN `npm start` would run the
 * local sandbox chat, where anyone at this machine taps APPROVE as any user. So the sandbox runs
 * only with the simulated broker in paper or observe mode, on loopback; anything else fails
 * closed at start-up with one message and its fix, before anything connects (checked with the
 * REAL entry point and a TCP listener on IB_PORT that counts connections).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IbkrBroker } from '../../src/broker/ibkr/index.js';
import { launchTelegram } from '../../src/service.front.js';
import { ConfigError, loadConfig, type AppConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/engine/ports.js';
import { freePort, mainArgs, portBusy, runToExit } from '../e2e/service.js';
import { makeHarness } from '../support/harness.js';
import { useSilentGateway } from '../support/silent-gateway.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const CONSTITUTION = join(repoRoot, 'config/constitution.yaml');

let dir: string;
const gateway = useSilentGateway();
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'phoenix-sandbox-paper-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ DATABASE_URL: `file:${join(dir, 'data/phoenix.db')}`, CONSTITUTION_PATH: CONSTITUTION, ...env }, dir);
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  return [];
}

/** The real entry point (what `npm start` runs) in `dir`, with only these variables. */
const runMain = (env: Record<string, string>) => runToExit('main', mainArgs(), dir, env);

const FIX = /set TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID and TELEGRAM_APPROVERS for real Telegram, or use BROKER=sim TRADING_MODE=paper/;

describe('SAFE-7: INV-SANDBOX-PAPER-1: the sandbox never serves IBKR or live', () => {
  it('SAFE-7: INV-SANDBOX-PAPER-1: configuration names the problem and the fix (BROKER=ibkr, TRADING_MODE=live, SANDBOX_HOST not loopback); a bot token or BROKER=sim paper/observe is fine', () => {
    const ibkr = problems({ BROKER: 'ibkr', IB_PORT: '4002', IB_ACCOUNT: 'DU1234567' });
    expect(ibkr).toHaveLength(1);
    expect(ibkr[0]).toMatch(/^TELEGRAM_BOT_TOKEN: not set, so Phoenix would approve orders in the local sandbox chat, which runs only with BROKER=sim in paper or observe mode \(you set BROKER=ibkr\)/);
    expect(ibkr[0]).toMatch(FIX);

    // live (with everything live needs, but no bot token): one sandbox problem naming both
    const live = problems({ TRADING_MODE: 'live', IBKR_ALLOW_LIVE: 'true', BROKER: 'ibkr', IB_ACCOUNT: 'U1234567' });
    expect(live).toHaveLength(1);
    expect(live[0]).toMatch(/you set BROKER=ibkr and TRADING_MODE=live/);
    expect(live[0]).toMatch(FIX);

    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'phoenix.example']) {
      const p = problems({ SANDBOX_HOST: host });
      expect(p, host).toHaveLength(1);
      expect(p[0]).toMatch(/^SANDBOX_HOST: must be 127\.0\.0\.1, localhost or ::1: the sandbox chat has no login/);
    }

    expect(problems({})).toEqual([]);
    expect(problems({ TRADING_MODE: 'observe' })).toEqual([]);
    expect(problems({ SANDBOX_HOST: 'localhost' })).toEqual([]);
    expect(problems({ SANDBOX_HOST: '::1' })).toEqual([]);
    expect(problems({ BROKER: 'ibkr', IB_ACCOUNT: 'DU1234567', TELEGRAM_BOT_TOKEN: '123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', TELEGRAM_CHAT_ID: '-100', TELEGRAM_APPROVERS: '1' })).toEqual([]);
  });

  for (const [label, env] of [
    ['BROKER=ibkr without a bot token', { BROKER: 'ibkr', IB_ACCOUNT: 'DU1234567' }],
    ['TRADING_MODE=live without a bot token', { TRADING_MODE: 'live', IBKR_ALLOW_LIVE: 'true', BROKER: 'ibkr', IB_ACCOUNT: 'U1234567' }],
    ['SANDBOX_HOST=0.0.0.0', { SANDBOX_HOST: '0.0.0.0' }],
  ] as const) {
    it(`SAFE-7: INV-SANDBOX-PAPER-1: npm start with ${label} exits 2 with the fix, before it connects to IB_PORT, opens the database or listens`, async () => {
      const [intakePort, sandboxPort] = [await freePort(), await freePort()];
      const run = await runMain({ ...env, IB_HOST: '127.0.0.1', IB_PORT: String(gateway.port), INTAKE_PORT: String(intakePort), SANDBOX_PORT: String(sandboxPort), CONSTITUTION_PATH: CONSTITUTION });
      expect(run.code, run.stderr + run.stdout).toBe(2);
      expect(run.stderr).toMatch(/^Phoenix will not start: 1 configuration problem\n/);
      expect(run.stderr).toMatch(env.SANDBOX_HOST ? /SANDBOX_HOST: must be 127\.0\.0\.1, localhost or ::1/ : FIX);
      expect(run.stdout).not.toMatch(/Phoenix is running/);
      expect(gateway.connections).toBe(0);
      expect(existsSync(join(dir, 'data'))).toBe(false);
    }, 30_000);
  }

  it('SAFE-7: INV-SANDBOX-PAPER-1: launchTelegram refuses the sandbox for a config that skipped validation (BROKER=ibkr, TRADING_MODE=live) or an engine on IBKR, before the sandbox listens', async () => {
    const sandboxPort = await freePort();
    const sim = await makeHarness();
    const ib = await makeHarness({ connect: false, broker: (clock) => new IbkrBroker({ host: '127.0.0.1', port: gateway.port, clientId: 1, mode: 'paper', allowLive: false, clock, logger: silentLogger }) });
    try {
      const forged = (h: typeof sim, over: Partial<AppConfig['env']>): AppConfig => ({ ...h.config, env: { ...h.config.env, ...over } });
      for (const [h, config] of [
        [sim, forged(sim, { BROKER: 'ibkr' })],
        [sim, forged(sim, { TRADING_MODE: 'live' })],
        [ib, ib.config], // the config says sim, the engine runs IBKR
      ] as const) {
        await expect(launchTelegram({ config, engine: h.engine, logger: silentLogger, sandboxPort })).rejects.toThrow(/refusing to start: the local sandbox chat runs only with the simulated broker in paper or observe mode/);
        expect(await portBusy(sandboxPort)).toBe(false);
      }
      expect(gateway.connections).toBe(0);
    } finally {
      await sim.close();
      await ib.close();
    }
  });
});

/**
 * Issue 16 (SPEC 2 "Configuration") through the REAL `npm start` process (package.json's start
 * script replayed as a child process, in a temp dir with a copy of config/): a bad configuration
 * exits 2 with ONE message listing every problem with its fix — environment, live-mode rules
 * and constitution together — before anything connects anywhere (a TCP listener on IB_PORT
 * counts connections; no database file is created). Config validation reads no clock, so the
 * result does not depend on the hour (the child still inherits any faketime of the suite).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, npmStartArgs, runToExit } from '../e2e/service.js';
import { useSilentGateway } from '../support/silent-gateway.js';
import { ConfigDir, edited, lineOf } from './support.js';

let cfg: ConfigDir;
const gateway = useSilentGateway();
beforeEach(() => {
  cfg = new ConfigDir();
});
afterEach(() => {
  cfg.remove();
});

/** `npm start` in the config dir with only these variables (plus PATH and HOME). */
const npmStart = (env: Record<string, string>) => runToExit('npm start', npmStartArgs(), cfg.dir, env);

describe('CONFIG-11: npm start fails closed in one round', () => {
  it('CONFIG-11: npm start with bad variables (live mode among them) and a bad constitution exits 2 with every problem and its fix in one message, before it connects to IB_PORT or opens the database', async () => {
    const text = edited(['timeZone: America/New_York', 'timeZone: Mars/Olympus'], ['2026-01-19', '2026-13-45'], ['2026-02-16', '2026-02-30'], ['  dailyLossCapUsd: 30', '  dailyLossCapp: 30'], ['maxRiskPerTradeUsd: 15', 'maxRiskPerTradeUsd: -5']);
    cfg.constitution(text);
    const env = {
      DATABASE_URL: `file:${join(cfg.dir, 'data/phoenix.db')}`,
      TRADING_MODE: 'live',
      BROKER: 'ibkr',
      IB_HOST: '127.0.0.1',
      IB_PORT: String(gateway.port),
      INTAKE_PORT: 'abc',
      LOG_LEVEL: 'loud',
      TELEGRAM_APPROVERS: '-5,abc',
    };
    const run = await npmStart(env);
    expect(run.code, run.stderr + run.stdout).toBe(2);
    const expected = [
      'Phoenix will not start: 11 configuration problems',
      '  - INTAKE_PORT: must be a port number 1-65535, got "abc" → pick a free port, e.g. INTAKE_PORT=8787',
      '  - TELEGRAM_APPROVERS: must be Telegram user ids: positive whole numbers, comma-separated (negative ids are groups and channels, not people), got -5, "abc" → TELEGRAM_APPROVERS=<numeric Telegram user id> (ask @userinfobot for yours); comma-separate several',
      '  - LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "loud" → LOG_LEVEL=info (or fatal, error, warn, debug, trace, silent)',
      '  - IBKR_ALLOW_LIVE: TRADING_MODE=live needs IBKR_ALLOW_LIVE=true → for real money set IBKR_ALLOW_LIVE=true deliberately (with IB_ACCOUNT=U…); otherwise use TRADING_MODE=paper',
      '  - IB_ACCOUNT: TRADING_MODE=live needs IB_ACCOUNT=U… (your live account id) → set IB_ACCOUNT=U… to the live account Phoenix may trade (IB Gateway shows it; phoenix doctor lists the managed accounts)',
      '  - TELEGRAM_BOT_TOKEN: not set, so Phoenix would approve orders in the local sandbox chat, which runs only with BROKER=sim in paper or observe mode (you set BROKER=ibkr and TRADING_MODE=live) → set TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID and TELEGRAM_APPROVERS for real Telegram, or use BROKER=sim TRADING_MODE=paper to try the sandbox',
      `  - constitution limits.dailyLossCapp (config/constitution.yaml line ${lineOf(text, 'dailyLossCapp')}): unknown key; did you mean dailyLossCapUsd? → rename it to dailyLossCapUsd (a misspelt setting would otherwise be ignored and its default used)`,
      `  - constitution limits.maxRiskPerTradeUsd (config/constitution.yaml line ${lineOf(text, 'maxRiskPerTradeUsd')}): must be a positive amount in dollars, got -5 → set a value like 15`,
      `  - constitution session.timeZone (config/constitution.yaml line ${lineOf(text, 'timeZone')}): is not a time zone this machine knows, got "Mars/Olympus" → use an IANA time zone name, e.g. America/New_York (the exchange's zone)`,
      `  - constitution session.holidays[1] (config/constitution.yaml line ${lineOf(text, 'holidays')}): is not a calendar date: there is no month 13, got "2026-13-45" → months run 01-12, e.g. 2026-12-25`,
      `  - constitution session.holidays[2] (config/constitution.yaml line ${lineOf(text, 'holidays')}): is not a calendar date: February 2026 has 28 days, got "2026-02-30" → correct the day (01-28); check the exchange calendar for the holiday you meant`,
    ];
    expect(run.stderr).toBe(`${expected.join('\n')}\n`);
    expect(run.stderr).toBe(`${cfg.message(env)}\n`); // the loader's message, as doctor shows it too
    expect(run.stdout).not.toMatch(/Phoenix is running/);
    expect(gateway.connections).toBe(0);
    expect(existsSync(join(cfg.dir, 'data'))).toBe(false);
  }, 40_000);

  it('CONFIG-11: npm start with a YAML syntax error exits 2 and shows the offending lines with a caret, before it creates the database', async () => {
    cfg.constitution(edited(['  maxTradesPerDay: 2', '   maxTradesPerDay: 2']));
    const intakePort = await freePort();
    const run = await npmStart({ INTAKE_PORT: String(intakePort), SANDBOX_PORT: String(await freePort()), DATABASE_URL: 'file:./data/phoenix.db' });
    expect(run.code, run.stderr + run.stdout).toBe(2);
    expect(run.stderr).toBe(
      [
        'Phoenix will not start: 1 configuration problem',
        '  - config/constitution.yaml line 8, column 1: not valid YAML: All mapping items must start at the same column → line up the keys of one section under each other (2 spaces per level) and close any [ or { on the same line; compare with config/constitution.yaml',
        '      7 |   maxConsecutiveLosses: 2      # losses in a row -> entries rejected for the rest of the session',
        '      8 |    maxTradesPerDay: 2           # entries submitted today',
        '        | ^',
        '      9 |   maxPositionPerInstrument: 1  # open quantity per instrument (contracts or shares)',
        '',
      ].join('\n'),
    );
    expect(existsSync(join(cfg.dir, 'data'))).toBe(false);
  }, 40_000);
});

/**
 * Issue 16 (SPEC 2 "Configuration"): configuration is checked completely in ONE round, through
 * the real loader on a copy of the real config/constitution.yaml. Every problem says where it
 * is, what is wrong with the value given, and the fix in plain words; nothing that would kill
 * the process later (a time zone Intl does not know, a date that does not exist) or silently
 * fall back to a default (a misspelt limit) gets through.
 *
 *   CONFIG-1  time zone checked with Intl (the check the formatters make later)
 *   CONFIG-2  holidays are real calendar dates
 *   CONFIG-3  Telegram ids: user ids positive, chat ids may be negative (Bot API: ≤ 52 bits)
 *   CONFIG-4  many bad variables, live-mode rules included: all in one message; fixing any of
 *             them never brings up a problem that was not already listed
 *   CONFIG-5  every cross-field rule of the environment, each with its fix, at its boundary
 *   CONFIG-6  session times ordered and inside the day; flatten deadline before the close
 *   CONFIG-7  constitution values: plain words, the value given, the fix, the line
 *   CONFIG-8  unknown keys refused with "did you mean"
 *   CONFIG-9  YAML syntax errors show the offending line with a caret
 *   CONFIG-10 doctor reports exactly the problems the service would
 *   CONFIG-11 (one-round.npm-start.test.ts) the same through the real `npm start` process
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { checkConfig } from '../../src/cli/doctor.checks.js';
import { renderReport } from '../../src/cli/doctor.js';
import { envSchemaFields } from '../../src/config/env.schema.js';
import { defaultConstitution } from '../../src/engine/constitution.js';
import { clockTime } from '../../src/engine/people-time.js';
import { ConfigDir, edited, lineOf, lines, RAW_ZOD, REAL_CONSTITUTION } from './support.js';

let cfg: ConfigDir;
beforeEach(() => {
  cfg = new ConfigDir();
});
afterEach(() => cfg.remove());

const TOKEN = '123456789:AAHconfigTestSecretPart0123456789';
const TELEGRAM = { TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_CHAT_ID: '-1001234567890', TELEGRAM_APPROVERS: '1001' };
const F = 'config/constitution.yaml';

/** every problem names where, what and a fix, and none uses raw validator wording */
function wellFormed(ps: ReturnType<ConfigDir['problems']>): void {
  for (const p of ps) {
    expect(p.where, JSON.stringify(p)).not.toBe('');
    expect(p.problem, JSON.stringify(p)).not.toBe('');
    expect(p.fix.length, JSON.stringify(p)).toBeGreaterThan(8);
    expect(`${p.problem} ${p.fix}`, JSON.stringify(p)).not.toMatch(RAW_ZOD);
  }
}

describe('CONFIG-1: the time zone is checked with Intl at start-up', () => {
  it('CONFIG-1: timeZone Mars/Olympus is refused with its line and a fix (the formatter would have thrown later); a misspelt zone gets "did you mean"; real zones and aliases load', () => {
    const text = edited(['timeZone: America/New_York', 'timeZone: Mars/Olympus']);
    cfg.constitution(text);
    expect(lines(cfg.problems())).toEqual([
      `constitution session.timeZone (${F} line ${lineOf(text, 'timeZone')}): is not a time zone this machine knows, got "Mars/Olympus" → use an IANA time zone name, e.g. America/New_York (the exchange's zone)`,
    ]);
    // what start-up now prevents: the first time shown to a person would have killed the process
    expect(() => clockTime(0, 'Mars/Olympus')).toThrow(RangeError);

    cfg.constitution(edited(['timeZone: America/New_York', 'timeZone: America/NewYork']));
    expect(cfg.problems().map((p) => p.fix)).toEqual(['did you mean America/New_York?']);
    cfg.constitution(edited(['timeZone: America/New_York', 'timeZone: ""']));
    expect(cfg.problems()).toHaveLength(1);
    cfg.constitution(edited(['timeZone: America/New_York', 'timeZone: 5']));
    expect(lines(cfg.problems())[0]).toMatch(/session\.timeZone .*: must be a time zone name, got 5 → use an IANA time zone name/);

    for (const zone of ['America/New_York', 'America/Chicago', 'US/Eastern', 'UTC', 'Europe/London']) {
      cfg.constitution(edited(['timeZone: America/New_York', `timeZone: ${zone}`]));
      expect(cfg.load().constitution.session.timeZone, zone).toBe(zone);
    }
  });
});

describe('CONFIG-2: holidays are real calendar dates', () => {
  it('CONFIG-2: 2026-13-45 and 2026-02-30 are refused in one round, each with its reason and fix; 29 February only in leap years (2028 yes, 2100 no); the last day of each month loads', () => {
    const text = edited(['2026-01-19', '2026-13-45'], ['2026-02-16', '2026-02-30']);
    cfg.constitution(text);
    const at = `${F} line ${lineOf(text, 'holidays')}`;
    const ps = cfg.problems();
    wellFormed(ps);
    expect(lines(ps)).toEqual([
      `constitution session.holidays[1] (${at}): is not a calendar date: there is no month 13, got "2026-13-45" → months run 01-12, e.g. 2026-12-25`,
      `constitution session.holidays[2] (${at}): is not a calendar date: February 2026 has 28 days, got "2026-02-30" → correct the day (01-28); check the exchange calendar for the holiday you meant`,
    ]);

    const holidays = (list: string) => cfg.constitution(edited([REAL_CONSTITUTION.split('\n')[lineOf(REAL_CONSTITUTION, 'holidays') - 1]!, `  holidays: [${list}]`]));
    holidays('2028-02-29, 2026-01-31, 2026-04-30, 2026-12-31, 2000-02-29');
    expect(cfg.load().constitution.session.holidays).toEqual(['2028-02-29', '2026-01-31', '2026-04-30', '2026-12-31', '2000-02-29']);
    for (const [bad, why] of [
      ['2026-02-29', /February 2026 has 28 days/],
      ['2100-02-29', /February 2100 has 28 days/],
      ['2026-04-31', /April 2026 has 30 days/],
      ['2026-01-32', /January 2026 has 31 days/],
      ['2026-01-00', /January 2026 has 31 days/],
      ['2026-00-10', /there is no month 00/],
      ['2026-1-5', /must be a date YYYY-MM-DD, got "2026-1-5" → write it like 2026-12-25/],
    ] as const) {
      holidays(bad);
      const p = lines(cfg.problems());
      expect(p, bad).toHaveLength(1);
      expect(p[0], bad).toMatch(why);
    }
  });
});

describe('CONFIG-3: Telegram ids follow the Bot API rules', () => {
  const approvers = (v: string) => cfg.problems({ ...TELEGRAM, TELEGRAM_APPROVERS: v });
  it('CONFIG-3: TELEGRAM_APPROVERS -5 and "abc" are refused (people have positive ids) with the fix; admins and viewers likewise; 1 and 2^52-1 load, 2^52, 0 and 007 do not', () => {
    expect(lines(approvers('-5'))).toEqual([
      'TELEGRAM_APPROVERS: must be Telegram user ids: positive whole numbers, comma-separated (negative ids are groups and channels, not people), got -5 → TELEGRAM_APPROVERS=<numeric Telegram user id> (ask @userinfobot for yours); comma-separate several',
    ]);
    expect(lines(approvers('1001,abc'))[0]).toMatch(/^TELEGRAM_APPROVERS: must be Telegram user ids: .*, got "abc" → /);
    expect(lines(approvers('-5, abc ,1001'))[0]).toMatch(/, got -5, "abc" → /);
    for (const bad of ['0', '007', '4503599627370496', '1.5', '+5', '1e3']) expect(approvers(bad), bad).toHaveLength(1);
    for (const good of ['1', '4503599627370495', ' 1001 , 1002 ']) expect(approvers(good), good).toEqual([]);
    expect(cfg.load({ ...TELEGRAM, TELEGRAM_APPROVERS: ' 1001 , 1002 ' }).env.TELEGRAM_APPROVERS).toEqual(['1001', '1002']);
    for (const key of ['TELEGRAM_ADMINS', 'TELEGRAM_VIEWERS']) {
      const p = cfg.problems({ ...TELEGRAM, [key]: '-5' });
      expect(p.map((x) => x.where), key).toEqual([key]);
      expect(p[0]!.problem).toMatch(/got -5$/);
    }
  });

  it('CONFIG-3: TELEGRAM_CHAT_ID may be negative (groups -5, supergroups -100…) or a positive private chat; 0, "abc" and 007 are refused with the fix', () => {
    for (const good of ['-5', '-1001234567890', '1001', '-4503599627370495']) expect(cfg.problems({ ...TELEGRAM, TELEGRAM_CHAT_ID: good }), good).toEqual([]);
    for (const bad of ['0', 'abc', '007', '-', '-4503599627370496', '@mychannel']) {
      const p = cfg.problems({ ...TELEGRAM, TELEGRAM_CHAT_ID: bad });
      expect(p.map((x) => x.where), bad).toEqual(['TELEGRAM_CHAT_ID']);
      expect(p[0]!.problem).toContain(`got ${JSON.stringify(bad)}`);
      expect(p[0]!.fix).toMatch(/read the chat id from getUpdates; groups are negative/);
    }
  });
});

describe('CONFIG-4: many problems at once, in one round', () => {
  // each bad value, and the value that fixes it
  const BAD: Record<string, [bad: string, good: string]> = {
    TRADING_MODE: ['live', 'live'], // stays live: its rules must be listed with the rest
    INTAKE_PORT: ['abc', '8787'],
    LOG_LEVEL: ['loud', 'info'],
    TELEGRAM_APPROVERS: ['-5,abc', '1001'],
    SIM_SEED: ['x', '42'],
    IBKR_ALLOW_LIVE: ['false', 'true'],
    BROKER: ['sim', 'ibkr'],
    IB_ACCOUNT: ['DU1234567', 'U1234567'],
  };
  const env = (fixed: ReadonlySet<string>) => ({ ...TELEGRAM, ...Object.fromEntries(Object.entries(BAD).map(([k, [bad, good]]) => [k, fixed.has(k) ? good : bad])) });

  it('CONFIG-4: bad INTAKE_PORT, LOG_LEVEL, TELEGRAM_APPROVERS and SIM_SEED AND the live-mode rules (IBKR_ALLOW_LIVE, BROKER, IB_ACCOUNT) are all in one message, each with its fix', () => {
    const ps = cfg.problems(env(new Set()));
    wellFormed(ps);
    expect(ps.map((p) => p.where)).toEqual(['SIM_SEED', 'INTAKE_PORT', 'TELEGRAM_APPROVERS', 'LOG_LEVEL', 'IBKR_ALLOW_LIVE', 'BROKER', 'IB_ACCOUNT']);
    const msg = cfg.message(env(new Set()));
    expect(msg).toMatch(/^Phoenix will not start: 7 configuration problems\n/);
    expect(msg).toContain('  - INTAKE_PORT: must be a port number 1-65535, got "abc" → pick a free port, e.g. INTAKE_PORT=8787');
    expect(msg).toContain('  - LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "loud" → LOG_LEVEL=info');
    expect(msg).toContain('  - IBKR_ALLOW_LIVE: TRADING_MODE=live needs IBKR_ALLOW_LIVE=true → for real money set IBKR_ALLOW_LIVE=true deliberately');
    expect(msg).toContain('  - BROKER: TRADING_MODE=live needs BROKER=ibkr (the simulator has no real money) → set BROKER=ibkr');
    expect(msg).toContain('  - IB_ACCOUNT: DU1234567 is a paper account but TRADING_MODE=live → set IB_ACCOUNT=U… (your live account)');
    // with the constitution's problems in the same message
    cfg.constitution(edited(['timeZone: America/New_York', 'timeZone: Mars/Olympus']));
    expect(cfg.message(env(new Set()))).toMatch(/^Phoenix will not start: 8 configuration problems\n[\s\S]*LOG_LEVEL[\s\S]*IB_ACCOUNT[\s\S]*session\.timeZone/);
  });

  it('CONFIG-4: no second round — for every subset of fixes applied, what is left was already listed; all fixes applied → it loads', () => {
    const keys = Object.keys(BAD).filter((k) => BAD[k]![0] !== BAD[k]![1]);
    const first = new Set(lines(cfg.problems(env(new Set()))));
    for (let mask = 0; mask < 1 << keys.length; mask++) {
      const fixed = new Set(keys.filter((_, i) => mask & (1 << i)));
      const left = lines(cfg.problems(env(fixed)));
      for (const l of left) expect(first.has(l), `after fixing ${[...fixed].join(', ') || 'nothing'} a new problem appeared: ${l}`).toBe(true);
      if (fixed.size === keys.length) expect(left).toEqual([]);
    }
    expect(cfg.load(env(new Set(keys))).env.TRADING_MODE).toBe('live');
  });

  it('CONFIG-4: a secret never appears in a problem, even when it is the bad value', () => {
    const msg = cfg.message({ TELEGRAM_BOT_TOKEN: 'not-a-token-but-secret-xyz', INTAKE_TOKEN: 'short-secret', TELEGRAM_WEBHOOK_SECRET: 'bad secret with spaces!', TELEGRAM_CHAT_ID: '-5', TELEGRAM_APPROVERS: '1' });
    expect(msg).toMatch(/TELEGRAM_BOT_TOKEN: must look like 123456789:AA… \(from BotFather\), got a value of 26 characters \(not shown: it is a secret\)/);
    expect(msg).toMatch(/INTAKE_TOKEN: must be at least 16 characters, got a value of 12 characters \(not shown: it is a secret\) → generate one/);
    for (const s of ['not-a-token-but-secret-xyz', 'short-secret', 'bad secret with spaces!']) expect(msg).not.toContain(s);
  });
});

describe('CONFIG-5: every rule between variables, each with its fix', () => {
  const where = (env: Record<string, string>) => cfg.problems(env).map((p) => p.where);
  it('CONFIG-5: live needs IBKR_ALLOW_LIVE, BROKER=ibkr and a U… account; paper a DU… account; BROKER=ibkr needs IB_ACCOUNT — and the right combinations load', () => {
    const live = { ...TELEGRAM, TRADING_MODE: 'live', IBKR_ALLOW_LIVE: 'true', BROKER: 'ibkr', IB_ACCOUNT: 'U1234567' };
    expect(cfg.problems(live)).toEqual([]);
    expect(where({ ...live, IBKR_ALLOW_LIVE: 'false' })).toEqual(['IBKR_ALLOW_LIVE']);
    expect(where({ ...live, BROKER: 'sim' })).toEqual(['BROKER']);
    expect(lines(cfg.problems({ ...live, IB_ACCOUNT: '' }))).toEqual(['IB_ACCOUNT: TRADING_MODE=live needs IB_ACCOUNT=U… (your live account id) → set IB_ACCOUNT=U… to the live account Phoenix may trade (IB Gateway shows it; phoenix doctor lists the managed accounts)']);
    expect(where({ ...live, IB_ACCOUNT: 'DU1234567' })).toEqual(['IB_ACCOUNT']);

    const paper = { ...TELEGRAM, BROKER: 'ibkr', IB_ACCOUNT: 'DU1234567' };
    expect(cfg.problems(paper)).toEqual([]);
    expect(lines(cfg.problems({ ...paper, IB_ACCOUNT: 'U1234567' }))).toEqual(['IB_ACCOUNT: U1234567 is a live account but TRADING_MODE=paper; use your DU… paper account → set IB_ACCOUNT to the account that matches TRADING_MODE: DU… for paper, U… for live']);
    expect(lines(cfg.problems({ ...paper, IB_ACCOUNT: '' }))).toEqual(['IB_ACCOUNT: BROKER=ibkr needs IB_ACCOUNT: the one account Phoenix trades and reconciles → set IB_ACCOUNT=DU… (your paper account id); IB Gateway shows it, and phoenix doctor lists the accounts of the login']);
    expect(where({ ...paper, TRADING_MODE: 'observe', IB_ACCOUNT: '' })).toEqual(['IB_ACCOUNT']);
    expect(cfg.problems({ ...paper, TRADING_MODE: 'observe', IB_ACCOUNT: 'U1234567' })).toEqual([]); // observe never sends
    expect(where({ IB_ACCOUNT: 'garbage' })).toEqual(['IB_ACCOUNT']); // its own problem only, no rule on top
  });

  it('CONFIG-5: the sandbox runs only with sim in paper/observe and no bot token; a bot token needs a chat and approvers; a webhook needs a secret and a token; listening ports differ', () => {
    expect(where({})).toEqual([]);
    expect(where({ TRADING_MODE: 'observe' })).toEqual([]);
    expect(where({ BROKER: 'ibkr', IB_ACCOUNT: 'DU1' })).toEqual(['TELEGRAM_BOT_TOKEN']);
    expect(cfg.problems({ TRADING_MODE: 'live', IBKR_ALLOW_LIVE: 'true', BROKER: 'ibkr', IB_ACCOUNT: 'U1' })[0]!.problem).toMatch(/you set BROKER=ibkr and TRADING_MODE=live/);
    expect(where({ TELEGRAM_BOT_TOKEN: TOKEN })).toEqual(['TELEGRAM_CHAT_ID', 'TELEGRAM_APPROVERS']);
    expect(where({ TELEGRAM_BOT_TOKEN: 'malformed', TELEGRAM_CHAT_ID: '-5' })).toEqual(['TELEGRAM_BOT_TOKEN', 'TELEGRAM_APPROVERS']);

    const hook = { ...TELEGRAM, TELEGRAM_WEBHOOK_URL: 'https://phoenix.example.com/tg', TELEGRAM_WEBHOOK_SECRET: 'webhook-secret-0123456789' };
    expect(where(hook)).toEqual([]);
    expect(lines(cfg.problems({ ...hook, TELEGRAM_WEBHOOK_SECRET: '' }))).toEqual(['TELEGRAM_WEBHOOK_SECRET: needed with TELEGRAM_WEBHOOK_URL: Telegram sends it with every update so strangers cannot post fake taps → generate one: TELEGRAM_WEBHOOK_SECRET=$(openssl rand -hex 24)']);
    expect(where({ TELEGRAM_WEBHOOK_URL: 'https://phoenix.example.com/tg', TELEGRAM_WEBHOOK_SECRET: 'webhook-secret-0123456789' })).toEqual(['TELEGRAM_BOT_TOKEN']);
    expect(where({ ...hook, TELEGRAM_WEBHOOK_URL: 'http://phoenix.example.com/tg' })).toEqual(['TELEGRAM_WEBHOOK_URL']);

    expect(lines(cfg.problems({ INTAKE_PORT: '9000', SANDBOX_PORT: '9000' }))).toEqual(['SANDBOX_PORT: is 9000, the same port as INTAKE_PORT: Phoenix listens on both → give SANDBOX_PORT another free port, e.g. SANDBOX_PORT=9001']);
    expect(where({ INTAKE_PORT: '9000', SANDBOX_PORT: '9001' })).toEqual([]);
    expect(where({ ...TELEGRAM, INTAKE_PORT: '9000', SANDBOX_PORT: '9000' })).toEqual([]); // no sandbox with a bot token
    expect(where({ ...hook, INTAKE_PORT: '8443' })).toEqual(['TELEGRAM_WEBHOOK_PORT']);
  });

  it('CONFIG-5: real money never runs on the demo constitution or with session windows switched off', () => {
    const live = { ...TELEGRAM, TRADING_MODE: 'live', IBKR_ALLOW_LIVE: 'true', BROKER: 'ibkr', IB_ACCOUNT: 'U1234567' };
    expect(lines(cfg.problems({ ...live, CONSTITUTION_PATH: `${process.cwd()}/config/constitution.demo.yaml` }))).toEqual([
      `CONSTITUTION_PATH: TRADING_MODE=live with the DEMO constitution ${process.cwd()}/config/constitution.demo.yaml (its session windows are always open) → point CONSTITUTION_PATH at config/constitution.yaml for real money, or use TRADING_MODE=paper for the demo`,
    ]);
    cfg.constitution(edited(['enforce: true', 'enforce: false']));
    expect(lines(cfg.problems(live))).toEqual([`constitution session.enforce (${F}): is false (session windows not enforced) but TRADING_MODE=live → set session.enforce: true for real money, or use TRADING_MODE=paper`]);
    expect(cfg.problems({ ...live, TRADING_MODE: 'paper', IB_ACCOUNT: 'DU1' })).toEqual([]); // paper may run without session windows
  });
});

describe('CONFIG-6: session times are ordered and inside the day', () => {
  it('CONFIG-6: close before open, flatten deadline at the close or the open, windows backwards or outside the session are refused with fixes; the boundaries inside load', () => {
    const L = (needle: string) => lineOf(REAL_CONSTITUTION, needle);
    const session = (...swaps: [string, string][]) => {
      cfg.constitution(edited(...swaps));
      return lines(cfg.problems());
    };
    expect(session(['close: "16:00"', 'close: "09:30"'])).toEqual([
      `constitution session.close (${F} line ${L('close:')}): must be after the open (09:30), got "09:30" → the session runs within one day: set close later than open, e.g. open "09:30", close "16:00"`,
    ]);
    expect(session(['flattenAt: "15:55"', 'flattenAt: "16:00"'])).toEqual([
      `constitution session.flattenAt (${F} line ${L('flattenAt')}): must be after the open (09:30) and before the close (16:00), got "16:00" → set it a few minutes before the close, e.g. "15:55"`,
    ]);
    expect(session(['flattenAt: "15:55"', 'flattenAt: "15:59"'])).toEqual([]);
    expect(session(['flattenAt: "15:55"', 'flattenAt: "09:30"'])).toHaveLength(1);
    expect(session(['flattenAt: "15:55"', 'flattenAt: "09:31"'])).toEqual([]);
    expect(session(['{ from: "12:00", to: "13:00", label: "lunch" }', '{ from: "13:00", to: "12:00", label: "lunch" }'])).toEqual([
      `constitution session.noTradeWindows[1].to (${F} line ${L('label: "lunch"')}): must be after its from (13:00), got "12:00" → a window runs within one day: swap from and to, or correct the time`,
    ]);
    expect(session(['{ from: "12:00", to: "13:00", label: "lunch" }', '{ from: "12:00", to: "12:00", label: "lunch" }'])).toHaveLength(1);
    expect(session(['{ from: "15:50", to: "16:00"', '{ from: "15:50", to: "16:01"'])).toEqual([
      `constitution session.noTradeWindows[2] (${F} line ${L('last 10 minutes')}): must lie inside the session 09:30-16:00, got 15:50-16:01 → move it inside the session, or remove it (outside the session nothing trades anyway)`,
    ]);
    expect(session(['{ from: "09:30", to: "09:35"', '{ from: "09:29", to: "09:35"'])).toHaveLength(1);
    // times that are themselves malformed are reported as such, and the others are still compared
    expect(session(['open: "09:30"', 'open: 9:30'], ['flattenAt: "15:55"', 'flattenAt: "16:05"'])).toEqual([
      `constitution session.open (${F} line ${L('open:')}): must be a time HH:MM on the 24-hour clock, got "9:30" → write it as "09:30"`,
      `constitution session.flattenAt (${F} line ${L('flattenAt')}): must be after the open (9:30) and before the close (16:00), got "16:05" → set it a few minutes before the close, e.g. "15:55"`,
    ]);
    expect(session(['close: "16:00"', 'close: "24:00"'])[0]).toMatch(/session\.close .*: must be a time HH:MM on the 24-hour clock, got "24:00"/);
  });
});

describe('CONFIG-7: constitution values in plain words, each with the value given and the fix', () => {
  it('CONFIG-7: dailyLossCapUsd -5 → "must be a positive amount in dollars, got -5 → set a value like 30", with its line; other limits likewise; no raw validator wording', () => {
    cfg.constitution(edited(['dailyLossCapUsd: 30', 'dailyLossCapUsd: -5']));
    expect(lines(cfg.problems())).toEqual([`constitution limits.dailyLossCapUsd (${F} line 6): must be a positive amount in dollars, got -5 → set a value like 30`]);

    const text = edited(
      ['dailyLossCapUsd: 30', 'dailyLossCapUsd: "30"'],
      ['maxTradesPerDay: 2', 'maxTradesPerDay: 2.5'],
      ['maxRiskPerTradeUsd: 15', 'maxRiskPerTradeUsd: 0'],
      ['minDvs: 0.80', 'minDvs: 1.5'],
      ['ttlSec: 900', 'ttlSec: -1'],
      ['tokenTtlSec: 300', 'tokenTtlSec: 301'],
      ['intervalSec: 300', 'intervalSec: 4'],
      ['enforce: true', 'enforce: "yes"'],
      ['name: default', 'name: ""'],
      ['regimeTtlSec: {}', 'regimeTtlSec: { range: 0 }'],
    );
    cfg.constitution(text);
    const ps = cfg.problems();
    wellFormed(ps);
    const at = (needle: string) => `${F} line ${lineOf(text, needle)}`;
    expect(lines(ps)).toEqual([
      `constitution name (${at('name:')}): must be a name, got "" → e.g. name: default`,
      `constitution limits.dailyLossCapUsd (${at('dailyLossCapUsd')}): must be a positive amount in dollars, got "30" → set a value like 30, written as a plain number without quotes`,
      `constitution limits.maxTradesPerDay (${at('maxTradesPerDay')}): must be a whole number, 1 or more, got 2.5 → set a value like 2`,
      `constitution limits.maxRiskPerTradeUsd (${at('maxRiskPerTradeUsd')}): must be a positive amount in dollars, got 0 → set a value like 15`,
      `constitution limits.minDvs (${at('minDvs')}): must be a score from 0 to 1, got 1.5 → set a value like 0.8`,
      `constitution staleState.ttlSec (${at(' ttlSec:')}): must be a whole number of seconds, 1 or more, got -1 → set a value like 900 (15 minutes)`,
      `constitution staleState.regimeTtlSec.range (${at('regimeTtlSec')}): must be a whole number of seconds, 1 or more, got 0 → set a value like 1200`,
      `constitution approval.tokenTtlSec (${at('tokenTtlSec')}): must be a whole number of seconds from 1 to 300 (approval tokens live at most 5 minutes), got 301 → set 300 or less`,
      `constitution session.enforce (${at('enforce')}): must be true or false (no quotes), got "yes" → set enforce: true (false only in the demo constitution)`,
      `constitution reconciliation.intervalSec (${at('intervalSec')}): must be a whole number of seconds, 5 or more (reconciliation runs at most 12 times per minute), got 4 → set a value like 300`,
    ]);
    // the boundaries themselves load
    cfg.constitution(edited(['tokenTtlSec: 300', 'tokenTtlSec: 300'], ['intervalSec: 300', 'intervalSec: 5'], ['minDvs: 0.80', 'minDvs: 1'], ['minNetLiquidationUsd: 1500', 'minNetLiquidationUsd: 0']));
    expect(cfg.problems()).toEqual([]);
  });

  it('CONFIG-7: a missing section, an empty file and a file that is not a mapping each get one problem with a fix', () => {
    cfg.constitution(REAL_CONSTITUTION.replace(/^approval:\n(?: {2}.*\n)+/m, ''));
    expect(lines(cfg.problems())).toEqual([`constitution approval (${F}): must be a section of settings, but it is missing → write "approval:" followed by its settings indented below it (copy the section from config/constitution.yaml)`]);
    cfg.constitution('# nothing here\n');
    expect(lines(cfg.problems())).toEqual([`${F}: is empty → start from a copy of config/constitution.yaml (every setting is explained there)`]);
    cfg.constitution('- limits\n- session\n');
    expect(lines(cfg.problems())[0]).toMatch(/^constitution \(config\/constitution\.yaml line 1\): must be a section of settings, got a list → /);
  });
});

describe('CONFIG-7: no setting ever answers in raw validator wording', () => {
  it('CONFIG-7: every constitution setting given a list, a section, text, -1 or null, and every variable given odd text, gets plain words with a fix', () => {
    const defaults = defaultConstitution() as unknown as Record<string, unknown>;
    const leaves: string[][] = [];
    const walk = (v: unknown, path: string[]) => {
      if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
      else leaves.push(path);
    };
    walk(defaults, []);
    expect(leaves.length).toBeGreaterThan(25);
    const base = parseYaml(REAL_CONSTITUTION) as Record<string, unknown>;
    let checked = 0;
    for (const path of leaves) {
      for (const bad of [[1], { a: 1 }, 'x', -1, null]) {
        const doc = structuredClone(base);
        let at: Record<string, unknown> = doc;
        for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
        at[path.at(-1)!] = bad;
        cfg.constitution(toYaml(doc));
        const ps = cfg.problems();
        wellFormed(ps);
        checked += ps.length;
      }
    }
    expect(checked).toBeGreaterThan(leaves.length * 3);
    for (const key of Object.keys(envSchemaFields)) {
      for (const bad of ['x y', '-1', '1.5', '99999999999999999999', 'http://', 'ftp://example.com/', '%%']) wellFormed(cfg.problems({ [key]: bad }));
    }
  });
});

describe('CONFIG-8: unknown keys are refused with "did you mean"', () => {
  it('CONFIG-8: dailyLossCapp (meant as a $5 cap) is refused instead of silently running with the $30 default; the right key is suggested', () => {
    const text = edited(['  dailyLossCapUsd: 30', '  dailyLossCapp: 5']);
    cfg.constitution(text);
    expect(lines(cfg.problems())).toEqual([
      `constitution limits.dailyLossCapp (${F} line ${lineOf(text, 'dailyLossCapp')}): unknown key; did you mean dailyLossCapUsd? → rename it to dailyLossCapUsd (a misspelt setting would otherwise be ignored and its default used)`,
    ]);
    expect(() => cfg.load()).toThrow(/Phoenix will not start: 1 configuration problem\n/);
  });

  it('CONFIG-8: typos in keys, sections and list items get the right suggestion; a key like nothing known lists the known keys; a misspelt section is reported once (not also as missing)', () => {
    const text = edited(['maxRiskPerTradeUsd: 15', 'maxRiskPerTrade: 15'], ['minDvs:', 'minDVS:'], ['reconciliation:', 'reconcilation:'], ['label: "lunch"', 'lable: "lunch"'], ['maxTradesPerDay: 2', 'maxTradesPerDay: 2\n  maxLeverage: 3']);
    cfg.constitution(text);
    const ps = cfg.problems();
    wellFormed(ps);
    expect(ps.map((p) => `${p.where.split(' (')[0]}: ${p.problem}`)).toEqual([
      'constitution limits.maxLeverage: unknown key',
      'constitution limits.maxRiskPerTrade: unknown key; did you mean maxRiskPerTradeUsd?',
      'constitution limits.minDVS: unknown key; did you mean minDvs?',
      'constitution session.noTradeWindows[1].lable: unknown key; did you mean label?',
      'constitution reconcilation: unknown key; did you mean reconciliation?',
    ]);
    expect(ps[0]!.fix).toBe('remove it or correct its spelling; the keys here are dailyLossCapUsd, maxConsecutiveLosses, maxTradesPerDay, maxPositionPerInstrument, maxRiskPerTradeUsd, maxOrderNotionalUsd, minNetLiquidationUsd, minDvs, minEqs');
    expect(ps[0]!.where).toBe(`constitution limits.maxLeverage (${F} line ${lineOf(text, 'maxLeverage')})`);
  });
});

describe('CONFIG-9: YAML syntax errors show the offending line', () => {
  it('CONFIG-9: a mis-indented key → its line and column, the lines around it and a caret under the spot, with a fix', () => {
    cfg.constitution(edited(['  maxTradesPerDay: 2', '   maxTradesPerDay: 2']));
    expect(cfg.message()).toBe(
      [
        'Phoenix will not start: 1 configuration problem',
        '  - config/constitution.yaml line 8, column 1: not valid YAML: All mapping items must start at the same column → line up the keys of one section under each other (2 spaces per level) and close any [ or { on the same line; compare with config/constitution.yaml',
        '      7 |   maxConsecutiveLosses: 2      # losses in a row -> entries rejected for the rest of the session',
        '      8 |    maxTradesPerDay: 2           # entries submitted today',
        '        | ^',
        '      9 |   maxPositionPerInstrument: 1  # open quantity per instrument (contracts or shares)',
      ].join('\n'),
    );
  });

  it('CONFIG-9: a key written twice (which value would win?) and an unclosed bracket are refused with an excerpt', () => {
    cfg.constitution(edited(['  dailyLossCapUsd: 30', '  dailyLossCapUsd: 30\n  dailyLossCapUsd: 300']));
    expect(cfg.message()).toContain(
      [
        '  - config/constitution.yaml line 7, column 3: not valid YAML: Map keys must be unique → this key is written twice in the same section: keep the one you mean and delete the other',
        '      6 |   dailyLossCapUsd: 30',
        '      7 |   dailyLossCapUsd: 300          # realised loss today >= cap -> entries rejected',
        '        |   ^',
        '      8 |   maxConsecutiveLosses: 2      # losses in a row -> entries rejected for the rest of the session',
      ].join('\n'),
    );
    const holidays = lineOf(REAL_CONSTITUTION, 'holidays');
    const text = edited(['2027-01-01]', '2027-01-01']);
    cfg.constitution(text);
    const msg = cfg.message();
    expect(msg).toContain(`  - config/constitution.yaml line ${holidays + 1}, column 1: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] → `);
    // the line with the bracket left open is shown right above the caret
    expect(msg).toContain([`      ${holidays} | ${text.split('\n')[holidays - 1]}`, `      ${holidays + 1} | reconciliation:`, '         | ^'].join('\n'));
  });
});

describe('CONFIG-10: phoenix doctor reports what the service would', () => {
  it('CONFIG-10: the configuration check lists exactly the loader\'s problems, each with the same fix and the YAML excerpt', () => {
    const env = { ...TELEGRAM, TRADING_MODE: 'live', INTAKE_PORT: 'abc', TELEGRAM_APPROVERS: '-5' };
    cfg.constitution(edited(['timeZone: America/New_York', 'timeZone: Mars/Olympus'], ['2026-01-19', '2026-13-45'], ['  dailyLossCapUsd: 30', '  dailyLossCapp: 30']));
    const service = cfg.problems(env);
    expect(service.length).toBe(8);
    const check = checkConfig({ DATABASE_URL: `file:${cfg.dir}/data/phoenix.db`, ...env }, cfg.dir);
    expect(check.status).toBe('FAIL');
    expect(check.summary).toBe('8 problems: Phoenix will not start');
    expect(check.findings.map((f) => `${f.problem} → ${f.fix}`)).toEqual(lines(service));

    cfg.constitution(edited(['  maxTradesPerDay: 2', '   maxTradesPerDay: 2']));
    const yaml = checkConfig({ DATABASE_URL: `file:${cfg.dir}/data/phoenix.db` }, cfg.dir);
    const text = renderReport([yaml], cfg.dir).lines.join('\n');
    expect(text).toContain(`problem: ${F} line 8, column 1: not valid YAML: All mapping items must start at the same column`);
    expect(text).toContain(['', '                 8 |    maxTradesPerDay: 2           # entries submitted today', '                   | ^', ''].join('\n'));
    expect(text).toContain('fix:     line up the keys of one section under each other');
  });
});

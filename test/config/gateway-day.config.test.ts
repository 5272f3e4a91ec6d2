/**
 * IB Gateway's day in the one-round configuration check (issue 17): IB_RESTART_WINDOW,
 * IB_WEEKLY_LOGIN and IB_LOGIN_REMINDER_MIN each say what is wrong and how to fix it, and a
 * restart window over the flatten deadline is refused with BROKER=ibkr, in the same round as
 * every other problem.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigDir, edited, lines } from './support.js';

let cfg: ConfigDir;
beforeEach(() => {
  cfg = new ConfigDir();
});
afterEach(() => cfg.remove());

const IBKR = { BROKER: 'ibkr', IB_ACCOUNT: 'DU1234567', TELEGRAM_BOT_TOKEN: '123456789:AAHconfigTestSecretPart0123456789', TELEGRAM_CHAT_ID: '-1001234567890', TELEGRAM_APPROVERS: '1001' };

describe('CONFIG-12: IB Gateway day settings are checked in the same round', () => {
  it('CONFIG-12: the defaults load (23:45-00:05, Sun 18:00, 60 min); off turns the window and the reminder off', () => {
    expect(cfg.load(IBKR).env).toMatchObject({ IB_RESTART_WINDOW: { from: 1425, to: 5 }, IB_WEEKLY_LOGIN: { weekday: 0, at: 1080 }, IB_LOGIN_REMINDER_MIN: 60 });
    expect(cfg.load({ ...IBKR, IB_RESTART_WINDOW: 'off', IB_WEEKLY_LOGIN: 'off' }).env).toMatchObject({ IB_RESTART_WINDOW: null, IB_WEEKLY_LOGIN: null });
  });

  it('CONFIG-12: a window that is not HH:MM-HH:MM, longer than 3 hours or empty, a login without a weekday, a reminder over a day: every one named with the value and the fix, all at once', () => {
    const ps = lines(cfg.problems({ ...IBKR, IB_RESTART_WINDOW: '23:45', IB_WEEKLY_LOGIN: 'Sundae 18:00', IB_LOGIN_REMINDER_MIN: '1441' }));
    expect(ps).toHaveLength(3);
    expect(ps[0]).toBe('IB_RESTART_WINDOW: must be a window HH:MM-HH:MM on the 24-hour clock (it may cross midnight), or off, got "23:45" → set it around the gateway\'s daily auto-restart time (IB Gateway: Configure → Settings → Lock and Exit), in the constitution\'s time zone (New York), e.g. IB_RESTART_WINDOW=23:45-00:05; off = none');
    expect(ps[1]).toMatch(/^IB_WEEKLY_LOGIN: must be a weekday and a time like Sun 18:00, or off, got "Sundae 18:00" → /);
    expect(ps[2]).toMatch(/^IB_LOGIN_REMINDER_MIN: must be a whole number of minutes, 0-1440 \(0 = no reminder\), got "1441" → /);
    expect(lines(cfg.problems({ ...IBKR, IB_RESTART_WINDOW: '20:59-00:00' }))).toEqual([expect.stringMatching(/^IB_RESTART_WINDOW: must be at most 180 minutes long \(entries are held inside it\), got 181 minutes → /)]);
    expect(cfg.problems({ ...IBKR, IB_RESTART_WINDOW: '21:00-00:00' })).toEqual([]); // exactly 180 minutes
    expect(lines(cfg.problems({ ...IBKR, IB_RESTART_WINDOW: '12:00-12:00' }))).toEqual([expect.stringMatching(/^IB_RESTART_WINDOW: must have different start and end times, got "12:00-12:00"/)]);
  });

  it('CONFIG-12: with BROKER=ibkr a window over the 15:55 flatten deadline is refused (15:55 is the first minute held: 15:55-16:05 and 15:50-15:56 refused, 15:45-15:55 loads); the simulator ignores the window', () => {
    const over = lines(cfg.problems({ ...IBKR, IB_RESTART_WINDOW: '15:55-16:05' }));
    expect(over).toEqual([
      'IB_RESTART_WINDOW: is 15:55–16:05, which holds the 15:55 flatten deadline (constitution session.flattenAt): the gateway would be restarting when Phoenix must close positions → move the gateway\'s daily auto-restart (IB Gateway: Configure → Settings → Lock and Exit) and IB_RESTART_WINDOW outside trading hours, e.g. IB_RESTART_WINDOW=23:45-00:05',
    ]);
    expect(cfg.problems({ ...IBKR, IB_RESTART_WINDOW: '15:50-15:56' })).toHaveLength(1);
    expect(cfg.problems({ ...IBKR, IB_RESTART_WINDOW: '15:45-15:55' })).toEqual([]);
    expect(cfg.problems({ IB_RESTART_WINDOW: '15:55-16:05' })).toEqual([]); // BROKER=sim: no gateway
    // in the same round as a problem elsewhere in the constitution, and against the file's own deadline
    cfg.constitution(edited(['  dailyLossCapUsd: 30', '  dailyLossCapUsd: -5'], ['flattenAt: "15:55"', 'flattenAt: "15:40"']));
    expect(lines(cfg.problems({ ...IBKR, IB_RESTART_WINDOW: '15:35-15:45' })).map((l) => l.slice(0, l.indexOf(':')))).toEqual(['constitution limits.dailyLossCapUsd (config/constitution.yaml line 6)', 'IB_RESTART_WINDOW']);
    expect(lines(cfg.problems({ ...IBKR, IB_RESTART_WINDOW: '15:55-16:05' }))).toHaveLength(1); // the deadline moved out of it
  });
});

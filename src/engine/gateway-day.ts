/**
 * IB Gateway's day (SPEC 4 "gateway restart window", SPEC 17), pure: the daily restart window
 * in which entries are held and a disconnect is expected (INFO), the weekly 2FA re-login and
 * its reminder, and the one answer to "are entries held right now, and why" that the gate, the
 * card and /status all use. Times are local to the constitution's time zone (America/New_York)
 * at minute resolution; a window may cross midnight (23:45–00:05).
 */
import type { BrokerHealth } from './broker.port.js';
import { clockTime, dayClockTime } from './people-time.js';
import { localTime } from './session.calendar.js';

export interface GatewayDay {
  /** minutes after local midnight, [from, to); null = no restart window */
  readonly restartWindow: { readonly from: number; readonly to: number } | null;
  /** the weekly re-login (IBKR wants a full login with 2FA once a week); null = no reminder */
  readonly weeklyLogin: { readonly weekday: number; readonly at: number } | null;
  /** how long before the weekly login the reminder goes out */
  readonly remindMinutesBefore: number;
}

export const WEEKDAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const FULL_DAY: Record<string, string> = { Sun: 'sunday', Mon: 'monday', Tue: 'tuesday', Wed: 'wednesday', Thu: 'thursday', Fri: 'friday', Sat: 'saturday' };
const DAY = 1440;
const MIN = 60_000;

export const hhmm = (minutes: number): string => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
const minutesOf = (s: string): number | null => {
  const m = TIME.exec(s.trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
};

/** Longest restart window accepted: a gateway restart takes minutes; IBKR's nightly reset about an hour. */
export const MAX_WINDOW_MINUTES = 180;

/** "23:45-00:05" → the window, "off" → null; a string says what is wrong. */
export function parseRestartWindow(text: string): GatewayDay['restartWindow'] | string {
  const t = text.trim();
  if (/^off$/i.test(t)) return null;
  const m = /^(\S+)\s*[-–]\s*(\S+)$/.exec(t);
  const from = m ? minutesOf(m[1]!) : null;
  const to = m ? minutesOf(m[2]!) : null;
  if (from === null || to === null) return 'must be a window HH:MM-HH:MM on the 24-hour clock (it may cross midnight), or off';
  const length = (to - from + DAY) % DAY;
  if (length === 0) return 'must have different start and end times';
  if (length > MAX_WINDOW_MINUTES) return `must be at most ${MAX_WINDOW_MINUTES} minutes long (entries are held inside it), got ${length} minutes`;
  return { from, to };
}

/** "Sun 18:00" → the weekly login, "off" → null; a string says what is wrong. */
export function parseWeeklyLogin(text: string): GatewayDay['weeklyLogin'] | string {
  const t = text.trim();
  if (/^off$/i.test(t)) return null;
  const m = /^([A-Za-z]+)\s+(\S+)$/.exec(t);
  const day = m?.[1]!.toLowerCase() ?? '';
  const weekday = WEEKDAY_NAMES.findIndex((d) => day === d.toLowerCase() || day === FULL_DAY[d]);
  const at = m ? minutesOf(m[2]!) : null;
  if (weekday < 0 || at === null) return 'must be a weekday and a time like Sun 18:00, or off';
  return { weekday, at };
}

export function windowLabel(w: NonNullable<GatewayDay['restartWindow']>): string {
  return `${hhmm(w.from)}–${hhmm(w.to)}`;
}

/** `minutes` (after local midnight) falls inside the window [from, to). */
export function windowContains(w: NonNullable<GatewayDay['restartWindow']>, minutes: number): boolean {
  return w.from < w.to ? minutes >= w.from && minutes < w.to : minutes >= w.from || minutes < w.to;
}

/** Inside the daily restart window at `now` (the window's last minute is `to` − 1). */
export function inRestartWindow(now: number, gw: GatewayDay | null | undefined, timeZone: string): boolean {
  const w = gw?.restartWindow;
  if (!w) return false;
  return windowContains(w, localTime(now, timeZone).minutes);
}

/** When the window `now` is in ends (epoch ms, at the minute). */
export function restartWindowEnd(now: number, w: NonNullable<GatewayDay['restartWindow']>, timeZone: string): number {
  const m = localTime(now, timeZone).minutes;
  return Math.floor(now / MIN) * MIN + ((w.to - m + DAY) % DAY) * MIN;
}

export type HoldCode = 'GATEWAY_LOGIN' | 'GATEWAY_RESTART_WINDOW';

/** The words every surface uses for a gateway that is up but not logged in. */
export const WAITING_FOR_LOGIN_TEXT = 'gateway waiting for login (2FA)';

/**
 * Are new entries held because of the gateway, and why? WAITING_FOR_LOGIN (from any IBKR
 * session, configured window or not) first, then the restart window. Null: not held.
 */
export function entryHold(now: number, gw: GatewayDay | null | undefined, timeZone: string, broker: Pick<BrokerHealth, 'state'>): { readonly code: HoldCode; readonly message: string } | null {
  if (broker.state === 'WAITING_FOR_LOGIN') {
    return { code: 'GATEWAY_LOGIN', message: `${WAITING_FOR_LOGIN_TEXT}: IB Gateway is up but nobody is logged in; entries held until the login (approve the IB Key prompt; RB-007)` };
  }
  const w = gw?.restartWindow;
  if (w && inRestartWindow(now, gw, timeZone)) {
    const end = clockTime(restartWindowEnd(now, w, timeZone), timeZone);
    return { code: 'GATEWAY_RESTART_WINDOW', message: `IB Gateway daily restart window ${windowLabel(w)}: entries held until ${end} and the gateway is back (RB-007)` };
  }
  return null;
}

/**
 * The weekly login reminder due at `now`: inside the `remindMinutesBefore` minutes before the
 * next weekly login. `loginAt` (epoch ms) identifies the occurrence (one reminder per login).
 */
export function loginReminderDue(now: number, gw: GatewayDay | null | undefined, timeZone: string): { readonly loginAt: number; readonly inMinutes: number; readonly label: string } | null {
  const login = gw?.weeklyLogin;
  if (!login || gw.remindMinutesBefore <= 0) return null;
  const t = localTime(now, timeZone);
  let until = ((login.weekday - t.weekday + 7) % 7) * DAY + (login.at - t.minutes);
  if (until <= 0) until += 7 * DAY; // the login minute itself is too late for a reminder
  if (until > gw.remindMinutesBefore) return null;
  const loginAt = Math.floor(now / MIN) * MIN + until * MIN;
  return { loginAt, inMinutes: until, label: dayClockTime(loginAt, timeZone) };
}

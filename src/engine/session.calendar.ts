/**
 * Trading-session calendar in the exchange time zone (America/New_York by default). Pure:
 * uses Intl for time-zone arithmetic, takes "now" as an argument.
 */
import type { Constitution } from './constitution.js';

export interface LocalTime {
  /** YYYY-MM-DD in the session time zone */
  readonly day: string;
  /** minutes since local midnight */
  readonly minutes: number;
  /** 0 = Sunday */
  readonly weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      weekday: 'short',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

// Intl formatting is the costly part of every gate evaluation; within one minute the answer
// is the same, so keep the last few (minute, zone) results.
const localCache = new Map<string, LocalTime>();

export function localTime(epochMs: number, timeZone: string): LocalTime {
  const key = `${Math.floor(epochMs / 60_000)}|${timeZone}`;
  const hit = localCache.get(key);
  if (hit) return hit;
  const t = computeLocalTime(epochMs, timeZone);
  if (localCache.size > 64) localCache.clear();
  localCache.set(key, t);
  return t;
}

function computeLocalTime(epochMs: number, timeZone: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(epochMs)) parts[p.type] = p.value;
  return {
    day: `${parts.year}-${parts.month}-${parts.day}`,
    minutes: Number(parts.hour) * 60 + Number(parts.minute),
    weekday: WEEKDAYS.indexOf(parts.weekday ?? ''),
  };
}

export function toMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

export function isTradingDay(day: string, weekday: number, holidays: readonly string[]): boolean {
  return weekday >= 1 && weekday <= 5 && !holidays.includes(day);
}

/** The trading day a timestamp belongs to (local calendar day). */
export function tradingDayOf(epochMs: number, c: Constitution): string {
  return localTime(epochMs, c.session.timeZone).day;
}

export type SessionVerdict = { open: true } | { open: false; reason: string; nextOpen: number | null };

/**
 * Is a new entry allowed now? Closed outside regular hours, inside a no-trade window, after
 * the flatten deadline, on weekends and holidays. When closed, `nextOpen` says when entries
 * are next allowed (searched minute by minute over at most 10 days).
 */
export function sessionVerdict(now: number, c: Constitution): SessionVerdict {
  if (!c.session.enforce) return { open: true };
  const why = closedReason(now, c);
  if (!why) return { open: true };
  return { open: false, reason: why, nextOpen: nextOpenAfter(now, c) };
}

function closedReason(now: number, c: Constitution): string | null {
  const s = c.session;
  const t = localTime(now, s.timeZone);
  if (!isTradingDay(t.day, t.weekday, s.holidays)) return t.weekday === 0 || t.weekday === 6 ? 'weekend' : 'exchange holiday';
  if (t.minutes < toMinutes(s.open) || t.minutes >= toMinutes(s.close)) return 'outside regular hours';
  if (t.minutes >= toMinutes(s.flattenAt)) return `after the ${s.flattenAt} flatten deadline`;
  for (const w of s.noTradeWindows) {
    if (t.minutes >= toMinutes(w.from) && t.minutes < toMinutes(w.to)) return `no-trade window (${w.label})`;
  }
  return null;
}

function nextOpenAfter(now: number, c: Constitution): number | null {
  const step = 60_000;
  let t = Math.floor(now / step) * step + step;
  // coarse hops of 15 minutes, then refine to the minute
  for (let i = 0; i < 10 * 96; i++, t += 15 * step) {
    if (!closedReason(t, c)) {
      let back = t;
      while (back - step > now && !closedReason(back - step, c)) back -= step;
      return back;
    }
  }
  return null;
}

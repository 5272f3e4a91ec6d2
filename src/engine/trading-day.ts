/**
 * Which trading day a fill's P&L belongs to (INV-PNL-DAY-1). The rule, in words:
 * - a position's realised P&L, with every commission of its fills, is booked on the trading day
 *   of the fill that last changed it (the fill's own time at the exchange, never the time Phoenix
 *   processed it: a Tuesday 15:45 stop replayed on Wednesday 09:40 is Tuesday's);
 * - stocks: the calendar day in the constitution's time zone;
 * - futures: the exchange session day — CME's day starts at 18:00 New York time the evening
 *   before, so a fill at or after 18:00 belongs to the next trading day (Sunday 18:00 → Monday;
 *   the evening before a holiday → the day after it).
 */
import type { Instrument } from './broker.port.js';
import type { Constitution } from './constitution.js';
import { isTradingDay, localTime } from './session.calendar.js';

const DAY_MS = 86_400_000;
const FUTURES_SESSION_STARTS_MIN = 18 * 60;

const addDays = (day: string, n: number): string => new Date(Date.parse(`${day}T12:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
const weekdayOf = (day: string): number => new Date(`${day}T12:00:00Z`).getUTCDay();

/** The first trading day on or after `day` (at most 30 days ahead). */
export function tradingDayOnOrAfter(day: string, c: Constitution): string {
  let d = day;
  for (let i = 0; i < 30 && !isTradingDay(d, weekdayOf(d), c.session.holidays); i++) d = addDays(d, 1);
  return d;
}

export function pnlDayOf(fillTime: number, instrument: Pick<Instrument, 'secType'>, c: Constitution): string {
  const t = localTime(fillTime, c.session.timeZone);
  if (instrument.secType !== 'FUT') return t.day;
  return t.minutes >= FUTURES_SESSION_STARTS_MIN ? tradingDayOnOrAfter(addDays(t.day, 1), c) : tradingDayOnOrAfter(t.day, c);
}

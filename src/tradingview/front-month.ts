/**
 * Which dated futures contract a continuous TradingView ticker (`MES1!`, `MES2!`) means at a
 * given moment. Pure date arithmetic, no I/O.
 *
 * Rule `cme-quarterly` (CME equity index futures: ES/MES, NQ/MNQ, RTY/M2K, YM/MYM):
 * - contracts are listed for March, June, September and December (H, M, U, Z);
 * - a contract expires on the third Friday of its month;
 * - the front month rolls `daysBeforeExpiry` calendar days before that Friday (default 8:
 *   the Thursday of the week before expiry, CME's customary roll date, when volume moves).
 * From the roll date on (the alert's calendar date in the exchange's time zone, New York)
 * the next quarter is the front month: `1!` is that contract, `2!` the one after it.
 */

export interface RollRule {
  readonly rule: 'cme-quarterly';
  readonly daysBeforeExpiry: number;
}

export const QUARTERLY_MONTHS = [3, 6, 9, 12] as const;

/** Futures month codes (CME): F Jan … Z Dec. */
export const MONTH_CODES = 'FGHJKMNQUVXZ';

const DAY_MS = 86_400_000;

/** Day number (days since 1970-01-01) of a calendar date. */
const dayNumber = (y: number, m: number, d: number): number => Date.UTC(y, m - 1, d) / DAY_MS;

/** Day of the month of the third Friday. */
export function thirdFriday(year: number, month: number): number {
  const firstWeekday = new Date(Date.UTC(year, month - 1, 1)).getUTCDay(); // 0 Sunday … 5 Friday
  return 1 + ((5 - firstWeekday + 7) % 7) + 14;
}

/** The calendar date of an instant in a time zone, as a day number. */
export function localDayNumber(atMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(atMs);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  return dayNumber(get('year'), get('month'), get('day'));
}

export interface ContractMonth {
  readonly year: number;
  readonly month: number;
}

export const yyyymm = (c: ContractMonth): string => `${c.year}${String(c.month).padStart(2, '0')}`;

/** Expiry (third Friday) of a contract as a day number. */
export const expiryDay = (c: ContractMonth): number => dayNumber(c.year, c.month, thirdFriday(c.year, c.month));

/** The day from which the next quarter is the front month. */
export const rollDay = (c: ContractMonth, rule: RollRule): number => expiryDay(c) - rule.daysBeforeExpiry;

function nextQuarter(c: ContractMonth): ContractMonth {
  return c.month === 12 ? { year: c.year + 1, month: 3 } : { year: c.year, month: c.month + 3 };
}

/** The `nth` contract (1 = front month) at an instant, e.g. `MES1!` on 2026-11-24 → 202612. */
export function frontContract(atMs: number, timeZone: string, rule: RollRule, nth = 1): ContractMonth {
  const today = localDayNumber(atMs, timeZone);
  const d = new Date(today * DAY_MS);
  const month = d.getUTCMonth() + 1;
  let c: ContractMonth = { year: d.getUTCFullYear(), month: QUARTERLY_MONTHS.find((q) => q >= month) ?? 12 };
  while (today >= rollDay(c, rule)) c = nextQuarter(c);
  for (let i = 1; i < nth; i++) c = nextQuarter(c);
  return c;
}

/** The calendar date of a day number, YYYY-MM-DD (for messages). */
export const isoDay = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);

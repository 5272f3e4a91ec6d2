/**
 * The simulation's market calendar: US exchange holidays by rule (so any year works, not only
 * the ones config/constitution.yaml lists) and half-days (the exchange closes at 13:00 ET —
 * Phoenix's constitution has no early close, so on those days the simulated actors stop trading
 * at 13:00 and Phoenix still runs its 15:55 deadline; see docs/SIMULATION.md).
 */
const DAY_MS = 86_400_000;

export const addDays = (day: string, n: number): string => new Date(Date.parse(`${day}T12:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
export const weekdayOf = (day: string): number => new Date(`${day}T12:00:00Z`).getUTCDay();

const ymd = (y: number, m: number, d: number) => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;

/** The n-th (1-based; -1 = last) weekday `wd` of a month. */
function nthWeekday(y: number, m: number, wd: number, n: number): string {
  if (n > 0) {
    const first = weekdayOf(ymd(y, m, 1));
    return ymd(y, m, 1 + ((wd - first + 7) % 7) + (n - 1) * 7);
  }
  const lastDay = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const last = weekdayOf(ymd(y, m, lastDay));
  return ymd(y, m, lastDay - ((last - wd + 7) % 7));
}

/** A fixed-date holiday on a weekend is observed on the Friday before / Monday after. */
function observed(day: string): string {
  const wd = weekdayOf(day);
  return wd === 6 ? addDays(day, -1) : wd === 0 ? addDays(day, 1) : day;
}

/** Gregorian Easter Sunday (anonymous algorithm). */
function easter(y: number): string {
  const a = y % 19;
  const b = Math.floor(y / 100);
  const c = y % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return ymd(y, month, day);
}

/** NYSE-style full holidays of a year. */
export function holidaysOf(y: number): string[] {
  return [
    observed(ymd(y, 1, 1)),
    nthWeekday(y, 1, 1, 3), // MLK
    nthWeekday(y, 2, 1, 3), // Presidents
    addDays(easter(y), -2), // Good Friday
    nthWeekday(y, 5, 1, -1), // Memorial
    observed(ymd(y, 6, 19)),
    observed(ymd(y, 7, 4)),
    nthWeekday(y, 9, 1, 1), // Labor
    nthWeekday(y, 11, 4, 4), // Thanksgiving
    observed(ymd(y, 12, 25)),
  ].filter((d) => d.startsWith(String(y)));
}

/** Early closes (13:00 ET): the day after Thanksgiving, Christmas Eve, July 3 (when trading days). */
export function halfDaysOf(y: number): string[] {
  return [addDays(nthWeekday(y, 11, 4, 4), 1), ymd(y, 12, 24), ymd(y, 7, 3)];
}

export interface SimCalendar {
  readonly holidays: readonly string[];
  readonly halfDays: ReadonlySet<string>;
  isTradingDay(day: string): boolean;
  /** the first trading day on or after `day` */
  nextTradingDay(day: string): string;
}

export function calendarFor(fromDay: string, years: number): SimCalendar {
  const y0 = Number(fromDay.slice(0, 4));
  const holidays: string[] = [];
  const half = new Set<string>();
  for (let y = y0 - 1; y <= y0 + years + 1; y++) {
    holidays.push(...holidaysOf(y));
    for (const d of halfDaysOf(y)) half.add(d);
  }
  const hol = new Set(holidays);
  const isTradingDay = (day: string) => weekdayOf(day) >= 1 && weekdayOf(day) <= 5 && !hol.has(day);
  for (const d of [...half]) if (!isTradingDay(d)) half.delete(d);
  return {
    holidays: [...hol].sort(),
    halfDays: half,
    isTradingDay,
    nextTradingDay(day) {
      let d = day;
      for (let i = 0; i < 30 && !isTradingDay(d); i++) d = addDays(d, 1);
      return d;
    },
  };
}

const NY = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const nyCache = new Map<string, number>();

/** Epoch ms of a New York wall-clock time on `day` (DST-safe: asks Intl which offset applies). */
export function nyTime(day: string, hhmm: string, seconds = 0): number {
  const key = `${day} ${hhmm}`;
  let base = nyCache.get(key);
  if (base === undefined) {
    const [h, m] = hhmm.split(':').map(Number) as [number, number];
    base = Date.parse(`${day}T00:00:00Z`) + ((h + 5) * 60 + m) * 60_000;
    // EST is UTC-5, EDT UTC-4: keep the offset that reads back as the wanted wall time
    for (const offset of [5, 4]) {
      const t = Date.parse(`${day}T00:00:00Z`) + ((h + offset) * 60 + m) * 60_000;
      const parts = NY.formatToParts(t);
      if (Number(parts.find((p) => p.type === 'hour')?.value) === h && Number(parts.find((p) => p.type === 'minute')?.value) === m) {
        base = t;
        break;
      }
    }
    if (nyCache.size > 10_000) nyCache.clear();
    nyCache.set(key, base);
  }
  return base + seconds * 1000;
}

/** The quarterly futures contract month (YYYYMM) traded on `day`: the next of Mar/Jun/Sep/Dec after this month. */
export function frontMonth(day: string): string {
  const y = Number(day.slice(0, 4));
  const m = Number(day.slice(5, 7));
  const q = Math.ceil((m + 1) / 3) * 3;
  return q > 12 ? `${y + 1}03` : `${y}${String(q).padStart(2, '0')}`;
}

/**
 * The building blocks of the constitution schema, each with its rule and its fix in plain
 * words (SPEC 2 "Configuration": every problem with its fix). A message is `rule → fix`; the
 * config loader splits it at FIX_MARK and puts the value that was given in between, e.g.
 * `must be a positive amount in dollars, got -5 → set a value like 30`.
 */
import { z } from 'zod';
import { didYouMean } from './did-you-mean.js';

export const FIX_MARK = ' → ';
export const says = (rule: string, fix: string): string => `${rule}${FIX_MARK}${fix}`;

interface RawIssue {
  readonly code?: string;
  readonly input?: unknown;
}

const quotedNumber = (v: unknown) => typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v);

/** One message for every issue of a field; a number written in quotes gets that said. */
const message = (rule: string, fix: string) => (iss: RawIssue) => (iss.code === 'invalid_type' && quotedNumber(iss.input) ? says(rule, `${fix}, written as a plain number without quotes`) : says(rule, fix));

export interface NumberRule {
  readonly int?: boolean;
  /** strictly greater than */
  readonly gt?: number;
  readonly gte?: number;
  readonly lte?: number;
}

/** A number with its default; `rule` says what it must be, the fix suggests the default. */
export function num(def: number, rule: string, o: NumberRule, fix = `set a value like ${def}`) {
  let s = z.number({ error: message(rule, fix) });
  if (o.int) s = s.int();
  if (o.gt !== undefined) s = s.gt(o.gt);
  if (o.gte !== undefined) s = s.gte(o.gte);
  if (o.lte !== undefined) s = s.lte(o.lte);
  return s.default(def);
}

export const dollars = (def: number) => num(def, 'must be a positive amount in dollars', { gt: 0 });
export const dollarsOrZero = (def: number) => num(def, 'must be an amount in dollars, 0 or more', { gte: 0 });
export const wholeCount = (def: number) => num(def, 'must be a whole number, 1 or more', { int: true, gte: 1 });
export const score = (def: number) => num(def, 'must be a score from 0 to 1', { gte: 0, lte: 1 });
export const seconds = (def: number, fix?: string) => num(def, 'must be a whole number of seconds, 1 or more', { int: true, gte: 1 }, fix);
export const minutes = (def: number) => num(def, 'must be a positive number of minutes', { gt: 0 });

export const flag = (def: boolean, fix: string) => z.boolean({ error: message('must be true or false (no quotes)', fix) }).default(def);

export const text = (what: string, fix: string) => z.string({ error: message(`must be ${what}`, fix) }).min(1);

/** A section of settings (a YAML mapping); unknown keys are refused (the loader suggests the right one). */
export function section<T extends z.core.$ZodLooseShape>(fix: string, shape: T) {
  return z.strictObject(shape, { error: (iss: RawIssue) => (iss.code === 'invalid_type' ? says('must be a section of settings', fix) : undefined) });
}
const sectionFix = (name: string) => `write "${name}:" followed by its settings indented below it (copy the section from config/constitution.yaml)`;
/** A named top-level section of the constitution. */
export const namedSection = <T extends z.core.$ZodLooseShape>(name: string, shape: T) => section(sectionFix(name), shape);

// --- times of day

export const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
export const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
/** minutes after midnight of a well-formed HH:MM, else null (the field reports its own error) */
export const timeOrNull = (v: unknown): number | null => (typeof v === 'string' && HHMM.test(v) ? minutesOf(v) : null);

function timeFix(input: unknown): string {
  if (typeof input === 'number') return 'write the time in quotes, e.g. "09:30"';
  const m = typeof input === 'string' ? /^\s*(\d{1,2})[:.h](\d{2})\s*$/.exec(input) : null;
  if (m && Number(m[1]) < 24 && Number(m[2]) < 60) return `write it as "${m[1]!.padStart(2, '0')}:${m[2]}"`;
  return 'write it like "09:30" (hours 00-23, minutes 00-59, in quotes)';
}
const TIME_RULE = 'must be a time HH:MM on the 24-hour clock';
export const timeOfDay = () => z.string({ error: (iss: RawIssue) => says(TIME_RULE, timeFix(iss.input)) }).regex(HHMM, { error: (iss: RawIssue) => says(TIME_RULE, timeFix(iss.input)) });

// --- calendar dates

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const leap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
export const daysInMonth = (y: number, m: number): number => (m === 2 ? (leap(y) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31);

/** Why `s` is not a real calendar date YYYY-MM-DD (rule → fix), or null when it is one. */
export function calendarDateProblem(s: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return says('must be a date YYYY-MM-DD', 'write it like 2026-12-25');
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12) return says(`is not a calendar date: there is no month ${m[2]}`, 'months run 01-12, e.g. 2026-12-25');
  const n = daysInMonth(y, mo);
  if (d < 1 || d > n) return says(`is not a calendar date: ${MONTHS[mo - 1]} ${y} has ${n} days`, `correct the day (01-${n}); check the exchange calendar for the holiday you meant`);
  return null;
}
export const calendarDate = () =>
  z.string({ error: message('must be a date YYYY-MM-DD', 'write it like 2026-12-25') }).superRefine((s, ctx) => {
    const why = calendarDateProblem(s);
    if (why) ctx.addIssue({ code: 'custom', message: why });
  });

// --- time zones

/** true when this machine's Intl knows the zone (the same check every formatter will make) */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
function timeZoneFix(input: unknown): string {
  const guess = typeof input === 'string' ? didYouMean(input, Intl.supportedValuesOf('timeZone')) : undefined;
  return guess ? `did you mean ${guess}?` : 'use an IANA time zone name, e.g. America/New_York (the exchange\'s zone)';
}
export const timeZone = (def: string) =>
  z
    .string({ error: (iss: RawIssue) => says('must be a time zone name', timeZoneFix(iss.input)) })
    .refine(isTimeZone, { error: (iss: RawIssue) => says('is not a time zone this machine knows', timeZoneFix(iss.input)) })
    .default(def);

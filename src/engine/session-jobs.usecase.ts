/**
 * Session jobs (SPEC 10) and the trading-day calendar they need: the flatten deadline
 * (15:55 ET on trading days: flatten everything with the system actor; the session gate
 * already refuses entries after `session.flattenAt`) and the daily reset at the session
 * open (records a DAILY_RESET JOB bead and sends the DAILY_SUMMARY alert for the previous
 * trading day). Trading days are Monday–Friday minus `session.holidays`.
 *
 * Entry points: `flattenAtDeadline(ctx)`, `dailyReset(ctx, opts)`, and the pure calendar
 * helpers `isTradingDayAt`, `isMarketHours`, `isAfterFlattenDeadline`, `dayStartMs`,
 * `previousTradingDay`. Daily counters (loss, trades, consecutive losses) are derived per
 * trading day by the gates, so "reset" needs no counter writes; it is idempotent per day.
 */
import { pointText, shortHash } from './audit.anchor.js';
import { type EngineContext } from './context.js';
import { SYSTEM_ACTOR } from './domain.js';
import type { IntentRecord } from './domain.js';
import { flatten, isExitReserved, type FlattenReport } from './flatten.usecase.js';
import { isTradingDay, localTime, toMinutes, tradingDayOf } from './session.calendar.js';
import type { Constitution } from './constitution.js';
import { signedUsd } from './people-time.js';
import { AT_BROKER, OPEN_STATES } from './lifecycle.fsm.js';
import { KV } from './kv.keys.js';

// === Calendar (pure)

const DAY_MS = 86_400_000;
const WEEKDAY_OF = (day: string) => new Date(`${day}T12:00:00Z`).getUTCDay();

export function isTradingDayAt(now: number, c: Constitution): boolean {
  const t = localTime(now, c.session.timeZone);
  return isTradingDay(t.day, t.weekday, c.session.holidays);
}

export function isTradingDayString(day: string, c: Constitution): boolean {
  return isTradingDay(day, WEEKDAY_OF(day), c.session.holidays);
}

/** Regular trading hours of a trading day (no-trade windows do not matter here); always true when session rules are off (demo). */
export function isMarketHours(now: number, c: Constitution): boolean {
  if (!c.session.enforce) return true;
  const t = localTime(now, c.session.timeZone);
  return isTradingDay(t.day, t.weekday, c.session.holidays) && t.minutes >= toMinutes(c.session.open) && t.minutes < toMinutes(c.session.close);
}

/** After the flatten deadline on a trading day, before midnight (session rules on). */
export function isAfterFlattenDeadline(now: number, c: Constitution): boolean {
  if (!c.session.enforce) return false;
  const t = localTime(now, c.session.timeZone);
  return isTradingDay(t.day, t.weekday, c.session.holidays) && t.minutes >= toMinutes(c.session.flattenAt);
}

/** YYYY-MM-DD ± n calendar days. */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T12:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

/** Epoch ms of local midnight starting `day` in `timeZone` (DST-safe). */
export function dayStartMs(day: string, timeZone: string): number {
  let t = Date.parse(`${day}T12:00:00Z`);
  for (let i = 0; i < 4; i++) {
    const lt = localTime(t, timeZone);
    if (lt.day === day && lt.minutes === 0) return t;
    const dayDiff = Math.round((Date.parse(`${day}T00:00:00Z`) - Date.parse(`${lt.day}T00:00:00Z`)) / DAY_MS);
    t = t + dayDiff * DAY_MS - lt.minutes * 60_000;
  }
  return t;
}

/** The trading day before `day` (skipping weekends and holidays; at most 30 days back). */
export function previousTradingDay(day: string, c: Constitution): string {
  let d = addDays(day, -1);
  for (let i = 0; i < 30 && !isTradingDayString(d, c); i++) d = addDays(d, -1);
  return d;
}

// === Flatten deadline

export interface DeadlineOutcome {
  readonly ran: boolean;
  readonly reason: string;
  readonly report?: FlattenReport;
}

/**
 * 15:55 ET on a trading day: flatten every open position and working entry through the
 * engine's flatten with the system actor. New entries are refused from here on by the
 * session gate (SESSION_CLOSED "after the 15:55 flatten deadline").
 */
export async function flattenAtDeadline(ctx: EngineContext): Promise<DeadlineOutcome> {
  const c = ctx.constitution;
  const now = ctx.clock.now();
  if (!c.session.enforce) return { ran: false, reason: 'session rules are off (demo constitution)' };
  const t = localTime(now, c.session.timeZone);
  if (!isTradingDay(t.day, t.weekday, c.session.holidays)) return { ran: false, reason: t.weekday === 0 || t.weekday === 6 ? `weekend (${t.day})` : `exchange holiday (${t.day})` };
  const open = await ctx.store.tx((tx) => tx.intents.listByState(AT_BROKER));
  const detail = open.length ? `flatten deadline ${c.session.flattenAt} ${c.session.timeZone}: flattening ${open.length} open position(s)/order(s); entries blocked until the next session` : `flatten deadline ${c.session.flattenAt} ${c.session.timeZone}: nothing open; entries blocked until the next session`;
  await ctx.store.tx(async (tx) => {
    tx.beads.append({ type: 'JOB', intentId: null, ts: now, payload: { job: 'flatten-deadline', event: 'FLATTEN_DEADLINE', detail } });
  });
  if (!open.length) return { ran: true, reason: detail };
  const report = await flatten(ctx, SYSTEM_ACTOR, `flatten deadline ${c.session.flattenAt}`);
  return { ran: true, reason: detail, report };
}

/** The flatten deadline of the trading day an intent was entered on has passed (session rules on). */
export function isPastItsDeadline(intent: Pick<IntentRecord, 'submittedAt' | 'createdAt'>, now: number, c: Constitution): boolean {
  if (!c.session.enforce) return false;
  const entered = localTime(intent.submittedAt ?? intent.createdAt, c.session.timeZone).day;
  const t = localTime(now, c.session.timeZone);
  return t.day > entered || (t.day === entered && t.minutes >= toMinutes(c.session.flattenAt));
}

export interface CatchUpOutcome {
  /** intents found past their deadline with no flatten running for them */
  readonly overdue: readonly string[];
  readonly report?: FlattenReport;
}

/**
 * SAFE-5, INV-FLATTEN-DEADLINE-1: at start-up and on every tick, any open position (or working
 * entry) whose day's flatten deadline has passed and that no flatten owns yet is flattened now,
 * with a CRITICAL alert: a process that was down over 15:55 and comes back at 15:57 (or the next
 * morning) must not leave the day's positions open. Idempotent: flatten reserves its exits.
 */
export async function flattenOverdue(ctx: EngineContext): Promise<CatchUpOutcome> {
  const c = ctx.constitution;
  const now = ctx.clock.now();
  const overdue = await ctx.store.tx(async (tx) => {
    const out: IntentRecord[] = [];
    for (const i of await tx.intents.listByState(OPEN_STATES)) {
      if (isPastItsDeadline(i, now, c) && !isExitReserved(await tx.orders.listByIntent(i.id))) out.push(i);
    }
    if (out.length) {
      const at = localTime(now, c.session.timeZone);
      const hhmm = `${String(Math.floor(at.minutes / 60)).padStart(2, '0')}:${String(at.minutes % 60).padStart(2, '0')}`;
      tx.alerts.enqueue({
        type: 'FLATTEN_DEADLINE_MISSED',
        at: now,
        payload: { summary: `${out.length} position(s)/order(s) still open after the ${c.session.flattenAt} flatten deadline (Phoenix was not running then, or they opened late): flattening them now at ${hhmm} ${c.session.timeZone}.`, facts: { open: out.length, deadline: c.session.flattenAt } },
      });
      tx.beads.append({ type: 'JOB', intentId: null, ts: now, payload: { job: 'flatten-deadline', event: 'FLATTEN_DEADLINE_CATCH_UP', detail: `past the ${c.session.flattenAt} deadline: ${out.map((i) => i.id).join(', ')}` } });
    }
    return out;
  });
  if (!overdue.length) return { overdue: [] };
  const ids = new Set(overdue.map((i) => i.id));
  const report = await flatten(ctx, SYSTEM_ACTOR, `flatten deadline ${c.session.flattenAt} (catch-up)`, { only: (i) => ids.has(i.id) });
  return { overdue: [...ids], report };
}

// === Daily reset

export interface DailySummary {
  readonly day: string;
  readonly trades: number;
  readonly closed: number;
  readonly wins: number;
  readonly losses: number;
  readonly realizedPnlCents: number;
  readonly blocked: number;
  readonly passed: number;
  readonly expired: number;
  readonly rejected: number;
  readonly unresolvedDrifts: number;
}

export interface DailyResetOutcome {
  readonly ran: boolean;
  readonly reason: string;
  readonly summary?: DailySummary;
}

/**
 * Session start: record DAILY_RESET (a JOB bead) and send the DAILY_SUMMARY for the previous
 * trading day. Once per trading day (kv `dailyReset.lastDay`). `onlyAfterOpen` (start-up
 * catch-up) skips it before today's open; the open-time job will do it.
 */
export async function dailyReset(ctx: EngineContext, opts: { readonly onlyAfterOpen?: boolean } = {}): Promise<DailyResetOutcome> {
  const c = ctx.constitution;
  const now = ctx.clock.now();
  const t = localTime(now, c.session.timeZone);
  const today = t.day;
  if (!isTradingDay(today, t.weekday, c.session.holidays)) return { ran: false, reason: `not a trading day (${today})` };
  if (opts.onlyAfterOpen && t.minutes < toMinutes(c.session.open)) return { ran: false, reason: `before the ${c.session.open} open` };
  const prev = previousTradingDay(today, c);
  const from = dayStartMs(prev, c.session.timeZone);
  const to = dayStartMs(addDays(prev, 1), c.session.timeZone);
  return ctx.store.tx(async (tx): Promise<DailyResetOutcome> => {
    if ((await tx.kv.get(KV.dailyResetLastDay)) === today) return { ran: false, reason: `already done for ${today}` };
    if (!(await tx.beads.existsBetween(from, to))) {
      // Phoenix did not run on the previous trading day (fresh database, or down all day): there
      // is nothing to summarise, and an all-zero "summary" would claim a day it never saw.
      tx.beads.append({ type: 'JOB', intentId: null, ts: now, payload: { job: 'daily-reset', event: 'DAILY_RESET', detail: `session ${today} starts; daily loss, trade and consecutive-loss counters start from zero. No summary for ${prev}: Phoenix was not running that day` } });
      await tx.kv.set(KV.dailyResetLastDay, today, now);
      return { ran: true, reason: `daily reset for ${today} (no summary: not running on ${prev})` };
    }
    const closed = await tx.intents.listClosedOn(prev);
    const created = await tx.intents.listCreatedBetween(from, to);
    const pnl = closed.map((i) => i.realizedPnlCents ?? 0);
    const summary: DailySummary = {
      day: prev,
      trades: await tx.intents.countSubmittedBetween(from, to),
      closed: closed.length,
      wins: pnl.filter((p) => p > 0).length,
      losses: pnl.filter((p) => p < 0).length,
      realizedPnlCents: pnl.reduce((a, b) => a + b, 0),
      blocked: created.filter((i) => i.state === 'CANCELLED' && (i.stateReason ?? '').startsWith('blocked by gate')).length,
      passed: created.filter((i) => i.state === 'CANCELLED' && (i.stateReason ?? '').startsWith('passed by')).length,
      expired: created.filter((i) => (i.state === 'CANCELLED' && i.stateReason === 'card_expired') || i.state === 'EXPIRED').length,
      rejected: created.filter((i) => i.state === 'REJECTED').length,
      unresolvedDrifts: (await tx.drifts.unresolved()).length,
    };
    // The audit head leaves the database here, once a day, in a message a person keeps (SAFE-12):
    // `phoenix audit verify --anchor SEQ:HASH` checks the log still holds exactly this bead.
    const head = await tx.beads.head();
    const line = `${prev}: ${summary.trades} trade(s), P&L ${signedUsd(summary.realizedPnlCents)} (${summary.wins} won, ${summary.losses} lost), ${summary.blocked} blocked, ${summary.passed} passed, ${summary.expired} expired, ${summary.rejected} rejected${summary.unresolvedDrifts ? `; ${summary.unresolvedDrifts} drift(s) STILL UNRESOLVED` : ''}`;
    tx.beads.append({ type: 'JOB', intentId: null, ts: now, payload: { job: 'daily-reset', event: 'DAILY_RESET', detail: `session ${today} starts; daily loss, trade and consecutive-loss counters start from zero. Previous day ${line}` } });
    tx.alerts.enqueue({
      type: 'DAILY_SUMMARY',
      at: now,
      payload: {
        summary: `Daily summary ${line}.${head ? ` Audit head #${head.seq} · ${shortHash(head.hash)}` : ''}`,
        facts: { day: prev, trades: summary.trades, pnlUsd: Number((summary.realizedPnlCents / 100).toFixed(2)), blocked: summary.blocked, unresolvedDrifts: summary.unresolvedDrifts, ...(head ? { auditAnchor: pointText(head) } : {}) },
      },
    });
    await tx.kv.set(KV.dailyResetLastDay, today, now);
    return { ran: true, reason: `daily reset for ${today}`, summary };
  }).then((r) => {
    if (r.ran) ctx.notify();
    return r;
  });
}

/** The trading day of `now` (re-exported for the jobs: one calendar). */
export { tradingDayOf };

/**
 * Shadow record (SPEC 11, issue 7): what a SHADOW strategy did while it was only watched.
 * PURE: plain records in, statistics out; no store, no clock, no randomness.
 *
 * Input: the strategy's shadow intents of its current shadow period, each with the codes of
 * the INTAKE gates that refused it (empty = it would have been PROPOSED, i.e. carded).
 *
 * Evidence is made of would-have-been-PROPOSED intents only (issue 13, MONEY-7): an intent a
 * gate refused was never a card and never a trade, so it proves nothing about the strategy's
 * trading (20 intents at 02:00 New York with DVS 0.1, all refused, once made a "perfect" record
 * of 0 trades and drawdown 0 that promoted the strategy).
 *   sessionsObserved  distinct TRADING days (session time zone; weekdays that are not
 *                     configured holidays) with at least one would-have-been-proposed intent.
 *   sessionsBlockedOnly  trading days on which every intent was refused (shown, not counted).
 *   regimes           the `regime` tag (e.g. trend, range) of would-have-been-proposed
 *                     intents, counted; untaggedIntents likewise.
 *   trades.simulated  the trades the model below entered; promotion needs a minimum of them
 *                     (constitution promotion.minSimulatedTrades).
 *
 * Would-have-been kills: shadow intents an INTAKE gate would have blocked, counted by gate
 * code (one intent can carry several codes; `total` counts intents).
 *
 * Override rate: of the shadow intents that would have been PROPOSED (every gate passed),
 * the share whose own evidence lists at least one FAILED red check. Such a card asks the
 * human to take a trade its strategy itself flagged; a disciplined approver would have had
 * to PASS it, overriding the strategy. null when nothing would have been proposed.
 *
 * Simulated outcomes — the model (deterministic, uses only recorded data, invents nothing):
 *   - Only would-have-been-PROPOSED intents with an entry price are traded, and each is
 *     assumed approved and filled in full at its entryPrice (no slippage, no commission).
 *   - The engine has no market-data feed, so the price path comes from the strategy's own
 *     later shadow intents on the SAME instrument on the SAME trading day (blocked ones
 *     included): each one's entryPrice is a price the strategy observed at that time.
 *   - Walking those observations in time order, the first one at or beyond the stop exits
 *     the trade AT THE STOP (−1 R); the first at or beyond the target exits it AT THE TARGET.
 *   - No observation crossed either level before the day ended (day trades are flattened at
 *     the deadline at a price we never saw) → outcome UNKNOWN: counted, but left out of
 *     P&L, drawdown, worst day and Sharpe. Nothing is guessed from the setup score.
 *   Limits of the model (say so when reading the numbers): observations are sparse points,
 *   so a level touched between two observations is missed (the trade may show UNKNOWN or the
 *   other level); fills are assumed.
 *
 * Performance, from the resolved (STOP/TARGET) trades only:
 *   totalPnlCents / totalR    sums
 *   maxDrawdown               largest peak-to-trough fall of the cumulative P&L walked in
 *                             exit order (peak starts at 0), in cents and in R
 *   worstDay                  the lowest daily P&L over the observed sessions (a session
 *                             without resolved trades counts 0)
 *   sharpe                    mean / sample standard deviation of the daily P&L over the
 *                             observed sessions (0 for sessions without resolved trades),
 *                             annualised × √252; null with fewer than 2 sessions or no
 *                             variance. Recorded, no minimum (SPEC 11).
 */
import type { Constitution } from './constitution.js';
import { isTradingDay, localTime } from './session.calendar.js';

export interface ShadowObservation {
  readonly id: string;
  readonly createdAt: number;
  readonly instrumentKey: string;
  readonly side: 'BUY' | 'SELL';
  readonly quantity: number;
  readonly multiplier: number;
  readonly entryPrice: number | null;
  readonly stopLoss: number;
  readonly takeProfit: number;
  readonly regime: string | null;
  /** red checks in the intent's evidence that did not pass */
  readonly failedRedChecks: number;
  /** codes of the INTAKE gates that refused it; empty = would have been PROPOSED */
  readonly denials: readonly string[];
}

export type ShadowCalendar = Pick<Constitution['session'], 'timeZone' | 'holidays'>;

export type ShadowOutcome = 'TARGET' | 'STOP' | 'UNKNOWN';

export interface ShadowTrade {
  readonly intentId: string;
  /** trading day of the entry (YYYY-MM-DD) */
  readonly day: string;
  readonly entryAt: number;
  readonly entryPrice: number;
  readonly outcome: ShadowOutcome;
  readonly exitPrice: number | null;
  /** the observation (intent) whose price decided the exit */
  readonly exitAt: number | null;
  readonly decidedBy: string | null;
  readonly riskCents: number;
  readonly pnlCents: number | null;
  readonly r: number | null;
}

export interface ShadowStats {
  /** shadow intents considered */
  readonly intents: number;
  readonly firstAt: number | null;
  readonly lastAt: number | null;
  /** trading days with at least one would-have-been-proposed intent */
  readonly sessionsObserved: number;
  /** trading days with shadow intents that were ALL refused by a gate (not counted as sessions) */
  readonly sessionsBlockedOnly: number;
  readonly firstSession: string | null;
  readonly lastSession: string | null;
  /** regime tag → would-have-been-proposed intents carrying it */
  readonly regimes: Readonly<Record<string, number>>;
  readonly distinctRegimes: number;
  /** would-have-been-proposed intents without a regime tag */
  readonly untaggedIntents: number;
  readonly wouldHaveBeenProposed: number;
  readonly wouldHaveBeenKills: { readonly total: number; readonly byCode: Readonly<Record<string, number>> };
  readonly override: { readonly count: number; readonly of: number; readonly rate: number | null };
  readonly trades: { readonly simulated: number; readonly resolved: number; readonly wins: number; readonly losses: number; readonly unknown: number };
  readonly totalPnlCents: number;
  readonly totalR: number;
  readonly maxDrawdown: { readonly cents: number; readonly r: number };
  readonly worstDay: { readonly day: string; readonly pnlCents: number } | null;
  readonly sharpe: number | null;
}

export interface ShadowRecord {
  readonly stats: ShadowStats;
  /** every simulated trade, in entry order (not part of the bundle: it can be long) */
  readonly trades: readonly ShadowTrade[];
  /** the trading days observed, ascending */
  readonly sessionDays: readonly string[];
}

/** Rounded so canonical JSON (and the bundle hash) never carries float noise. */
const round = (n: number, digits = 4) => {
  const f = 10 ** digits;
  const v = Math.round(n * f) / f;
  return Object.is(v, -0) ? 0 : v;
};

export function shadowRecord(input: readonly ShadowObservation[], cal: ShadowCalendar): ShadowRecord {
  // stable time order (the store returns oldest first; sort anyway, pure code trusts nothing)
  const obs = input.map((o, i) => ({ o, i })).sort((a, b) => a.o.createdAt - b.o.createdAt || a.i - b.i).map((x) => x.o);
  const dayOf = new Map<string, string>();
  const sessionSet = new Set<string>();
  const blockedDays = new Set<string>();
  for (const o of obs) {
    const t = localTime(o.createdAt, cal.timeZone);
    dayOf.set(o.id, t.day);
    if (!isTradingDay(t.day, t.weekday, cal.holidays)) continue;
    if (o.denials.length) blockedDays.add(t.day);
    else sessionSet.add(t.day);
  }
  const sessionDays = [...sessionSet].sort();
  const blockedOnly = [...blockedDays].filter((d) => !sessionSet.has(d)).length;

  const regimes: Record<string, number> = {};
  let untagged = 0;
  const byCode: Record<string, number> = {};
  let kills = 0;
  let proposed = 0;
  let overrides = 0;
  for (const o of obs) {
    if (o.denials.length) {
      kills++;
      for (const code of new Set(o.denials)) byCode[code] = (byCode[code] ?? 0) + 1;
      continue;
    }
    proposed++;
    if (o.failedRedChecks > 0) overrides++;
    if (o.regime) regimes[o.regime] = (regimes[o.regime] ?? 0) + 1;
    else untagged++;
  }

  const trades: ShadowTrade[] = [];
  obs.forEach((o, idx) => {
    if (o.denials.length || o.entryPrice === null) return;
    const day = dayOf.get(o.id) ?? '';
    trades.push(simulate(o, day, obs.slice(idx + 1).filter((later) => later.instrumentKey === o.instrumentKey && later.entryPrice !== null && dayOf.get(later.id) === day)));
  });

  const resolved = trades.filter((t) => t.outcome !== 'UNKNOWN').sort((a, b) => (a.exitAt ?? 0) - (b.exitAt ?? 0) || a.entryAt - b.entryAt);
  let equity = 0;
  let peak = 0;
  let ddCents = 0;
  let equityR = 0;
  let peakR = 0;
  let ddR = 0;
  const daily = new Map<string, number>(sessionDays.map((d) => [d, 0]));
  for (const t of resolved) {
    equity += t.pnlCents ?? 0;
    peak = Math.max(peak, equity);
    ddCents = Math.max(ddCents, peak - equity);
    equityR += t.r ?? 0;
    peakR = Math.max(peakR, equityR);
    ddR = Math.max(ddR, peakR - equityR);
    daily.set(t.day, (daily.get(t.day) ?? 0) + (t.pnlCents ?? 0));
  }
  let worstDay: ShadowStats['worstDay'] = null;
  for (const [day, pnl] of [...daily.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (!worstDay || pnl < worstDay.pnlCents) worstDay = { day, pnlCents: pnl };
  }

  return {
    sessionDays,
    trades,
    stats: {
      intents: obs.length,
      firstAt: obs[0]?.createdAt ?? null,
      lastAt: obs[obs.length - 1]?.createdAt ?? null,
      sessionsObserved: sessionDays.length,
      sessionsBlockedOnly: blockedOnly,
      firstSession: sessionDays[0] ?? null,
      lastSession: sessionDays[sessionDays.length - 1] ?? null,
      regimes: sortKeys(regimes),
      distinctRegimes: Object.keys(regimes).length,
      untaggedIntents: untagged,
      wouldHaveBeenProposed: proposed,
      wouldHaveBeenKills: { total: kills, byCode: sortKeys(byCode) },
      override: { count: overrides, of: proposed, rate: proposed ? round(overrides / proposed) : null },
      trades: {
        simulated: trades.length,
        resolved: resolved.length,
        wins: resolved.filter((t) => (t.pnlCents ?? 0) > 0).length,
        losses: resolved.filter((t) => (t.pnlCents ?? 0) < 0).length,
        unknown: trades.length - resolved.length,
      },
      totalPnlCents: equity,
      totalR: round(equityR),
      maxDrawdown: { cents: ddCents, r: round(ddR) },
      worstDay,
      sharpe: sharpe([...daily.values()]),
    },
  };
}

function simulate(o: ShadowObservation, day: string, later: readonly ShadowObservation[]): ShadowTrade {
  const entry = o.entryPrice ?? 0;
  const dir = o.side === 'BUY' ? 1 : -1;
  const riskPts = Math.abs(entry - o.stopLoss);
  const scale = o.quantity * o.multiplier * 100;
  const base = { intentId: o.id, day, entryAt: o.createdAt, entryPrice: entry, riskCents: Math.round(riskPts * scale) };
  for (const seen of later) {
    const p = seen.entryPrice ?? 0;
    const exit = dir * (p - o.stopLoss) <= 0 ? o.stopLoss : dir * (p - o.takeProfit) >= 0 ? o.takeProfit : null;
    if (exit === null) continue;
    const move = dir * (exit - entry);
    return {
      ...base,
      outcome: exit === o.stopLoss ? 'STOP' : 'TARGET',
      exitPrice: exit,
      exitAt: seen.createdAt,
      decidedBy: seen.id,
      pnlCents: Math.round(move * scale),
      r: riskPts > 0 ? round(move / riskPts) : null,
    };
  }
  return { ...base, outcome: 'UNKNOWN', exitPrice: null, exitAt: null, decidedBy: null, pnlCents: null, r: null };
}

/** Annualised Sharpe of a daily series (√252), null when undefined. */
export function sharpe(daily: readonly number[]): number | null {
  if (daily.length < 2) return null;
  const mean = daily.reduce((a, b) => a + b, 0) / daily.length;
  const variance = daily.reduce((a, b) => a + (b - mean) ** 2, 0) / (daily.length - 1);
  const sd = Math.sqrt(variance);
  if (!(sd > 0)) return null;
  return round((mean / sd) * Math.sqrt(252));
}

function sortKeys(r: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k] ?? 0;
  return out;
}

// ---------------------------------------------------------------------------------------
// The evidence checklist (SPEC 11, INV-PROMOTION-EVIDENCE-1): pure, every gap listed.

export interface PromotionRequirements {
  readonly minSessions: number;
  readonly minDistinctRegimes: number;
  readonly requiredRegimes: readonly string[];
  /** simulated trades the record needs (constitution promotion.minSimulatedTrades, MONEY-7) */
  readonly minSimulatedTrades: number;
}

/** SPEC 11 / seed SURFACE_5_PROMOTION: 20 sessions, 2 distinct regimes incl. trend and range. */
export const PROMOTION_REQUIREMENTS: Omit<PromotionRequirements, 'minSimulatedTrades'> = { minSessions: 20, minDistinctRegimes: 2, requiredRegimes: ['trend', 'range'] };

/** The requirements under a constitution (its minimum of simulated trades). */
export function promotionRequirements(c: { readonly promotion: { readonly minSimulatedTrades: number } }): PromotionRequirements {
  return { ...PROMOTION_REQUIREMENTS, minSimulatedTrades: c.promotion.minSimulatedTrades };
}

export type MissingCode =
  | 'NOT_REGISTERED'
  | 'NOT_SHADOW'
  | 'PROMOTION_PENDING'
  | 'SESSIONS'
  | 'TRADES'
  | 'REGIMES'
  | 'REGIME_MISSING'
  | 'KILL_FLAG_ACTIVE'
  | 'DRIFT_UNRESOLVED'
  | 'BUNDLE_CHANGED';

export interface MissingItem {
  readonly code: MissingCode;
  readonly message: string;
}

/** Every evidence requirement the record does not meet (empty = evidence complete). */
export function evidenceMissing(stats: ShadowStats, req: PromotionRequirements): MissingItem[] {
  const out: MissingItem[] = [];
  if (stats.sessionsObserved < req.minSessions) {
    const more = req.minSessions - stats.sessionsObserved;
    const b = stats.sessionsBlockedOnly;
    const blocked = b ? `; ${b} day${b === 1 ? '' : 's'} with only blocked intents do${b === 1 ? 'es' : ''} not count` : '';
    out.push({ code: 'SESSIONS', message: `sessions observed: ${stats.sessionsObserved} of ${req.minSessions} (${more} more trading session${more === 1 ? '' : 's'} needed${blocked})` });
  }
  if (stats.trades.simulated < req.minSimulatedTrades) {
    const more = req.minSimulatedTrades - stats.trades.simulated;
    out.push({ code: 'TRADES', message: `simulated trades: ${stats.trades.simulated} of ${req.minSimulatedTrades} (${more} more needed; ${stats.wouldHaveBeenKills.total} of ${stats.intents} shadow intents were blocked by a gate and are no trades)` });
  }
  const seen = Object.keys(stats.regimes);
  if (seen.length < req.minDistinctRegimes) {
    out.push({ code: 'REGIMES', message: `distinct regimes: ${seen.length} of ${req.minDistinctRegimes} (seen: ${seen.length ? seen.join(', ') : 'none'})` });
  }
  for (const r of req.requiredRegimes) {
    if (!seen.includes(r)) out.push({ code: 'REGIME_MISSING', message: `regime '${r}' not observed in shadow` });
  }
  return out;
}

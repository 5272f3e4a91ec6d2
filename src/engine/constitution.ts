/**
 * Risk limits ("constitution", SPEC 4), loaded from config/constitution.yaml by src/config
 * and validated here so the engine and the loader share one definition. Every field says
 * what it must be and how to fix it in plain words (constitution.fields.ts); the session's
 * times are also checked against each other (open < flatten deadline < close, no-trade
 * windows ordered and inside the session).
 */
import { z } from 'zod';
import { calendarDate, dollars, dollarsOrZero, flag, minutes, namedSection, num, says, score, seconds, section, text, timeOfDay, timeOrNull, timeZone, wholeCount } from './constitution.fields.js';

const noTradeWindow = section('write it like { from: "12:00", to: "13:00", label: "lunch" }', { from: timeOfDay(), to: timeOfDay(), label: text('a short label', 'e.g. label: "lunch"') });

const session = namedSection('session', {
  timeZone: timeZone('America/New_York'),
  /** false only in the demo constitution: session windows always open */
  enforce: flag(true, 'set enforce: true (false only in the demo constitution)'),
  open: timeOfDay().default('09:30'),
  close: timeOfDay().default('16:00'),
  noTradeWindows: z
    .array(noTradeWindow, { error: says('must be a list of { from, to, label }', 'write it like - { from: "12:00", to: "13:00", label: "lunch" }, or [] for none') })
    .default([
      { from: '09:30', to: '09:35', label: 'first 5 minutes after the open' },
      { from: '12:00', to: '13:00', label: 'lunch' },
      { from: '15:50', to: '16:00', label: 'last 10 minutes' },
    ]),
  flattenAt: timeOfDay().default('15:55'),
  holidays: z.array(calendarDate(), { error: says('must be a list of dates', 'write it like [2026-11-26, 2026-12-25], or [] for none') }).default([]),
}).superRefine(
  (s, ctx) => {
    // Runs even when a sibling field is invalid (`when`), so the order of the times is reported
    // in the same round; each comparison uses only times that are themselves well formed.
    if (!s || typeof s !== 'object') return; // the section itself is missing or not a mapping (reported already)
    const open = timeOrNull(s.open);
    const close = timeOrNull(s.close);
    const bad = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (open !== null && close !== null && open >= close) {
      bad(['close'], says(`must be after the open (${String(s.open)}), got "${String(s.close)}"`, 'the session runs within one day: set close later than open, e.g. open "09:30", close "16:00"'));
      return; // the other times cannot be placed inside a session that has no inside
    }
    const inside = (t: number) => (open === null || t > open) && (close === null || t < close);
    const flattenAt = timeOrNull(s.flattenAt);
    if (flattenAt !== null && !inside(flattenAt)) {
      bad(['flattenAt'], says(`must be after the open (${String(s.open)}) and before the close (${String(s.close)}), got "${String(s.flattenAt)}"`, 'set it a few minutes before the close, e.g. "15:55"'));
    }
    const windows: unknown = s.noTradeWindows;
    if (!Array.isArray(windows)) return;
    windows.forEach((w: unknown, i) => {
      if (!w || typeof w !== 'object') return;
      const { from: f, to: t } = w as { from?: unknown; to?: unknown };
      const from = timeOrNull(f);
      const to = timeOrNull(t);
      if (from === null || to === null) return;
      if (from >= to) bad(['noTradeWindows', i, 'to'], says(`must be after its from (${String(f)}), got "${String(t)}"`, 'a window runs within one day: swap from and to, or correct the time'));
      else if ((open !== null && from < open) || (close !== null && to > close)) {
        bad(['noTradeWindows', i], says(`must lie inside the session ${String(s.open)}-${String(s.close)}, got ${String(f)}-${String(t)}`, 'move it inside the session, or remove it (outside the session nothing trades anyway)'));
      }
    });
  },
  { when: () => true },
);

export const constitutionSchema = section('the file must hold the sections name, demo, limits, staleState, approval, session and reconciliation: start from a copy of config/constitution.yaml', {
  name: text('a name', 'e.g. name: default').default('default'),
  /** true for the demo constitution: every card says DEMO */
  demo: flag(false, 'set demo: false (true only in config/constitution.demo.yaml)'),
  limits: namedSection('limits', {
    dailyLossCapUsd: dollars(30),
    maxConsecutiveLosses: wholeCount(2),
    maxTradesPerDay: wholeCount(2),
    maxPositionPerInstrument: num(1, 'must be a positive quantity (contracts or shares)', { gt: 0 }),
    maxRiskPerTradeUsd: dollars(15),
    /**
     * price × quantity × multiplier of one order (IB's precautionary "order value" limit rejects
     * larger orders with error 451; refuse them before a card is shown). Default: one MES or
     * MNQ contract fits, a full-size ES or ten micros do not.
     */
    maxOrderNotionalUsd: num(100_000, 'must be a positive amount in dollars, at most 1000000000', { gt: 0, lte: 1e9 }),
    minNetLiquidationUsd: dollarsOrZero(1500),
    minDvs: score(0.8),
    minEqs: score(0.75),
  }),
  staleState: namedSection('staleState', {
    ttlSec: seconds(900, 'set a value like 900 (15 minutes)'),
    regimeTtlSec: z
      .record(z.string(), seconds(1200).unwrap(), { error: says('must map regime names to seconds', 'write it like { range: 1200 }, or {} for none') })
      .default({}),
    killMinutes: minutes(5),
    /** a stateAsOf further in the future than this is a clock problem, not fresh data */
    maxFutureSkewSec: num(60, 'must be a whole number of seconds, 0 or more', { int: true, gte: 0 }),
  }),
  approval: namedSection('approval', {
    tokenTtlSec: num(300, 'must be a whole number of seconds from 1 to 300 (approval tokens live at most 5 minutes)', { int: true, gte: 1, lte: 300 }, 'set 300 or less'),
    defaultCardTtlSec: seconds(300, 'set a value like 300 (5 minutes)'),
    stallAfterSec: seconds(60),
  }),
  session,
  reconciliation: namedSection('reconciliation', {
    intervalSec: num(300, 'must be a whole number of seconds, 5 or more (reconciliation runs at most 12 times per minute)', { int: true, gte: 5 }),
    pnlToleranceUsd: dollarsOrZero(1),
    escalateAfterMin: minutes(15),
  }),
  /**
   * strategy promotion (SPEC 11); optional in the file, so constitutions from before it keep
   * working. minSimulatedTrades: simulated trades a shadow record needs before /promote (MONEY-7;
   * only intents that would have been proposed trade). 10 by default: fewer cannot tell a
   * strategy from luck, and a selective strategy may skip sessions, so not one per session. Never 0.
   */
  promotion: namedSection('promotion', {
    minSimulatedTrades: num(10, 'must be a whole number of simulated trades from 1 to 10000 (a shadow record without trades proves nothing)', { int: true, gte: 1, lte: 10_000 }),
  }).prefault({}),
});

export type Constitution = z.infer<typeof constitutionSchema>;

/** The defaults as an object (tests, and the embedded fallback). */
export function defaultConstitution(overrides: Partial<Record<keyof Constitution, unknown>> = {}): Constitution {
  return constitutionSchema.parse({ limits: {}, staleState: {}, approval: {}, session: {}, reconciliation: {}, ...overrides });
}

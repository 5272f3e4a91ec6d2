/**
 * Risk limits ("constitution", SPEC 4), loaded from config/constitution.yaml by src/config
 * and validated here so the engine and the loader share one definition.
 */
import { z } from 'zod';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'time must be HH:MM (24h)');

export const constitutionSchema = z.strictObject({
  name: z.string().min(1).default('default'),
  /** true for the demo constitution: every card says DEMO */
  demo: z.boolean().default(false),
  limits: z.strictObject({
    dailyLossCapUsd: z.number().positive().default(30),
    maxConsecutiveLosses: z.number().int().positive().default(2),
    maxTradesPerDay: z.number().int().positive().default(2),
    maxPositionPerInstrument: z.number().positive().default(1),
    maxRiskPerTradeUsd: z.number().positive().default(15),
    /**
     * price × quantity × multiplier of one order (IB's precautionary "order value" limit rejects
     * larger orders with error 451; refuse them before a card is shown). Default: one MES or
     * MNQ contract fits, a full-size ES or ten micros do not.
     */
    maxOrderNotionalUsd: z.number({ error: 'limits.maxOrderNotionalUsd must be a number (US dollars)' }).positive('limits.maxOrderNotionalUsd must be greater than 0').max(1e9, 'limits.maxOrderNotionalUsd is out of range').default(100_000),
    minNetLiquidationUsd: z.number().nonnegative().default(1500),
    minDvs: z.number().min(0).max(1).default(0.8),
    minEqs: z.number().min(0).max(1).default(0.75),
  }),
  staleState: z.strictObject({
    ttlSec: z.number().int().positive().default(900),
    regimeTtlSec: z.record(z.string(), z.number().int().positive()).default({}),
    killMinutes: z.number().positive().default(5),
    /** a stateAsOf further in the future than this is a clock problem, not fresh data */
    maxFutureSkewSec: z.number().int().nonnegative().default(60),
  }),
  approval: z.strictObject({
    tokenTtlSec: z.number().int().positive().max(300, 'tokens live at most 5 minutes').default(300),
    defaultCardTtlSec: z.number().int().positive().default(300),
    stallAfterSec: z.number().int().positive().default(60),
  }),
  session: z.strictObject({
    timeZone: z.string().default('America/New_York'),
    /** false only in the demo constitution: session windows always open */
    enforce: z.boolean().default(true),
    open: hhmm.default('09:30'),
    close: hhmm.default('16:00'),
    noTradeWindows: z
      .array(z.strictObject({ from: hhmm, to: hhmm, label: z.string() }))
      .default([
        { from: '09:30', to: '09:35', label: 'first 5 minutes after the open' },
        { from: '12:00', to: '13:00', label: 'lunch' },
        { from: '15:50', to: '16:00', label: 'last 10 minutes' },
      ]),
    flattenAt: hhmm.default('15:55'),
    holidays: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'holidays are YYYY-MM-DD')).default([]),
  }),
  reconciliation: z.strictObject({
    intervalSec: z.number().int().min(5, 'reconciliation runs at most 12 times per minute').default(300),
    pnlToleranceUsd: z.number().nonnegative().default(1),
    escalateAfterMin: z.number().positive().default(15),
  }),
});

export type Constitution = z.infer<typeof constitutionSchema>;

/** The defaults as an object (tests, and the embedded fallback). */
export function defaultConstitution(overrides: Partial<Record<keyof Constitution, unknown>> = {}): Constitution {
  return constitutionSchema.parse({ limits: {}, staleState: {}, approval: {}, session: {}, reconciliation: {}, ...overrides });
}

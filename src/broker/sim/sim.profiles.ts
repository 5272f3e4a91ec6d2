/**
 * Chaos profiles of the simulated broker as data (SPEC section 7), plus the one function
 * that turns a profile and a seeded Random into the outcome of one placement.
 *
 * Entry points: `PROFILES`, `drawOutcome`, `partialQuantity`, `commissionFor`.
 * Invariant: INSTANT never consumes randomness, so a test that mixes INSTANT placements
 * with other seeded draws keeps the same sequence of draws.
 */
import type { Random, SecType } from '../../engine/index.js';

export type SimProfile = 'INSTANT' | 'REALISTIC' | 'ADVERSARIAL';

/** Probabilities of the four entry outcomes; they sum to 1. */
export interface OutcomeTable {
  readonly fill: number;
  readonly partial: number;
  readonly reject: number;
  readonly delay: number;
}

export const PROFILES: Readonly<Record<SimProfile, OutcomeTable>> = Object.freeze({
  INSTANT: { fill: 1, partial: 0, reject: 0, delay: 0 },
  REALISTIC: { fill: 0.9, partial: 0.05, reject: 0.03, delay: 0.02 },
  ADVERSARIAL: { fill: 0.7, partial: 0.15, reject: 0.1, delay: 0.05 },
});

/** A delayed fill lands this many ms of clock time after the placement (inclusive). */
export const DELAY_RANGE_MS = Object.freeze({ min: 10_000, max: 30_000 });
/** A random partial fills this share of the quantity (before rounding down). */
export const PARTIAL_RATIO_RANGE = Object.freeze({ min: 0.3, max: 0.7 });
/** What a profile-drawn rejection says (IB error 201 "Order rejected - reason: ..."). */
export const DEFAULT_REJECT = Object.freeze({ reason: 'Insufficient margin', code: 201 });

/**
 * What happens to one placement. TIMEOUT only comes from fault injection: the order exists
 * at the broker but no ack, fill or event reaches Phoenix until it is released.
 */
export type PlacementOutcome =
  | { readonly kind: 'FILL' }
  | { readonly kind: 'PARTIAL'; readonly ratio: number }
  | { readonly kind: 'REJECT'; readonly reason: string; readonly code: number }
  | { readonly kind: 'DELAY'; readonly delayMs: number }
  | { readonly kind: 'TIMEOUT' };

const FILL: PlacementOutcome = Object.freeze({ kind: 'FILL' });

/** One draw decides the outcome; PARTIAL and DELAY take one more draw for their size. */
export function drawOutcome(profile: SimProfile, random: Random): PlacementOutcome {
  const t = PROFILES[profile];
  if (t.fill >= 1) return FILL;
  const u = random.next();
  if (u < t.fill) return FILL;
  if (u < t.fill + t.partial) {
    const { min, max } = PARTIAL_RATIO_RANGE;
    return { kind: 'PARTIAL', ratio: min + (max - min) * random.next() };
  }
  if (u < t.fill + t.partial + t.reject) return { kind: 'REJECT', ...DEFAULT_REJECT };
  const { min, max } = DELAY_RANGE_MS;
  return { kind: 'DELAY', delayMs: min + Math.floor((max - min + 1) * random.next()) };
}

/**
 * Whole units filled by a partial: `floor(quantity × ratio)`, kept strictly partial —
 * at least 1 and at most quantity − 1 when quantity > 1. A quantity of 1 cannot be partly
 * filled: the result is 0 and the order simply stays working.
 */
export function partialQuantity(quantity: number, ratio: number): number {
  if (quantity <= 1) return 0;
  return Math.min(quantity - 1, Math.max(1, Math.floor(quantity * ratio)));
}

/** IBKR-like fixed commissions: per contract for futures, per share with a minimum for stocks. */
export const COMMISSIONS: Readonly<Record<SecType, { readonly perUnit: number; readonly minimum: number }>> =
  Object.freeze({
    FUT: { perUnit: 0.62, minimum: 0 },
    STK: { perUnit: 0.005, minimum: 1.0 },
  });

/** Commission in USD for one execution of `quantity` units, rounded to 1/10,000. */
export function commissionFor(secType: SecType, quantity: number): number {
  const c = COMMISSIONS[secType];
  return Math.round(Math.max(c.minimum, c.perUnit * quantity) * 10_000) / 10_000;
}

/**
 * The strategies: what they post, good and bad. Good intents follow the market and pass the
 * gates (risk under the cap, fresh state) in any spelling of their contract; the rest are what
 * strategies get wrong — stale or future state, a signalId used again, malformed bodies, risk or
 * size over the limits, poor quality, off-tick prices, market orders without a reference price.
 */
import type { Product } from '../desk.js';
import { frontMonth } from '../calendar.js';
import { roundTick } from './market.js';
import type { Dice } from './rng.js';

export type IntentKind = 'good' | 'stale' | 'future' | 'dup' | 'malformed' | 'risk' | 'qty' | 'quality' | 'offtick' | 'mkt-noref';

const KINDS: readonly [IntentKind, number][] = [
  ['good', 60],
  ['stale', 5],
  ['future', 2],
  ['dup', 6],
  ['malformed', 8],
  ['risk', 4],
  ['qty', 4],
  ['quality', 3],
  ['offtick', 5],
  ['mkt-noref', 3],
];

export function pickKind(d: Dice): IntentKind {
  let r = d.next() * KINDS.reduce((a, [, w]) => a + w, 0);
  for (const [k, w] of KINDS) if ((r -= w) < 0) return k;
  return 'good';
}

export interface Posted {
  readonly t: number;
  readonly signalId: string;
  readonly kind: IntentKind;
  readonly product: Product;
  readonly side: 'BUY' | 'SELL';
  readonly entry: number;
  readonly stop: number;
  readonly target: number;
  readonly ttlSec: number;
  readonly qty: number;
  /** expected to reach a card (the humans react to it) */
  readonly cardable: boolean;
}

/** A usual stop distance per product (price units), so stops and targets get hit by the walk. */
const TYPICAL_STOP: Record<string, number> = { MES: 2.5, MNQ: 10, AAPL: 1.2, MSFT: 1.8 };

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A well-formed body for `p` at market price `px` (maybe a risky/odd variant of it). */
export function intentBody(d: Dice, signalId: string, kind: IntentKind, p: Product, px: number, t: number, maxRiskUsd: number, day: string): { body: Record<string, unknown>; posted: Omit<Posted, 't' | 'signalId' | 'kind' | 'cardable'> } {
  const side = d.chance(0.55) ? 'BUY' : 'SELL';
  const dir = side === 'BUY' ? 1 : -1;
  const qty = kind === 'qty' ? d.int(3, 5) : d.chance(0.12) ? 2 : 1;
  // the stop distance keeps risk (distance × qty × multiplier) under the cap, unless the kind is 'risk'
  const maxDist = maxRiskUsd / (qty * p.multiplier);
  const typical = TYPICAL_STOP[p.symbol] ?? p.tick * 8;
  const dist = kind === 'risk' ? maxDist * d.between(1.3, 3) : Math.max(p.tick, roundTick(Math.min(maxDist * d.between(0.3, 0.95), typical * d.between(0.5, 1.5)), p.tick));
  const entry = kind === 'offtick' ? Math.round((px + p.tick * 0.37) * 1000) / 1000 : roundTick(px + dir * p.tick * d.int(-1, 1), p.tick);
  const stop = roundTick(entry - dir * dist, p.tick);
  const target = roundTick(entry + dir * dist * d.between(1, 3), p.tick);
  const ttlSec = d.pick([30, 60, 120, 300, 300, 600]);
  const instrument: Record<string, unknown> = {
    symbol: d.pick(p.symbols),
    secType: p.secType,
    exchange: d.pick(p.exchanges),
    currency: 'USD',
    ...(p.secType === 'FUT' ? { contractMonth: frontMonth(day), multiplier: p.multiplier } : d.chance(0.3) ? { multiplier: 1 } : {}),
  };
  const stateAsOf = kind === 'stale' ? t - d.int(16, 45) * 60_000 : kind === 'future' ? t + d.int(2, 30) * 60_000 : t - d.int(0, 120) * 1000;
  const orderType = kind === 'mkt-noref' ? 'MKT' : d.pick(['BRACKET', 'BRACKET', 'LMT', 'MKT']);
  const body: Record<string, unknown> = {
    signalId,
    strategy: d.pick(['mes-orb', 'vwap-revert', 'gap-fade']),
    instrument,
    side,
    quantity: qty,
    orderType,
    ...(kind === 'mkt-noref' ? {} : { entryPrice: entry }),
    stopLoss: stop,
    takeProfit: target,
    evidence: {
      setupScore: Math.round(d.between(0.5, 0.99) * 100) / 100,
      breakdown: { trend: 0.8, momentum: Math.round(d.next() * 100) / 100, volume: 0.7 },
      alignment: d.pick(['HTF up; LTF pullback to VWAP', 'range; fade the high', 'gap & go <b>strong</b> & "quoted"']),
      redChecks: [{ name: 'no tier-1 news within 30 min', passed: d.chance(0.9) }],
      dvs: kind === 'quality' ? 0.5 : Math.round(d.between(0.82, 0.99) * 100) / 100,
      eqs: kind === 'quality' ? 0.9 : Math.round(d.between(0.78, 0.99) * 100) / 100,
    },
    stateHash: `sha256:${d.id(12)}`,
    stateAsOf: iso(stateAsOf),
    ttlSec,
    ...(d.chance(0.3) ? { regime: d.pick(['trend', 'range']) } : {}),
  };
  return { body, posted: { product: p, side, entry, stop, target, ttlSec, qty } };
}

/** Ways a body goes wrong on the wire; each must be a clear 400 that stores nothing. */
export function malform(d: Dice, body: Record<string, unknown>): Record<string, unknown> {
  const b = structuredClone(body);
  const ev = b.evidence as Record<string, unknown>;
  switch (d.int(0, 11)) {
    case 0:
      delete b.stopLoss;
      break;
    case 1:
      b.quantity = -1;
      break;
    case 2:
      b.quantity = 1.5;
      break;
    case 3:
      b.entryPrice = Number.NaN;
      break;
    case 4:
      b.stopLoss = b.takeProfit; // stop on the wrong side
      break;
    case 5:
      b.unexpected = 'field';
      break;
    case 6:
      b.stateAsOf = 'yesterday';
      break;
    case 7:
      ev.dvs = 7;
      break;
    case 8:
      (b.instrument as Record<string, unknown>).secType = 'OPT';
      break;
    case 9:
      (b.instrument as Record<string, unknown>).currency = 'usd';
      break;
    case 10:
      b.signalId = 'has spaces and ☃';
      break;
    default:
      return { ...b, quantity: '1' };
  }
  return b;
}

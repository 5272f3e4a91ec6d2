/**
 * Mock signal generator for `phoenix demo` (SPEC 2, 3): realistic intents in the public wire
 * format for MES and MNQ futures and AAPL and MSFT stocks, seeded and deterministic (the same
 * seed and time give the same intents), with fresh `stateAsOf`, varied evidence and trend /
 * range regimes. Most carry a risk inside the default $15 cap; a few are there on purpose for
 * the gates to block:
 *   low-quality  DVS (or EQS) under the minimum            → CANCELLED, QUALITY
 *   oversized    |entry − stop| × qty × multiplier > cap   → CANCELLED, RISK_PER_TRADE
 *   stale        stateAsOf 25–40 min old (at most one)      → CANCELLED, STATE_CONFLICT + 5-min kill
 *   malformed    `stop_loss` instead of `stopLoss`          → 400 (nothing stored)
 * A stop on the wrong side of the entry is not among them: the schema refuses it (a 400), so
 * it can never reach a gate.
 */
import { createHash } from 'node:crypto';
import { seededRandom, usdAmount, type Random } from '../engine/index.js';

export type DemoKind = 'ok' | 'low-quality' | 'oversized' | 'stale' | 'malformed';

export interface DemoExpectation {
  /** HTTP status the intake answers */
  readonly status: 202 | 400;
  /** with 202, the state when nothing else intervenes (kill flags, limits reached, session) */
  readonly state?: 'PROPOSED' | 'CANCELLED';
  /** the gate codes the intent was built to trip */
  readonly codes: readonly string[];
}

export interface DemoSignal {
  readonly index: number;
  readonly kind: DemoKind;
  readonly expect: DemoExpectation;
  /** one human line: side, size, instrument, prices, risk, regime */
  readonly label: string;
  /** why it is there, for the deliberate ones */
  readonly onPurpose?: string;
  /** what is posted to /v1/intents */
  readonly body: Record<string, unknown>;
}

export interface GeneratorOptions {
  readonly seed: number;
  /** per-trade risk cap the "ok" intents stay under (constitution default $15) */
  readonly riskCapUsd?: number;
  /** index of the one stale intent (default 7, the end of the showcase burst); null = none */
  readonly staleAt?: number | null;
}

export interface GenerateOptions extends GeneratorOptions {
  /** epoch ms every intent's stateAsOf is fresh against */
  readonly now: number;
  readonly count: number;
}

/** The first intents show every case once; after them the mix is mostly plain signals. */
export const SHOWCASE: readonly DemoKind[] = ['ok', 'ok', 'low-quality', 'ok', 'oversized', 'malformed', 'ok', 'stale'];
export const DEFAULT_BURST = SHOWCASE.length;

interface Spec {
  readonly symbol: string;
  readonly secType: 'FUT' | 'STK';
  readonly exchange: string;
  readonly multiplier: number;
  readonly tick: number;
  readonly base: number;
  /** typical move between two signals, in price units */
  readonly vol: number;
  readonly strategy: string;
  /** stop distance range for a normal signal, in price units */
  readonly stop: readonly [number, number];
  readonly factors: readonly [string, string, string];
}

const SPECS: readonly Spec[] = [
  { symbol: 'MES', secType: 'FUT', exchange: 'CME', multiplier: 5, tick: 0.25, base: 6010, vol: 3, strategy: 'mes-orb', stop: [1.5, 2.75], factors: ['range', 'momentum', 'volume'] },
  { symbol: 'MNQ', secType: 'FUT', exchange: 'CME', multiplier: 2, tick: 0.25, base: 21150, vol: 12, strategy: 'mnq-vwap-reclaim', stop: [3.5, 6.75], factors: ['trend', 'vwap', 'volume'] },
  { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', multiplier: 1, tick: 0.01, base: 228.5, vol: 0.45, strategy: 'aapl-gap-fade', stop: [0.6, 1.4], factors: ['gap', 'exhaustion', 'volume'] },
  { symbol: 'MSFT', secType: 'STK', exchange: 'SMART', multiplier: 1, tick: 0.01, base: 418.2, vol: 0.8, strategy: 'msft-trend-pullback', stop: [1.0, 2.5], factors: ['trend', 'pullback', 'breadth'] },
];

const RED_CHECKS = ['no tier-1 news within 30 min', 'spread ≤ 1 tick', 'not into the prior-day high/low', 'volume above the 20-day average', 'VIX below 25', 'no earnings today'];

const ALIGNMENT = {
  trendBUY: ['HTF up; LTF pullback to VWAP', 'HTF up; LTF higher low above the opening range', 'HTF up; LTF flag breakout on volume'],
  trendSELL: ['HTF down; LTF lower high under VWAP', 'HTF down; LTF breakdown of the opening range', 'HTF down; LTF bear flag under the 20 EMA'],
  rangeBUY: ['HTF range; LTF rejection at the range low', 'HTF range; LTF reclaim of the value-area low'],
  rangeSELL: ['HTF range; LTF rejection at the range high', 'HTF range; LTF failed breakout above value'],
} as const;

const round = (v: number, step: number) => Math.round(Math.round(v / step) * step * 1e6) / 1e6;
const fixed2 = (v: number) => Math.round(v * 100) / 100;
const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const compact = (ms: number) => isoSeconds(ms).replace(/[-:]/g, '').replace('T', '-').replace('Z', '');

/** Front quarterly contract month (Mar/Jun/Sep/Dec), rolled in the second week of the expiry month. */
export function frontMonth(now: number): string {
  const d = new Date(now);
  let y = d.getUTCFullYear();
  let m = d.getUTCMonth() + 1;
  if (m % 3 === 0 && d.getUTCDate() >= 10) m += 1;
  m = Math.ceil(m / 3) * 3;
  if (m > 12) {
    m -= 12;
    y += 1;
  }
  return `${y}${String(m).padStart(2, '0')}`;
}

/** A deterministic stream of demo intents: `next(now)` gives the next one, fresh at `now`. */
export class SignalGenerator {
  private readonly rng: Random;
  private readonly prices: Map<string, number>;
  private readonly riskCap: number;
  private readonly staleAt: number | null;
  private index = 0;

  constructor(private readonly opts: GeneratorOptions) {
    this.rng = seededRandom(opts.seed >>> 0 || 1);
    this.riskCap = opts.riskCapUsd ?? 15;
    this.staleAt = opts.staleAt === undefined ? SHOWCASE.length - 1 : opts.staleAt;
    this.prices = new Map(SPECS.map((s) => [s.symbol, round(s.base * (1 + (this.rng.next() - 0.5) * 0.01), s.tick)]));
  }

  private between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.rng.next();
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.rng.next() * list.length)] as T;
  }

  private shuffled<T>(list: readonly T[]): T[] {
    const a = [...list];
    for (let j = a.length - 1; j > 0; j--) {
      const k = Math.floor(this.rng.next() * (j + 1));
      [a[j], a[k]] = [a[k] as T, a[j] as T];
    }
    return a;
  }

  private kindAt(i: number): DemoKind {
    let k: DemoKind;
    if (i < SHOWCASE.length) k = SHOWCASE[i] as DemoKind;
    else {
      const r = this.rng.next();
      k = r < 0.1 ? 'low-quality' : r < 0.2 ? 'oversized' : 'ok';
    }
    if (k === 'stale' && i !== this.staleAt) k = 'ok';
    if (i === this.staleAt) k = 'stale';
    return k;
  }

  next(now: number): DemoSignal {
    const i = this.index++;
    const kind = this.kindAt(i);
    // rotate through the instruments (with some jitter); oversized risk is a futures story
    const rotated = SPECS[(i + Math.floor(this.rng.next() * 2)) % SPECS.length] as Spec;
    const spec = kind === 'oversized' && rotated.secType !== 'FUT' ? (SPECS[i % 2] as Spec) : rotated;

    // the market moved since the last signal on this instrument
    const last = this.prices.get(spec.symbol) ?? spec.base;
    const price = Math.max(spec.tick, round(last + (this.rng.next() - 0.5) * 2 * spec.vol, spec.tick));
    this.prices.set(spec.symbol, price);

    const regime = this.rng.next() < 0.6 ? 'trend' : 'range';
    const side: 'BUY' | 'SELL' = this.rng.next() < 0.55 ? 'BUY' : 'SELL';
    const long = side === 'BUY';
    const entry = round(price + (long ? -1 : 1) * spec.tick * Math.floor(this.rng.next() * 3), spec.tick);

    // stop distance: inside the cap, or deliberately 1.4–2.2× over it
    let stopDist = round(this.between(spec.stop[0], spec.stop[1]), spec.tick);
    if (kind === 'oversized') stopDist = round((this.riskCap * this.between(1.4, 2.2)) / spec.multiplier, spec.tick);
    stopDist = Math.max(spec.tick, Math.min(stopDist, kind === 'oversized' ? Infinity : round(this.riskCap / spec.multiplier - spec.tick, spec.tick)));
    const rMultiple = this.between(1.5, 2.6);
    const stopLoss = round(entry + (long ? -stopDist : stopDist), spec.tick);
    const takeProfit = round(entry + (long ? 1 : -1) * Math.max(spec.tick, round(stopDist * rMultiple, spec.tick)), spec.tick);
    const risk = fixed2(Math.abs(entry - stopLoss) * spec.multiplier);

    let dvs = fixed2(this.between(0.85, 0.99));
    let eqs = fixed2(this.between(0.79, 0.97));
    let onPurpose: string | undefined;
    if (kind === 'low-quality') {
      if (i < SHOWCASE.length || this.rng.next() < 0.6) {
        dvs = fixed2(this.between(0.55, 0.74));
        onPurpose = `low DVS ${dvs.toFixed(2)}: data feed gap`;
      } else {
        eqs = fixed2(this.between(0.5, 0.7));
        onPurpose = `low EQS ${eqs.toFixed(2)}: wide spread`;
      }
    }
    const checks = this.shuffled(RED_CHECKS).slice(0, 2 + Math.floor(this.rng.next() * 2));
    const redChecks = checks.map((name, n) => ({ name, passed: !(n === checks.length - 1 && this.rng.next() < 0.12) }));
    const breakdown = Object.fromEntries(spec.factors.map((f) => [f, fixed2(this.between(0.55, 0.97))]));
    const setupScore = fixed2(Object.values(breakdown).reduce((a, b) => a + b, 0) / spec.factors.length);
    const alignment = this.pick(ALIGNMENT[`${regime}${side}`]);

    const ageMs = kind === 'stale' ? Math.round(this.between(25, 40)) * 60_000 : Math.round(this.between(2, 45)) * 1000;
    if (kind === 'stale') onPurpose = `stale market state (${Math.round(ageMs / 60_000)} min old)`;
    if (kind === 'oversized') onPurpose = `risk ${usdAmount(risk)} over the ${usdAmount(this.riskCap)} cap`;
    const stateAsOf = isoSeconds(now - ageMs);
    const stateHash = `sha256:${createHash('sha256').update(`${spec.symbol}|${price}|${stateAsOf}|${this.opts.seed}|${i}`).digest('hex').slice(0, 16)}`;
    const orderType = this.rng.next() < 0.8 ? 'BRACKET' : 'LMT';

    const instrument: Record<string, unknown> = { symbol: spec.symbol, secType: spec.secType, exchange: spec.exchange, currency: 'USD' };
    if (spec.secType === 'FUT') instrument.contractMonth = frontMonth(now);
    instrument.multiplier = spec.multiplier;

    const body: Record<string, unknown> = {
      signalId: `demo-${this.opts.seed}-${compact(now)}-${String(i + 1).padStart(3, '0')}`,
      strategy: spec.strategy,
      instrument,
      side,
      quantity: 1,
      orderType,
      entryPrice: entry,
      stopLoss,
      takeProfit,
      evidence: { setupScore, breakdown, alignment, redChecks, dvs, eqs },
      stateHash,
      stateAsOf,
      ttlSec: this.pick([180, 240, 300, 300]),
      regime,
    };
    if (kind === 'malformed') {
      // a strategy bug: snake_case field name → 400 listing both problems, nothing stored
      body.stop_loss = body.stopLoss;
      delete body.stopLoss;
      onPurpose = 'malformed: stop_loss instead of stopLoss';
    }

    const what = `${side} 1 ${spec.symbol}${spec.secType === 'FUT' ? ` ${frontMonth(now)}` : ''} ${orderType} @ ${entry.toFixed(2)} stop ${stopLoss.toFixed(2)} target ${takeProfit.toFixed(2)}, risk ${usdAmount(risk)}, ${regime}`;
    const expect: DemoExpectation =
      kind === 'malformed'
        ? { status: 400, codes: [] }
        : kind === 'ok'
          ? { status: 202, state: 'PROPOSED', codes: [] }
          : { status: 202, state: 'CANCELLED', codes: [kind === 'low-quality' ? 'QUALITY' : kind === 'oversized' ? 'RISK_PER_TRADE' : 'STATE_CONFLICT'] };
    return { index: i, kind, expect, label: what, ...(onPurpose ? { onPurpose } : {}), body };
  }
}

/** `count` intents, all fresh at `now` (deterministic for a seed and a time). */
export function generateSignals(opts: GenerateOptions): DemoSignal[] {
  const g = new SignalGenerator(opts);
  return Array.from({ length: Math.max(0, opts.count) }, () => g.next(opts.now));
}

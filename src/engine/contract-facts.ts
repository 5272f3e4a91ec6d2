/**
 * What the broker's contract details say about an instrument, as far as the gates need it
 * (issue 13, MONEY-9 and MONEY-10): the minimum price increment (tick) and the multiplier.
 * PURE: tick arithmetic and the checks the `contract` gate (risk.gates.ts) runs on an intent.
 *
 * Why the gates need them: a price off the contract's tick (6010.13 for MES, tick 0.25) is
 * refused by IBKR only after a human approved it (error 110), and a multiplier taken on the
 * strategy's word scales the per-trade risk gate and the P&L by whatever it sends. Both are
 * facts of the contract, so they are checked against the qualified contract before a card.
 */

/** Contract details of one instrument (from the broker's qualification, or its cached copy). */
export interface ContractFacts {
  /** the broker's contract id (0 when not qualified) */
  readonly conId: number;
  readonly localSymbol?: string;
  /** minimum price increment (MES 0.25, US stocks 0.01) */
  readonly minTick: number;
  /** the contract's multiplier (MES 5, MNQ 2, stocks 1) */
  readonly multiplier: number;
  /**
   * 'broker': qualified just now; 'cache': the copy stored when the broker last qualified it;
   * 'rule': never qualified, taken from KNOWN_FUTURES / the stock rule (the broker re-checks at send)
   */
  readonly source: 'broker' | 'cache' | 'rule';
  /** when the broker last qualified it (epoch ms; null for 'rule') */
  readonly qualifiedAt: number | null;
}

/** The facts, or why they are not known (the broker refused the contract, or is down and never qualified it). */
export type ContractLookup = { readonly ok: true; readonly facts: ContractFacts } | { readonly ok: false; readonly reason: string };

const EPS = 1e-6;

/** Decimals needed to write multiples of `tick` exactly (0.25 → 2, 0.01 → 2, 0.005 → 3, 1 → 0). */
export function tickDecimals(tick: number): number {
  if (!(tick > 0)) return 2;
  for (let d = 0; d <= 10; d++) {
    const scaled = tick * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-9) return d;
  }
  return 10;
}

/** true when `price` is a whole number of ticks (within float noise: 190.01 / 0.01 is fine). */
export function isOnTick(price: number, tick: number): boolean {
  if (!(tick > 0)) return true;
  const n = price / tick;
  return Math.abs(n - Math.round(n)) < EPS;
}

/** Snap float noise (6000.2500000001) to the exact multiple of the tick. */
export function snapToTick(price: number, tick: number): number {
  if (!(tick > 0)) return price;
  return Number((Math.round(price / tick) * tick).toFixed(tickDecimals(tick)));
}

/** The valid prices on either side of an off-tick price: 6010.13 at 0.25 → [6010, 6010.25]. */
export function nearestTicks(price: number, tick: number): readonly [number, number] {
  const d = tickDecimals(tick);
  const below = Number((Math.floor(price / tick + EPS) * tick).toFixed(d));
  const above = Number((Math.ceil(price / tick - EPS) * tick).toFixed(d));
  return [below, above];
}

/** A price written with exactly the tick's decimals (6010 at 0.25 → "6010.00"). */
export function formatAtTick(price: number, tick: number): string {
  return price.toFixed(tickDecimals(tick));
}

/** The prices of an intent that are sent to the broker (a MKT entry's price is only a reference). */
export interface PricedIntent {
  readonly symbol: string;
  readonly orderType: 'MKT' | 'LMT' | 'BRACKET';
  readonly entryPrice: number | null;
  readonly stopLoss: number;
  readonly takeProfit: number | null;
  /** the multiplier the intent states */
  readonly multiplier: number;
}

/** Every sent price that is off the contract's tick, one phrase each, naming the nearest valid prices. */
export function offTickPrices(i: PricedIntent, facts: Pick<ContractFacts, 'minTick'>): string[] {
  const tick = facts.minTick;
  const priced: Array<[string, number | null]> = [
    ['entry', i.orderType === 'MKT' ? null : i.entryPrice],
    ['stop', i.stopLoss],
    ['target', i.takeProfit],
  ];
  const out: string[] = [];
  for (const [what, price] of priced) {
    if (price === null || isOnTick(price, tick)) continue;
    const [lo, hi] = nearestTicks(price, tick);
    out.push(`${what} ${price} is not on ${i.symbol}'s tick ${formatAtTick(tick, tick)}: nearest valid prices ${formatAtTick(lo, tick)} or ${formatAtTick(hi, tick)}`);
  }
  return out;
}

/** The intent's multiplier against the contract's, or null when they agree. */
export function multiplierMismatch(i: PricedIntent, facts: Pick<ContractFacts, 'multiplier' | 'localSymbol'>): string | null {
  if (Math.abs(i.multiplier - facts.multiplier) < EPS) return null;
  const name = facts.localSymbol ?? i.symbol;
  return `the intent says multiplier ${i.multiplier}, the broker's contract ${name} has ${facts.multiplier}: risk and P&L would be off by ×${Number((i.multiplier / facts.multiplier).toFixed(4))}`;
}

/**
 * Contracts whose tick and multiplier are fixed by rule, for when the broker cannot be asked and
 * never qualified the instrument (contract-lookup.ts): US stocks (multiplier 1; tick 0.01 for
 * prices from $1, Reg NMS rule 612) and the CME equity-index futures Phoenix is built for. The
 * adapter re-checks both against the live contract details before anything is sent, so a wrong
 * row here can only make a submission be refused, never send a wrong order.
 */
export const KNOWN_FUTURES: Readonly<Record<string, { readonly minTick: number; readonly multiplier: number }>> = Object.freeze({
  MES: { minTick: 0.25, multiplier: 5 },
  ES: { minTick: 0.25, multiplier: 50 },
  MNQ: { minTick: 0.25, multiplier: 2 },
  NQ: { minTick: 0.25, multiplier: 20 },
  M2K: { minTick: 0.1, multiplier: 5 },
  RTY: { minTick: 0.1, multiplier: 50 },
  MYM: { minTick: 1, multiplier: 0.5 },
  YM: { minTick: 1, multiplier: 5 },
});

export const STOCK_TICK = 0.01;

/** Tick and multiplier by rule, or undefined when the instrument is not one of the known kinds. */
export function knownContract(i: { readonly symbol: string; readonly secType: 'STK' | 'FUT'; readonly currency: string }): { readonly minTick: number; readonly multiplier: number } | undefined {
  if (i.currency.toUpperCase() !== 'USD') return undefined;
  if (i.secType === 'STK') return { minTick: STOCK_TICK, multiplier: 1 };
  return KNOWN_FUTURES[i.symbol.trim().toUpperCase()];
}

/** The rule table's facts as a lookup result (source 'rule'), or undefined. */
export function ruleFacts(i: Parameters<typeof knownContract>[0]): ContractFacts | undefined {
  const r = knownContract(i);
  return r && { conId: 0, minTick: r.minTick, multiplier: r.multiplier, source: 'rule', qualifiedAt: null };
}

/**
 * The day's market: one random walk per product, moving at seeded times (clustered after the
 * strategies' signals, so stops and targets of live brackets get hit), rounded to the tick.
 */
import type { Product } from '../desk.js';
import type { Dice } from './rng.js';

export interface PricePath {
  readonly symbol: string;
  /** (time, price), in time order; the first is the opening price */
  readonly points: readonly { readonly t: number; readonly price: number }[];
}

/** Typical size of one move, in price units. */
const SIGMA: Record<string, number> = { MES: 1.5, MNQ: 5, AAPL: 0.6, MSFT: 1.0 };

export const roundTick = (p: number, tick: number): number => Math.round(Math.round(p / tick) * tick * 100) / 100;

export function pricePath(d: Dice, product: Product, open: number, times: readonly number[]): PricePath {
  const sigma = SIGMA[product.symbol] ?? product.base * 0.001;
  let price = roundTick(open, product.tick);
  const points = [{ t: times[0] ?? 0, price }];
  for (const t of [...times].sort((a, b) => a - b)) {
    const gap = d.chance(0.06) ? d.between(2.5, 5) : 1;
    const step = (d.next() + d.next() + d.next() - 1.5) * 2 * sigma * gap;
    price = Math.max(product.tick * 10, roundTick(price + step, product.tick));
    points.push({ t, price });
  }
  return { symbol: product.symbol, points };
}

export function priceAt(path: PricePath, t: number): number {
  let p = path.points[0]?.price ?? 0;
  for (const x of path.points) {
    if (x.t > t) break;
    p = x.price;
  }
  return p;
}

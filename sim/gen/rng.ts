/** The generators' dice: seeded (mulberry32 via the engine's seededRandom), never Math.random. */
import { seededRandom, type Random } from '../../src/engine/index.js';

export interface Dice {
  readonly random: Random;
  /** uniform in [0, 1) */
  next(): number;
  chance(p: number): boolean;
  int(min: number, max: number): number;
  between(min: number, max: number): number;
  pick<T>(xs: readonly T[]): T;
  id(n: number): string;
}

export function dice(seed: number): Dice {
  const random = seededRandom(seed >>> 0);
  const next = () => random.next();
  return {
    random,
    next,
    chance: (p) => next() < p,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    between: (min, max) => min + next() * (max - min),
    pick: (xs) => xs[Math.floor(next() * xs.length)] as never,
    id: (n) => random.id(n),
  };
}

/** A seed for one part of one day, independent of every other part (shrinking keeps the rest). */
export function subSeed(seed: number, day: number, part: string): number {
  let h = 0x811c9dc5;
  for (const ch of `${seed}:${day}:${part}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  // murmur3's finaliser: every input bit reaches every output bit
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

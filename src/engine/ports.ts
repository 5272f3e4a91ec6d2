/**
 * Ports: every side effect the engine needs comes in through these interfaces.
 * Implementations live outside src/engine (SystemClock in src/runtime, Prisma store in
 * src/store, brokers in src/broker); tests use FakeClock and seeded randomness.
 */

/** Cancels a scheduled callback; calling it twice is harmless. */
export type Cancel = () => void;

/**
 * Time source and timer. `now()` is epoch milliseconds. `schedule` runs `fn` once after
 * `delayMs` of this clock's time: real timers for SystemClock, `advance()` for FakeClock.
 */
export interface Clock {
  now(): number;
  schedule(delayMs: number, fn: () => void): Cancel;
}

/** Seeded (tests) or cryptographic (production) randomness. */
export interface Random {
  /** uniform in [0, 1) */
  next(): number;
  /** n random bytes as lowercase base32-ish id characters */
  id(length: number): string;
}

/** Minimal structured logger so the engine can say why without importing pino. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): Logger;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** Mulberry32: a small, fast, seedable PRNG (deterministic tests, simulated broker). */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    id(length: number) {
      const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
      let s = '';
      for (let i = 0; i < length; i++) s += alphabet[Math.floor(next() * alphabet.length)];
      return s;
    },
  };
}

import { randomBytes, randomInt } from 'node:crypto';
import type { Clock, Random } from '../engine/index.js';

/** Wall-clock time and real timers (production). Timers never keep the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(delayMs, fn) {
    const t = setTimeout(fn, Math.max(0, delayMs));
    t.unref();
    return () => clearTimeout(t);
  },
};

const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

/** Cryptographic randomness: card ids and tokens must not be guessable in production. */
export const cryptoRandom: Random = {
  next: () => randomBytes(6).readUIntBE(0, 6) / 2 ** 48,
  id(length: number) {
    let s = '';
    for (let i = 0; i < length; i++) s += ALPHABET[randomInt(ALPHABET.length)];
    return s;
  },
};

/**
 * The CI budget of the simulator: seeds × days, at least 200 trading days in all (SPEC 18).
 * Each seed is its own world (fresh database, broker and chat). A violation fails the test with
 * the invariant, the day and the shrunk-history command to reproduce it.
 */
import { expect, it } from 'vitest';
import { run } from '../../sim/run.js';

export const DAYS_PER_SEED = 25;
/** 8 seeds × 25 days = 200 trading days */
export const CI_SEEDS: readonly number[] = [1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008];

export function budgetPart(seeds: readonly number[]): void {
  for (const seed of seeds) {
    it(`SPEC 18: seed ${seed}: ${DAYS_PER_SEED} simulated trading days, every invariant after every step, 0 violations`, async () => {
      const r = await run({ seed, days: DAYS_PER_SEED, epochDays: DAYS_PER_SEED });
      const v = r.violation;
      const where = v ? `${v.id} on day ${v.dayOfRun} (${v.day}), step ${v.step}: ${v.message} — reproduce: npm run sim -- --seed ${seed} --days ${DAYS_PER_SEED}` : '';
      expect(where).toBe('');
      expect(r.stats.days).toBe(DAYS_PER_SEED);
      expect(r.stats.steps).toBeGreaterThan(DAYS_PER_SEED * 20);
    }, 900_000);
  }
}

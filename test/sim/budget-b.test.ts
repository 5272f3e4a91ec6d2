/** SPEC 18 in CI, the second half of the simulator's seeded budget (see sim.test.ts). */
import { describe } from 'vitest';
import { budgetPart, CI_SEEDS } from './budget.js';

describe('SPEC 18: deterministic simulation (budget, second half)', () => {
  budgetPart(CI_SEEDS.slice(CI_SEEDS.length / 2));
});

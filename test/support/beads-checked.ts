/**
 * What a proving test asserts about beads, recorded where `npm run chaos` can read it: the
 * "Beads checked" column of reports/chaos-report.md is built from these records, not from a
 * list someone keeps by hand. The helper IS the assertion: a type is recorded only when the
 * test actually ran the check and it held, so a test that stops checking a bead type drops it
 * from the column, and a type the test claims but cannot find fails the test.
 *
 * The record lives in the vitest task's `meta` (`beadsChecked`), which the JSON reporter copies
 * into each assertion result.
 */
import { expect } from 'vitest';
import { getCurrentTest } from 'vitest/suite';

export interface BeadLike {
  readonly type: string;
}

/** Record `type` as checked by the running test (only after its check passed). */
function record(type: string): void {
  const test = getCurrentTest();
  if (!test) throw new Error('expectBeads must be called inside a running test');
  const meta = test.meta as { beadsChecked?: string[] };
  const list = meta.beadsChecked ?? [];
  if (!list.includes(type)) list.push(type);
  meta.beadsChecked = list;
}

/**
 * Assert that `rows` (bead rows of any shape with a `type`) hold beads of `type` — at least
 * one, or exactly `count` (0 = none of that type) — and record the check. Returns the rows of
 * that type for more specific assertions.
 */
export function expectBeads<T extends BeadLike>(rows: readonly T[], type: string, opts: { count?: number } = {}): T[] {
  const of = rows.filter((r) => r.type === type);
  if (opts.count !== undefined) expect(of, `${type} beads`).toHaveLength(opts.count);
  else expect(of.length, `at least one ${type} bead`).toBeGreaterThan(0);
  record(type);
  return of;
}

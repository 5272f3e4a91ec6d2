/**
 * Typed kv (issue 15): the store's key/value table holds only the keys declared in kv.keys.ts.
 */
import { describe, expect, it } from 'vitest';
import { KV, kvKeyOf } from '../../src/engine/kv.keys.js';

describe('kv keys', () => {
  it('CV kv: every declared key is distinct, and no id-carrying key can equal a fixed one', () => {
    const fixed = Object.values(KV);
    expect(new Set(fixed).size).toBe(fixed.length);
    const prefixes = Object.values(kvKeyOf).map((f) => f(''));
    expect(prefixes).toEqual(['contract:']); // promotion requests have their own table (PromotionRepo), not kv keys
    for (const k of fixed) for (const p of prefixes) expect(k.startsWith(p), `${k} vs ${p}`).toBe(false);
  });
});

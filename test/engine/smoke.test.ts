import { describe, expect, it } from 'vitest';
import { approver, beadsOf, cardOf, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';

describe('engine smoke', () => {
  let h: Harness;
  const harness = useHarness();

  it('intent → card → approve → sim fill → MANAGED', async () => {
    h = await harness();
    const r = await h.engine.submitIntent(h.intent());
    expect(r.kind).toBe('accepted');
    if (r.kind !== 'accepted') return;
    expect(r.state).toBe('PROPOSED');
    const card = await cardOf(h, r.intentId);
    const d = await h.engine.decide(card.id, 'APPROVE', approver);
    expect(d.kind).toBe('approved');
    await h.settle();
    const i = await intentOf(h, r.intentId);
    expect(i.state).toBe('MANAGED');
    const beads = await beadsOf(h, r.intentId);
    expect(beads.map((b) => b.type)).toContain('FILL');
  });
});

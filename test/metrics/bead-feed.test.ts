/**
 * The bead feed (issue 17): what each bead means for the metrics, and counting from the head
 * of the log on: beads written before the feed started are not counted, each later bead once.
 */
import { describe, expect, it } from 'vitest';
import { beadEffects, BeadFeed } from '../../src/metrics/bead-feed.js';
import { PhoenixMetrics } from '../../src/metrics/metrics.js';
import { makeHarness } from '../support/harness.js';
import { Scrape } from '../support/prometheus.js';

const bead = (type: string, payload: Record<string, unknown>, intentId: string | null = 'int_1', ts = 1000) => ({ type, intentId, payload: JSON.stringify(payload), ts });
const who = { id: '1001', name: '@alice', via: 'telegram' };

describe('issue 17: beads → metrics', () => {
  it('metrics: each bead kind maps to its outcome, denial, alert or latency event', () => {
    const cases: [ReturnType<typeof bead>, unknown[]][] = [
      [bead('INTENT', { outcome: 'PROPOSED' }), [{ kind: 'intent', outcome: 'proposed' }]],
      [bead('INTENT', { outcome: 'SHADOW' }), [{ kind: 'intent', outcome: 'shadow' }]],
      [bead('INTENT', { outcome: 'CANCELLED' }), []], // counted by its POSITION bead (reason "blocked by gate")
      [bead('POSITION', { from: 'PROPOSED', to: 'CANCELLED', reason: 'blocked by gate: QUALITY' }), [{ kind: 'cardGone', intentId: 'int_1' }, { kind: 'intent', outcome: 'cancelled_by_gate' }, { kind: 'approvalOver', intentId: 'int_1' }]],
      [bead('POSITION', { from: 'PROPOSED', to: 'CANCELLED', reason: 'blocked by gate at approval: POSITION_LIMIT', actor: who }, 'int_1', 5000), [{ kind: 'decided', intentId: 'int_1', at: 5000 }, { kind: 'intent', outcome: 'cancelled_by_gate' }, { kind: 'approvalOver', intentId: 'int_1' }]],
      [bead('POSITION', { from: 'PROPOSED', to: 'CANCELLED', reason: 'passed by @alice', actor: who }), [{ kind: 'decided', intentId: 'int_1', at: 1000 }, { kind: 'approvalOver', intentId: 'int_1' }]],
      [bead('POSITION', { from: 'PROPOSED', to: 'CANCELLED', reason: 'card_expired' }), [{ kind: 'cardGone', intentId: 'int_1' }, { kind: 'approvalOver', intentId: 'int_1' }]],
      [bead('POSITION', { from: 'APPROVED', to: 'CANCELLED', reason: 'blocked by gate before submission: KILL_ACTIVE' }), [{ kind: 'intent', outcome: 'cancelled_by_gate' }, { kind: 'approvalOver', intentId: 'int_1' }]],
      [bead('POSITION', { from: 'SUBMITTED', to: 'CANCELLED', reason: 'cancelled at the broker' }), [{ kind: 'intent', outcome: 'cancelled' }, { kind: 'approvalOver', intentId: 'int_1' }]],
      [bead('POSITION', { from: 'PROPOSED', to: 'APPROVED', reason: 'approved by @alice', actor: who }, 'int_1', 7000), [{ kind: 'decided', intentId: 'int_1', at: 7000 }, { kind: 'intent', outcome: 'approved' }, { kind: 'approved', intentId: 'int_1', at: 7000 }]],
      [bead('POSITION', { from: 'APPROVED', to: 'SUBMITTED', reason: 'x' }, 'int_1', 7040), [{ kind: 'intent', outcome: 'submitted' }, { kind: 'submitted', intentId: 'int_1', at: 7040 }]],
      [bead('POSITION', { from: 'APPROVED', to: 'EXPIRED', reason: 'x' }), [{ kind: 'intent', outcome: 'token_expired' }, { kind: 'approvalOver', intentId: 'int_1' }]],
      [bead('POSITION', { from: 'SUBMITTED', to: 'FILLED', reason: 'x' }), [{ kind: 'intent', outcome: 'filled' }]],
      [bead('POSITION', { from: 'STALLED', to: 'FILLED', reason: 'x' }), [{ kind: 'intent', outcome: 'filled' }]],
      [bead('POSITION', { from: 'MANAGED', to: 'FILLED', reason: 'stop dead' }), []], // unprotected again: not a new fill outcome
      [bead('POSITION', { from: 'SUBMITTED', to: 'REJECTED', reason: 'x' }), [{ kind: 'intent', outcome: 'rejected' }]],
      [bead('POSITION', { from: 'SUBMITTED', to: 'STALLED', reason: 'x' }), [{ kind: 'intent', outcome: 'stalled' }]],
      [bead('POSITION', { from: 'MANAGED', to: 'CLOSED', reason: 'x' }), [{ kind: 'intent', outcome: 'closed' }]],
      [bead('POSITION', { from: 'FILLED', to: 'MANAGED', reason: 'x' }), []],
      [bead('CARD', { cardId: 'c1', kind: 'TRADE', event: 'DECIDED', detail: 'PASS' }), [{ kind: 'intent', outcome: 'passed' }]],
      [bead('CARD', { cardId: 'c1', kind: 'TRADE', event: 'DECIDED', detail: 'APPROVE' }), []],
      [bead('CARD', { cardId: 'c1', kind: 'TRADE', event: 'EXPIRED' }), [{ kind: 'intent', outcome: 'expired' }]],
      [bead('CARD', { cardId: 'c1', kind: 'PROMOTION', event: 'EXPIRED' }), []],
      [bead('GATE', { stage: 'INTAKE', passed: [], denials: [{ gate: 'q', code: 'QUALITY', message: 'm' }, { gate: 'r', code: 'RISK_PER_TRADE', message: 'm' }], inputs: {} }), [{ kind: 'gate', code: 'QUALITY', stage: 'INTAKE' }, { kind: 'gate', code: 'RISK_PER_TRADE', stage: 'INTAKE' }]],
      [bead('GATE', { stage: 'APPROVAL', passed: ['x'], denials: [], inputs: {} }), []],
      [bead('ALERT', { alertId: 'a', alertType: 'HALT', severity: 'CRITICAL', event: 'RAISED' }), [{ kind: 'alert', type: 'HALT', severity: 'CRITICAL' }]],
      [bead('KILL_FLAG', { action: 'SET', flagId: 'k', kind: 'MANUAL', reason: 'r' }), [{ kind: 'kill', flagKind: 'MANUAL' }]],
      [bead('KILL_FLAG', { action: 'CLEARED', flagId: 'k', kind: 'MANUAL', reason: 'r' }), []],
      [{ type: 'INTENT', intentId: null, payload: '{not json', ts: 0 }, []],
    ];
    for (const [b, want] of cases) expect(beadEffects(b), `${b.type} ${b.payload}`).toEqual(want);
  });

  it('metrics: the feed counts from its start on, each bead once, over several pulls (tap → order from APPROVED to SUBMITTED)', async () => {
    const h = await makeHarness();
    try {
      await h.engine.submitIntent(h.intent()); // before the feed: not counted
      const m = new PhoenixMetrics(h.clock);
      const feed = new BeadFeed(h.app.store, m);
      await feed.start();
      const r = await h.engine.submitIntent(h.intent());
      if (r.kind !== 'accepted') throw new Error('not accepted');
      await feed.pull();
      await feed.pull(); // nothing new: nothing counted twice
      let s = new Scrape(await m.registry.metrics());
      expect(s.value('phoenix_intents_total', { outcome: 'proposed' })).toBe(1);
      const card = await h.app.store.tx((tx) => tx.cards.bySubject(r.intentId, 'TRADE'));
      m.cardShown(r.intentId);
      await h.clock.advance(4000);
      await h.engine.decide(card!.id, 'APPROVE', { id: '1001', name: '@alice', roles: ['viewer', 'approver'], via: 'telegram' });
      await h.settle();
      await Promise.all([feed.pull(), feed.pull()]); // concurrent scrapes share one read
      s = new Scrape(await m.registry.metrics());
      expect(s.byLabel('phoenix_intents_total', 'outcome')).toEqual({ proposed: 1, approved: 1, submitted: 1, filled: 1 });
      expect(s.histogram('phoenix_approval_shown_to_tap_seconds')).toMatchObject({ count: 1, sum: 4 });
      expect(s.histogram('phoenix_approval_tap_to_order_seconds')).toMatchObject({ count: 1, sum: 0 });
      expect(m.shownAt.size).toBe(0);
    } finally {
      await h.close();
    }
  });
});

/**
 * Approval and execution edges of the engine core (SPEC 5, 6): evidence-bound tokens,
 * foreign taps, stale cards, broker rejection, stall detection, partial fills.
 */
import { describe, expect, it } from 'vitest';
import { approver, intentOf, stranger, viewer, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { expectBeads } from '../support/beads-checked.js';
import { alertsOfType, approveWhileBrokerDown, atBroker, beadCount, parsedBeads, positionPath, propose, reconnect, tokenEvents } from './helpers.js';
import { tradeDecisionText } from '../../src/present/decision.text.js';

const TZ = 'America/New_York';

describe('approval and execution edges', () => {
  let h: Harness;
  const harness = useHarness();

  it('INV-T2-TOKEN-1: a token whose evidence no longer matches the intent is refused (evidence edited after approval)', async () => {
    h = await harness();
    const { intentId, tokenId } = await approveWhileBrokerDown(h);
    const row = await h.app.db.intent.findUniqueOrThrow({ where: { id: intentId } });
    const payload = JSON.parse(row.payload) as { evidence: { setupScore: number } };
    payload.evidence.setupScore = 0.99; // what the approver saw was 0.82
    await h.app.db.intent.update({ where: { id: intentId }, data: { payload: JSON.stringify(payload) } });
    await reconnect(h);
    const r = await h.engine.submitWithToken(intentId, tokenId);
    expect(r).toEqual({ kind: 'refused', reason: 'evidence changed since approval' });
    expect((await tokenEvents(h, intentId)).at(-1)).toMatchObject({ event: 'REJECTED', tokenId, reason: 'evidence changed since approval' });
    expect((await atBroker(h, intentId)).orders).toHaveLength(0);
    expect((await h.app.store.tx((tx) => tx.tokens.get(tokenId)))?.usedAt).toBeNull();
  });

  it('CV foreign user taps: a viewer and a stranger are refused, audited (ACCESS_DENIED), and nothing changes', async () => {
    h = await harness();
    const { intentId, cardId } = await propose(h);
    for (const who of [viewer, stranger]) {
      for (const decision of ['APPROVE', 'PASS'] as const) {
        const d = await h.engine.decide(cardId, decision, who);
        expect(d).toEqual({ kind: 'refused', why: 'NOT_ALLOWED' });
        expect(tradeDecisionText(d, TZ)).toBe('Only approvers can decide trade cards.');
      }
    }
    const denied = expectBeads(await parsedBeads(h, intentId), 'ACCESS_DENIED');
    expect(denied.map((b) => b.data.userId)).toEqual([viewer.id, viewer.id, stranger.id, stranger.id]);
    expect(denied[0]!.data).toMatchObject({ reason: 'not an approver', action: `APPROVE card ${cardId}` });
    expect((await intentOf(h, intentId)).state).toBe('PROPOSED');
    expect((await h.app.db.card.findUniqueOrThrow({ where: { id: cardId } })).status).toBe('OPEN');
    expect(await h.app.db.approvalToken.count()).toBe(0);
    // the real approver can still decide
    expect((await h.engine.decide(cardId, 'APPROVE', approver)).kind).toBe('approved');
  });

  it('CV forged callback data: an unknown card id is refused and changes nothing', async () => {
    h = await harness();
    await propose(h);
    const before = await beadCount(h);
    const forged = await h.engine.decide('forged0000', 'APPROVE', approver);
    expect(forged).toEqual({ kind: 'refused', why: 'UNKNOWN_CARD' });
    expect(tradeDecisionText(forged, TZ)).toBe('Unknown or invalid card.');
    expect(await beadCount(h)).toBe(before);
  });

  it('CV stale card tapped: after its TTL the card cannot be approved (intent CANCELLED card_expired); a later tap says why', async () => {
    h = await harness();
    const { intentId, cardId } = await propose(h, { ttlSec: 60 });
    await h.clock.advance(60_000);
    const d = await h.engine.decide(cardId, 'APPROVE', approver);
    expect(d).toEqual({ kind: 'expired' });
    expect(tradeDecisionText(d, TZ)).toBe('This card expired; nothing was done.');
    const i = await intentOf(h, intentId);
    expect(i.state).toBe('CANCELLED');
    expect(i.stateReason).toBe('card_expired');
    const again = await h.engine.decide(cardId, 'APPROVE', approver);
    expect(again).toMatchObject({ kind: 'noop', cardStatus: 'EXPIRED' });
    expect(tradeDecisionText(again, TZ)).toBe('This card expired; nothing was done.');
    expect(await h.app.db.approvalToken.count()).toBe(0);
  });

  it('CV stale card tapped: the sweeper expires an undecided card at its TTL (not before)', async () => {
    h = await harness();
    const { intentId } = await propose(h, { ttlSec: 120 });
    await h.clock.advance(119_999);
    expect((await h.engine.expireDue()).cards).toBe(0);
    await h.clock.advance(1);
    expect((await h.engine.expireDue()).cards).toBe(1);
    expect(await positionPath(h, intentId)).toEqual(['PROPOSED>CANCELLED']);
    expect((await intentOf(h, intentId)).stateReason).toBe('card_expired');
  });

  it('CV broker rejection (margin): SUBMITTED → REJECTED, ORDER_REJECTED alert, never retried', async () => {
    h = await harness();
    const { intentId, cardId } = await propose(h);
    h.sim!.faults.rejectNext();
    const d = await h.engine.decide(cardId, 'APPROVE', approver);
    expect(d.kind === 'approved' && d.submit.kind).toBe('submitted');
    await h.settle();
    const i = await intentOf(h, intentId);
    expect(i.state).toBe('REJECTED');
    expect(i.stateReason).toMatch(/broker rejected: .*margin.*; not retried/i);
    expect(await positionPath(h, intentId)).toEqual(['PROPOSED>APPROVED', 'APPROVED>SUBMITTED', 'SUBMITTED>REJECTED']);
    expect(await alertsOfType(h, 'ORDER_REJECTED')).toHaveLength(1);
    const trail = await parsedBeads(h, intentId);
    expect(expectBeads(trail, 'ORDER').filter((b) => b.data.role === 'ENTRY' && b.data.status === 'REJECTED')).toHaveLength(1);
    expect(expectBeads(trail, 'ALERT').map((b) => b.data.alertType)).toEqual(['ORDER_REJECTED']);
    expect(await h.engine.retryWaiting()).toEqual([]);
    expect(await h.engine.recoverFromBroker()).toMatchObject({ checked: 0 });
    expect((await atBroker(h, intentId)).entries).toHaveLength(1);
    const legs = await h.app.db.brokerOrder.findMany({ where: { intentId } });
    expect(Object.fromEntries(legs.map((o) => [o.role, o.status]))).toEqual({ ENTRY: 'REJECTED', STOP: 'CANCELLED', TARGET: 'CANCELLED' });
  });

  it('INV-POSITION-SUBMITTED-TTL-1: no acknowledgement for 60 s → STALLED + alert (not at 60 s, at 60 s + 1 ms); not re-sent', async () => {
    h = await harness();
    const { intentId, cardId } = await propose(h);
    h.sim!.faults.timeoutNext();
    await h.engine.decide(cardId, 'APPROVE', approver);
    await h.settle();
    await h.clock.advance(60_000);
    expect(await h.engine.detectStalls()).toEqual([]);
    await h.clock.advance(1);
    expect(await h.engine.detectStalls()).toEqual([intentId]);
    expect((await intentOf(h, intentId)).state).toBe('STALLED');
    const alerts = await alertsOfType(h, 'POSITION_STALLED');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.severity).toBe('CRITICAL');
    expect(await h.engine.detectStalls()).toEqual([]); // once
    expect(await h.engine.retryWaiting()).toEqual([]);
    expect((await atBroker(h, intentId)).entries).toHaveLength(1);
  });

  it('CV partial fill 50%: filledQty/requestedQty/partialFillRatio tracked; the stop closes what was filled', async () => {
    h = await harness({ constitution: { limits: { maxPositionPerInstrument: 2, maxRiskPerTradeUsd: 30 } } });
    const { intentId, cardId } = await propose(h, { quantity: 2 });
    h.sim!.faults.partialNext(0.5);
    await h.engine.decide(cardId, 'APPROVE', approver);
    await h.settle();
    const i = await intentOf(h, intentId);
    expect(i.state).toBe('MANAGED');
    expect(i.filledQty).toBe(1);
    expect(i.quantity).toBe(2);
    const fill = (expectBeads(await parsedBeads(h, intentId), 'FILL'))[0]!.data;
    expect(fill).toMatchObject({ role: 'ENTRY', quantity: 1, filledQty: 1, requestedQty: 2, partialFillRatio: 0.5 });
    expect((expectBeads(await parsedBeads(h, intentId), 'POSITION')).find((b) => b.data.to === 'FILLED')!.data.reason).toMatch(/partial 1\/2/);
    h.sim!.simulatePrice('MES', 6008);
    await h.settle();
    const closed = await intentOf(h, intentId);
    expect(closed.state).toBe('CLOSED');
    expect(closed.exitQty).toBe(1);
    expect(closed.realizedPnlCents).toBe(-1125 - 124);
    expect((await h.broker.positions()).filter((p) => p.instrument.symbol === 'MES')).toEqual([]);
  });
});

describe('broker not ready at start-up', () => {
  let h: Harness;
  const harness = useHarness();

  it('CV IBKR disconnect: approved while the broker has never been connected (account unknown) → the submission waits, then goes out once when the broker is ready', async () => {
    h = await harness({ connect: false });
    expect(h.broker.health().account).toBeNull();
    const { intentId, cardId } = await propose(h);
    const d = await h.engine.decide(cardId, 'APPROVE', approver);
    expect(d.kind).toBe('approved');
    expect(d.kind === 'approved' && d.submit.kind).toBe('waiting');
    expect((await intentOf(h, intentId)).state).toBe('APPROVED');
    expect(await alertsOfType(h, 'ACCOUNT_MODE_MISMATCH')).toHaveLength(0);
    await h.broker.connect();
    await h.settle();
    const sessions = expectBeads(await h.app.db.bead.findMany({ where: { type: 'IBKR_SESSION' }, orderBy: { seq: 'asc' } }), 'IBKR_SESSION');
    expect(JSON.parse(sessions.at(-1)!.payload)).toMatchObject({ state: 'READY' });
    const out = await h.engine.retryWaiting();
    expect(out.map((o) => o.kind)).toEqual(['submitted']);
    await h.settle();
    expect((await intentOf(h, intentId)).state).toBe('MANAGED');
    expect((await atBroker(h, intentId)).entries).toHaveLength(1);
  });
});

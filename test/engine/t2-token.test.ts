/**
 * T2 approval tokens and the execution gate (SPEC 5): INV-T2-TOKEN-1, INV-T2-GATE-1,
 * INV-T2-TOKEN-AUDIT-1 and the token chaos vectors.
 */
import { describe, expect, it } from 'vitest';
import { BrokerRefusedError } from '../../src/engine/broker.port.js';
import { bracketRequest } from '../../src/engine/execution.js';
import { admin, approver, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { expectBeads } from '../support/beads-checked.js';
import { approveWhileBrokerDown, atBroker, beadCount, parsedBeads, propose, reconnect, tokenEvents } from './helpers.js';
import { tradeDecisionText } from '../../src/present/decision.text.js';

const FIVE_MIN = 5 * 60_000;

describe('T2 tokens and the execution gate', () => {
  let h: Harness;
  const harness = useHarness();

  it('INV-T2-TOKEN-1: a token is single use — a second consume is refused and nothing more reaches the broker', async () => {
    h = await harness();
    const { intentId, cardId } = await propose(h);
    const d = await h.engine.decide(cardId, 'APPROVE', approver);
    expect(d.kind).toBe('approved');
    if (d.kind !== 'approved') return;
    expect(d.submit.kind).toBe('submitted');
    await h.settle();

    const again = await h.engine.submitWithToken(intentId, d.tokenId);
    expect(again.kind).toBe('refused');
    expect(again.kind === 'refused' && again.reason).toMatch(/already used/);
    const token = await h.app.store.tx((tx) => tx.tokens.get(d.tokenId));
    expect(token?.usedAt).toBe(h.clock.now());
    const b = await atBroker(h, intentId);
    expect(b.entries).toHaveLength(1);
    expect((await h.broker.executions()).filter((f) => f.orderRef === intentId && f.role === 'ENTRY')).toHaveLength(1);
  });

  it('INV-T2-TOKEN-1: a token expires 5 minutes after issue (5 min + 1 ms → refused, intent EXPIRED, nothing sent)', async () => {
    h = await harness();
    const { intentId, tokenId } = await approveWhileBrokerDown(h);
    const token = await h.app.store.tx((tx) => tx.tokens.get(tokenId));
    expect(token!.expiresAt - token!.issuedAt).toBe(FIVE_MIN);

    await h.clock.advance(FIVE_MIN + 1);
    await reconnect(h);
    const r = await h.engine.submitWithToken(intentId, tokenId);
    expect(r).toEqual({ kind: 'refused', reason: 'token expired' });
    const i = await intentOf(h, intentId);
    expect(i.state).toBe('EXPIRED');
    expect(i.stateReason).toMatch(/token expired/);
    expect((await atBroker(h, intentId)).orders).toHaveLength(0);
    expect(await h.app.db.brokerOrder.count({ where: { intentId } })).toBe(0);
  });

  it('INV-T2-TOKEN-1: just inside the 5 minutes the same token still works (boundary)', async () => {
    h = await harness();
    const { intentId, tokenId } = await approveWhileBrokerDown(h);
    await h.clock.advance(FIVE_MIN - 1);
    await reconnect(h);
    const r = await h.engine.submitWithToken(intentId, tokenId);
    expect(r.kind).toBe('submitted');
    expect((await atBroker(h, intentId)).entries).toHaveLength(1);
  });

  it('INV-T2-TOKEN-1: of 8 concurrent submitWithToken calls exactly one submits; the broker sees one placement', async () => {
    h = await harness();
    const { intentId, tokenId } = await approveWhileBrokerDown(h);
    await reconnect(h);
    const results = await Promise.all(Array.from({ length: 8 }, () => h.engine.submitWithToken(intentId, tokenId)));
    await h.settle();
    expect(results.filter((r) => r.kind === 'submitted')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'refused')).toHaveLength(7);
    const b = await atBroker(h, intentId);
    expect(b.entries).toHaveLength(1);
    expect(b.orders).toHaveLength(3); // entry + stop + target of ONE bracket
    expect((await h.broker.executions()).filter((f) => f.orderRef === intentId && f.role === 'ENTRY')).toHaveLength(1);
    expect(await h.app.db.brokerOrder.count({ where: { intentId } })).toBe(3);
    const events = await tokenEvents(h, intentId);
    expect(events.filter((e) => e.event === 'USED')).toHaveLength(1);
    expect(events.filter((e) => e.event === 'REJECTED')).toHaveLength(7);
    expect((await intentOf(h, intentId)).state).toBe('MANAGED');
  });

  it('CV token validation race: the approval path and two sweeper retries race for one token → one placement', async () => {
    h = await harness();
    const { intentId, tokenId } = await approveWhileBrokerDown(h);
    await reconnect(h);
    const [a, b, c] = await Promise.all([h.engine.retryWaiting(), h.engine.retryWaiting(), h.engine.submitWithToken(intentId, tokenId)]);
    await h.settle();
    const all = [...a, ...b, c];
    expect(all.filter((r) => r.kind === 'submitted')).toHaveLength(1);
    expect((await atBroker(h, intentId)).entries).toHaveLength(1);
    const beadsOfIntent = await parsedBeads(h, intentId);
    expect(expectBeads(beadsOfIntent, 'T2_TOKEN').filter((b) => b.data.event === 'USED')).toHaveLength(1);
    expect(expectBeads(beadsOfIntent, 'ORDER').filter((b) => b.data.role === 'ENTRY' && b.data.event === 'PLACING')).toHaveLength(1);
    // and at the store level: of 10 concurrent compare-and-set consumes of a fresh token exactly one wins
    const other = await approveWhileBrokerDown(h, { instrument: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' }, entryPrice: 200, stopLoss: 199, takeProfit: 202 });
    const tok = (await h.app.store.tx((tx) => tx.tokens.get(other.tokenId)))!;
    const wins = await Promise.all(Array.from({ length: 10 }, () => h.app.store.tx((tx) => tx.tokens.consume(tok.id, tok.intentId, tok.evidenceHash, h.clock.now()))));
    expect(wins.filter(Boolean)).toHaveLength(1);
    // and a consume with the wrong intent or evidence never wins
    const tok2 = await approveWhileBrokerDown(h, { instrument: { symbol: 'MSFT', secType: 'STK', exchange: 'SMART', currency: 'USD' }, entryPrice: 400, stopLoss: 399, takeProfit: 402 });
    const t2 = (await h.app.store.tx((tx) => tx.tokens.get(tok2.tokenId)))!;
    expect(await h.app.store.tx((tx) => tx.tokens.consume(t2.id, intentId, t2.evidenceHash, h.clock.now()))).toBe(false);
    expect(await h.app.store.tx((tx) => tx.tokens.consume(t2.id, t2.intentId, 'sha256:other', h.clock.now()))).toBe(false);
    expect(await h.app.store.tx((tx) => tx.tokens.consume(t2.id, t2.intentId, t2.evidenceHash, t2.expiresAt))).toBe(false);
    expect(await h.app.store.tx((tx) => tx.tokens.consume(t2.id, t2.intentId, t2.evidenceHash, t2.expiresAt - 1))).toBe(true);
  });

  it('INV-T2-GATE-1: no order without a valid token (null token, made-up token, direct broker call without a permit)', async () => {
    h = await harness();
    const { intentId, tokenId } = await approveWhileBrokerDown(h);
    await reconnect(h);

    const none = await h.engine.submitWithToken(intentId, null);
    expect(none.kind).toBe('refused');
    const fake = await h.engine.submitWithToken(intentId, 'tok_madeup000000000000');
    expect(fake.kind).toBe('refused');
    expect(fake.kind === 'refused' && fake.reason).toBe('unknown token');
    const unknownIntent = await h.engine.submitWithToken('int_doesnotexist', tokenId);
    expect(unknownIntent.kind).toBe('refused');

    const intent = await intentOf(h, intentId);
    await expect(h.broker.placeBracket(bracketRequest(intent), undefined as never)).rejects.toBeInstanceOf(BrokerRefusedError);
    await expect(h.broker.placeBracket(bracketRequest(intent), undefined as never)).rejects.toMatchObject({ code: 'NO_PERMIT' });
    const forged = { tokenId, intentId: 'int_other', evidenceHash: intent.evidenceHash, usedAt: h.clock.now() };
    await expect(h.broker.placeBracket(bracketRequest(intent), forged)).rejects.toMatchObject({ code: 'NO_PERMIT' });

    expect((await atBroker(h, intentId)).orders).toHaveLength(0);
    expect(await h.broker.openOrders()).toHaveLength(0);
    expect(await h.app.db.brokerOrder.count()).toBe(0);
    const rejected = (await tokenEvents(h, intentId)).filter((e) => e.event === 'REJECTED');
    expect(rejected.map((e) => e.reason)).toEqual(['no approval token: orders need a human approval', 'unknown token']);
    expect(rejected[0]!.tokenId).toBeNull();
    expect(rejected[1]!.tokenId).toBe('tok_madeup000000000000');
    // the unknown-intent attempt is audited too (intent-less REJECTED bead)
    const orphan = await h.app.db.bead.findMany({ where: { type: 'T2_TOKEN', intentId: null } });
    expect(orphan.map((b) => JSON.parse(b.payload) as { reason: string }).map((p) => p.reason)).toEqual(['unknown intent int_doesnotexist']);
    // the real token was not burnt by any of this: it still submits exactly once
    expect((await h.engine.submitWithToken(intentId, tokenId)).kind).toBe('submitted');
    expect((await atBroker(h, intentId)).entries).toHaveLength(1);
  });

  it('INV-T2-TOKEN-AUDIT-1: ISSUED, USED, EXPIRED and REJECTED (with reason) are each a T2_TOKEN bead', async () => {
    h = await harness({ constitution: { limits: { maxPositionPerInstrument: 3, maxTradesPerDay: 5 } } });
    // ISSUED + USED
    const a = await propose(h);
    const da = await h.engine.decide(a.cardId, 'APPROVE', approver);
    expect(da.kind === 'approved' && da.submit.kind).toBe('submitted');
    await h.settle();
    const ea = await tokenEvents(h, a.intentId);
    expect(ea.map((e) => e.event)).toEqual(['ISSUED', 'USED']);
    expect(ea[0]).toMatchObject({ purpose: 'TRADE', actor: { id: approver.id, name: approver.name }, expiresAt: new Date(h.clock.now() + FIVE_MIN).toISOString() });
    expect(ea[1]!.tokenId).toBe(ea[0]!.tokenId);

    // ISSUED + EXPIRED (sweeper) + REJECTED (late attempt)
    const b = await approveWhileBrokerDown(h);
    await h.clock.advance(FIVE_MIN);
    const swept = await h.engine.expireDue();
    expect(swept.tokens).toBe(1);
    await reconnect(h);
    const late = await h.engine.submitWithToken(b.intentId, b.tokenId);
    expect(late.kind).toBe('refused');
    const eb = await tokenEvents(h, b.intentId);
    expect(eb.map((e) => e.event)).toEqual(['ISSUED', 'EXPIRED', 'REJECTED']);
    expect(eb[1]).toMatchObject({ tokenId: b.tokenId, reason: 'not used within 5 minutes' });
    expect(eb[2]).toMatchObject({ tokenId: b.tokenId, reason: 'intent is EXPIRED, not APPROVED' });
    expect((await intentOf(h, b.intentId)).state).toBe('EXPIRED');
    // every REJECTED bead carries a non-empty reason
    const all = await h.app.db.bead.findMany({ where: { type: 'T2_TOKEN' } });
    for (const row of all) {
      const p = JSON.parse(row.payload) as { event: string; reason?: string };
      if (p.event === 'REJECTED' || p.event === 'EXPIRED') expect(p.reason?.length).toBeGreaterThan(5);
    }
  });

  it('CV token replay: a used token presented again is refused, audited, and nothing is re-sent', async () => {
    h = await harness();
    const { intentId, cardId } = await propose(h);
    const d = await h.engine.decide(cardId, 'APPROVE', approver);
    if (d.kind !== 'approved') throw new Error(d.kind);
    await h.settle();
    const before = await h.broker.executions();
    const ordersBefore = expectBeads(await parsedBeads(h, intentId), 'ORDER');
    for (let i = 0; i < 3; i++) {
      const r = await h.engine.submitWithToken(intentId, d.tokenId);
      expect(r.kind).toBe('refused');
    }
    await h.settle();
    expect(await h.broker.executions()).toHaveLength(before.length);
    expect((await atBroker(h, intentId)).entries).toHaveLength(1);
    const after = await parsedBeads(h, intentId);
    expect(expectBeads(after, 'ORDER')).toEqual(ordersBefore); // no ORDER bead: nothing re-sent
    const rejected = expectBeads(after, 'T2_TOKEN').map((b) => b.data).filter((e) => e.event === 'REJECTED');
    expect(rejected).toHaveLength(3);
    for (const r of rejected) expect(r.reason).toBe('token already used (replay)');
    expect((await intentOf(h, intentId)).state).toBe('MANAGED');
  });

  it('CV expired token: approved, broker down past 5 min → EXPIRED, card/bead say so, no order', async () => {
    h = await harness();
    const { intentId, tokenId } = await approveWhileBrokerDown(h);
    await h.clock.advance(FIVE_MIN + 1);
    await reconnect(h);
    // the jobs' retry path sees the token is no longer usable and sends nothing
    const retried = await h.engine.retryWaiting();
    expect(retried.every((r) => r.kind !== 'submitted')).toBe(true);
    await h.engine.expireDue();
    const direct = await h.engine.submitWithToken(intentId, tokenId);
    expect(direct.kind).toBe('refused');
    expect((await intentOf(h, intentId)).state).toBe('EXPIRED');
    const all = await parsedBeads(h, intentId);
    const events = expectBeads(all, 'T2_TOKEN').map((b) => b.data.event);
    expect(events.filter((e) => e === 'EXPIRED')).toHaveLength(1);
    expect(expectBeads(all, 'POSITION').map((b) => `${String(b.data.from)}>${String(b.data.to)}`)).toEqual(['PROPOSED>APPROVED', 'APPROVED>EXPIRED']);
    expect(events).not.toContain('USED');
    expect((await atBroker(h, intentId)).orders).toHaveLength(0);
  });

  it('CV token for another intent: refused with a REJECTED bead on the target intent; the rightful owner still works', async () => {
    h = await harness({ constitution: { limits: { maxPositionPerInstrument: 2 } } });
    const a = await approveWhileBrokerDown(h);
    await reconnect(h);
    const b = await propose(h);
    h.sim!.faults.disconnect();
    await h.settle();
    const db = await h.engine.decide(b.cardId, 'APPROVE', admin);
    if (db.kind !== 'approved') throw new Error(db.kind);
    await reconnect(h);

    const cross = await h.engine.submitWithToken(b.intentId, a.tokenId);
    expect(cross.kind).toBe('refused');
    expect(cross.kind === 'refused' && cross.reason).toBe(`token belongs to another intent (${a.intentId})`);
    const rej = expectBeads(await parsedBeads(h, b.intentId), 'T2_TOKEN').map((x) => x.data).filter((e) => e.event === 'REJECTED');
    expect(rej).toEqual([expect.objectContaining({ tokenId: a.tokenId, reason: `token belongs to another intent (${a.intentId})` })]);
    expect((await atBroker(h, b.intentId)).orders).toHaveLength(0);
    expect((await atBroker(h, a.intentId)).orders).toHaveLength(0);
    // A's token was not consumed by the misuse
    expect((await h.app.store.tx((tx) => tx.tokens.get(a.tokenId)))?.usedAt).toBeNull();
    expect((await h.engine.submitWithToken(a.intentId, a.tokenId)).kind).toBe('submitted');
    expect((await h.engine.submitWithToken(b.intentId, db.tokenId)).kind).toBe('submitted');
    expect((await atBroker(h, a.intentId)).entries).toHaveLength(1);
    expect((await atBroker(h, b.intentId)).entries).toHaveLength(1);
  });

  it('CV order without token: submitWithToken(id, null) and a raw broker call both place nothing', async () => {
    h = await harness();
    const { intentId } = await propose(h);
    const beadsBefore = await beadCount(h);
    const r = await h.engine.submitWithToken(intentId, null);
    expect(r.kind).toBe('refused');
    // even for a PROPOSED (never approved) intent the refusal is audited and changes nothing else
    expect(await beadCount(h)).toBe(beadsBefore + 1);
    expect((await intentOf(h, intentId)).state).toBe('PROPOSED');
    const intent = await intentOf(h, intentId);
    await expect(h.broker.placeBracket(bracketRequest(intent), undefined as never)).rejects.toThrow(/permit/);
    expect((await atBroker(h, intentId)).orders).toHaveLength(0);
    const all = await parsedBeads(h, intentId);
    const rej = expectBeads(all, 'T2_TOKEN');
    expect(rej.map((b) => b.data)).toEqual([expect.objectContaining({ event: 'REJECTED', tokenId: null, reason: expect.stringMatching(/no approval token/) })]);
    expectBeads(all, 'ORDER', { count: 0 });
  });

  it('CV two approvals of one intent at once: exactly one approves, exactly one order reaches the broker', async () => {
    h = await harness();
    const { intentId, cardId } = await propose(h);
    const [x, y] = await Promise.all([h.engine.decide(cardId, 'APPROVE', approver), h.engine.decide(cardId, 'APPROVE', admin)]);
    await h.settle();
    const outcomes = [x, y];
    expect(outcomes.filter((o) => o.kind === 'approved')).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'noop')).toHaveLength(1);
    const noop = outcomes.find((o) => o.kind === 'noop');
    expect(noop).toMatchObject({ kind: 'noop', cardStatus: 'DECIDED', decidedBy: expect.stringMatching(/^(alice|bob)$/) });
    expect(tradeDecisionText(noop!, 'America/New_York')).toMatch(/Already decided by (alice|bob)/);
    expect(await h.app.db.approvalToken.count({ where: { intentId } })).toBe(1);
    expect((await atBroker(h, intentId)).entries).toHaveLength(1);
    const all = await parsedBeads(h, intentId);
    expect(expectBeads(all, 'T2_TOKEN').map((b) => b.data.event)).toEqual(['ISSUED', 'USED']);
    expect(expectBeads(all, 'POSITION').map((b) => b.data.to)).toEqual(['APPROVED', 'SUBMITTED', 'FILLED', 'MANAGED']);
    expect(expectBeads(all, 'ORDER').filter((b) => b.data.event === 'PLACING' || b.data.event === 'PLACED').length).toBeGreaterThan(0);
    expect((await intentOf(h, intentId)).state).toBe('MANAGED');
  });
});

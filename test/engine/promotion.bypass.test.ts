/**
 * Promotion bypass (SPEC 11/15, seed CV_S32_PROMOTION_BYPASS: "attempt live trading without a
 * shadow period → REJECTED"). A SHADOW strategy's intent never reaches the broker: intake
 * records it (CANCELLED, shadow) without a card, and the execution gate refuses it at
 * submission even with a forged approval.
 */
import { describe, expect, it } from 'vitest';
import { demote } from '../../src/engine/strategy.usecase.js';
import { admin, approver, cardOf, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { beadsOfIntent, register, runSessions, trendAndRange } from './promotion.helpers.js';
import { aCard, aToken } from '../support/records.js';

const FIVE_MIN = 5 * 60_000;

async function brokerSaw(h: Harness, intentId: string) {
  const r = await h.broker.findByOrderRef(intentId);
  return { orders: r.orders.length, fills: r.fills.length, rows: await h.app.db.brokerOrder.count({ where: { intentId } }) };
}

/** Forge what an attacker with database access would need: an unused, unexpired TRADE token for the intent. */
async function forgeToken(h: Harness, intentId: string, evidenceHash: string): Promise<string> {
  const id = `tok_forged_${intentId}`;
  await h.app.store.tx((tx) => tx.tokens.insert(aToken({ id, intentId, evidenceHash, expiresAt: h.clock.now() + FIVE_MIN, issuedTo: 'mallory' }, h.clock.now())));
  return id;
}

async function forceState(h: Harness, intentId: string, state: string): Promise<void> {
  await h.app.db.$executeRawUnsafe(`UPDATE "Intent" SET state = ? WHERE id = ?`, state, intentId);
}

describe('CV promotion bypass', () => {
  let h: Harness | undefined;
  const harness = useHarness();

  it('CV promotion bypass: a SHADOW strategy\'s intent is recorded CANCELLED/shadow with no card; a forged token, then a forged APPROVED state, then a forged card are all refused — the broker receives nothing', async () => {
    h = await harness();
    await register(h, 'sneaky');
    const r = await h.engine.submitIntent(h.intent({ strategy: 'sneaky' }));
    expect(r).toMatchObject({ kind: 'accepted', state: 'CANCELLED', shadow: true, denials: [] });
    if (r.kind !== 'accepted') return;
    const intent = await intentOf(h, r.intentId);
    expect(intent).toMatchObject({ shadow: true, state: 'CANCELLED', stateReason: 'shadow: would have been proposed' });
    expect(await h.app.store.tx((tx) => tx.cards.bySubject(r.intentId, 'TRADE'))).toBeNull();
    const intentBead = (await beadsOfIntent(h, r.intentId)).find((b) => b.type === 'INTENT');
    expect(intentBead?.data).toMatchObject({ shadow: true, outcome: 'SHADOW', strategy: 'sneaky' });

    // 1. a forged token alone: the intent is not APPROVED
    const tok = await forgeToken(h, r.intentId, intent.evidenceHash);
    const s1 = await h.engine.submitWithToken(r.intentId, tok);
    expect(s1).toEqual({ kind: 'refused', reason: 'intent is CANCELLED, not APPROVED' });

    // 2. forged token + forged APPROVED state: the execution gate's shadow check refuses and cancels
    await forceState(h, r.intentId, 'APPROVED');
    const s2 = await h.engine.submitWithToken(r.intentId, tok);
    expect(s2).toEqual({ kind: 'refused', reason: 'strategy sneaky is SHADOW: shadow strategies never reach the broker' });
    expect((await intentOf(h, r.intentId)).state).toBe('CANCELLED');
    expect((await h.app.store.tx((tx) => tx.tokens.get(tok)))?.usedAt).toBeNull();
    const rejected = (await beadsOfIntent(h, r.intentId)).filter((b) => b.type === 'T2_TOKEN');
    expect(rejected.map((b) => b.data.reason)).toEqual(['intent is CANCELLED, not APPROVED', 'strategy sneaky is SHADOW: shadow strategies never reach the broker']);

    // 3. forged PROPOSED state + forged TRADE card: a real approver's tap issues a token, submission refuses
    await forceState(h, r.intentId, 'PROPOSED');
    const cardId = 'forgedcard';
    await h.app.store.tx((tx) =>
      tx.cards.insert(aCard({ id: cardId, subjectId: r.intentId, chatId: '-1', expiresAt: h!.clock.now() + FIVE_MIN }, h!.clock.now())),
    );
    const d = await h.engine.decide(cardId, 'APPROVE', approver);
    expect(d.kind === 'approved' && d.submit).toEqual({ kind: 'refused', reason: 'strategy sneaky is SHADOW: shadow strategies never reach the broker' });
    expect((await intentOf(h, r.intentId)).state).toBe('CANCELLED');

    await h.settle();
    expect(await brokerSaw(h, r.intentId)).toEqual({ orders: 0, fills: 0, rows: 0 });
    expect(await h.broker.executions()).toHaveLength(0);
    expect(await h.broker.openOrders()).toHaveLength(0);
  });

  it('CV promotion bypass: an intent recorded in shadow stays unsubmittable after the strategy is promoted (promotion is never retroactive)', async () => {
    h = await harness();
    await register(h, 'orb');
    const first = await h.engine.submitIntent(h.intent({ strategy: 'orb', regime: 'trend' }));
    if (first.kind !== 'accepted') throw new Error('expected accepted');
    await runSessions(h, 'orb', 20, trendAndRange);
    const req = await h.engine.promotions.request('orb', admin);
    if (req.kind !== 'requested') throw new Error(JSON.stringify(req));
    expect((await h.engine.promotions.decide(req.cardId, 'APPROVE', approver)).kind).toBe('promoted');

    const old = await intentOf(h, first.intentId);
    const tok = await forgeToken(h, old.id, old.evidenceHash);
    await forceState(h, old.id, 'APPROVED');
    const s = await h.engine.submitWithToken(old.id, tok);
    expect(s).toEqual({ kind: 'refused', reason: 'strategy orb is SHADOW: shadow strategies never reach the broker' });
    expect(await brokerSaw(h, old.id)).toEqual({ orders: 0, fills: 0, rows: 0 });
  });

  it('CV promotion bypass: a LIVE entry approved while the broker was down, then its strategy demoted, is refused at submission and cancelled — the broker receives nothing', async () => {
    h = await harness();
    const r = await h.engine.submitIntent(h.intent({ strategy: 'live-one' })); // unregistered = LIVE
    if (r.kind !== 'accepted' || r.state !== 'PROPOSED') throw new Error(JSON.stringify(r));
    h.sim!.faults.disconnect();
    await h.settle();
    const d = await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    expect(d.kind === 'approved' && d.submit.kind).toBe('waiting');

    const dem = await h.engine.promotions.demote('live-one', admin, 'misbehaving');
    expect(dem.ok && dem.changed).toBe(true);
    h.sim!.faults.reconnect();
    await h.settle();
    const out = await h.engine.retryWaiting();
    expect(out).toEqual([{ kind: 'refused', reason: 'strategy live-one is SHADOW: shadow strategies never reach the broker' }]);
    expect((await intentOf(h, r.intentId)).state).toBe('CANCELLED');
    expect(await h.engine.retryWaiting()).toEqual([]); // cancelled: never retried
    expect(await brokerSaw(h, r.intentId)).toEqual({ orders: 0, fills: 0, rows: 0 });
  });
});

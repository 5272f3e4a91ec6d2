/**
 * Promotion safety (SPEC 11, seed FLAG_D): INV-PROMOTION-SAFE-1 (no promotion while a kill
 * flag is active), INV-PROMOTION-SAFE-2 (none while a drift is unresolved), and the
 * "promotion with kill flag" chaos vector. Checked when the promotion is requested AND again
 * at the moment of approval.
 */
import { describe, expect, it } from 'vitest';
import { promotionRequestText } from '../../src/present/promotion.text.js';
import { halt, resume } from '../../src/engine/kill.usecase.js';
import { reconcileNow } from '../../src/engine/reconcile.usecase.js';
import { admin, approver, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { beadsOfIntent, beadsOfType, MES, register, runSessions, stageOf, trendAndRange } from './promotion.helpers.js';

async function ready(h: Harness, name = 'orb'): Promise<void> {
  await register(h, name);
  await runSessions(h, name, 20, trendAndRange);
}

async function induceDrift(h: Harness): Promise<string> {
  h.sim!.faults.spoofPosition(MES, 1);
  const r = await h.engine.reconcileNow('test');
  expect(r.newDrifts).toHaveLength(1);
  return r.newDrifts[0]!.id;
}

describe('promotion safety', () => {
  let h: Harness | undefined;
  const harness = useHarness();

  it('INV-PROMOTION-SAFE-1: with complete evidence, an active kill flag refuses the promotion (KILL_FLAG_ACTIVE, REFUSED bead, no card); after /resume it goes through', async () => {
    h = await harness();
    await ready(h);
    await h.engine.halt(approver, 'FOMC');
    const r = await h.engine.promotions.request('orb', admin);
    expect(r.kind === 'refused' && r.missing.map((m) => m.code)).toEqual(['KILL_FLAG_ACTIVE']);
    expect(r.kind === 'refused' && r.bundle?.safety.activeKillFlags.map((k) => k.reason)).toEqual(['FOMC']);
    expect(await h.app.db.card.count({ where: { kind: 'PROMOTION' } })).toBe(0);
    expect(await stageOf(h, 'orb')).toBe('SHADOW');

    await h.engine.resume(admin);
    expect((await h.engine.promotions.request('orb', admin)).kind).toBe('requested');
  });

  it('INV-PROMOTION-SAFE-1: a kill flag set after the request but before APPROVE refuses at approval — the token is issued, rejected and dead; the stage stays SHADOW', async () => {
    h = await harness();
    await ready(h);
    const req = await h.engine.promotions.request('orb', admin);
    if (req.kind !== 'requested') throw new Error(JSON.stringify(req));
    await h.engine.halt(approver, 'broker outage');
    const d = await h.engine.promotions.decide(req.cardId, 'APPROVE', approver);
    expect(d.kind).toBe('blocked');
    expect(d.kind === 'blocked' && d.missing.map((m) => m.code)).toEqual(['KILL_FLAG_ACTIVE']);
    expect(await stageOf(h, 'orb')).toBe('SHADOW');
    const token = await h.app.store.tx((tx) => tx.tokens.get(`tok_${req.promotionId}`));
    expect(token).toMatchObject({ purpose: 'PROMOTION', usedAt: null, expiredAt: h.clock.now(), evidenceHash: req.bundleHash });
    const story = (await beadsOfIntent(h, req.promotionId)).map((b) => `${b.type}:${String(b.data.event)}`);
    expect(story).toEqual(['PROMOTION:REQUESTED', 'CARD:CREATED', 'T2_TOKEN:ISSUED', 'T2_TOKEN:REJECTED', 'PROMOTION:REFUSED', 'CARD:DECIDED']);
    // the card is closed: a second tap does nothing
    expect((await h.engine.promotions.decide(req.cardId, 'APPROVE', approver)).kind).toBe('noop');
    expect(await stageOf(h, 'orb')).toBe('SHADOW');
  });

  it('CV promotion with kill flag: /promote while the kill switch is on → REFUSED, the kill flag cited in the answer and in the PROMOTION bead; a stale-state kill counts too', async () => {
    h = await harness();
    await ready(h);
    await h.engine.halt(approver, 'desk halt');
    const r = await h.engine.promotions.request('orb', admin);
    expect(r.kind).toBe('refused');
    expect(r.kind === 'refused' && promotionRequestText(r, h.engine.info.timeZone)).toMatch(/kill flag active \(manual: desk halt, set by alice\)/);
    const bead = (await beadsOfType(h, 'PROMOTION')).filter((b) => b.data.event === 'REFUSED').at(-1);
    expect(bead?.data.missing).toEqual(['KILL_FLAG_ACTIVE: kill flag active (manual: desk halt, set by alice)']);
    await h.engine.resume(admin);

    // a stale intent (any strategy) sets the automatic 5-minute kill: promotion refused meanwhile
    const stale = await h.engine.submitIntent(h.intent({ strategy: 'other', stateAsOf: new Date(h.clock.now() - 60 * 60_000).toISOString() }));
    expect(stale.kind === 'accepted' && stale.denials.map((d) => d.code)).toContain('STATE_CONFLICT');
    const r2 = await h.engine.promotions.request('orb', admin);
    expect(r2.kind === 'refused' && r2.missing.map((m) => m.code)).toEqual(['KILL_FLAG_ACTIVE']);
    expect(r2.kind === 'refused' && r2.missing[0]?.message).toMatch(/stale: stale market state/);
    await h.clock.advance(5 * 60_000 + 1); // the stale kill lapses
    expect((await h.engine.promotions.request('orb', admin)).kind).toBe('requested');
  });

  it('INV-PROMOTION-SAFE-2: an unresolved drift refuses the promotion (DRIFT_UNRESOLVED); once a human resolves it the promotion goes through', async () => {
    h = await harness();
    await ready(h);
    const driftId = await induceDrift(h);
    const r = await h.engine.promotions.request('orb', admin);
    expect(r.kind === 'refused' && r.missing.map((m) => m.code)).toEqual(['DRIFT_UNRESOLVED']);
    expect(r.kind === 'refused' && r.bundle?.safety.unresolvedDrifts.map((d) => d.id)).toEqual([driftId]);
    expect(await h.app.db.card.count({ where: { kind: 'PROMOTION' } })).toBe(0);

    const res = await h.engine.drift.resolve(driftId, 'ACKNOWLEDGED', 'spoofed by the test', approver);
    expect(res.ok).toBe(true);
    expect((await h.engine.promotions.request('orb', admin)).kind).toBe('requested');
  });

  it('INV-PROMOTION-SAFE-2: a drift detected between the request and APPROVE refuses at approval; nothing flips', async () => {
    h = await harness();
    await ready(h);
    const req = await h.engine.promotions.request('orb', admin);
    if (req.kind !== 'requested') throw new Error(JSON.stringify(req));
    await induceDrift(h);
    const d = await h.engine.promotions.decide(req.cardId, 'APPROVE', admin);
    expect(d.kind === 'blocked' && d.missing.map((m) => m.code)).toEqual(['DRIFT_UNRESOLVED']);
    expect(await stageOf(h, 'orb')).toBe('SHADOW');
    expect((await beadsOfType(h, 'PROMOTION')).map((b) => b.data.event)).toEqual(['REGISTERED', 'REQUESTED', 'REFUSED']);
  });
});

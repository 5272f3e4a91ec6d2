/**
 * Strategy registry (SPEC 11, issue 7): registerStrategy creates SHADOW, unregistered
 * strategies keep today's behaviour (LIVE), demote returns a strategy to SHADOW at once.
 */
import { describe, expect, it } from 'vitest';
import { strategyText } from '../../src/present/strategy.text.js';
import { demote, registerStrategy } from '../../src/engine/strategy.usecase.js';
import { admin, approver, cardOf, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { beadsOfType, register, runSessions, stageOf, trendAndRange } from './promotion.helpers.js';

describe('strategy registry', () => {
  let h: Harness | undefined;
  const harness = useHarness();

  it('unregistered strategies are LIVE (today\'s behaviour); registerStrategy (admin only, idempotent) makes one SHADOW, withdraws its open cards and records a REGISTERED bead', async () => {
    h = await harness();
    expect(await h.engine.promotions.get('fresh')).toEqual({ name: 'fresh', stage: 'LIVE', registered: false, since: null, changedBy: null });
    const live = await h.engine.submitIntent(h.intent({ strategy: 'fresh' }));
    expect(live).toMatchObject({ state: 'PROPOSED', shadow: false });
    if (live.kind !== 'accepted') return;

    const no = await h.engine.promotions.register('fresh', approver);
    expect(no).toEqual({ ok: false, code: 'NOT_ALLOWED', needs: ['admin'] });
    expect(strategyText(no)).toBe('Not allowed: admin role needed.');
    expect((await beadsOfType(h, 'ACCESS_DENIED')).at(-1)?.data).toMatchObject({ userId: approver.id, action: 'register strategy fresh' });
    expect(await stageOf(h, 'fresh')).toBeNull();

    const yes = await h.engine.promotions.register('  fresh  ', admin);
    expect(yes).toMatchObject({ ok: true, changed: true, strategy: { name: 'fresh', stage: 'SHADOW', registered: true, since: h.clock.now(), changedBy: admin.name } });
    expect((await beadsOfType(h, 'PROMOTION')).at(-1)?.data).toMatchObject({ strategy: 'fresh', from: 'UNREGISTERED', to: 'SHADOW', event: 'REGISTERED', actor: { name: admin.name } });
    // its open card is withdrawn, and the next intent is shadow
    expect(await intentOf(h, live.intentId)).toMatchObject({ state: 'CANCELLED', stateReason: 'strategy fresh registered as SHADOW by bob' });
    expect((await cardOf(h, live.intentId)).status).toBe('CLOSED');
    expect(await h.engine.submitIntent(h.intent({ strategy: 'fresh' }))).toMatchObject({ state: 'CANCELLED', shadow: true });

    const again = await h.engine.promotions.register('fresh', admin);
    expect(again).toMatchObject({ ok: true, changed: false });
    expect((await h.engine.promotions.register('   ', admin)).ok).toBe(false);
    expect((await h.engine.promotions.register('x'.repeat(65), admin)).ok).toBe(false);
    expect((await h.engine.promotions.list()).map((s) => `${s.name}:${s.stage}`)).toEqual(['fresh:SHADOW']);
  });

  it('demote (admin, no ceremony): LIVE → SHADOW at once with a DEMOTED bead; the shadow period restarts, so the old evidence no longer counts; open trade cards are cancelled', async () => {
    h = await harness();
    await register(h, 'orb');
    await runSessions(h, 'orb', 20, trendAndRange);
    const req = await h.engine.promotions.request('orb', admin);
    if (req.kind !== 'requested') throw new Error(JSON.stringify(req));
    expect((await h.engine.promotions.decide(req.cardId, 'APPROVE', approver)).kind).toBe('promoted');
    const proposed = await h.engine.submitIntent(h.intent({ strategy: 'orb' }));
    expect(proposed).toMatchObject({ state: 'PROPOSED', shadow: false });
    if (proposed.kind !== 'accepted') return;

    expect((await h.engine.promotions.demote('orb', approver)).ok).toBe(false); // admins only
    expect(await stageOf(h, 'orb')).toBe('LIVE');
    await h.clock.advance(60_000);
    const d = await h.engine.promotions.demote('orb', admin, 'drawdown too deep');
    expect(d).toMatchObject({ ok: true, changed: true, strategy: { stage: 'SHADOW', since: h.clock.now(), changedBy: admin.name } });
    expect((await beadsOfType(h, 'PROMOTION')).at(-1)?.data).toMatchObject({ strategy: 'orb', from: 'LIVE', to: 'SHADOW', event: 'DEMOTED', reason: 'drawdown too deep', actor: { name: admin.name } });
    expect(await intentOf(h, proposed.intentId)).toMatchObject({ state: 'CANCELLED', stateReason: 'strategy orb demoted to SHADOW by bob' });
    expect(await h.engine.submitIntent(h.intent({ strategy: 'orb' }))).toMatchObject({ state: 'CANCELLED', shadow: true });
    // fresh shadow period: one intent, one session — promotion needs the evidence again
    const p = await h.engine.promotions.preview('orb');
    expect(p?.bundle?.evidence.intents).toBe(1);
    expect(p?.missing.map((m) => m.code)).toContain('SESSIONS');
  });

  it('demote on an unregistered strategy registers it SHADOW; on a SHADOW one it keeps the period but withdraws a pending promotion card', async () => {
    h = await harness();
    const d = await h.engine.promotions.demote('stranger-strat', admin);
    expect(d).toMatchObject({ ok: true, changed: true, strategy: { stage: 'SHADOW' } });
    expect((await beadsOfType(h, 'PROMOTION')).at(-1)?.data).toMatchObject({ from: 'UNREGISTERED', to: 'SHADOW', event: 'DEMOTED' });

    await register(h, 'orb');
    await runSessions(h, 'orb', 20, trendAndRange);
    const since = (await h.engine.promotions.get('orb'))?.since;
    const req = await h.engine.promotions.request('orb', admin);
    if (req.kind !== 'requested') throw new Error(JSON.stringify(req));
    const w = await h.engine.promotions.demote('orb', admin);
    expect(w).toMatchObject({ ok: true, changed: true });
    expect((await h.engine.promotions.get('orb'))?.since).toBe(since);
    const view = await h.engine.promotions.cardView(req.cardId);
    expect(view?.card.status).toBe('CLOSED');
    expect(view?.promotion.decision).toMatchObject({ event: 'WITHDRAWN', by: admin.name });
    expect((await h.engine.promotions.decide(req.cardId, 'APPROVE', approver)).kind).toBe('noop');
    expect(await stageOf(h, 'orb')).toBe('SHADOW');
    // and the evidence is still there: a new request works
    expect((await h.engine.promotions.request('orb', admin)).kind).toBe('requested');
  });
});

/**
 * Promotion evidence (SPEC 11): INV-PROMOTION-EVIDENCE-1, the partial-evidence chaos vector,
 * and the pure shadow-record statistics (shadow-record.ts).
 */
import { describe, expect, it } from 'vitest';
import { promotionRequestText } from '../../src/present/promotion.text.js';
import { defaultConstitution } from '../../src/engine/constitution.js';
import { halt } from '../../src/engine/kill.usecase.js';
import { reconcileNow } from '../../src/engine/reconcile.usecase.js';
import { evidenceMissing, promotionRequirements, sharpe, shadowRecord, type ShadowObservation } from '../../src/engine/shadow-record.js';
import { admin, approver, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { beadsOfType, MES, register, runSessions, stageOf, trendAndRange } from './promotion.helpers.js';

async function cardsOfKind(h: Harness, kind: string) {
  return h.app.db.card.count({ where: { kind } });
}

describe('promotion evidence', () => {
  let h: Harness | undefined;
  const harness = useHarness();

  it('INV-PROMOTION-EVIDENCE-1: a promotion without a complete evidence bundle is REFUSED (no card, no token, stage unchanged) — 19 sessions is one short, 20 is enough', async () => {
    h = await harness();
    await register(h, 'orb');
    await runSessions(h, 'orb', 19, trendAndRange);
    const r = await h.engine.promotions.request('orb', admin);
    expect(r.kind).toBe('refused');
    if (r.kind !== 'refused') return;
    expect(r.missing).toEqual([{ code: 'SESSIONS', message: 'sessions observed: 19 of 20 (1 more trading session needed)' }]);
    expect(r.bundle?.evidence.sessionsObserved).toBe(19);
    expect(await cardsOfKind(h, 'PROMOTION')).toBe(0);
    expect(await h.app.db.approvalToken.count()).toBe(0);
    expect(await stageOf(h, 'orb')).toBe('SHADOW');
    const [bead] = (await beadsOfType(h, 'PROMOTION')).filter((b) => b.data.event === 'REFUSED');
    expect(bead?.data).toMatchObject({ strategy: 'orb', from: 'SHADOW', to: 'LIVE', missing: ['SESSIONS: sessions observed: 19 of 20 (1 more trading session needed)'], actor: { name: admin.name } });
    expect(bead?.data.bundle).toEqual(r.bundle);
    expect(bead?.intentId).toBe(r.promotionId);

    // one more session (the 20th trading day): complete → a card
    await runSessions(h, 'orb', 1, { regime: () => 'range' });
    const ok = await h.engine.promotions.request('orb', admin);
    expect(ok.kind).toBe('requested');
    expect(ok.kind === 'requested' && ok.bundle.evidence.sessionsObserved).toBe(20);
    expect(await cardsOfKind(h, 'PROMOTION')).toBe(1);
    expect(await stageOf(h, 'orb')).toBe('SHADOW'); // requesting never flips anything
  });

  it('INV-PROMOTION-EVIDENCE-1: regimes — 20 sessions of trend only is refused (2 distinct needed, range missing); trend + volatile still lacks range; trend + range passes', async () => {
    h = await harness();
    await register(h, 'trend-only');
    await register(h, 'trend-volatile');
    await register(h, 'both');
    await runSessions(h, 'trend-only', 20, { regime: () => 'trend' });
    const a = await h.engine.promotions.request('trend-only', admin);
    expect(a.kind === 'refused' && a.missing).toEqual([
      { code: 'REGIMES', message: 'distinct regimes: 1 of 2 (seen: trend)' },
      { code: 'REGIME_MISSING', message: "regime 'range' not observed in shadow" },
    ]);
    await runSessions(h, 'trend-volatile', 20, { regime: (n) => (n % 2 ? 'volatile' : 'trend') });
    const b = await h.engine.promotions.request('trend-volatile', admin);
    expect(b.kind === 'refused' && b.missing).toEqual([{ code: 'REGIME_MISSING', message: "regime 'range' not observed in shadow" }]);
    await runSessions(h, 'both', 20, trendAndRange);
    const c = await h.engine.promotions.request('both', admin);
    expect(c.kind).toBe('requested');
  });

  it('INV-PROMOTION-EVIDENCE-1: weekends, untagged intents and intents from before the current shadow period are not evidence', async () => {
    h = await harness();
    // 20 sessions while LIVE (unregistered) do not count: they were not shadow
    await runSessions(h, 'late', 5, trendAndRange);
    await register(h, 'late'); // → SHADOW now; the shadow period starts here
    await runSessions(h, 'late', 3, { regime: () => undefined });
    const p = await h.engine.promotions.preview('late');
    expect(p?.bundle?.evidence).toMatchObject({ intents: 3, sessionsObserved: 3, untaggedIntents: 3, distinctRegimes: 0 });
    expect(p?.missing.map((m) => m.code)).toEqual(['SESSIONS', 'TRADES', 'REGIMES', 'REGIME_MISSING', 'REGIME_MISSING']);

    // a weekend signal is recorded (a would-have-been kill) but is no session
    await h.clock.set('2026-12-05T15:00:00Z'); // Saturday
    await h.engine.submitIntent(h.intent({ strategy: 'late', regime: 'trend' }));
    const w = await h.engine.promotions.preview('late');
    expect(w?.bundle?.evidence).toMatchObject({ intents: 4, sessionsObserved: 3, wouldHaveBeenKills: { total: 1, byCode: { SESSION_CLOSED: 1 } } });
  });

  it('CV partial promotion evidence: 12 sessions of trend only, a kill flag and an unresolved drift → REFUSED with every missing requirement listed (outcome and bead), nothing else changes', async () => {
    h = await harness();
    await register(h, 'partial');
    await runSessions(h, 'partial', 12, { regime: () => 'trend' });
    await h.engine.halt(approver, 'news spike');
    h.sim!.faults.spoofPosition(MES, 1);
    const rec = await h.engine.reconcileNow('test');
    expect(rec.newDrifts).toHaveLength(1);
    const before = { cards: await h.app.db.card.count(), tokens: await h.app.db.approvalToken.count() };

    const r = await h.engine.promotions.request('partial', admin);
    expect(r.kind).toBe('refused');
    if (r.kind !== 'refused') return;
    expect(r.missing.map((m) => m.code)).toEqual(['SESSIONS', 'REGIMES', 'REGIME_MISSING', 'KILL_FLAG_ACTIVE', 'DRIFT_UNRESOLVED']);
    expect(r.missing[0]?.message).toBe('sessions observed: 12 of 20 (8 more trading sessions needed)');
    expect(r.missing[1]?.message).toBe('distinct regimes: 1 of 2 (seen: trend)');
    expect(r.missing[2]?.message).toBe("regime 'range' not observed in shadow");
    expect(r.missing[3]?.message).toContain('news spike');
    expect(r.missing[4]?.message).toMatch(/unresolved drift POSITION_/);
    expect(r.why).toBe('MISSING');
    expect(promotionRequestText(r, h.engine.info.timeZone)).toContain('8 more trading sessions');
    const refused = (await beadsOfType(h, 'PROMOTION')).filter((b) => b.data.event === 'REFUSED');
    expect(refused).toHaveLength(1);
    expect(refused[0]?.data.missing).toHaveLength(5);
    expect((refused[0]?.data.missing as string[]).map((m) => m.split(':')[0])).toEqual(['SESSIONS', 'REGIMES', 'REGIME_MISSING', 'KILL_FLAG_ACTIVE', 'DRIFT_UNRESOLVED']);
    expect({ cards: await h.app.db.card.count(), tokens: await h.app.db.approvalToken.count() }).toEqual(before);
    expect(await stageOf(h, 'partial')).toBe('SHADOW');
  });

  it('INV-PROMOTION-EVIDENCE-1: unregistered and LIVE strategies cannot be promoted (refused with the reason, audited)', async () => {
    h = await harness();
    const r = await h.engine.promotions.request('nobody', admin);
    expect(r.kind === 'refused' && r.missing.map((m) => m.code)).toEqual(['NOT_REGISTERED']);
    const beads = await beadsOfType(h, 'PROMOTION');
    expect(beads.at(-1)?.data).toMatchObject({ strategy: 'nobody', from: 'UNREGISTERED', event: 'REFUSED' });
  });
});

describe('shadow record (pure)', () => {
  const cal = defaultConstitution().session;
  const at = (iso: string) => Date.parse(iso);
  let n = 0;
  const obs = (iso: string, over: Partial<ShadowObservation> = {}): ShadowObservation => ({
    id: `i${++n}`,
    createdAt: at(iso),
    instrumentKey: 'MES.202612.CME',
    side: 'BUY',
    quantity: 1,
    multiplier: 5,
    entryPrice: 100,
    stopLoss: 98,
    takeProfit: 104,
    regime: 'trend',
    failedRedChecks: 0,
    denials: [],
    ...over,
  });

  it('simulates exits from later same-day observations: target, stop, unknown; SELL mirrors; other instruments and days never settle a trade', () => {
    const r = shadowRecord(
      [
        obs('2026-11-24T15:00:00Z'), // BUY 100, stop 98, target 104
        obs('2026-11-24T15:01:00Z', { entryPrice: 101, stopLoss: 99, takeProfit: 105 }), // not beyond either level of #1
        obs('2026-11-24T15:02:00Z', { entryPrice: 104.5, stopLoss: 102, takeProfit: 110, instrumentKey: 'ES.202612.CME' }), // other instrument
        obs('2026-11-24T15:03:00Z', { entryPrice: 97.5, stopLoss: 96, takeProfit: 99.5, side: 'BUY' }), // #1 stopped at 98; #2 stopped at 99
        obs('2026-11-25T15:00:00Z', { side: 'SELL', entryPrice: 100, stopLoss: 102, takeProfit: 96 }), // SELL
        obs('2026-11-25T15:05:00Z', { entryPrice: 95.5, stopLoss: 94, takeProfit: 99 }), // SELL target 96 hit
        obs('2026-11-26T15:00:00Z', { entryPrice: 100 }), // next day nothing follows → unknown
      ],
      cal,
    );
    const by = Object.fromEntries(r.trades.map((t) => [t.intentId, t]));
    const ids = r.trades.map((t) => t.intentId);
    expect(by[ids[0]!]).toMatchObject({ outcome: 'STOP', exitPrice: 98, pnlCents: -1000, r: -1 });
    expect(by[ids[1]!]).toMatchObject({ outcome: 'STOP', exitPrice: 99, pnlCents: -1000, r: -1 });
    expect(by[ids[2]!]).toMatchObject({ outcome: 'UNKNOWN', pnlCents: null }); // ES: nothing after it on ES
    expect(by[ids[4]!]).toMatchObject({ outcome: 'TARGET', exitPrice: 96, pnlCents: 2000, r: 2 });
    expect(by[ids[6]!]).toMatchObject({ outcome: 'UNKNOWN' });
    expect(r.stats.trades).toEqual({ simulated: 7, resolved: 3, wins: 1, losses: 2, unknown: 4 });
    expect(r.stats.totalPnlCents).toBe(0);
    expect(r.stats.totalR).toBe(0);
    expect(r.stats.maxDrawdown).toEqual({ cents: 2000, r: 2 });
    expect(r.stats.worstDay).toEqual({ day: '2026-11-24', pnlCents: -2000 });
    expect(r.stats.sessionsObserved).toBe(3);
  });

  it('kills by code, override rate (failed red checks among would-have-been-proposed), regimes, sessions skip weekends and holidays, Sharpe', () => {
    const r = shadowRecord(
      [
        obs('2026-11-24T15:00:00Z', { denials: ['QUALITY'] }),
        obs('2026-11-24T16:00:00Z', { denials: ['QUALITY', 'RISK_PER_TRADE'], regime: 'range' }),
        obs('2026-11-25T15:00:00Z', { failedRedChecks: 1, regime: null }),
        obs('2026-11-25T16:00:00Z'),
        obs('2026-11-28T15:00:00Z', { denials: ['SESSION_CLOSED'] }), // Saturday
        obs('2026-11-26T15:00:00Z'), // Thanksgiving when configured as a holiday
      ],
      { ...cal, holidays: ['2026-11-26'] },
    );
    expect(r.stats.wouldHaveBeenKills).toEqual({ total: 3, byCode: { QUALITY: 2, RISK_PER_TRADE: 1, SESSION_CLOSED: 1 } });
    expect(r.stats.override).toEqual({ count: 1, of: 3, rate: 0.3333 });
    // regimes and sessions come from would-have-been-proposed intents only (MONEY-7): the two
    // refused intents of 11-24 tag nothing and make 11-24 a blocked-only day, not a session
    expect(r.stats.regimes).toEqual({ trend: 2 });
    expect(r.stats.untaggedIntents).toBe(1);
    expect(r.sessionDays).toEqual(['2026-11-25']);
    expect(r.stats.sessionsBlockedOnly).toBe(1);
    expect(evidenceMissing(r.stats, promotionRequirements(defaultConstitution())).map((m) => m.code)).toEqual(['SESSIONS', 'TRADES', 'REGIMES', 'REGIME_MISSING']);
    expect(sharpe([100, -100])).toBe(0);
    expect(sharpe([100, 300])).toBeCloseTo((200 / Math.sqrt(20_000)) * Math.sqrt(252), 3);
    expect(sharpe([5])).toBeNull();
    expect(sharpe([5, 5])).toBeNull();
  });

  it('is deterministic and order-independent (same input in any order → same statistics)', () => {
    const list = [obs('2026-11-24T15:00:00Z'), obs('2026-11-24T15:03:00Z', { entryPrice: 104.25, stopLoss: 102, takeProfit: 108 }), obs('2026-11-25T15:00:00Z', { regime: 'range' })];
    const a = shadowRecord(list, cal);
    const b = shadowRecord([...list].reverse(), cal);
    expect(JSON.stringify(a.stats)).toBe(JSON.stringify(b.stats));
    expect(a.stats.trades.wins).toBe(1);
  });
});

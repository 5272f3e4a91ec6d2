/**
 * Strategy promotion end to end, engine level (SPEC 11, issue 7): a registered SHADOW
 * strategy runs 20 sessions across two regimes (day by day on the FakeClock), /promote
 * assembles the bundle, an approver APPROVEs the PROMOTION card, the strategy is LIVE, and
 * its next intent is PROPOSED with a TRADE card that goes all the way to the broker.
 * Run on every store adapter (better-sqlite3 default, Prisma, PostgreSQL).
 */
import { describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/engine/audit.usecase.js';
import { admin, approver, cardOf, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { adapterEnv, STORE_ADAPTERS, usePostgres } from '../support/postgres.js';
import { beadsOfIntent, register, runSessions, stageOf } from './promotion.helpers.js';

const pg = usePostgres();

describe.each(STORE_ADAPTERS)('promotion end to end (%s store)', (adapter) => {
  let h: Harness | undefined;
  const harness = useHarness();

  it('20 shadow sessions across trend and range → /promote → APPROVE → LIVE → the next intent is PROPOSED with a TRADE card and reaches the broker', async () => {
    h = await harness({ env: await adapterEnv(adapter, pg) });
    await register(h, 'mes-orb');
    expect(await stageOf(h, 'mes-orb')).toBe('SHADOW');

    // 20 trading sessions, trend on even ones and range on odd ones; the first intent of a
    // session is settled by a second one: target on sessions 0, 1, 2, 4, 5, 6 …, stop on 3, 7 …
    const { intentIds, days } = await runSessions(h, 'mes-orb', 20, {
      regime: (n) => (n % 2 === 0 ? 'trend' : 'range'),
      settle: (n) => (n % 4 === 3 ? 'stop' : 'target'),
    });
    expect(days).toHaveLength(20);
    expect(days[0]).toBe('2026-11-24');
    expect(new Set(days).size).toBe(20);
    // every shadow intent was recorded with its would-have-been outcome and never carded
    for (const id of intentIds) {
      const i = await intentOf(h, id);
      expect(i.shadow).toBe(true);
      expect(i.state).toBe('CANCELLED');
      expect(i.stateReason).toBe('shadow: would have been proposed');
      expect(await h.app.store.tx((tx) => tx.cards.bySubject(id, 'TRADE'))).toBeNull();
    }
    // a weekend signal is recorded too, but it is no session (and the session gate would have killed it)
    await h.clock.set('2026-12-26T15:00:00Z'); // Saturday
    const weekend = await h.engine.submitIntent(h.intent({ strategy: 'mes-orb', regime: 'range' }));
    expect(weekend.kind === 'accepted' && weekend.denials.map((d) => d.code)).toEqual(['SESSION_CLOSED']);
    await h.clock.set('2026-12-28T15:05:00Z'); // Monday 10:05 New York

    const req = await h.engine.promotions.request('mes-orb', admin);
    expect(req.kind).toBe('requested');
    if (req.kind !== 'requested') return;
    const ev = req.bundle.evidence;
    expect(ev.sessionsObserved).toBe(20);
    expect(ev.intents).toBe(41);
    expect(ev.regimes).toEqual({ range: 20, trend: 20 }); // the refused weekend intent is no evidence (MONEY-7)
    expect(ev.distinctRegimes).toBe(2);
    expect(ev.wouldHaveBeenKills).toEqual({ total: 1, byCode: { SESSION_CLOSED: 1 } });
    expect(ev.wouldHaveBeenProposed).toBe(40);
    expect(ev.override).toEqual({ count: 0, of: 40, rate: 0 });
    // 20 first intents resolved (15 targets at +$23.75, 5 stops at −$11.25), 20 seconds unknown
    expect(ev.trades).toEqual({ simulated: 40, resolved: 20, wins: 15, losses: 5, unknown: 20 });
    expect(ev.totalPnlCents).toBe(15 * 2375 - 5 * 1125);
    expect(ev.worstDay).toEqual({ day: '2026-11-27', pnlCents: -1125 });
    expect(ev.maxDrawdown).toEqual({ cents: 1125, r: 1 });
    expect(ev.sharpe).not.toBeNull();
    expect(req.bundle.missing).toEqual([]);
    expect(req.bundleHash).toMatch(/^sha256:[0-9a-f]{64}$/);

    // the card the bot renders
    const view = await h.engine.promotions.cardView(req.cardId);
    expect(view?.card).toMatchObject({ kind: 'PROMOTION', subjectId: req.promotionId, status: 'OPEN', expiresAt: h.clock.now() + 5 * 60_000 });
    expect(view?.promotion.bundleHash).toBe(req.bundleHash);
    expect(view?.strategy.stage).toBe('SHADOW');

    await h.clock.advance(30_000);
    const d = await h.engine.promotions.decide(req.cardId, 'APPROVE', approver);
    expect(d.kind).toBe('promoted');
    expect(await stageOf(h, 'mes-orb')).toBe('LIVE');
    const strat = await h.app.store.tx((tx) => tx.strategies.get('mes-orb'));
    expect(strat).toMatchObject({ stage: 'LIVE', since: h.clock.now(), changedBy: approver.name });
    // the whole ceremony is one query on the promotion id
    const story = (await beadsOfIntent(h, req.promotionId)).map((b) => `${b.type}:${String(b.data.event)}`);
    expect(story).toEqual(['PROMOTION:REQUESTED', 'CARD:CREATED', 'T2_TOKEN:ISSUED', 'T2_TOKEN:USED', 'PROMOTION:APPROVED', 'CARD:DECIDED']);
    expect((await h.engine.promotions.cardView(req.cardId))?.promotion.decision).toMatchObject({ event: 'APPROVED', by: approver.name });

    // LIVE now: the next intent is PROPOSED with a TRADE card, and an approval reaches the broker
    const next = await h.engine.submitIntent(h.intent({ strategy: 'mes-orb', regime: 'trend' }));
    expect(next).toMatchObject({ kind: 'accepted', state: 'PROPOSED', shadow: false, denials: [] });
    if (next.kind !== 'accepted') return;
    const card = await cardOf(h, next.intentId);
    expect(card.kind).toBe('TRADE');
    const approved = await h.engine.decide(card.id, 'APPROVE', approver);
    expect(approved.kind === 'approved' && approved.submit.kind).toBe('submitted');
    await h.settle();
    expect((await h.broker.findByOrderRef(next.intentId)).orders.filter((o) => o.role === 'ENTRY')).toHaveLength(1);

    expect((await verifyAudit(h.app.store)).ok).toBe(true);
  });
});

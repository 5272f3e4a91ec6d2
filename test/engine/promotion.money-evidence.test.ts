/**
 * MONEY-7 (issue 13): promotion on evidence made of refused intents. 20 intents at 02:00 New
 * York with DVS 0.1, all refused by the gates, made a "perfect" shadow record (0 trades,
 * drawdown 0) and approving it made the strategy LIVE. Evidence is now made only of intents that
 * would have been proposed, with a minimum of simulated trades (constitution
 * promotion.minSimulatedTrades), and the card says what the record is made of.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { visibleText } from '../../src/bot/html.js';
import { renderPromotionCard } from '../../src/bot/render/promotion.js';
import { loadConstitution } from '../../src/config/load.js';
import { constitutionSchema } from '../../src/engine/constitution.js';
import { admin, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { DAY, register, runSessions, stageOf, trendAndRange } from './promotion.helpers.js';

let h: Harness | undefined;
const harness = useHarness();

/** One intent per weekday at 02:00 New York (07:00 UTC in November/December), DVS 0.1. */
async function nightIntents(hh: Harness, strategy: string, days: number): Promise<void> {
  let t = Date.parse('2026-11-25T07:00:00Z'); // Wednesday 02:00 New York
  for (let n = 0; n < days; t += DAY) {
    const wd = new Date(t).getUTCDay();
    if (wd === 0 || wd === 6) continue;
    await hh.clock.set(t);
    const r = await hh.engine.submitIntent(hh.intent({ strategy, regime: n % 2 ? 'range' : 'trend', evidence: { ...(hh.intent().evidence as object), dvs: 0.1 } }));
    expect(r).toMatchObject({ kind: 'accepted', state: 'CANCELLED', shadow: true });
    n++;
  }
}

describe('MONEY-7: promotion on evidence made of refused intents', () => {
  it('MONEY-7: INV-PROMOTION-EVIDENCE-1: CV partial promotion evidence: 20 sessions of intents at 02:00 NY with DVS 0.1, all refused, are no evidence → REFUSED (0 sessions, 0 simulated trades, no regimes), no card, no token, still SHADOW', async () => {
    h = await harness();
    await register(h, 'night');
    await nightIntents(h, 'night', 20);
    await h.clock.set('2026-12-23T15:05:00Z'); // a Wednesday, 10:05 New York: the request itself is in session
    const r = await h.engine.promotions.request('night', admin);
    expect(r.kind).toBe('refused');
    if (r.kind !== 'refused') return;
    expect(r.missing.map((m) => m.code)).toEqual(['SESSIONS', 'TRADES', 'REGIMES', 'REGIME_MISSING', 'REGIME_MISSING']);
    expect(r.missing[0]?.message).toBe('sessions observed: 0 of 20 (20 more trading sessions needed; 20 days with only blocked intents do not count)');
    expect(r.missing[1]?.message).toBe('simulated trades: 0 of 10 (10 more needed; 20 of 20 shadow intents were blocked by a gate and are no trades)');
    expect(r.bundle?.evidence).toMatchObject({
      intents: 20,
      wouldHaveBeenProposed: 0,
      wouldHaveBeenKills: { total: 20, byCode: { QUALITY: 20, SESSION_CLOSED: 20 } },
      sessionsObserved: 0,
      sessionsBlockedOnly: 20,
      regimes: {},
      trades: { simulated: 0, resolved: 0, wins: 0, losses: 0, unknown: 0 },
    });
    expect(await h.app.db.card.count({ where: { kind: 'PROMOTION' } })).toBe(0);
    expect(await h.app.db.approvalToken.count()).toBe(0);
    expect(await stageOf(h, 'night')).toBe('SHADOW');
  });

  it('MONEY-7: INV-PROMOTION-EVIDENCE-1: the minimum of simulated trades at its boundary — 20 of 21 is refused (blocked intents add nothing), 21 of 21 is a card', async () => {
    h = await harness({ constitution: { promotion: { minSimulatedTrades: 21 } } });
    await register(h, 'orb');
    await runSessions(h, 'orb', 20, trendAndRange); // 20 would-be-proposed intents: 20 simulated trades
    // a refused intent on the same day is no trade
    const blocked = await h.engine.submitIntent(h.intent({ strategy: 'orb', regime: 'trend', evidence: { ...(h.intent().evidence as object), dvs: 0.1 } }));
    expect(blocked).toMatchObject({ kind: 'accepted', denials: [expect.objectContaining({ code: 'QUALITY' })] });
    const short = await h.engine.promotions.request('orb', admin);
    expect(short.kind === 'refused' && short.missing).toEqual([{ code: 'TRADES', message: 'simulated trades: 20 of 21 (1 more needed; 1 of 21 shadow intents were blocked by a gate and are no trades)' }]);
    await h.clock.advance(60_000);
    const one = await h.engine.submitIntent(h.intent({ strategy: 'orb', regime: 'range' }));
    expect(one).toMatchObject({ kind: 'accepted', denials: [] });
    const ok = await h.engine.promotions.request('orb', admin);
    expect(ok.kind).toBe('requested');
    expect(ok.kind === 'requested' && ok.bundle.evidence.trades.simulated).toBe(21);
    expect(ok.kind === 'requested' && ok.bundle.requirements.minSimulatedTrades).toBe(21);
  });

  it('MONEY-7: promotion.minSimulatedTrades is in the constitution: default 10, a whole number ≥ 1 — 0, 2.5 and unknown keys are refused with the field named', () => {
    expect(constitutionSchema.parse({ limits: {}, staleState: {}, approval: {}, session: {}, reconciliation: {} }).promotion).toEqual({ minSimulatedTrades: 10 });
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-const-'));
    try {
      const file = join(dir, 'c.yaml');
      const base = 'limits: {}\nstaleState: {}\napproval: {}\nsession: {}\nreconciliation: {}\n';
      const load = (extra: string) => {
        writeFileSync(file, base + extra);
        return loadConstitution(file);
      };
      expect(load('')).toMatchObject({ ok: true, value: { promotion: { minSimulatedTrades: 10 } } });
      expect(load('promotion: { minSimulatedTrades: 1 }\n')).toMatchObject({ ok: true, value: { promotion: { minSimulatedTrades: 1 } } });
      const rule = 'must be a whole number of simulated trades from 1 to 10000 (a shadow record without trades proves nothing)';
      expect(load('promotion: { minSimulatedTrades: 0 }\n')).toEqual({ ok: false, problems: [`constitution promotion.minSimulatedTrades (${file} line 6): ${rule}, got 0 → set a value like 10`] });
      expect(load('promotion: { minSimulatedTrades: 2.5 }\n')).toEqual({ ok: false, problems: [`constitution promotion.minSimulatedTrades (${file} line 6): ${rule}, got 2.5 → set a value like 10`] });
      expect(load('promotion: { minTrades: 5 }\n')).toEqual({ ok: false, problems: [`constitution promotion.minTrades (${file} line 6): unknown key → remove it or correct its spelling; the keys here are minSimulatedTrades`] });
      expect(load('promotion: { minSimulatedTrade: 5 }\n')).toMatchObject({ ok: false, problems: [expect.stringContaining('did you mean minSimulatedTrades?')] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('MONEY-7: the promotion card says what the record is made of: intents, would-have-been-proposed, blocked, simulated trades against their minimum', async () => {
    h = await harness();
    await register(h, 'orb');
    await runSessions(h, 'orb', 20, trendAndRange);
    for (let k = 0; k < 3; k++) {
      await h.engine.submitIntent(h.intent({ strategy: 'orb', regime: 'trend', evidence: { ...(h.intent().evidence as object), dvs: 0.1 } }));
    }
    const req = await h.engine.promotions.request('orb', admin);
    expect(req.kind).toBe('requested');
    if (req.kind !== 'requested') return;
    const view = await h.engine.promotions.cardView(req.cardId);
    if (!view) throw new Error('no card view');
    const text = visibleText(renderPromotionCard({ ...view, blockedBy: [], timeZone: 'America/New_York' }).html);
    expect(text).toContain('Record: 23 shadow intents — 20 would have been proposed · 3 blocked by a gate (not evidence) · 20 simulated trades (min 10) ✅');
    expect(text).toContain('Sessions observed: 20 (min 20) ✅');
    expect(text).toContain('Would-have-been kills: 3 of 23 intents — QUALITY 3');
  });
});

/**
 * The mock signal generator (SPEC 2, 3): deterministic for a seed, valid per the public
 * intent schema (except the one deliberate malformed request), realistic instruments and
 * evidence, and — run through a real engine — PROPOSED where it should be, CANCELLED by the
 * gate it was built to trip where it should be.
 */
import { describe, expect, it } from 'vitest';
import { frontMonth, generateSignals, SHOWCASE, type DemoSignal } from '../../src/demo/index.js';
import { parseIntent } from '../../src/engine/intent.schema.js';
import { IN_SESSION, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';

const NOW = Date.parse(IN_SESSION);
const riskOf = (b: Record<string, unknown>) => {
  const ins = b.instrument as { multiplier: number };
  return Math.abs((b.entryPrice as number) - ((b.stopLoss ?? b.stop_loss) as number)) * (b.quantity as number) * ins.multiplier;
};

describe('generateSignals', () => {
  it('is deterministic for a seed and a time; another seed gives other intents', () => {
    const a = generateSignals({ seed: 7, now: NOW, count: 40 });
    const b = generateSignals({ seed: 7, now: NOW, count: 40 });
    expect(b).toEqual(a);
    const c = generateSignals({ seed: 8, now: NOW, count: 40 });
    expect(c.map((s) => s.body)).not.toEqual(a.map((s) => s.body));
    expect(new Set(a.map((s) => s.body.signalId)).size).toBe(40);
  });

  it('every intent except the one deliberate malformed request passes parseIntent; the malformed one lists its problems', () => {
    const sigs = generateSignals({ seed: 3, now: NOW, count: 300 });
    const malformed = sigs.filter((s) => s.kind === 'malformed');
    expect(malformed).toHaveLength(1);
    for (const s of sigs) {
      const r = parseIntent(s.body);
      if (s.kind === 'malformed') {
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['stopLoss', '(body)']));
      } else {
        expect(r.ok, JSON.stringify(r)).toBe(true);
      }
    }
  });

  it('realistic: MES/MNQ futures (multipliers 5/2, front quarterly month), AAPL/MSFT stocks, fresh stateAsOf, varied evidence, trend and range, risk inside the $15 cap mostly', () => {
    const sigs = generateSignals({ seed: 11, now: NOW, count: 300 });
    const bySymbol = new Map<string, DemoSignal[]>();
    for (const s of sigs) {
      const sym = (s.body.instrument as { symbol: string }).symbol;
      bySymbol.set(sym, [...(bySymbol.get(sym) ?? []), s]);
    }
    expect([...bySymbol.keys()].sort()).toEqual(['AAPL', 'MES', 'MNQ', 'MSFT']);
    for (const [sym, mult] of [['MES', 5], ['MNQ', 2]] as const) {
      for (const s of bySymbol.get(sym)!) expect(s.body.instrument).toMatchObject({ secType: 'FUT', exchange: 'CME', multiplier: mult, contractMonth: '202612' });
    }
    for (const sym of ['AAPL', 'MSFT']) {
      for (const s of bySymbol.get(sym)!) {
        expect(s.body.instrument).toMatchObject({ secType: 'STK', multiplier: 1 });
        expect(s.body.instrument).not.toHaveProperty('contractMonth');
      }
    }
    const stale = sigs.filter((s) => s.kind === 'stale');
    expect(stale).toHaveLength(1);
    for (const s of sigs) {
      const age = NOW - Date.parse(s.body.stateAsOf as string);
      if (s.kind === 'stale') expect(age).toBeGreaterThanOrEqual(25 * 60_000);
      else expect(age).toBeLessThanOrEqual(60_000);
      expect(age).toBeGreaterThanOrEqual(0);
    }
    const inCap = sigs.filter((s) => s.kind !== 'oversized' && riskOf(s.body) <= 15);
    expect(sigs.filter((s) => s.kind !== 'oversized').every((s) => riskOf(s.body) <= 15)).toBe(true);
    expect(sigs.filter((s) => s.kind === 'oversized').every((s) => riskOf(s.body) > 15)).toBe(true);
    expect(inCap.length / sigs.length).toBeGreaterThan(0.8);
    expect(new Set(sigs.map((s) => s.body.regime))).toEqual(new Set(['trend', 'range']));
    expect(new Set(sigs.map((s) => s.body.side))).toEqual(new Set(['BUY', 'SELL']));
    const ev = sigs.map((s) => s.body.evidence as { setupScore: number; alignment: string; redChecks: unknown[]; dvs: number });
    expect(new Set(ev.map((e) => e.setupScore)).size).toBeGreaterThan(20);
    expect(new Set(ev.map((e) => e.alignment)).size).toBeGreaterThan(5);
    expect(ev.some((e) => e.redChecks.length === 3) && ev.some((e) => e.redChecks.length === 2)).toBe(true);
    expect(sigs.filter((s) => s.kind === 'low-quality').length).toBeGreaterThan(10);
  });

  it('the showcase burst shows every case once, the stale one last; --no-stale (staleAt null) leaves it out', () => {
    expect(generateSignals({ seed: 1, now: NOW, count: SHOWCASE.length }).map((s) => s.kind)).toEqual(['ok', 'ok', 'low-quality', 'ok', 'oversized', 'malformed', 'ok', 'stale']);
    expect(generateSignals({ seed: 1, now: NOW, count: 50, staleAt: null }).some((s) => s.kind === 'stale')).toBe(false);
  });

  it('front month: the next quarterly contract, rolled in the second week of the expiry month', () => {
    expect(frontMonth(Date.parse('2026-11-24T15:00:00Z'))).toBe('202612');
    expect(frontMonth(Date.parse('2026-12-05T15:00:00Z'))).toBe('202612');
    expect(frontMonth(Date.parse('2026-12-15T15:00:00Z'))).toBe('202703');
    expect(frontMonth(Date.parse('2027-01-10T15:00:00Z'))).toBe('202703');
    expect(frontMonth(Date.parse('2027-03-09T15:00:00Z'))).toBe('202703');
  });
});

describe('generated signals through the engine', () => {
  let h: Harness;
  const harness = useHarness();

  it('the showcase: PROPOSED for the plain ones, CANCELLED with QUALITY / RISK_PER_TRADE / STATE_CONFLICT for the deliberate ones, 400 for the malformed one; the stale one\'s 5-minute kill blocks the next', async () => {
    h = await harness({ constitution: { session: { enforce: false } } });
    const sigs = generateSignals({ seed: 1, now: h.clock.now(), count: SHOWCASE.length + 1 });
    const seen: string[] = [];
    for (const s of sigs) {
      const r = await h.engine.submitIntent(s.body, 'demo');
      if (s.index === SHOWCASE.length) {
        // after the stale one: the temporary kill flag
        expect(r.kind === 'accepted' && r.denials.map((d) => d.code)).toContain('KILL_ACTIVE');
        continue;
      }
      if (s.expect.status === 400) {
        expect(r.kind).toBe('invalid');
        seen.push('400');
        continue;
      }
      expect(r.kind).toBe('accepted');
      if (r.kind !== 'accepted') continue;
      expect(r.state, `${s.kind} ${s.label}`).toBe(s.expect.state);
      expect(r.denials.map((d) => d.code)).toEqual(s.expect.codes);
      seen.push(r.state === 'PROPOSED' ? 'PROPOSED' : r.denials.map((d) => d.code).join('+'));
    }
    expect(seen).toEqual(['PROPOSED', 'PROPOSED', 'QUALITY', 'PROPOSED', 'RISK_PER_TRADE', '400', 'PROPOSED', 'STATE_CONFLICT']);
    const kills = await h.app.store.tx((tx) => tx.kills.active(h.clock.now()));
    expect(kills.map((k) => k.kind)).toEqual(['STALE']);
    expect(kills[0]!.expiresAt! - h.clock.now()).toBe(5 * 60_000);
  });

  it('a longer stream without the stale one: every intent answered exactly as designed (mostly PROPOSED)', async () => {
    h = await harness({ constitution: { session: { enforce: false } } });
    const sigs = generateSignals({ seed: 5, now: h.clock.now(), count: 40, staleAt: null });
    let proposed = 0;
    for (const s of sigs) {
      const r = await h.engine.submitIntent(s.body, 'demo');
      if (s.expect.status === 400) {
        expect(r.kind).toBe('invalid');
        continue;
      }
      expect(r.kind).toBe('accepted');
      if (r.kind !== 'accepted') continue;
      expect({ state: r.state, codes: r.denials.map((d) => d.code) }).toEqual({ state: s.expect.state, codes: s.expect.codes });
      if (r.state === 'PROPOSED') proposed++;
    }
    expect(proposed).toBeGreaterThan(25);
  });
});

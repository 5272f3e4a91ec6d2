/**
 * Helpers for the strategy-promotion tests (issue 7). Everything runs through the real
 * harness: SQLite file, FakeClock, SimBroker; time moves day by day on the FakeClock.
 */
import { expect } from 'vitest';
import type { Actor } from '../../src/engine/domain.js';
import { admin, type Harness } from '../support/harness.js';

export const DAY = 24 * 60 * 60_000;
export const MES = { symbol: 'MES', secType: 'FUT' as const, exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 5 };

export type Parsed = { seq: number; type: string; intentId: string | null; ts: number; data: Record<string, unknown> };

export async function register(h: Harness, name: string, who: Actor = admin): Promise<void> {
  const r = await h.engine.promotions.register(name, who);
  expect(r.ok).toBe(true);
}

/** Stage of a strategy row (null = unregistered). */
export async function stageOf(h: Harness, name: string): Promise<string | null> {
  return (await h.app.store.tx((tx) => tx.strategies.get(name)))?.stage ?? null;
}

export interface SessionPlan {
  /** regime tag for the n-th session (0-based); undefined = untagged */
  readonly regime: (n: number) => string | undefined;
  /** per session, a second intent that settles the first: 'target' | 'stop' | 'none' */
  readonly settle?: (n: number) => 'target' | 'stop' | 'none';
}

/**
 * Run `sessions` trading sessions of a (shadow) strategy: for each trading day (weekends are
 * skipped) the clock is set to 10:00 New York and the strategy sends an intent at 6010.25
 * (stop 6008, target 6015); one minute later, optionally, a second intent whose price is
 * beyond the first one's target (6015.5) or stop (6007.5). Returns the intake results.
 */
export async function runSessions(h: Harness, strategy: string, sessions: number, plan: SessionPlan): Promise<{ intentIds: string[]; days: string[] }> {
  const intentIds: string[] = [];
  const days: string[] = [];
  let t = h.clock.now();
  // first session: today if it is a weekday at or before 10:00 NY, else the next weekday
  let n = 0;
  while (n < sessions) {
    const d = new Date(t);
    const wd = d.getUTCDay();
    const tenNY = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 15, 0, 0); // EST (Nov–Dec)
    if (wd === 0 || wd === 6 || tenNY < h.clock.now()) {
      t = tenNY + DAY;
      continue;
    }
    await h.clock.set(tenNY);
    days.push(d.toISOString().slice(0, 10));
    const regime = plan.regime(n);
    const first = await h.engine.submitIntent(h.intent({ strategy, ...(regime ? { regime } : {}) }));
    expect(first.kind).toBe('accepted');
    if (first.kind === 'accepted') intentIds.push(first.intentId);
    const settle = plan.settle?.(n) ?? 'none';
    if (settle !== 'none') {
      await h.clock.advance(60_000);
      const px = settle === 'target' ? { entryPrice: 6015.5, stopLoss: 6013.0, takeProfit: 6020.0 } : { entryPrice: 6007.5, stopLoss: 6005.0, takeProfit: 6012.0 };
      const second = await h.engine.submitIntent(h.intent({ strategy, ...px, ...(regime ? { regime } : {}) }));
      expect(second.kind).toBe('accepted');
      if (second.kind === 'accepted') intentIds.push(second.intentId);
    }
    n++;
    t = tenNY + DAY;
  }
  // leave the clock at the last session's 10:05 (in session, no-trade windows clear)
  await h.clock.advance(5 * 60_000);
  return { intentIds, days };
}

/** trend on even sessions, range on odd ones */
export const trendAndRange: SessionPlan = { regime: (n) => (n % 2 === 0 ? 'trend' : 'range') };

export async function beadsOfType(h: Harness, type: string): Promise<Parsed[]> {
  const rows = await h.app.db.bead.findMany({ where: { type }, orderBy: { seq: 'asc' } });
  return rows.map((b) => ({ seq: b.seq, type: b.type, intentId: b.intentId, ts: b.ts.getTime(), data: JSON.parse(b.payload) as Record<string, unknown> }));
}

export async function beadsOfIntent(h: Harness, intentId: string): Promise<Parsed[]> {
  const rows = await h.app.store.tx((tx) => tx.beads.listByIntent(intentId));
  return rows.map((b) => ({ seq: b.seq, type: b.type, intentId: b.intentId, ts: b.ts, data: JSON.parse(b.payload) as Record<string, unknown> }));
}

export async function promotionEvents(h: Harness): Promise<string[]> {
  return (await beadsOfType(h, 'PROMOTION')).map((b) => String(b.data.event));
}

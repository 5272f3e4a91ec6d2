/**
 * The power check (issue 14, SPEC 18): with each safety fix reverted — in this test process
 * only, by swapping the module with vi.doMock, never a switch in production code — the
 * simulator finds a violation of the invariant that fix protects, within its CI budget. The
 * days it took are printed (measured figures: docs/SIMULATION.md).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RunReport } from '../../sim/run.js';
import { fillsIgnoredAfterTerminal, flattenWithoutReservation, instrumentIdBySpelling } from './mutants.js';

/** Days each mutant may take: the CI budget (seeds run one after another, each a fresh world). */
const BUDGET_DAYS = Number(process.env.SIM_POWER_DAYS ?? 200);
const TIMEOUT = 30 * 60_000;

afterEach(() => {
  vi.resetModules();
  vi.doUnmock('../../src/engine/flatten.usecase.js');
  vi.doUnmock('../../src/engine/last-look.js');
  vi.doUnmock('../../src/engine/instrument.js');
  vi.doUnmock('../../src/engine/session-jobs.usecase.js');
  vi.doUnmock('../../src/engine/protection.usecase.js');
  vi.doUnmock('../../src/engine/reconcile.protection.js');
  vi.doUnmock('../../src/engine/fill.usecase.js');
});

/** Run seeds until a violation of one of `ids` (or the budget is spent); returns the days it took. */
async function hunt(ids: readonly string[]): Promise<{ days: number; report: RunReport | null }> {
  const { run } = await import('../../sim/run.js');
  let days = 0;
  for (let seed = 1; days < BUDGET_DAYS; seed++) {
    const r = await run({ seed, days: Math.min(20, BUDGET_DAYS - days), profile: 'REALISTIC', epochDays: 20, only: ids });
    days += r.stats.days;
    if (r.violation) return { days, report: r };
  }
  return { days, report: null };
}

function found(name: string, ids: readonly string[], h: { days: number; report: RunReport | null }): void {
  const v = h.report?.violation;
  process.stdout.write(`power check: ${name}: ${v ? `${v.id} after ${h.days} simulated day(s) (seed ${h.report?.seed}, day ${v.dayOfRun}): ${v.message}` : `NOT found in ${h.days} days`}\n`);
  expect(ids, `${name} reverted: no ${ids.join('/')} violation in ${h.days} days`).toContain(v?.id);
}

describe('SPEC 18 power check: each reverted fix is found within the CI budget', () => {
  it('SAFE-1/2 flatten reservation reverted → INV-FLATTEN-EXIT-1', async () => {
    vi.doMock('../../src/engine/flatten.usecase.js', async (orig) => ({ ...(await orig<typeof import('../../src/engine/flatten.usecase.js')>()), flatten: flattenWithoutReservation }));
    const ids = ['INV-FLATTEN-EXIT-1'];
    found('flatten reservation', ids, await hunt(ids));
  }, TIMEOUT);

  it('SAFE-3 last-moment kill check reverted → INV-KILL-LAST-MOMENT-1', async () => {
    vi.doMock('../../src/engine/last-look.js', () => ({ lastLook: async () => {} }));
    const ids = ['INV-KILL-LAST-MOMENT-1'];
    found('last look', ids, await hunt(ids));
  }, TIMEOUT);

  it('SAFE-9 instrument identity reverted → INV-INSTRUMENT-ID-1', async () => {
    vi.doMock('../../src/engine/instrument.js', () => ({ instrumentId: instrumentIdBySpelling, normalizeInstrument: <T>(i: T) => i }));
    const ids = ['INV-INSTRUMENT-ID-1'];
    found('instrument identity', ids, await hunt(ids));
  }, TIMEOUT);

  it('SAFE-5 flatten-deadline catch-up after a restart reverted → INV-FLATTEN-DEADLINE-1', async () => {
    vi.doMock('../../src/engine/session-jobs.usecase.js', async (orig) => ({ ...(await orig<typeof import('../../src/engine/session-jobs.usecase.js')>()), flattenOverdue: async () => ({ overdue: [] }) }));
    const ids = ['INV-FLATTEN-DEADLINE-1'];
    found('deadline catch-up', ids, await hunt(ids));
  }, TIMEOUT);

  it('MONEY-1 dead-stop detection reverted → INV-PROTECTED-1', async () => {
    vi.doMock('../../src/engine/protection.usecase.js', async (orig) => ({
      ...(await orig<typeof import('../../src/engine/protection.usecase.js')>()),
      afterStopStatus: async (_ctx: unknown, _tx: unknown, intent: unknown) => intent,
      detectUnprotected: async () => [],
    }));
    vi.doMock('../../src/engine/reconcile.protection.js', () => ({ protectionDiff: () => {} }));
    const ids = ['INV-PROTECTED-1'];
    found('dead-stop detection', ids, await hunt(ids));
  }, TIMEOUT);

  it('MONEY-3 fills after CLOSED reverted → INV-FILL-COMPLETE-1', async () => {
    vi.doMock('../../src/engine/fill.usecase.js', async (orig) => {
      const real = await orig<typeof import('../../src/engine/fill.usecase.js')>();
      return { ...real, applyFill: fillsIgnoredAfterTerminal(real.applyFill) };
    });
    const ids = ['INV-FILL-COMPLETE-1'];
    found('fills after CLOSED', ids, await hunt(ids));
  }, TIMEOUT);
});

/**
 * MONEY-6 (issue 13): reconciliation added up every managed account. Phoenix compares its own
 * account only (INV-ACCOUNT-SCOPE-1); other accounts of the same login are context, never netted.
 */
import { describe, expect, it } from 'vitest';
import { reconcileText } from '../../src/present/reconcile.text.js';
import { reconcileNow } from '../../src/engine/reconcile.usecase.js';
import { approveOne } from '../jobs/helpers.js';
import { type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';

let h: Harness | undefined;
const harness = useHarness();

const MES = { symbol: 'MES', secType: 'FUT' as const, exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 5 };

describe('MONEY-6: reconciliation adds up every managed account', () => {
  it('MONEY-6: INV-ACCOUNT-SCOPE-1: +1 MES in Phoenix\'s account and −1 in another account is NOT "no drift" when Phoenix\'s own side differs, and never netted', async () => {
    h = await harness();
    await approveOne(h); // Phoenix: +1 MES in DU0000001
    h.sim!.faults.foreignPosition('DU7777777', MES, -1);
    const ok = await h.engine.reconcileNow('test', { scope: 'positions' });
    expect(ok.discrepancies).toEqual([]); // Phoenix +1 vs its account +1: a match; the −1 elsewhere is not subtracted
    expect(reconcileText(ok)).toContain("Other accounts at this broker (not Phoenix's, not compared): DU7777777 MES -1");
    // the real hole: Phoenix's account is actually flat while another account holds +1 → drift, not a match
    h.sim!.faults.spoofPosition('MES', 0);
    h.sim!.faults.foreignPosition('DU7777777', MES, 1);
    await h.clock.advance(6_000);
    const drift = await h.engine.reconcileNow('test', { scope: 'positions' });
    expect(drift.discrepancies.map((d) => `${d.type} ${d.severity}`)).toEqual(['POSITION_COUNT CRITICAL']);
  });

  it('MONEY-6: INV-ACCOUNT-SCOPE-1: a position only in another account raises no drift (so it cannot block a promotion)', async () => {
    h = await harness();
    h.sim!.faults.foreignPosition('DU7777777', MES, 3);
    const r = await h.engine.reconcileNow('test');
    expect(r.discrepancies).toEqual([]);
    expect(r.newDrifts).toEqual([]);
    expect(await h.app.store.tx((tx) => tx.drifts.unresolved())).toEqual([]);
  });
});

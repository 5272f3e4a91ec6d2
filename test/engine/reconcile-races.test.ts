/**
 * Reconciliation against a moving broker — both found by the deterministic simulator (issue 14).
 *
 * - seeds 2005, 2010: the market hit two targets while the position watch ran; the broker's positions
 *   already said flat, the fills were received but not yet applied, and both the first look and
 *   its confirmation read Phoenix's side before them: a CRITICAL drift for a mismatch that never
 *   was. The confirmation now reads Phoenix's side after the broker events received so far, and
 *   counts only if the broker did not move meanwhile (a late fill arrived during the look).
 * - seed 2022: a misreported position raised a drift nobody resolved; the mismatch went away,
 *   and days later the same mismatch came back — silently, because a drift with that fingerprint
 *   was still unresolved. A mismatch that was gone and is back is alerted again (same drift).
 */
import { describe, expect, it } from 'vitest';
import type { BrokerEvent } from '../../src/engine/broker.port.js';
import { reconcileNow } from '../../src/engine/reconcile.usecase.js';
import { type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { alerts, approveOne, beads, expectState } from '../jobs/helpers.js';
import { internalsOf } from '../../src/engine/testing.js';

let h: Harness | undefined;
const harness = useHarness();

describe('reconciliation while the broker moves', () => {
  it('INV-ACCOUNT-SCOPE-1: a fill received but not yet applied when reconciliation looks is no drift (the confirmation reads Phoenix after the events received)', async () => {
    h = await harness();
    const id = await approveOne(h); // BUY 1 MES, target 6015
    await expectState(h, id, 'MANAGED');
    // the engine hears the broker's events only when they are applied (here: when asked to)
    h.engine.detach();
    const received: BrokerEvent[] = [];
    h.broker.onEvent((e) => received.push(e));
    h.sim!.simulatePrice('MES', 6016); // the target fills at the broker: flat there, MANAGED here
    await h.settle();
    expect(received.some((e) => e.kind === 'fill')).toBe(true);
    let applied = 0;
    const ctx = {
      ...internalsOf(h.engine),
      brokerEventsApplied: async () => {
        for (const e of received.splice(0)) (await h!.engine.onBrokerEvent(e), applied++);
      },
    };
    const r = await reconcileNow(ctx, 'position watch (test)', { scope: 'positions' });
    expect(applied).toBeGreaterThan(0);
    await expectState(h, id, 'CLOSED');
    expect(r.newDrifts).toEqual([]);
    expect(await alerts(h, 'RECONCILIATION_DRIFT')).toHaveLength(0);
  });

  it('INV-ACCOUNT-SCOPE-1: one over — a broker position Phoenix has no event for is still a drift after the wait', async () => {
    h = await harness();
    const id = await approveOne(h);
    await expectState(h, id, 'MANAGED');
    h.sim!.faults.spoofPosition('MES', 2);
    const r = await h.engine.reconcileNow('position watch (test)', { scope: 'positions' });
    expect(r.newDrifts).toHaveLength(1);
  });

  it('INV-ACCOUNT-SCOPE-1: a broker that moves while the confirmation reads Phoenix confirms nothing (the next look, with the broker still, does)', async () => {
    h = await harness();
    const id = await approveOne(h);
    await expectState(h, id, 'MANAGED');
    h.sim!.faults.spoofPosition('MES', 3);
    let calls = 0;
    const broker = internalsOf(h.engine).broker;
    const moving = Object.assign(Object.create(broker) as typeof broker, {
      positions: async () => {
        calls++;
        const real = await broker.positions();
        // the third look (after Phoenix was read) sees the account somewhere else
        return calls === 3 ? real.map((p) => ({ ...p, quantity: p.quantity + 1 })) : real;
      },
    });
    const r = await reconcileNow({ ...internalsOf(h.engine), broker: moving }, 'position watch (test)', { scope: 'positions' });
    expect(calls).toBe(3);
    expect(r.newDrifts).toEqual([]);
    await h.clock.advance(6_000);
    expect((await h.engine.reconcileNow('position watch (test)', { scope: 'positions' })).newDrifts).toHaveLength(1);
  });

  it('INV-RECONCILE-ALERT-1: a mismatch that went away and came back is alerted again, on the same unresolved drift; one that persists is not', async () => {
    h = await harness();
    const id = await approveOne(h);
    await expectState(h, id, 'MANAGED');
    const look = async () => {
      await h!.clock.advance(6_000); // past the 5 s spacing
      return h!.engine.reconcileNow('position watch (test)', { scope: 'positions' });
    };
    h.sim!.faults.spoofPosition('MES', 3);
    expect((await look()).newDrifts).toHaveLength(1);
    expect(await alerts(h, 'RECONCILIATION_DRIFT')).toHaveLength(1);
    await look(); // still there: nothing new
    expect(await alerts(h, 'RECONCILIATION_DRIFT')).toHaveLength(1);
    h.sim!.faults.spoofPosition('MES', null); // gone (the drift stays unresolved: a human resolves it)
    await look();
    expect(await alerts(h, 'RECONCILIATION_DRIFT')).toHaveLength(1);
    h.sim!.faults.spoofPosition('MES', 3); // back: the same mismatch again
    await look();
    const all = await alerts(h, 'RECONCILIATION_DRIFT');
    expect(all).toHaveLength(2);
    expect(all[1]!.severity).toBe('CRITICAL');
    expect(all[1]!.data.summary).toContain('again');
    const drifts = (await beads(h, 'RECONCILIATION_DRIFT')).map((b) => b.data.driftId);
    expect(new Set(drifts).size).toBe(1); // one drift, two occurrences
    expect(drifts).toHaveLength(2);
    await look(); // persists: quiet again
    expect(await alerts(h, 'RECONCILIATION_DRIFT')).toHaveLength(2);
  });
});

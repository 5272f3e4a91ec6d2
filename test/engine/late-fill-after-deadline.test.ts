/**
 * Found by the deterministic simulator (issue 14, seed 1006): the 15:55 flatten cancels an entry
 * that is still working; the broker confirms the cancel, then the execution that was already on
 * its way arrives (IBKR: a fill can follow a Cancelled status). The position was open again past
 * the deadline and nothing owned it until the deadline watch's next 30 s tick — and when that
 * tick's market exit was rejected, the retry came a minute after the deadline. A fill that
 * re-opens a position past its day's deadline is flattened at once. INV-FLATTEN-DEADLINE-1.
 */
import { describe, expect, it } from 'vitest';
import { flattenAtDeadline } from '../../src/engine/session-jobs.usecase.js';
import { cardOf, approver, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { alerts, beads, expectState, nyWinter } from '../jobs/helpers.js';

let h: Harness | undefined;
const harness = useHarness();

const net = async (hh: Harness, id: string) => (await hh.broker.findByOrderRef(id)).fills.reduce((a, f) => a + (f.side === 'BUY' ? f.quantity : -f.quantity), 0);

describe('INV-FLATTEN-DEADLINE-1: an entry that fills after the deadline flatten cancelled it', () => {
  it('INV-FLATTEN-DEADLINE-1: the late fill (LATE_FILL) is flattened at once, with no job tick: a market exit at the broker in the same moment, the position ends flat', async () => {
    h = await harness({ clockStart: nyWinter('2026-11-24', '15:30') });
    h.sim!.faults.delayNext(60 * 60_000); // the entry rests at the broker
    const r = await h.engine.submitIntent(h.intent());
    if (r.kind !== 'accepted') throw new Error('not accepted');
    expect((await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver)).kind).toBe('approved');
    await h.settle();
    const id = r.intentId;
    await expectState(h, id, 'SUBMITTED');
    await h.clock.set(nyWinter('2026-11-24', '15:55'));
    h.sim!.faults.fillNextCancel(1, 'after'); // the cancel is confirmed, then the fill on its way arrives
    const report = await h.engine.jobs.flattenAtDeadline();
    expect(report.ran).toBe(true);
    await h.settle();
    await h.settle();
    expect(await alerts(h, 'LATE_FILL')).toHaveLength(1);
    expect(await net(h, id)).toBe(0);
    await expectState(h, id, 'CLOSED');
    const exit = (await beads(h, 'ORDER')).filter((b) => b.intentId === id && b.data.role === 'EXIT' && b.data.event === 'PLACING');
    expect(exit).toHaveLength(1);
    expect(exit[0]!.data.detail).toContain('flatten deadline 15:55 (catch-up)');
    expect(exit[0]!.ts.getTime()).toBe(new Date(nyWinter('2026-11-24', '15:55')).getTime()); // no clock movement needed
  });

  it('INV-FLATTEN-DEADLINE-1: one under — a fill before the deadline is not flattened by it (the position stays MANAGED)', async () => {
    h = await harness({ clockStart: nyWinter('2026-11-24', '15:30') });
    h.sim!.faults.delayNext(60_000);
    const r = await h.engine.submitIntent(h.intent());
    if (r.kind !== 'accepted') throw new Error('not accepted');
    await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    await h.settle();
    await h.clock.advance(60_000); // 15:31: the delayed fill arrives
    await h.settle();
    await expectState(h, r.intentId, 'MANAGED');
    expect((await beads(h, 'ORDER')).filter((b) => b.intentId === r.intentId && b.data.role === 'EXIT')).toEqual([]);
  });
});

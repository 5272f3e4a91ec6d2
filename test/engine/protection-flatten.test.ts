/**
 * Found by the deterministic simulator (issue 14, seed 3): a flatten cancels the stop on purpose
 * and closes at market; when the market exit never fills (the broker took it and said nothing),
 * the position sat open without a stop and no alert at all — the protection watch skipped every
 * position a flatten owned. INV-PROTECTED-1 has no such exception: within 10 s it is CRITICAL.
 */
import { describe, expect, it } from 'vitest';
import { advance, alerts, approveOne, expectState, expectUnprotectedAlertOnce, expectUnprotectedAlertWithin10s, startTestJobs } from '../jobs/helpers.js';
import { admin, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';

let h: Harness | undefined;
const harness = useHarness();

describe('INV-PROTECTED-1: a flatten whose exit never fills', () => {
  it('INV-PROTECTED-1: the stop is cancelled by the flatten and the market exit times out at the broker → CRITICAL POSITION_UNPROTECTED within 10 s, once', async () => {
    h = await harness();
    const id = await approveOne(h);
    await expectState(h, id, 'MANAGED');
    const jobs = await startTestJobs(h, { only: ['protection-watch'], runAtStart: false });
    h.sim!.faults.timeoutNext(); // the exit is recorded at the broker, never acknowledged or filled
    const report = await h.engine.flatten(admin, 'test');
    await h.settle();
    expect(report.closing).toEqual([id]);
    const orders = await h.app.store.tx((tx) => tx.orders.listByIntent(id));
    expect(orders.find((o) => o.role === 'STOP')?.status).toBe('CANCELLED');
    expect(orders.find((o) => o.role === 'EXIT')?.status).toBe('PENDING');
    const alert = await expectUnprotectedAlertWithin10s(h, jobs);
    expect(alert!.data.intentId).toBe(id);
    expect(alert!.data.summary).toMatch(/^BUY 1 MES is OPEN WITHOUT A WORKING STOP: a flatten cancelled its stop and its market exit has not closed it for \d+ s \(exit PENDING as broker order \d+\)\. Check the exit at the broker/);
    await expectUnprotectedAlertOnce(h, jobs);
    await jobs.stop();
  });

  it('INV-PROTECTED-1: a flatten whose exit fills at once raises nothing (the stop was cancelled on purpose)', async () => {
    h = await harness();
    const id = await approveOne(h);
    const jobs = await startTestJobs(h, { only: ['protection-watch'], runAtStart: false });
    await h.engine.flatten(admin, 'test');
    await h.settle();
    await expectState(h, id, 'CLOSED');
    await advance(h, 15_000, 1_000, jobs);
    expect(await alerts(h, 'POSITION_UNPROTECTED')).toHaveLength(0);
    await jobs.stop();
  });
});

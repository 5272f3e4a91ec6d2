/**
 * MONEY-1 (issue 13): a protective leg that dies leaves a naked position, silently. MANAGED means
 * "a stop is working at the broker"; a position without one is CRITICAL within 10 s, on the card,
 * in /status and in reconciliation; the approver can re-protect or flatten it.
 */
import { describe, expect, it } from 'vitest';
import { reprotectText } from '../../src/present/protection.text.js';
import { reconcileNow } from '../../src/engine/reconcile.usecase.js';
import { advance, approveOne, expectState, expectUnprotectedAlertOnce, expectUnprotectedAlertWithin10s, startTestJobs } from '../jobs/helpers.js';
import { approver, intentOf, viewer, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';

let h: Harness | undefined;
const harness = useHarness();

async function stopId(hh: Harness, intentId: string): Promise<string> {
  const stop = (await hh.app.store.tx((tx) => tx.orders.listByIntent(intentId))).find((o) => o.role === 'STOP');
  if (!stop?.brokerOrderId) throw new Error('no stop id');
  return stop.brokerOrderId;
}

describe('MONEY-1: a protective leg that dies leaves a naked position, silently', () => {
  it('MONEY-1: INV-PROTECTED-1: IBKR cancels the stop (target still working, MES 1 held) → FILLED (unprotected) at once and a CRITICAL POSITION_UNPROTECTED alert with RB-013 within 10 s, once', async () => {
    h = await harness();
    const id = await approveOne(h);
    await expectState(h, id, 'MANAGED');
    const jobs = await startTestJobs(h, { only: ['protection-watch'], runAtStart: false });
    await h.broker.cancel(await stopId(h, id)); // the broker side kills the stop (e.g. 202)
    await h.settle();
    const intent = await intentOf(h, id);
    expect(intent.state).toBe('FILLED');
    expect(intent.stateReason).toMatch(/^protective stop CANCELLED at the broker.*: position unprotected$/);
    const alert = await expectUnprotectedAlertWithin10s(h, jobs);
    expect(alert!.data.summary).toMatch(/^BUY 1 MES is OPEN WITHOUT A WORKING STOP: its stop is CANCELLED at the broker\. Re-protect or flatten it now\.$/);
    await expectUnprotectedAlertOnce(h, jobs);
    await jobs.stop();
  });

  it('MONEY-1: INV-PROTECTED-1: reconciliation sees a position with no working stop at the broker even when both sides agree the stop is cancelled', async () => {
    h = await harness();
    const id = await approveOne(h);
    await h.broker.cancel(await stopId(h, id));
    await h.settle();
    const r = await h.engine.reconcileNow('test');
    const found = r.discrepancies.find((d) => d.type === 'ORDER_STATUS' && JSON.stringify(d.local).includes('no working stop'));
    expect(found).toBeDefined();
    expect(found!.severity).toBe('CRITICAL');
  });

  it('MONEY-1: /status shows the unprotected position; a target fill that cancels the stop by OCA is NOT an alarm', async () => {
    h = await harness();
    const id = await approveOne(h);
    await h.broker.cancel(await stopId(h, id));
    await h.settle();
    const status = await h.engine.status();
    expect(status.unprotected.map((u) => u.intentId)).toEqual([id]);
    // a normal close: target fills, the broker cancels the stop (OCA) → CLOSED, no alert
    const second = await makeSecond(h);
    h.sim!.simulatePrice('MNQ', 21020.75);
    await h.settle();
    await h.clock.advance(10_000);
    expect(await h.engine.detectUnprotected()).toEqual([id]); // only the really naked one
    await expectState(h, second, 'CLOSED');
  });

  it('MONEY-1: the approver re-protects with one (confirmed) tap: a new stop for what is open at the approved stop price → MANAGED again; a viewer cannot', async () => {
    h = await harness();
    const id = await approveOne(h);
    await h.broker.cancel(await stopId(h, id));
    await h.settle();
    const no = await h.engine.reprotect(id, viewer);
    expect(no).toEqual({ ok: false, code: 'NOT_ALLOWED', needs: ['approver'] });
    expect(reprotectText(no)).toBe('Not allowed: approver role needed.');
    const r = await h.engine.reprotect(id, approver);
    expect(r).toMatchObject({ ok: true, code: 'STOP_SENT', quantity: 1, symbol: 'MES', stopPrice: 6008 });
    expect(reprotectText(r)).toContain('Stop for 1 MES at 6008 sent to the broker');
    await h.settle();
    await expectState(h, id, 'MANAGED');
    const stops = (await h.broker.findByOrderRef(id)).orders.filter((o) => o.role === 'STOP');
    expect(stops.map((o) => `${o.status}:${o.quantity}:${o.stopPrice}`)).toEqual(['CANCELLED:1:6008', 'WORKING:1:6008']);
    const working = await h.engine.reprotect(id, approver);
    expect(working).toEqual({ ok: false, code: 'STOP_WORKING', intentId: id });
    expect(reprotectText(working)).toBe('Its stop is already working at the broker.');
    // the new stop protects: the market falls through it → CLOSED
    h.sim!.simulatePrice('MES', 6007.5);
    await h.settle();
    await expectState(h, id, 'CLOSED');
    expect((await h.broker.positions()).filter((p) => p.instrument.symbol === 'MES')).toEqual([]);
  });

  it('MONEY-1: the approver flattens the unprotected position from its card (one position only)', async () => {
    h = await harness();
    const id = await approveOne(h);
    const other = await makeSecond(h);
    await h.broker.cancel(await stopId(h, id));
    await h.settle();
    const r = await h.engine.flattenOne(id, approver);
    expect(r.ok).toBe(true);
    await h.settle();
    await expectState(h, id, 'CLOSED');
    await expectState(h, other, 'MANAGED'); // untouched
  });
});

/** A second, independent position (MNQ) so one instrument's trouble can be told from another's. */
async function makeSecond(hh: Harness): Promise<string> {
  hh.sim!.simulatePrice('MNQ', 21010.25);
  return approveOne(hh, { instrument: { symbol: 'MNQ', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 2 }, entryPrice: 21010.25, stopLoss: 21005, takeProfit: 21020.75 });
}

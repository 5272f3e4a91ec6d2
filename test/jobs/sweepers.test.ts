import { describe, expect, it } from 'vitest';
import { SimBroker } from '../../src/broker/sim/index.js';
import type { BracketRequest, SubmitPermit } from '../../src/engine/broker.port.js';
import { seededRandom } from '../../src/engine/ports.js';
import { reconcileNow } from '../../src/engine/reconcile.usecase.js';
import { stalledCancelText } from '../../src/present/stalled.text.js';
import { admin, viewer, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { expectBeads } from '../support/beads-checked.js';
import { advance, alerts, approveOne, beads, expectState, jobRuns, startTestJobs } from './helpers.js';

const path = async (h: Harness, id: string) => expectBeads((await beads(h, 'POSITION')).filter((b) => b.intentId === id), 'POSITION').map((b) => `${String(b.data.from)}>${String(b.data.to)}`);

describe('sweepers and STALLED resolution', () => {
  let h: Harness | undefined;
  const harness = useHarness();

  it('INV-POSITION-SUBMITTED-TTL-1: SUBMITTED without ack for more than 60 s → STALLED + POSITION_STALLED alert by the 10-s stall job; not at 59 s', async () => {
    h = await harness();
    h.sim!.faults.timeoutNext();
    const jobs = await startTestJobs(h, { only: ['stall-detector'], runAtStart: false });
    const id = await approveOne(h);
    const submittedAt = h.clock.now();
    await expectState(h, id, 'SUBMITTED');
    await advance(h, 59_000, 1_000, jobs);
    await expectState(h, id, 'SUBMITTED');
    expect(await jobs.runNow('stall-detector')).toMatchObject({ outcome: 'OK' }); // at 59 s: not stalled
    await expectState(h, id, 'SUBMITTED');
    expect(await alerts(h, 'POSITION_STALLED')).toHaveLength(0);
    await advance(h, 11_000, 1_000, jobs); // the 70-s tick
    await expectState(h, id, 'STALLED');
    const [alert] = await alerts(h, 'POSITION_STALLED');
    expect(alert!.severity).toBe('CRITICAL');
    expect(alert!.data).toMatchObject({ intentId: id });
    expect(alert!.createdAt.getTime() - submittedAt).toBe(70_000);
    expect(await path(h, id)).toEqual(['PROPOSED>APPROVED', 'APPROVED>SUBMITTED', 'SUBMITTED>STALLED']);
    const run = (await jobRuns(h, 'stall-detector')).find((r) => r.outcome === 'STALLED');
    expect(JSON.parse(run!.detail!).result).toEqual({ stalled: [id] });
    // nothing was re-sent: still exactly one entry at the broker
    expect((await h.broker.findByOrderRef(id)).orders.filter((o) => o.role === 'ENTRY')).toHaveLength(1);
    await jobs.stop();
  });

  it('CV late fill after STALLED: broker timeout → STALLED after 60 s → late ack + fill → FILLED → MANAGED, no drift', async () => {
    h = await harness();
    h.sim!.faults.timeoutNext();
    const jobs = await startTestJobs(h, { only: ['stall-detector', 'reconcile'] });
    const id = await approveOne(h);
    await advance(h, 75_000, 5_000, jobs);
    await expectState(h, id, 'STALLED');
    h.sim!.faults.lateFill(id);
    await h.settle();
    await expectState(h, id, 'MANAGED');
    expect(await path(h, id)).toEqual(['PROPOSED>APPROVED', 'APPROVED>SUBMITTED', 'SUBMITTED>STALLED', 'STALLED>FILLED', 'FILLED>MANAGED']);
    expect((expectBeads(await beads(h, 'FILL'), 'FILL')).filter((b) => b.intentId === id)).toHaveLength(1);
    // one placement (never re-sent while STALLED) and one POSITION_STALLED alert in the trail
    expect(expectBeads((await beads(h, 'ORDER')).filter((b) => b.intentId === id), 'ORDER').filter((b) => b.data.event === 'PLACING')).toHaveLength(1);
    expect(expectBeads((await beads(h, 'ALERT')).filter((b) => b.intentId === id), 'ALERT').map((b) => b.data.alertType)).toEqual(['POSITION_STALLED']);
    await advance(h, 10_000, 1_000, jobs); // the fill triggered a reconciliation
    expect(Number(await h.app.store.tx((tx) => tx.kv.get('reconcile.lastRunAt')))).toBeGreaterThan(h.clock.now() - 10_000);
    expect(await h.app.db.drift.count()).toBe(0);
    await jobs.stop();
  });

  it('human cancel of a STALLED entry is confirmed with the broker: the cancel goes to the broker and its confirmation moves the state', async () => {
    h = await harness();
    h.sim!.faults.timeoutNext();
    const id = await approveOne(h);
    await h.clock.advance(61_000);
    await h.engine.detectStalls();
    expect((await h.engine.cancelStalled(id, viewer)).ok).toBe(false);
    expect((expectBeads(await beads(h, 'ACCESS_DENIED'), 'ACCESS_DENIED')).at(-1)!.data).toMatchObject({ userId: viewer.id, action: 'cancel stalled' });
    const r = await h.engine.cancelStalled(id, admin);
    expect(r).toMatchObject({ ok: true, code: 'CANCEL_SENT' });
    await h.settle();
    await expectState(h, id, 'CANCELLED');
    expect((await h.broker.findByOrderRef(id)).orders.every((o) => o.status === 'CANCELLED')).toBe(true);
    const order = (expectBeads(await beads(h, 'ORDER'), 'ORDER')).filter((b) => b.intentId === id && b.data.event === 'CANCEL_REQUESTED');
    expect(order).toHaveLength(1);
  });

  it('STALLED with no broker id locally but the order live at the broker: engine.cancelStalled asks the broker first and cancels there, never blindly', async () => {
    h = await harness();
    h.sim!.faults.timeoutNext();
    const id = await approveOne(h);
    await h.clock.advance(61_000);
    await h.engine.detectStalls();
    // as after an unknown-outcome placement: Phoenix never learnt the broker's order ids
    await h.app.db.$executeRawUnsafe(`UPDATE "BrokerOrder" SET brokerOrderId = NULL WHERE intentId = ?`, id);
    const r = await h.engine.cancelStalled(id, admin);
    expect(r.ok && r.code).toBe('CANCEL_SENT');
    await h.settle();
    await expectState(h, id, 'CANCELLED');
    expect((await h.broker.findByOrderRef(id)).orders.find((o) => o.role === 'ENTRY')!.status).toBe('CANCELLED');
    expect((await h.engine.reconcileNow('after confirmed cancel')).discrepancies).toEqual([]);
    await h.close();
    h = undefined;
  });

  it('STALLED resolution paths: broker has no order at all → CANCELLED directly; broker already filled it → FILLED, not cancelled; broker down → nothing changes', async () => {
    // 1. the placement never reached the broker (unknown outcome, nothing there)
    h = await harness({
      broker: (clock) => {
        const sim = new SimBroker({ clock, random: seededRandom(2), profile: 'INSTANT', prices: { MES: 6010.25 } });
        sim.placeBracket = async (_r: BracketRequest, _p: SubmitPermit) => {
          throw new Error('socket closed after send');
        };
        return sim;
      },
    });
    const lost = await approveOne(h);
    await expectState(h, lost, 'SUBMITTED');
    await h.clock.advance(61_000);
    await h.engine.detectStalls();
    expect(await h.engine.cancelStalled(lost, admin)).toMatchObject({ ok: true, code: 'CANCELLED' });
    await expectState(h, lost, 'CANCELLED');
    expect((expectBeads(await beads(h, 'POSITION'), 'POSITION')).at(-1)!.data).toMatchObject({ to: 'CANCELLED', reason: expect.stringContaining('broker confirms no order'), actor: { name: 'bob' } });
    await h.close();

    // 2. the broker filled it but Phoenix never heard (events lost)
    h = await harness();
    h.sim!.faults.timeoutNext();
    const filled = await approveOne(h);
    await h.clock.advance(61_000);
    await h.engine.detectStalls();
    h.engine.detach(); // the late fill is not heard by the engine
    h.sim!.faults.lateFill(filled);
    await h.settle();
    await expectState(h, filled, 'STALLED');
    const r = await h.engine.cancelStalled(filled, admin);
    expect(r).toMatchObject({ ok: true, code: 'FILLED' });
    await expectState(h, filled, 'FILLED');
    h.engine.attachBroker();

    // 3. broker down: cannot confirm, nothing recorded
    h.sim!.faults.timeoutNext();
    const third = await approveOne(h, { instrument: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD', multiplier: 1 }, entryPrice: 200, stopLoss: 199, takeProfit: 203 });
    await h.clock.advance(61_000);
    await h.engine.detectStalls();
    await expectState(h, third, 'STALLED');
    h.sim!.faults.disconnect();
    await h.settle();
    const down = await h.engine.cancelStalled(third, admin);
    expect(down).toMatchObject({ ok: false, code: 'BROKER_UNREACHABLE' });
    expect(stalledCancelText(down)).toContain('cannot confirm');
    await expectState(h, third, 'STALLED');
  });

  it('expiry job: an undecided card expires by its TTL (CANCELLED card_expired) within one 10-s tick; kill-flag lapse and retry-waiting run and are recorded', async () => {
    h = await harness();
    const jobs = await startTestJobs(h, { only: ['expiry', 'kill-flag-lapse', 'retry-waiting'] });
    const r = await h.engine.submitIntent(h.intent({ ttlSec: 30 }));
    if (r.kind !== 'accepted') throw new Error('not accepted');
    await advance(h, 39_000, 1_000, jobs);
    await expectState(h, r.intentId, 'CANCELLED');
    const intent = await h.app.store.tx((tx) => tx.intents.get(r.intentId));
    expect(intent!.stateReason).toBe('card_expired');
    const runs = await jobRuns(h);
    for (const name of ['expiry', 'kill-flag-lapse', 'retry-waiting']) expect(runs.filter((x) => x.job === name && x.outcome === 'OK').length).toBeGreaterThanOrEqual(3);
    await jobs.stop();
  });
});

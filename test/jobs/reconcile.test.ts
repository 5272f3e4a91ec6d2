import { describe, expect, it } from 'vitest';
import { driftText } from '../../src/present/drift.text.js';
import { reconcileText } from '../../src/present/reconcile.text.js';
import { reconcileNow } from '../../src/engine/reconcile.usecase.js';
import { admin, approver, viewer, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { expectBeads } from '../support/beads-checked.js';
import { advance, alerts, approveOne, beads, expectState, jobRuns, startTestJobs } from './helpers.js';
import { engineAsksToReconcile } from '../support/engine-internals.js';

const MES = { symbol: 'MES', secType: 'FUT' as const, exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 5 };

describe('reconciliation', () => {
  let h: Harness | undefined;
  const harness = useHarness();

  it('INV-RECONCILE-ALERT-1: an induced position mismatch raises a RECONCILIATION_DRIFT alert within 60 s of clock time through the periodic jobs (default constitution, any phase)', async () => {
    h = await harness({ constitution: { limits: { maxPositionPerInstrument: 10 } } });
    const jobs = await startTestJobs(h);
    const id = await approveOne(h);
    await expectState(h, id, 'MANAGED');
    await advance(h, 31_000, 1_000, jobs);
    expect(await alerts(h, 'RECONCILIATION_DRIFT')).toHaveLength(0); // a normal fill is no drift
    // Several phases relative to the 30-s position watch and the 5-min full run.
    const delays: number[] = [];
    for (const [n, offset] of [[2, 0], [3, 7_000], [4, 13_000], [5, 29_000]] as const) {
      await advance(h, offset, 1_000, jobs);
      const inducedAt = h.clock.now();
      h.sim!.faults.spoofPosition('MES', n);
      const before = (await alerts(h, 'RECONCILIATION_DRIFT')).length;
      for (let waited = 0; (await alerts(h, 'RECONCILIATION_DRIFT')).length === before && waited <= 60_000; waited += 1_000) await advance(h, 1_000, 1_000, jobs);
      const a = (await alerts(h, 'RECONCILIATION_DRIFT')).at(-1)!;
      expect((await alerts(h, 'RECONCILIATION_DRIFT')).length).toBe(before + 1);
      delays.push(a.createdAt.getTime() - inducedAt);
      expect(a.severity).toBe('CRITICAL');
      expect(a.data.summary).toContain(`Phoenix 1, broker ${n}`);
    }
    for (const d of delays) expect(d).toBeLessThanOrEqual(60_000);
    expect((await jobRuns(h, 'position-watch')).some((r) => r.outcome === 'DRIFT')).toBe(true);
    await jobs.stop();
  });

  it('INV-RECONCILE-READONLY-1: a drift leaves intents, orders, fills, tokens, cards, kill flags and the broker\'s orders/positions/executions byte-identical', async () => {
    h = await harness();
    const id = await approveOne(h);
    await expectState(h, id, 'MANAGED');
    const local = async () => {
      const out: Record<string, unknown> = {};
      for (const t of ['Intent', 'BrokerOrder', 'Fill', 'ApprovalToken', 'Card', 'KillFlag', 'Strategy']) out[t] = await h!.app.db.$queryRawUnsafe(`SELECT * FROM "${t}" ORDER BY 1`);
      return JSON.stringify(out);
    };
    const atBroker = async () => JSON.stringify({ orders: await h!.broker.openOrders(), executions: await h!.broker.executions(), ref: await h!.broker.findByOrderRef(id) });
    h.sim!.faults.spoofPosition('MES', 3);
    const [l0, b0, p0] = [await local(), await atBroker(), JSON.stringify(await h.broker.positions())];
    const r = await h.engine.reconcileNow('test');
    expect(r.newDrifts).toHaveLength(1);
    const jobs = await startTestJobs(h, { only: ['reconcile', 'position-watch', 'drift-escalation'], runAtStart: false });
    await h.clock.advance(5_000); // reconciliations start at least 5 s apart
    await jobs.runNow('reconcile');
    await advance(h, 20 * 60_000, 10_000, jobs); // periodic runs and the escalation too
    await jobs.stop();
    expect(await local()).toBe(l0);
    expect(await atBroker()).toBe(b0);
    expect(JSON.stringify(await h.broker.positions())).toBe(p0);
    expect(await h.app.db.drift.count()).toBe(1); // seen again and again, recorded once
  });

  it('INV-RECONCILE-AUDIT-1: a drift is a RECONCILIATION_DRIFT bead with both sides\' state, type, severity and the Drift row id', async () => {
    h = await harness();
    const id = await approveOne(h);
    h.sim!.faults.spoofPosition('MES', 2);
    const r = await h.engine.reconcileNow('test');
    const drift = r.newDrifts[0]!;
    const [bead] = expectBeads(await beads(h, 'RECONCILIATION_DRIFT'), 'RECONCILIATION_DRIFT');
    expect(bead!.intentId).toBe(id);
    expect(bead!.data).toMatchObject({
      driftId: drift.id,
      driftType: 'POSITION_SIZE',
      severity: 'CRITICAL',
      instrumentKey: 'FUT:MES:202612:USD',
      local: { contract: 'FUT:MES:202612:USD', quantity: 1, intents: [{ intentId: id, filledQty: 1, requestedQty: 1, partialFillRatio: 1 }] },
      broker: { contract: 'FUT:MES:202612:USD', quantity: 2 },
    });
    const row = await h.app.db.drift.findUniqueOrThrow({ where: { id: drift.id } });
    expect(JSON.parse(row.local)).toEqual(bead!.data.local);
    expect(JSON.parse(row.broker)).toEqual(bead!.data.broker);
    // the alert, bead and row were written in one transaction: same timestamp, alert linked by an ALERT bead
    const [alert] = await alerts(h, 'RECONCILIATION_DRIFT');
    expect(alert!.createdAt.getTime()).toBe(bead!.ts.getTime());
    expect(alert!.data.facts).toMatchObject({ drift: drift.id, type: 'POSITION_SIZE' });
  });

  it('INV-RECONCILE-AUDIT-2: resolving a drift writes a RECONCILIATION_RESOLUTION bead naming who; others are refused with ACCESS_DENIED; twice is refused', async () => {
    h = await harness();
    await approveOne(h);
    h.sim!.faults.spoofPosition('MES', 2);
    const drift = (await h.engine.reconcileNow('test')).newDrifts[0]!;
    const denied = await h.engine.drift.resolve(drift.id, 'ACKNOWLEDGED', 'trying', viewer);
    expect(denied.ok).toBe(false);
    expect((expectBeads(await beads(h, 'ACCESS_DENIED'), 'ACCESS_DENIED')).at(-1)!.data).toMatchObject({ userId: viewer.id, action: `resolve drift ${drift.id}` });
    expect((await h.engine.drift.list()).map((d) => d.id)).toEqual([drift.id]);
    expect((await h.engine.drift.resolve(drift.id, 'MAYBE' as never, 'x', approver)).ok).toBe(false);
    const ok = await h.engine.drift.resolve(drift.id, 'BROKER_CORRECTED', '  broker support fixed the position report  ', approver);
    expect(ok).toMatchObject({ ok: true, drift: { resolution: 'BROKER_CORRECTED', resolvedBy: 'alice', note: 'broker support fixed the position report' } });
    const [res] = expectBeads(await beads(h, 'RECONCILIATION_RESOLUTION'), 'RECONCILIATION_RESOLUTION');
    expect(res!.data).toEqual({ driftId: drift.id, resolution: 'BROKER_CORRECTED', note: 'broker support fixed the position report', actor: { id: approver.id, name: 'alice', via: 'telegram' } });
    const again = await h.engine.drift.resolve(drift.id, 'ACKNOWLEDGED', 'me too', admin);
    expect(again).toMatchObject({ ok: false, code: 'ALREADY_RESOLVED', drift: { id: drift.id, resolution: 'BROKER_CORRECTED', resolvedBy: 'alice' } });
    expect(Object.keys(again).sort()).toEqual(['code', 'drift', 'ok']);
    expect(driftText(again)).toBe('Already resolved (BROKER_CORRECTED) by alice; nothing changed.');
    expect(expectBeads(await beads(h, 'RECONCILIATION_RESOLUTION'), 'RECONCILIATION_RESOLUTION')).toHaveLength(1);
    expect(await h.engine.drift.list()).toEqual([]);
    expect((await h.engine.drift.resolve('drf_nope', 'ACKNOWLEDGED', '', admin)).ok).toBe(false);
  });

  it('CV reconciliation drift: the sim reports a wrong position → one CRITICAL drift per distinct mismatch (not re-raised while unresolved), shown as still present or gone in /drift, nothing corrected', async () => {
    h = await harness();
    const jobs = await startTestJobs(h, { only: ['reconcile', 'position-watch'] });
    const id = await approveOne(h);
    await advance(h, 10_000, 1_000, jobs);
    h.sim!.faults.spoofPosition('MES', 0); // broker says flat: POSITION_COUNT
    await advance(h, 5 * 60_000, 5_000, jobs);
    let drifts = await h.engine.drift.list();
    expect(drifts).toHaveLength(1);
    expect(drifts[0]).toMatchObject({ type: 'POSITION_COUNT', severity: 'CRITICAL', stillPresent: true, local: { quantity: 1 }, broker: { quantity: 0 } });
    expect(await alerts(h, 'RECONCILIATION_DRIFT')).toHaveLength(1);
    await expectState(h, id, 'MANAGED');
    // the sim now reports 2: a different mismatch, a new drift; the first is no longer present
    h.sim!.faults.spoofPosition('MES', 2);
    await advance(h, 60_000, 5_000, jobs);
    drifts = await h.engine.drift.list();
    expect(drifts.map((d) => [d.type, d.stillPresent])).toEqual([['POSITION_COUNT', false], ['POSITION_SIZE', true]]);
    expect(await alerts(h, 'RECONCILIATION_DRIFT')).toHaveLength(2);
    // the audit trail: one RECONCILIATION_DRIFT bead per drift, each with its ALERT bead
    expect(expectBeads(await beads(h, 'RECONCILIATION_DRIFT'), 'RECONCILIATION_DRIFT').map((b) => b.data.driftType)).toEqual(['POSITION_COUNT', 'POSITION_SIZE']);
    expect(expectBeads(await beads(h, 'ALERT'), 'ALERT').filter((b) => b.data.alertType === 'RECONCILIATION_DRIFT')).toHaveLength(2);
    await jobs.stop();
  });

  it('CV partial-fill drift: 50% filled locally (5 of 10), the broker reports 6 (60%) → POSITION_SIZE drift with both fill ratios', async () => {
    h = await harness({ constitution: { limits: { maxPositionPerInstrument: 10, maxRiskPerTradeUsd: 200, maxOrderNotionalUsd: 500_000 } } });
    h.sim!.faults.partialNext(0.5);
    const id = await approveOne(h, { quantity: 10 });
    const intent = await h.app.store.tx((tx) => tx.intents.get(id));
    expect(intent).toMatchObject({ filledQty: 5, quantity: 10 });
    expect(await h.engine.reconcileNow('before')).toMatchObject({ discrepancies: [] }); // partial fill alone is consistent
    await h.clock.advance(5_000);
    h.sim!.faults.spoofPosition(MES, 6);
    const r = await h.engine.reconcileNow('after spoof');
    expect(r.newDrifts).toHaveLength(1);
    const [bead] = expectBeads(await beads(h, 'RECONCILIATION_DRIFT'), 'RECONCILIATION_DRIFT');
    expect(bead!.data).toMatchObject({
      driftType: 'POSITION_SIZE',
      severity: 'CRITICAL',
      local: { quantity: 5, intents: [{ intentId: id, requestedQty: 10, filledQty: 5, partialFillRatio: 0.5 }] },
      broker: { quantity: 6, impliedPartialFillRatio: 0.6 },
    });
    expect(r).toMatchObject({ ran: true, discrepancies: [{}], newDrifts: [{}], unresolved: 1 });
    expect(reconcileText(r)).toBe('1 mismatch with the broker (1 new); 1 unresolved drift.');
  });

  it('an order working at the broker that Phoenix does not know (placed outside Phoenix) → ORDER_STATUS drift', async () => {
    h = await harness();
    await approveOne(h);
    await h.broker.placeOrder({ orderRef: 'manual-tws', role: 'EXIT', instrument: MES, side: 'SELL', quantity: 1, type: 'LMT', limitPrice: 7000 });
    await h.settle();
    const r = await h.engine.reconcileNow('test');
    expect(r.newDrifts.map((d) => [d.type, d.severity])).toEqual([['ORDER_STATUS', 'CRITICAL']]);
    expect((await alerts(h, 'RECONCILIATION_DRIFT'))[0]!.data.summary).toContain('unknown to Phoenix');
  });

  it('ACKNOWLEDGED drifts stay quiet while the mismatch persists and come back as new when it recurs; CORRECTED ones that persist are raised again', async () => {
    h = await harness();
    await approveOne(h);
    h.sim!.faults.spoofPosition('MES', 2);
    const d1 = (await h.engine.reconcileNow('a')).newDrifts[0]!;
    await h.engine.drift.resolve(d1.id, 'ACKNOWLEDGED', 'manual hedge in TWS', approver);
    for (let i = 0; i < 3; i++) {
      await h.clock.advance(10_000);
      expect((await h.engine.reconcileNow('again')).newDrifts).toHaveLength(0);
    }
    h.sim!.faults.spoofPosition('MES', null); // gone
    await h.clock.advance(10_000);
    expect((await h.engine.reconcileNow('gone')).discrepancies).toHaveLength(0);
    h.sim!.faults.spoofPosition('MES', 2); // back: a new drift
    await h.clock.advance(10_000);
    const d2 = (await h.engine.reconcileNow('back')).newDrifts[0]!;
    expect(d2.fingerprint).toBe(d1.fingerprint);
    await h.engine.drift.resolve(d2.id, 'PHOENIX_CORRECTED', 'fixed the books', admin);
    await h.clock.advance(10_000);
    expect((await h.engine.reconcileNow('still there')).newDrifts).toHaveLength(1);
    expect(await alerts(h, 'RECONCILIATION_DRIFT')).toHaveLength(3);
  });

  it('reconciles on fills, rejects and cancels through the engine hook: debounced, never more than 12 runs a minute; direct calls inside 5 s are refused with the last result', async () => {
    h = await harness({ constitution: { limits: { maxTradesPerDay: 100, maxPositionPerInstrument: 100 } } });
    let positionsCalls = 0;
    const real = h.sim!.positions.bind(h.sim!);
    h.sim!.positions = async () => {
      positionsCalls++;
      return real();
    };
    const jobs = await startTestJobs(h, { only: [], runAtStart: false });
    await approveOne(h); // fill → reconcileSoon('fill')
    expect(await h.app.store.tx((tx) => tx.kv.get('reconcile.lastRunAt'))).toBeNull();
    await advance(h, 3_000, 1_000, jobs);
    expect(Number(await h.app.store.tx((tx) => tx.kv.get('reconcile.lastRunAt')))).toBe(h.clock.now() - 1_000); // 2 s debounce
    expect(positionsCalls).toBe(1);
    // a storm of 120 triggers over one minute
    positionsCalls = 0;
    const starts: number[] = [];
    const seen = h.sim!.positions;
    h.sim!.positions = async () => {
      starts.push(h!.clock.now());
      return seen();
    };
    for (let i = 0; i < 120; i++) {
      engineAsksToReconcile(h.engine, 'fill');
      await advance(h, 500, 500, jobs);
    }
    await advance(h, 10_000, 1_000, jobs);
    expect(starts.length).toBeGreaterThanOrEqual(10);
    for (let i = 12; i < starts.length; i++) expect(starts[i]! - starts[i - 12]!).toBeGreaterThanOrEqual(60_000);
    const first = await h.engine.reconcileNow('on demand');
    const second = await h.engine.reconcileNow('on demand again');
    expect(first.ran && !second.ran).toBe(true);
    expect(second).toMatchObject({ skipped: 'RATE_LIMITED', nextAllowedAt: first.at + 5_000 });
    expect(second).toMatchObject({ askedAt: first.at, lastStartedAt: first.at, lastRun: first });
    expect(reconcileText(second)).toContain('Checked 0 s ago');
    await jobs.stop();
  });

  it('drift escalation: unresolved for 15 minutes → one DRIFT_ESCALATION alert and JOB bead, exactly once per drift', async () => {
    h = await harness();
    const jobs = await startTestJobs(h, { only: ['drift-escalation'] });
    await approveOne(h);
    h.sim!.faults.spoofPosition('MES', 2);
    const drift = (await h.engine.reconcileNow('test')).newDrifts[0]!;
    await advance(h, 14 * 60_000 + 59_000, 10_000, jobs);
    expect(await alerts(h, 'DRIFT_ESCALATION')).toHaveLength(0);
    await advance(h, 2 * 60_000, 10_000, jobs);
    expect(await alerts(h, 'DRIFT_ESCALATION')).toHaveLength(1);
    await advance(h, 30 * 60_000, 30_000, jobs);
    expect(await alerts(h, 'DRIFT_ESCALATION')).toHaveLength(1);
    expect(await h.engine.drift.escalate()).toEqual([]);
    const row = await h.app.db.drift.findUniqueOrThrow({ where: { id: drift.id } });
    expect(row.escalatedAt!.getTime() - row.detectedAt.getTime()).toBeGreaterThan(15 * 60_000);
    expect(row.escalatedAt!.getTime() - row.detectedAt.getTime()).toBeLessThanOrEqual(16 * 60_000);
    expect((expectBeads(await beads(h, 'JOB'), 'JOB')).filter((b) => b.data.event === 'ESCALATION')).toHaveLength(1);
    expect((await alerts(h, 'DRIFT_ESCALATION'))[0]!.data.facts).toMatchObject({ drift: drift.id });
    await jobs.stop();
  });

  it('broker down: reconciliation is skipped (not counted as a run), and the reason is said', async () => {
    h = await harness();
    h.sim!.faults.disconnect();
    await h.settle();
    const r = await h.engine.reconcileNow('test');
    expect(r).toMatchObject({ ran: false, skipped: 'BROKER_DOWN' });
    expect(r).toMatchObject({ brokerState: 'DISCONNECTED', detail: null });
    expect(reconcileText(r)).toContain('disconnected');
    expect(await h.app.store.tx((tx) => tx.kv.get('reconcile.lastRunAt'))).toBeNull();
  });
});

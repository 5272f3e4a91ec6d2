/**
 * The per-order notional cap (SPEC 4 "order notional"): price × quantity × multiplier over
 * `limits.maxOrderNotionalUsd` is refused before any card (IB's precautionary settings would
 * reject it with error 451). Boundaries to the cent, the constitution's validation, and the
 * blocked notice that links the gate's own runbook (RB-016).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConstitution } from '../../src/config/load.js';
import { GATE_RUNBOOKS } from '../../src/engine/alerts.table.js';
import { constitutionSchema } from '../../src/engine/constitution.js';
import { orderNotionalCents, runGates, type GateContext } from '../../src/engine/risk.gates.js';
import { IN_SESSION, testConstitution, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { chatView, drain, makeRig, type Rig } from '../alerts/helpers.js';

const now = Date.parse(IN_SESSION);
const account = { accountId: 'DU0000001', netLiquidation: 25_000, buyingPower: 100_000, currency: 'USD' };

/** 1 MES at 6010.25: 6010.25 × 1 × 5 = $30,051.25 */
function ctx(capUsd: number, over: Partial<GateContext['intent']> = {}, stage: GateContext['stage'] = 'INTAKE'): GateContext {
  return {
    stage,
    now,
    intent: { instrumentKey: 'FUT:MES:202612:USD', side: 'BUY', quantity: 1, multiplier: 5, entryPrice: 6010.25, stopLoss: 6008, dvs: 0.93, eqs: 0.88, stateAsOf: now, regime: null, ...over },
    constitution: testConstitution({ limits: { maxOrderNotionalUsd: capUsd } }),
    mode: 'paper',
    allowLive: false,
    activeKills: [],
    today: { realizedPnlCents: 0, consecutiveLosses: 0, trades: 0 },
    openQtyOthers: 0,
    broker: { state: 'READY', canSubmit: true, account },
    lastKnownAccount: account,
  };
}
const notionalDenial = (c: GateContext) => runGates(c).denials.find((d) => d.gate === 'order_notional');

describe('order notional gate', () => {
  it('SPEC-4 order notional: equal to the cap passes, one cent under the value passes, one cent over is refused (ORDER_NOTIONAL) at every stage', () => {
    expect(orderNotionalCents(6010.25, 1, 5)).toBe(3_005_125);
    for (const stage of ['INTAKE', 'APPROVAL', 'SUBMIT'] as const) {
      expect(notionalDenial(ctx(30_051.25, {}, stage)), `${stage}: value equal to the cap`).toBeUndefined();
      expect(notionalDenial(ctx(30_051.26, {}, stage)), `${stage}: value one cent under the cap`).toBeUndefined();
      const over = notionalDenial(ctx(30_051.24, {}, stage));
      expect(over, `${stage}: value one cent over the cap`).toMatchObject({ gate: 'order_notional', code: 'ORDER_NOTIONAL' });
      expect(over!.message).toBe("order value $30051.25 (6010.25 × 1 × 5) > cap $30051.24; IB's precautionary limit would reject it (error 451)");
    }
  });

  it('SPEC-4 order notional: quantity and multiplier count (2 contracts, a full-size multiplier), and a market order without entry uses its stop price', () => {
    expect(notionalDenial(ctx(60_102.5, { quantity: 2 }))).toBeUndefined();
    expect(notionalDenial(ctx(60_102.49, { quantity: 2 }))?.code).toBe('ORDER_NOTIONAL');
    expect(notionalDenial(ctx(100_000, { multiplier: 50 }))?.message).toContain('$300512.50 (6010.25 × 1 × 50)');
    // MKT without entryPrice: RISK_UNDEFINED refuses it anyway; the notional is still bounded by the stop
    expect(notionalDenial(ctx(30_040, { entryPrice: null, stopLoss: 6008 }))).toBeUndefined();
    expect(notionalDenial(ctx(30_039.99, { entryPrice: null, stopLoss: 6008 }))?.message).toContain('(6008 × 1 × 5)');
  });

  it('SPEC-4 order notional: the constitution default is $100,000, the shipped files say so, and zero, negative or non-numeric caps fail start-up', () => {
    expect(testConstitution().limits.maxOrderNotionalUsd).toBe(100_000);
    for (const f of ['config/constitution.yaml', 'config/constitution.demo.yaml']) {
      const c = loadConstitution(f);
      expect(c.ok && c.value.limits.maxOrderNotionalUsd, f).toBe(100_000);
      expect(readFileSync(f, 'utf8')).toMatch(/^ {2}maxOrderNotionalUsd: 100000 /m);
    }
    for (const bad of [0, -1, '100k']) {
      const r = constitutionSchema.safeParse({ limits: { maxOrderNotionalUsd: bad }, staleState: {}, approval: {}, session: {}, reconciliation: {} });
      expect(r.success, String(bad)).toBe(false);
      expect(r.error!.issues[0]!.path.join('.')).toBe('limits.maxOrderNotionalUsd');
    }
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-notional-'));
    try {
      writeFileSync(join(dir, 'c.yaml'), 'limits:\n  maxOrderNotionalUsd: -5\nstaleState: {}\napproval: {}\nsession: {}\nreconciliation: {}\n');
      const r = loadConstitution(join(dir, 'c.yaml'));
      expect(r.ok).toBe(false);
      expect(!r.ok && r.problems.join('\n')).toContain(`constitution limits.maxOrderNotionalUsd (${join(dir, 'c.yaml')} line 2): must be a positive amount in dollars, at most 1000000000, got -5 → set a value like 100000`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('order notional at intake', () => {
  let h: Harness | undefined;
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });
  const harness = useHarness();

  it('SPEC-4 order notional: an intent over the cap is CANCELLED before any card, with a GATE bead; at the cap it gets its card', async () => {
    h = await harness({ constitution: { limits: { maxOrderNotionalUsd: 30_051.25 } } });
    const atCap = await h.engine.submitIntent(h.intent());
    expect(atCap).toMatchObject({ kind: 'accepted', state: 'PROPOSED', denials: [] });
    await h.close();

    h = await harness({ constitution: { limits: { maxOrderNotionalUsd: 30_051.24 } } });
    const over = await h.engine.submitIntent(h.intent());
    if (over.kind !== 'accepted') throw new Error(over.kind);
    expect(over.state).toBe('CANCELLED');
    expect(over.denials).toEqual([{ gate: 'order_notional', code: 'ORDER_NOTIONAL', message: "order value $30051.25 (6010.25 × 1 × 5) > cap $30051.24; IB's precautionary limit would reject it (error 451)" }]);
    expect(await h.app.db.card.count()).toBe(0);
    const gate = (await h.app.db.bead.findMany({ where: { intentId: over.intentId, type: 'GATE' } })).map((b) => JSON.parse(b.payload) as { denials: { code: string }[] });
    expect(gate.map((g) => g.denials.map((d) => d.code))).toEqual([['ORDER_NOTIONAL']]);
  });

  it('SPEC-4 order notional: the blocked notice in the chat names the gate and links runbook RB-016 (which exists)', async () => {
    expect(GATE_RUNBOOKS.ORDER_NOTIONAL).toBe('RB-016');
    rig = await makeRig();
    const { h: rh, sandbox, sender } = rig;
    // a full-size ES (multiplier 50) with a tight stop: risk $12.50 passes, the value $300,512.50 does not
    const r = await rh.engine.submitIntent(rh.intent({ instrument: { symbol: 'ES', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 50 }, stopLoss: 6010 }));
    expect(r).toMatchObject({ kind: 'accepted', state: 'CANCELLED', denials: [{ code: 'ORDER_NOTIONAL' }] });
    await drain(rh.app.store, rh.clock, sender, 60_000);
    const text = chatView(sandbox).texts.join('\n');
    expect(text).toContain('Intent blocked by a gate');
    expect(text).toContain('order value $300512.50 (6010.25 × 1 × 50) > cap $100000.00');
    expect(text).toContain('Runbook: RB-016 — /runbook RB-016');
    expect(text).not.toContain('RB-005');
  });
});

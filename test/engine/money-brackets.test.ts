/**
 * MONEY-10 (issue 13), the engine's side, on the real IbkrBroker over the TWS test server: a
 * bracket child PreSubmitted while its parent still works protects nothing (a partial fill is not
 * MANAGED, and is raised as unprotected), and when a partly filled entry's remainder dies the
 * children — which IBKR keeps at the parent's full size — are resized to what filled, so the target
 * closes the position instead of turning it around. A stop IBKR holds itself (PreSubmitted after
 * the entry is done) IS working.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { reconcileNow } from '../../src/engine/reconcile.usecase.js';
import { alerts, approveOne, beads } from '../jobs/helpers.js';
import { approver, cardOf, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { makeIbEngine, until, type IbEngine } from '../support/ib-engine.js';

let ib: IbEngine | undefined;
let h: Harness | undefined;
const harness = useHarness();
afterEach(async () => {
  await ib?.close();
  ib = undefined;
});

const rows = async (hh: Harness, id: string) => (await hh.app.store.tx((tx) => tx.orders.listByIntent(id))).map((o) => `${o.role}:${o.status}:${o.quantity}`);

/** BUY 2 MES approved over IBKR; the entry fills 1 and the rest keeps working. */
async function partialEntry(): Promise<{ ib: IbEngine; id: string; entryId: string }> {
  const rig = await makeIbEngine({ constitution: { limits: { maxPositionPerInstrument: 2, maxRiskPerTradeUsd: 30 } } });
  ib = rig;
  rig.server.movePrice('MES', 6010.25);
  rig.server.setBehavior({ symbol: 'MES' }, { kind: 'partial', ratio: 0.5 }, { once: true });
  const r = await rig.h.engine.submitIntent(rig.h.intent({ quantity: 2 }));
  if (r.kind !== 'accepted' || r.state !== 'PROPOSED') throw new Error(`not proposed: ${JSON.stringify(r)}`);
  const d = await rig.h.engine.decide((await cardOf(rig.h, r.intentId)).id, 'APPROVE', approver);
  expect(d).toMatchObject({ kind: 'approved', submit: { kind: 'submitted' } });
  await until(async () => (await intentOf(rig.h, r.intentId)).filledQty === 1, 'the partial fill');
  await rig.settle();
  const entryId = (await rig.h.app.store.tx((tx) => tx.orders.listByIntent(r.intentId))).find((o) => o.role === 'ENTRY')!.brokerOrderId!;
  return { ib: rig, id: r.intentId, entryId };
}

describe('MONEY-10: children follow the filled quantity; PreSubmitted is not protection until the parent is done', () => {
  it('MONEY-10: INV-PROTECTED-1: CV partial fill 50%: BUY 2 MES fills 1, the rest works, the children wait PreSubmitted at IBKR → FILLED (not MANAGED), raised as unprotected and found by reconciliation', async () => {
    const { ib: rig, id } = await partialEntry();
    const hh = rig.h;
    expect(rig.server.orders().filter((o) => o.orderRef === id && o.parentId > 0).map((o) => o.status)).toEqual(['PreSubmitted', 'PreSubmitted']);
    expect((await intentOf(hh, id)).state).toBe('FILLED');
    expect(await rows(hh, id)).toEqual(['ENTRY:WORKING:2', 'STOP:HELD:2', 'TARGET:HELD:2']);
    await hh.clock.advance(4_000);
    expect(await hh.engine.detectUnprotected()).toEqual([id]);
    expect((await alerts(hh, 'POSITION_UNPROTECTED'))[0]?.data.summary).toBe('BUY 1 MES is OPEN WITHOUT A WORKING STOP: its stop is HELD at the broker. Re-protect or flatten it now.');
    const rec = await hh.engine.reconcileNow('test');
    expect(rec.discrepancies.some((x) => x.subject === `${id}:PROTECTION`)).toBe(true);
  });

  it('MONEY-10: CV partial fill 50%: the rest of a half-filled BUY 2 is cancelled at the broker → both children (IBKR keeps them at 2) are resized to 1 — modifies recorded by the TWS server — → MANAGED; the target then sells 1 and the account is flat, not short 1', async () => {
    const { ib: rig, id, entryId } = await partialEntry();
    const { h: hh, server } = rig;
    const placedBefore = server.placements.length;
    // the rest of the entry is cancelled at the broker (a human in TWS, or its DAY time in force)
    await rig.broker.cancel(entryId);
    await until(async () => (await rows(hh, id))[0] === 'ENTRY:CANCELLED:2', 'the entry cancelled');
    await rig.settle();
    await rig.settle(); // the resize (if any) has reached the server
    server.movePrice('MES', 6015); // the target is reached
    await until(async () => (await intentOf(hh, id)).exitQty >= 1, 'the target fill');
    await rig.settle();
    expect(server.positions().find((p) => p.symbol === 'MES')?.pos).toBe(0);
    const intent = await intentOf(hh, id);
    expect({ state: intent.state, filled: intent.filledQty, exited: intent.exitQty }).toEqual({ state: 'CLOSED', filled: 1, exited: 1 });
    expect(await alerts(hh, 'OVER_EXIT')).toEqual([]);
    const modifies = server.placements.slice(placedBefore).filter((p) => p.orderRef === id);
    expect(modifies.map((p) => [p.orderType, p.totalQuantity, p.parentId]).sort()).toEqual([
      ['LMT', 1, Number(entryId)],
      ['STP', 1, Number(entryId)],
    ]);
    const resized = (await beads(hh, 'ORDER')).filter((b) => b.intentId === id && /^entry done with a partial fill: resize (STOP|TARGET) 2 → 1 \(1 open\)$/.test(String(b.data.detail)));
    expect(resized).toHaveLength(2);
    const states = (await beads(hh, 'POSITION')).filter((b) => b.intentId === id).map((b) => b.data.to);
    expect(states).toEqual(['APPROVED', 'SUBMITTED', 'FILLED', 'MANAGED', 'CLOSED']);
  });

  it('MONEY-10: INV-PROTECTED-1: a stop IBKR holds itself (PreSubmitted once the entry is done: a simulated stop, the overnight session) IS working — the position stays MANAGED and is not raised', async () => {
    h = await harness();
    const id = await approveOne(h);
    expect((await intentOf(h, id)).state).toBe('MANAGED');
    const stop = (await h.app.store.tx((tx) => tx.orders.listByIntent(id))).find((o) => o.role === 'STOP')!;
    await h.engine.onBrokerEvent({ kind: 'orderStatus', orderRef: id, role: 'STOP', brokerOrderId: stop.brokerOrderId!, status: 'WORKING', filledQty: 0, held: true });
    expect(await rows(h, id)).toContain('STOP:HELD:1');
    expect((await intentOf(h, id)).state).toBe('MANAGED');
    await h.clock.advance(10_000);
    expect(await h.engine.detectUnprotected()).toEqual([]);
  });
});

/**
 * Issue 13, the fill and P&L holes: MONEY-2 (a fill replayed after the entry's CANCELLED status),
 * MONEY-3 (fills after CLOSED), MONEY-4 (late commissions), MONEY-5 (corrected executions across
 * a restart), MONEY-8 (P&L on the fill's trading day), MONEY-11 (IBKR 404). The broker event
 * sequences are the ones IBKR sends; the simulated broker holds the real book where it matters.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import type { BrokerFill } from '../../src/engine/broker.port.js';
import { defaultConstitution } from '../../src/engine/constitution.js';
import { seededRandom, silentLogger } from '../../src/engine/ports.js';
import { reconcileNow } from '../../src/engine/reconcile.usecase.js';
import { pnlDayOf } from '../../src/engine/trading-day.js';
import { alerts, approveOne, beads, expectState, nyWinter } from '../jobs/helpers.js';
import { admin, approver, CHAT_ID, cardOf, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { LateCommissionSim, MutedSim } from '../support/sim-variants.js';

let h: Harness | undefined;
const harness = useHarness();

const TWO = { limits: { maxPositionPerInstrument: 2, maxRiskPerTradeUsd: 30, maxTradesPerDay: 5 } };

const fill = (intentId: string, role: BrokerFill['role'], quantity: number, price: number, execId: string, time: number, commission = 0.62): BrokerFill => ({
  execId,
  brokerOrderId: `b-${execId}`,
  orderRef: intentId,
  role,
  side: role === 'ENTRY' ? 'BUY' : 'SELL',
  quantity,
  price,
  commission,
  time,
});

async function brokerMes(hh: Harness): Promise<number> {
  return (await hh.broker.positions()).filter((p) => p.instrument.symbol === 'MES').reduce((a, p) => a + p.quantity, 0);
}

describe('MONEY-2: after a reconnect, a partly filled then cancelled entry is booked CANCELLED while the broker holds the fill', () => {
  it('MONEY-2: INV-FILL-COMPLETE-1: recovery after a dropped connection (1 of 2 filled, remainder cancelled at the broker) → FILLED 1, never CANCELLED; flatten, the limit and reconciliation all see it', async () => {
    h = await harness({ broker: (clock) => new MutedSim(clock), constitution: { limits: { ...TWO.limits } } });
    const sim = h.broker as MutedSim;
    sim.muted = true; // the socket drops: nothing the broker does reaches Phoenix
    sim.faults.partialNext(0.5);
    const r = await h.engine.submitIntent(h.intent({ quantity: 2 }));
    if (r.kind !== 'accepted') throw new Error('not accepted');
    await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    await h.settle();
    const entry = (await sim.findByOrderRef(r.intentId)).orders.find((o) => o.role === 'ENTRY')!;
    await sim.cancel(entry.brokerOrderId); // the remainder is cancelled at the broker meanwhile
    expect(await brokerMes(h)).toBe(1);
    expect((await intentOf(h, r.intentId)).state).toBe('SUBMITTED');
    sim.muted = false;
    await h.engine.recoverFromBroker();
    await h.settle();
    const after = await intentOf(h, r.intentId);
    expect(after.state).not.toBe('CANCELLED');
    expect(after).toMatchObject({ filledQty: 1 });
    expect(['FILLED', 'MANAGED']).toContain(after.state);
    // reconciliation: Phoenix 1, broker 1 → no position drift
    const rec = await h.engine.reconcileNow('test', { scope: 'positions' });
    expect(rec.discrepancies).toEqual([]);
    // flatten closes exactly what the broker holds
    await h.engine.flatten(admin);
    await h.settle();
    expect(await brokerMes(h)).toBe(0);
  });

  it('MONEY-2: INV-FILL-COMPLETE-1: in the order IBKR replays them (status CANCELLED filled 1 first, then the execution) the entry is never CANCELLED, and the position limit counts it meanwhile', async () => {
    h = await harness({ constitution: { limits: { maxPositionPerInstrument: 1, maxRiskPerTradeUsd: 30 } }, broker: (clock) => new MutedSim(clock) });
    const sim = h.broker as MutedSim;
    sim.muted = true;
    const r = await h.engine.submitIntent(h.intent({ quantity: 1 }));
    if (r.kind !== 'accepted') throw new Error('not accepted');
    await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    const entryId = (await h.app.store.tx((tx) => tx.orders.listByIntent(r.intentId))).find((o) => o.role === 'ENTRY')!.brokerOrderId!;
    await h.engine.onBrokerEvent({ kind: 'orderStatus', orderRef: r.intentId, role: 'ENTRY', brokerOrderId: entryId, status: 'CANCELLED', filledQty: 1, reason: 'replayed completed order' });
    expect((await intentOf(h, r.intentId)).state).toBe('SUBMITTED');
    const blocked = await h.engine.submitIntent(h.intent());
    expect(blocked.kind === 'accepted' && blocked.denials.map((d) => d.code)).toContain('POSITION_LIMIT');
    await h.engine.onBrokerEvent({ kind: 'fill', fill: fill(r.intentId, 'ENTRY', 1, 6010.25, '0000aaaa.00000001.01.01', h.clock.now()) });
    expect(await intentOf(h, r.intentId)).toMatchObject({ state: 'FILLED', filledQty: 1 });
  });
});

describe('MONEY-3: fills after CLOSED never reach P&L', () => {
  it('MONEY-3: INV-FILL-COMPLETE-1: the entry remainder fills after the stop closed the first lot → the position is open again (LATE_FILL CRITICAL), and closing it books −$24.98, which the $15 daily cap then blocks on', async () => {
    h = await harness({ constitution: { limits: { ...TWO.limits, dailyLossCapUsd: 15 } } });
    h.sim!.faults.partialNext(0.5);
    const id = await approveOne(h, { quantity: 2 });
    h.sim!.simulatePrice('MES', 6008); // stop: the first lot closes at −11.25 − 2 × 0.62
    await h.settle();
    expect(await intentOf(h, id)).toMatchObject({ state: 'CLOSED', realizedPnlCents: -1249 });
    // the remainder filled at the broker before Phoenix's cancel reached it (IBKR race)
    const now = h.clock.now();
    await h.engine.onBrokerEvent({ kind: 'fill', fill: fill(id, 'ENTRY', 1, 6010.25, '0000bbbb.00000001.01.01', now) });
    const reopened = await intentOf(h, id);
    expect(reopened).toMatchObject({ state: 'FILLED', filledQty: 2, exitQty: 1 });
    const [late] = await alerts(h, 'LATE_FILL');
    expect(late).toMatchObject({ severity: 'CRITICAL' });
    expect(late!.data.summary).toMatch(/arrived after Phoenix had it CLOSED\. The broker now holds 1 MES/);
    // it is closed by a stop at 6008 too: P&L covers both lots and every commission
    await h.engine.onBrokerEvent({ kind: 'fill', fill: fill(id, 'STOP', 1, 6008, '0000bbbb.00000002.01.01', now) });
    expect(await intentOf(h, id)).toMatchObject({ state: 'CLOSED', filledQty: 2, exitQty: 2, realizedPnlCents: -2498 });
    const next = await h.engine.submitIntent(h.intent());
    expect(next.kind === 'accepted' && next.denials.map((d) => d.code)).toContain('DAILY_LOSS_CAP');
  });

  it('MONEY-3: INV-FILL-COMPLETE-1: a stop/target race on a 2-lot (target fills 2, the stop fills 1 more) → OVER_EXIT CRITICAL, the intent stays open at −1 so reconciliation counts it and flatten buys 1 back', async () => {
    h = await harness({ constitution: TWO });
    const id = await approveOne(h, { quantity: 2 });
    const now = h.clock.now();
    await h.engine.onBrokerEvent({ kind: 'fill', fill: fill(id, 'TARGET', 2, 6015, '0000cccc.00000001.01.01', now) });
    await expectState(h, id, 'CLOSED');
    await h.engine.onBrokerEvent({ kind: 'fill', fill: fill(id, 'STOP', 1, 6008, '0000cccc.00000002.01.01', now) });
    const intent = await intentOf(h, id);
    expect(intent).toMatchObject({ state: 'FILLED', filledQty: 2, exitQty: 3 });
    const [over] = await alerts(h, 'OVER_EXIT');
    expect(over).toMatchObject({ severity: 'CRITICAL' });
    expect(over!.data.summary).toMatch(/the account is SHORT 1 MES/);
    // Phoenix's own books say −1 for this contract
    const status = await h.engine.status();
    expect(status.open.map((i) => i.id)).toContain(id);
    expect(status.unprotected).toContainEqual({ intentId: id, open: -1, stop: expect.any(String) });
    // flatten buys the over-exit back (on the entry's side), and the books end flat
    const before = (await h.broker.findByOrderRef(id)).orders.length;
    await h.engine.flatten(admin);
    await h.settle();
    const exit = (await h.broker.findByOrderRef(id)).orders.slice(before).find((o) => o.role === 'EXIT');
    expect(exit).toMatchObject({ side: 'BUY', quantity: 1, type: 'MKT' });
    expect(await intentOf(h, id)).toMatchObject({ state: 'CLOSED', filledQty: 3, exitQty: 3 });
  });
});

describe('MONEY-4: late commission reports are dropped', () => {
  it('MONEY-4: INV-PNL-DAY-1: commissions [0.62, 0.62] reported after their fills update the fills, realised P&L (−11.25 → −12.49) and the daily cap ($12) blocks the next intent', async () => {
    h = await harness({ broker: (clock) => new LateCommissionSim(clock), constitution: { limits: { dailyLossCapUsd: 12, maxTradesPerDay: 5 } } });
    const sim = h.broker as LateCommissionSim;
    sim.simulatePrice('MES', 6010.25);
    const id = await approveOne(h);
    sim.simulatePrice('MES', 6008); // the stop fills at 6008: −11.25 before commissions
    await h.settle();
    expect(await intentOf(h, id)).toMatchObject({ state: 'CLOSED', realizedPnlCents: -1125, commissionCents: 0 });
    const before = await h.engine.submitIntent(h.intent());
    expect(before.kind === 'accepted' && before.denials.map((d) => d.code)).not.toContain('DAILY_LOSS_CAP'); // −11.25 < 12
    expect(sim.releaseCommissions()).toBe(2);
    await h.settle();
    expect(await intentOf(h, id)).toMatchObject({ state: 'CLOSED', realizedPnlCents: -1249, commissionCents: 124 });
    const fills = await h.app.store.tx((tx) => tx.fills.listByIntent(id));
    expect(fills.map((f) => f.commission)).toEqual([0.62, 0.62]);
    const after = await h.engine.submitIntent(h.intent());
    expect(after.kind === 'accepted' && after.denials.map((d) => d.code)).toContain('DAILY_LOSS_CAP');
  });
});

describe('MONEY-5: a corrected execution replayed after restart is booked twice', () => {
  it('MONEY-5: INV-FILL-COMPLETE-1: …01.01 booked, then after a restart (a new process on the same database) its correction …01.02 → filled 1, not 2; one execution counts', async () => {
    h = await harness({ broker: (clock) => new MutedSim(clock) });
    const sim = h.broker as MutedSim;
    sim.muted = true;
    const r = await h.engine.submitIntent(h.intent());
    if (r.kind !== 'accepted') throw new Error('not accepted');
    await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    await h.engine.onBrokerEvent({ kind: 'fill', fill: fill(r.intentId, 'ENTRY', 1, 6010.25, '0000dddd.0000000a.01.01', h.clock.now()) });
    expect(await intentOf(h, r.intentId)).toMatchObject({ filledQty: 1 });
    // restart: a new process with an empty adapter book replays the correction
    const app2 = await createApp({ config: h.config, clock: h.clock, random: seededRandom(99), logger: silentLogger, broker: h.broker, chatId: CHAT_ID });
    try {
      await app2.engine.onBrokerEvent({ kind: 'fill', fill: fill(r.intentId, 'ENTRY', 1, 6010.5, '0000dddd.0000000a.01.02', h.clock.now()) });
      await app2.engine.onBrokerEvent({ kind: 'fill', fill: fill(r.intentId, 'ENTRY', 1, 6010.25, '0000dddd.0000000a.01.01', h.clock.now()) }); // the original, replayed too
      const i = await app2.store.tx((tx) => tx.intents.get(r.intentId));
      expect(i).toMatchObject({ filledQty: 1, avgFillPrice: 6010.5 }); // the correction replaced the original
      const corr = (await beads(h, 'FILL')).find((b) => b.data.execId === '0000dddd.0000000a.01.02');
      expect(corr?.data.corrects).toBe('0000dddd.0000000a.01.01');
    } finally {
      await app2.close();
    }
  });
});

describe('MONEY-8: losses booked on the day Phoenix processes them', () => {
  it("MONEY-8: INV-PNL-DAY-1: a Tuesday 15:45 stop fill replayed on Wednesday 09:40 is Tuesday's P&L; Wednesday's daily cap is not touched", async () => {
    h = await harness({ clockStart: nyWinter('2026-11-25', '09:40'), constitution: { limits: { dailyLossCapUsd: 12 } }, broker: (clock) => new MutedSim(clock) });
    const sim = h.broker as MutedSim;
    sim.muted = true;
    const r = await h.engine.submitIntent(h.intent());
    if (r.kind !== 'accepted') throw new Error('not accepted');
    await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    const tue = (hhmm: string) => Date.parse(nyWinter('2026-11-24', hhmm));
    await h.engine.onBrokerEvent({ kind: 'fill', fill: fill(r.intentId, 'ENTRY', 1, 6010.25, '0000eeee.00000001.01.01', tue('15:30')) });
    await h.engine.onBrokerEvent({ kind: 'fill', fill: fill(r.intentId, 'STOP', 1, 6008, '0000eeee.00000002.01.01', tue('15:45')) });
    expect(await intentOf(h, r.intentId)).toMatchObject({ state: 'CLOSED', realizedPnlCents: -1249, closedDay: '2026-11-24' });
    const next = await h.engine.submitIntent(h.intent());
    expect(next.kind === 'accepted' && next.denials.map((d) => d.code)).not.toContain('DAILY_LOSS_CAP');
  });

  it('MONEY-8: INV-PNL-DAY-1: futures belong to the CME session day (from 18:00 New York the evening before); stocks to the calendar day', () => {
    const c = defaultConstitution({ session: { holidays: ['2026-11-26'] } });
    const at = (day: string, hhmm: string) => Date.parse(nyWinter(day, hhmm));
    const FUT = { secType: 'FUT' as const };
    const STK = { secType: 'STK' as const };
    expect(pnlDayOf(at('2026-11-24', '17:59'), FUT, c)).toBe('2026-11-24');
    expect(pnlDayOf(at('2026-11-24', '18:00'), FUT, c)).toBe('2026-11-25');
    expect(pnlDayOf(at('2026-11-24', '18:00'), STK, c)).toBe('2026-11-24');
    expect(pnlDayOf(at('2026-11-25', '18:30'), FUT, c)).toBe('2026-11-27'); // Thanksgiving skipped
    expect(pnlDayOf(at('2026-11-29', '18:05'), FUT, c)).toBe('2026-11-30'); // Sunday evening → Monday
    expect(pnlDayOf(at('2026-11-28', '12:00'), FUT, c)).toBe('2026-11-30'); // a weekend fill → the next session
  });
});

describe('MONEY-11: error 404 is only logged', () => {
  it('MONEY-11: IBKR 404 (no shares to borrow, order held) → ORDER_HELD alert with RB-015 and the card is re-rendered', async () => {
    h = await harness({ broker: (clock) => new MutedSim(clock) });
    const r = await h.engine.submitIntent(h.intent({ side: 'SELL', stopLoss: 6012.5, takeProfit: 6005 }));
    if (r.kind !== 'accepted') throw new Error(JSON.stringify(r));
    await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    const card = await cardOf(h, r.intentId);
    await h.engine.onBrokerEvent({ kind: 'error', code: 404, message: 'Shares for this order are not immediately available for short sale. The order will be held while we attempt to locate the shares.', orderRef: r.intentId });
    const [held] = await alerts(h, 'ORDER_HELD');
    expect(held).toMatchObject({ severity: 'WARNING' });
    expect(held!.data.summary).toMatch(/is HELD by IBKR \(404: Shares for this order/);
    expect((await cardOf(h, r.intentId)).version).toBeGreaterThan(card.version);
  });
});

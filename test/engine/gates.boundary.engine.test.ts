/**
 * Gate boundaries through the engine (issue 12 "Also"; SPEC 4): the limits whose inputs come from
 * the database — realised losses closed today, losses in a row, trades submitted today, the open
 * quantity of OTHER intents (any spelling of the contract, APPROVED-not-sent, partly exited) and
 * kill-flag expiry — at their exact edges, on the real SQLite file with the simulated broker.
 * Losses are real: entry 6010.25, stop filled at 6008 → −$11.25 − 2 × $0.62 = −$12.49.
 *
 * Proven to bite: each mutation below was applied by hand (never committed), the tests run and
 * the named ones FAILED, then the change was reverted.
 *   risk.gates daily_loss `>=` → `>`                DAILY_LOSS_CAP (database) cap $12.49, (approval), Monday/Tuesday
 *   risk.gates consecutive_losses `>=` → `>`        CONSECUTIVE_LOSSES (database) "loss loss", "win loss loss", Monday
 *   risk.gates trades_per_day `>=` → `>`            TRADES_PER_DAY (database) 2 earlier today, (approval), midnight
 *   risk.gates position_limit drops openQtyOthers   every POSITION_LIMIT (database/approval) test that holds another intent
 *   risk.gates position_limit `>` → `>=`            POSITION_LIMIT "holds 1 → a new one for 1", spellings, own quantity …
 *   sqlite.store openQuantity counts `quantity` for FILLED/MANAGED (not filled − exited)
 *                                                   POSITION_LIMIT (database) "partly exited"
 *   sqlite.store openQuantity stops excluding the intent itself
 *                                                   POSITION_LIMIT (database) "never counts against itself", "partly exited"
 *   context.dayStats counts trades since the epoch, not New York midnight
 *                                                   TRADES_PER_DAY (database) "the day starts at New York midnight"
 *   context.dayStats counts every loss of the day, not the losses in a row
 *                                                   CONSECUTIVE_LOSSES (database) "loss win loss"
 *   context.dayStats adds Monday's closes to Tuesday's
 *                                                   DAILY_LOSS_CAP / CONSECUTIVE_LOSSES (database) Monday → Tuesday
 *   sqlite.store kills.active `expiresAt > now` → `>=`
 *                                                   KILL_ACTIVE (database) "lapsed at T + 5:00.000 exactly"
 *   risk.gates per_trade_risk `>` → `>=`            RISK_PER_TRADE (database) cap 11.25
 *   risk.gates minimum_capital `<` → `<=`           MIN_CAPITAL (database) 1500
 *   risk.gates quality `<` → `<=`                   QUALITY (database) DVS 0.8 / EQS 0.75
 *   risk.gates stale_state `<= ttl` → `< ttl`       STATE_CONFLICT (database) 900 s
 *   session.calendar window end `<` → `<=`          SESSION_CLOSED (database) 09:35:00
 *   session.calendar window start `>=` → `>`        SESSION_CLOSED (database) 12:00:00 and (approval) 12:00:00
 *   session.calendar holidays ignored               SESSION_CLOSED (database) holiday
 *   risk.gates broker_health never waits            POSITION_LIMIT (database) "APPROVED entry not yet sent"
 */
import { describe, expect, it } from 'vitest';
import type { BrokerFill } from '../../src/engine/broker.port.js';
import { approveOne } from '../jobs/helpers.js';
import { admin, approver, cardOf, intentOf, makeHarness, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { approveWhileBrokerDown, propose } from './helpers.js';

let h: Harness | undefined;
const make = useHarness();

type HarnessOpts = NonNullable<Parameters<typeof makeHarness>[0]>;
const ROOMY = { maxTradesPerDay: 20, maxConsecutiveLosses: 20, dailyLossCapUsd: 1000, maxPositionPerInstrument: 5, maxRiskPerTradeUsd: 100 };
const MES = { symbol: 'MES', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 5 };
/** New York EST wall time → ISO instant (valid Nov–Mar). */
const ny = (date: string, hms: string) => new Date(`${date}T${hms}-05:00`).toISOString();

async function harness(limits: NonNullable<HarnessOpts['constitution']>['limits'], more: { clockStart?: string; session?: NonNullable<HarnessOpts['constitution']>['session'] } = {}) {
  h = await make({ ...(more.clockStart ? { clockStart: more.clockStart } : {}), constitution: { limits: { ...ROOMY, ...limits }, ...(more.session ? { session: more.session } : {}) } });
  return h;
}

/** A new intent at intake: its state and denial codes. */
async function intake(hh: Harness, over: Record<string, unknown> = {}) {
  const r = await hh.engine.submitIntent(hh.intent(over));
  if (r.kind !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(r)}`);
  return { state: r.state, codes: r.denials.map((d) => d.code), intentId: r.intentId };
}

/** Enter at 6010.25 and let the stop fill at 6008: a real −$12.49 close. */
async function loseOne(hh: Harness): Promise<string> {
  hh.sim!.simulatePrice('MES', 6010.25);
  const id = await approveOne(hh);
  hh.sim!.simulatePrice('MES', 6008);
  await hh.settle();
  expect(await intentOf(hh, id)).toMatchObject({ state: 'CLOSED', realizedPnlCents: -1249 });
  return id;
}

/** Enter at 6010.25 and let the target fill at 6015: +$23.75 − $1.24 = +$22.51. */
async function winOne(hh: Harness): Promise<string> {
  hh.sim!.simulatePrice('MES', 6010.25);
  const id = await approveOne(hh);
  hh.sim!.simulatePrice('MES', 6015);
  await hh.settle();
  expect(await intentOf(hh, id)).toMatchObject({ state: 'CLOSED', realizedPnlCents: 2251 });
  return id;
}

describe('daily loss: realised losses closed today, from the database', () => {
  it.each([
    [12.5, 'PROPOSED', []],
    [12.49, 'CANCELLED', ['DAILY_LOSS_CAP']],
    [12.48, 'CANCELLED', ['DAILY_LOSS_CAP']],
  ] as const)('GATE-BOUNDARY DAILY_LOSS_CAP (database): after a real −$12.49 stop-out, cap $%s → next intent %s %j', async (cap, state, codes) => {
    const hh = await harness({ dailyLossCapUsd: cap });
    await loseOne(hh);
    hh.sim!.simulatePrice('MES', 6010.25);
    expect(await intake(hh)).toMatchObject({ state, codes });
  });

  it('GATE-BOUNDARY DAILY_LOSS_CAP (approval): a card shown before the loss closed is blocked when approved after it (loss equal to the $12.49 cap)', async () => {
    const hh = await harness({ dailyLossCapUsd: 12.49 });
    const waiting = await propose(hh);
    await loseOne(hh);
    const d = await hh.engine.decide(waiting.cardId, 'APPROVE', approver);
    expect(d).toMatchObject({ kind: 'blocked', denials: [{ message: 'realised loss today $12.49 ≥ cap $12.49' }] });
    expect((await intentOf(hh, waiting.intentId)).state).toBe('CANCELLED');
    expect((await hh.broker.findByOrderRef(waiting.intentId)).orders).toEqual([]);
  });

  it("GATE-BOUNDARY DAILY_LOSS_CAP (database): only today's closes count — Monday's −$12.49 leaves Tuesday's $12.49 cap untouched", async () => {
    const hh = await harness({ dailyLossCapUsd: 12.49 }, { clockStart: ny('2026-11-23', '10:00:00') });
    await loseOne(hh);
    expect((await intake(hh)).codes).toEqual(['DAILY_LOSS_CAP']);
    await hh.clock.set(ny('2026-11-24', '10:00:00'));
    hh.sim!.simulatePrice('MES', 6010.25);
    expect(await intake(hh)).toMatchObject({ state: 'PROPOSED', codes: [] });
  });
});

describe('losses in a row, from the order of closes today', () => {
  it.each([
    ['loss', 'PROPOSED', []],
    ['loss loss', 'CANCELLED', ['CONSECUTIVE_LOSSES']],
    ['loss win loss', 'PROPOSED', []],
    ['win loss loss', 'CANCELLED', ['CONSECUTIVE_LOSSES']],
  ] as const)('GATE-BOUNDARY CONSECUTIVE_LOSSES (database): max 2, closes today "%s" → next intent %s %j', async (seq, state, codes) => {
    const hh = await harness({ maxConsecutiveLosses: 2 });
    for (const step of seq.split(' ')) await (step === 'loss' ? loseOne(hh) : winOne(hh));
    hh.sim!.simulatePrice('MES', 6010.25);
    expect(await intake(hh)).toMatchObject({ state, codes });
  });

  it('GATE-BOUNDARY CONSECUTIVE_LOSSES (database): two losses closed on Monday do not block Tuesday', async () => {
    const hh = await harness({ maxConsecutiveLosses: 2 }, { clockStart: ny('2026-11-23', '10:00:00') });
    await loseOne(hh);
    await loseOne(hh);
    expect((await intake(hh)).codes).toEqual(['CONSECUTIVE_LOSSES']);
    await hh.clock.set(ny('2026-11-24', '10:00:00'));
    hh.sim!.simulatePrice('MES', 6010.25);
    expect(await intake(hh)).toMatchObject({ state: 'PROPOSED', codes: [] });
  });
});

describe('trades per day, from the entries submitted today', () => {
  it.each([
    [1, 'PROPOSED', []],
    [2, 'CANCELLED', ['TRADES_PER_DAY']],
  ] as const)('GATE-BOUNDARY TRADES_PER_DAY (database): max 2, %s entries submitted earlier today → next intent %s %j', async (n, state, codes) => {
    const hh = await harness({ maxTradesPerDay: 2 });
    for (let i = 0; i < n; i++) await approveOne(hh);
    expect(await intake(hh)).toMatchObject({ state, codes });
  });

  it('GATE-BOUNDARY TRADES_PER_DAY (approval): max 1, two cards open at once — the first approved is sent, the second is blocked at approval and never reaches the broker', async () => {
    const hh = await harness({ maxTradesPerDay: 1 });
    const a = await propose(hh);
    const b = await propose(hh);
    const da = await hh.engine.decide(a.cardId, 'APPROVE', approver);
    expect(da.kind === 'approved' && da.submit.kind).toBe('submitted');
    const db = await hh.engine.decide(b.cardId, 'APPROVE', approver);
    expect(db).toMatchObject({ kind: 'blocked', denials: [{ message: '1 trades today (max 1)' }] });
    expect((await hh.broker.findByOrderRef(b.intentId)).orders).toEqual([]);
  });

  it('GATE-BOUNDARY TRADES_PER_DAY (database): the day starts at New York midnight — an entry sent at 23:59:59 is yesterday\'s, one second later max 1 allows a new one, and that one then counts', async () => {
    const hh = await harness({ maxTradesPerDay: 1 }, { clockStart: ny('2026-11-23', '23:59:59'), session: { enforce: false } });
    await approveOne(hh);
    expect((await intake(hh)).codes).toEqual(['TRADES_PER_DAY']);
    await hh.clock.set(ny('2026-11-24', '00:00:00'));
    const next = await intake(hh);
    expect(next).toMatchObject({ state: 'PROPOSED', codes: [] });
    const d = await hh.engine.decide((await cardOf(hh, next.intentId)).id, 'APPROVE', approver);
    expect(d.kind === 'approved' && d.submit.kind).toBe('submitted');
    expect((await intake(hh)).codes).toEqual(['TRADES_PER_DAY']);
  });
});

describe('position limit: the open quantity of OTHER intents', () => {
  it.each([
    [1, 'PROPOSED', []],
    [2, 'CANCELLED', ['POSITION_LIMIT']],
  ] as const)('GATE-BOUNDARY POSITION_LIMIT (database): max 2, another intent holds 1 (MANAGED) → a new one for %s → %s %j', async (qty, state, codes) => {
    const hh = await harness({ maxPositionPerInstrument: 2 });
    expect((await intentOf(hh, await approveOne(hh))).state).toBe('MANAGED');
    expect(await intake(hh, { quantity: qty })).toMatchObject({ state, codes });
  });

  it('GATE-BOUNDARY POSITION_LIMIT (database): SAFE-9: the other intent under another spelling of the contract counts (cme, GLOBEX, mes); another contract month does not', async () => {
    const hh = await harness({ maxPositionPerInstrument: 2 });
    await approveOne(hh, { instrument: MES });
    for (const instrument of [{ ...MES, exchange: 'cme' }, { ...MES, exchange: 'GLOBEX' }, { ...MES, symbol: 'mes' }]) {
      expect(await intake(hh, { instrument, quantity: 2 }), JSON.stringify(instrument)).toMatchObject({ state: 'CANCELLED', codes: ['POSITION_LIMIT'] });
      expect(await intake(hh, { instrument, quantity: 1 }), JSON.stringify(instrument)).toMatchObject({ state: 'PROPOSED', codes: [] });
    }
    expect(await intake(hh, { instrument: { ...MES, contractMonth: '202703' }, quantity: 2 })).toMatchObject({ state: 'PROPOSED', codes: [] });
  });

  it('GATE-BOUNDARY POSITION_LIMIT (database): an APPROVED entry not yet sent (broker down) counts its full quantity', async () => {
    const hh = await harness({ maxPositionPerInstrument: 2 });
    await approveWhileBrokerDown(hh);
    expect(await intake(hh, { quantity: 2 })).toMatchObject({ state: 'CANCELLED', codes: ['POSITION_LIMIT'] });
    expect(await intake(hh, { quantity: 1 })).toMatchObject({ state: 'PROPOSED', codes: [] });
  });

  it('GATE-BOUNDARY POSITION_LIMIT (database): a partly exited position counts what is still open (filled 2 − exited 1 = 1)', async () => {
    const hh = await harness({ maxPositionPerInstrument: 2 });
    const a = await approveOne(hh, { quantity: 2 });
    const fill: BrokerFill = { execId: '0000ffff.00000001.01.01', brokerOrderId: 'b-target', orderRef: a, role: 'TARGET', side: 'SELL', quantity: 1, price: 6015, commission: 0.62, time: hh.clock.now() };
    await hh.engine.onBrokerEvent({ kind: 'fill', fill });
    expect(await intentOf(hh, a)).toMatchObject({ filledQty: 2, exitQty: 1 });
    expect(await intake(hh, { quantity: 1 })).toMatchObject({ state: 'PROPOSED', codes: [] });
    expect(await intake(hh, { quantity: 2 })).toMatchObject({ state: 'CANCELLED', codes: ['POSITION_LIMIT'] });
  });

  it('GATE-BOUNDARY POSITION_LIMIT (database): an intent never counts against itself (2 of max 2 passes intake, approval and submission); a closed one no longer counts', async () => {
    const hh = await harness({ maxPositionPerInstrument: 2 });
    const a = await approveOne(hh, { quantity: 2 });
    expect((await intentOf(hh, a)).state).toBe('MANAGED');
    expect((await intake(hh, { quantity: 1 })).codes).toEqual(['POSITION_LIMIT']);
    await hh.engine.flatten(admin);
    await hh.settle();
    expect((await intentOf(hh, a)).state).toBe('CLOSED');
    expect(await intake(hh, { quantity: 2 })).toMatchObject({ state: 'PROPOSED', codes: [] });
  });

  it('GATE-BOUNDARY POSITION_LIMIT (approval): two cards of 1 and 2 with max 2 — after the first fills, approving the second is blocked', async () => {
    const hh = await harness({ maxPositionPerInstrument: 2 });
    const a = await propose(hh, { quantity: 1 });
    const b = await propose(hh, { quantity: 2 });
    const da = await hh.engine.decide(a.cardId, 'APPROVE', approver);
    expect(da.kind === 'approved' && da.submit.kind).toBe('submitted');
    const db = await hh.engine.decide(b.cardId, 'APPROVE', approver);
    expect(db).toMatchObject({ kind: 'blocked', denials: [{ message: expect.stringMatching(/open quantity would be 3 .*\(max 2\)/) }] });
    expect((await hh.broker.findByOrderRef(b.intentId)).orders).toEqual([]);
  });
});

describe('kill flags, per-trade risk, capital, quality and the session, through the engine', () => {
  it('INV-KILL-BLOCKS-ENTRY-1: GATE-BOUNDARY KILL_ACTIVE (database): a stale-state pause set at T blocks at T + 4:59.999 and has lapsed at T + 5:00.000 exactly', async () => {
    const hh = await harness({});
    const t = hh.clock.now();
    expect((await intake(hh, { stateAsOf: new Date(t - 901_000).toISOString() })).codes).toEqual(['STATE_CONFLICT']);
    await hh.clock.advance(299_999);
    expect((await intake(hh)).codes).toEqual(['KILL_ACTIVE']);
    await hh.clock.advance(1);
    expect(await intake(hh)).toMatchObject({ state: 'PROPOSED', codes: [] });
  });

  it('INV-STALE-KILL-1: GATE-BOUNDARY STATE_CONFLICT (database): market state 900 s old is accepted, 901 s old is refused', async () => {
    const hh = await harness({});
    const t = hh.clock.now();
    expect(await intake(hh, { stateAsOf: new Date(t - 900_000).toISOString() })).toMatchObject({ state: 'PROPOSED', codes: [] });
    expect(await intake(hh, { stateAsOf: new Date(t - 901_000).toISOString() })).toMatchObject({ state: 'CANCELLED', codes: ['STATE_CONFLICT'] });
  });

  it.each([
    [11.25, 'PROPOSED', []],
    [11.24, 'CANCELLED', ['RISK_PER_TRADE']],
  ] as const)('GATE-BOUNDARY RISK_PER_TRADE (database): the README bracket risks $11.25; cap $%s → %s %j', async (cap, state, codes) => {
    const hh = await harness({ maxRiskPerTradeUsd: cap });
    expect(await intake(hh)).toMatchObject({ state, codes });
  });

  it.each([
    [1500, 'PROPOSED', []],
    [1499.99, 'CANCELLED', ['MIN_CAPITAL']],
  ] as const)('GATE-BOUNDARY MIN_CAPITAL (database): the broker reports net liquidation %s USD against the 1,500 USD minimum → %s %j', async (netLiq, state, codes) => {
    const hh = await harness({});
    hh.sim!.faults.setAccount('DU0000001', netLiq);
    expect(await intake(hh)).toMatchObject({ state, codes });
  });

  it.each([
    [0.8, 0.75, 'PROPOSED', []],
    [0.79, 0.75, 'CANCELLED', ['QUALITY']],
    [0.8, 0.74, 'CANCELLED', ['QUALITY']],
  ] as const)('GATE-BOUNDARY QUALITY (database): DVS %s / EQS %s in the stored evidence → %s %j', async (dvs, eqs, state, codes) => {
    const hh = await harness({});
    const evidence = { ...(hh.intent().evidence as Record<string, unknown>), dvs, eqs };
    expect(await intake(hh, { evidence })).toMatchObject({ state, codes });
  });

  it.each([
    ['09:34:59', 'CANCELLED', ['SESSION_CLOSED']],
    ['09:35:00', 'PROPOSED', []],
    ['11:59:59', 'PROPOSED', []],
    ['12:00:00', 'CANCELLED', ['SESSION_CLOSED']],
  ] as const)('GATE-BOUNDARY SESSION_CLOSED (database): an intent arriving Tue %s New York → %s %j', async (at, state, codes) => {
    const hh = await harness({}, { clockStart: ny('2026-11-24', at) });
    expect(await intake(hh)).toMatchObject({ state, codes });
  });

  it('GATE-BOUNDARY SESSION_CLOSED (approval): a card proposed at 11:59:00 and approved at 12:00:00 (lunch window) is blocked and sends nothing', async () => {
    const hh = await harness({}, { clockStart: ny('2026-11-24', '11:59:00') });
    const p = await propose(hh);
    await hh.clock.advance(60_000);
    const d = await hh.engine.decide(p.cardId, 'APPROVE', approver);
    expect(d).toMatchObject({ kind: 'blocked', denials: [{ message: expect.stringMatching(/^session closed: no-trade window \(lunch\)/) }] });
    expect((await hh.broker.findByOrderRef(p.intentId)).orders).toEqual([]);
  });

  it('GATE-BOUNDARY SESSION_CLOSED (database): a declared holiday (Fri 2026-12-25) refuses at 10:00; the day before is open', async () => {
    const hh = await harness({}, { clockStart: ny('2026-12-24', '10:00:00'), session: { holidays: ['2026-12-25'] } });
    expect(await intake(hh)).toMatchObject({ state: 'PROPOSED', codes: [] });
    await hh.clock.set(ny('2026-12-25', '10:00:00'));
    expect(await intake(hh)).toMatchObject({ state: 'CANCELLED', codes: ['SESSION_CLOSED'] });
  });
});

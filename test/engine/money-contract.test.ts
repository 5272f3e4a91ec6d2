/**
 * MONEY-9 (issue 13): off-tick prices passed intake and the gates and were refused by the IBKR
 * adapter only after a human approved them — and the refused submission still counted toward
 * trades per day. MONEY-10 (multiplier part): the multiplier came from the intent and scaled the
 * risk gate and the P&L by whatever the strategy sent.
 *
 * Now the tick size and the multiplier come from the contract details (the broker's
 * qualification, its stored copy when the broker is down, the rule table for never-qualified
 * stocks and CME index futures, else fail closed) and are checked before the card, with denials
 * from the one gate registry (PRICE_OFF_TICK naming the nearest valid prices, MULTIPLIER_MISMATCH,
 * CONTRACT_UNKNOWN); a placement that never reached the broker is no trade.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { offlineBroker } from '../../src/broker/offline.broker.js';
import { seededRandom, silentLogger } from '../../src/engine/ports.js';
import { approver, cardOf, intentOf, testConfig, testConstitution, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { makeIbEngine, type IbEngine } from '../support/ib-engine.js';
import { beads } from '../jobs/helpers.js';

let h: Harness | undefined;
let ib: IbEngine | undefined;
afterEach(async () => {
  await ib?.close();
  ib = undefined;
});
const harness = useHarness();

const ZN = { symbol: 'ZN', secType: 'FUT', exchange: 'CBOT', currency: 'USD', contractMonth: '202612', multiplier: 1000 };

/** The contract facts the INTAKE gate evaluation of an intent used (its GATE bead). */
async function intakeContract(hh: Harness, intentId: string): Promise<Record<string, unknown>> {
  const gate = (await beads(hh, 'GATE')).find((b) => b.intentId === intentId && b.data.stage === 'INTAKE');
  return (gate?.data.inputs as { contract: Record<string, unknown> }).contract;
}

describe('MONEY-9: off-tick prices pass until after approval', () => {
  it('MONEY-9: over IBKR (@stoqey/ib ⇄ TWS test server), MES at 6010.13 (tick 0.25 from the contract details) is refused at intake — PRICE_OFF_TICK naming 6010.00 or 6010.25 — no card, nothing placed', async () => {
    ib = await makeIbEngine();
    const r = await ib.h.engine.submitIntent(ib.h.intent({ entryPrice: 6010.13 }));
    expect(r).toMatchObject({ kind: 'accepted', state: 'CANCELLED' });
    if (r.kind !== 'accepted') return;
    expect(r.denials).toEqual([{ gate: 'contract', code: 'PRICE_OFF_TICK', message: "entry 6010.13 is not on MES's tick 0.25: nearest valid prices 6010.00 or 6010.25" }]);
    expect(await ib.h.app.store.tx((tx) => tx.cards.bySubject(r.intentId, 'TRADE'))).toBeNull();
    // the tick came from the broker's contract details (REQ_CONTRACT_DATA), not from a guess
    expect(ib.server.receivedOf('REQ_CONTRACT_DATA').length).toBeGreaterThanOrEqual(1);
    expect(await intakeContract(ib.h, r.intentId)).toEqual({ source: 'broker', conId: 770561201, minTick: 0.25, multiplier: 5, localSymbol: 'MESZ6' });
    expect(ib.server.placements).toEqual([]);
    // stop and target are checked too; every off-tick price is named
    const r2 = await ib.h.engine.submitIntent(ib.h.intent({ entryPrice: 6010.25, stopLoss: 6008.1, takeProfit: 6015.05 }));
    expect(r2.kind === 'accepted' && r2.denials.map((d) => d.message)).toEqual([
      "stop 6008.1 is not on MES's tick 0.25: nearest valid prices 6008.00 or 6008.25; target 6015.05 is not on MES's tick 0.25: nearest valid prices 6015.00 or 6015.25",
    ]);
    // on the tick: a card
    const ok = await ib.h.engine.submitIntent(ib.h.intent());
    expect(ok).toMatchObject({ kind: 'accepted', state: 'PROPOSED', denials: [] });
  });

  it('MONEY-9: a placement the IBKR adapter refuses before sending (the gateway switched accounts) is no trade: with 1 trade a day allowed, the next intent still gets a card', async () => {
    ib = await makeIbEngine({ constitution: { limits: { maxTradesPerDay: 1 } } });
    const first = await ib.h.engine.submitIntent(ib.h.intent());
    if (first.kind !== 'accepted' || first.state !== 'PROPOSED') throw new Error(`not proposed: ${JSON.stringify(first)}`);
    ib.server.setAccounts(['DU7654321']); // the adapter re-queries the accounts on every submit
    const d = await ib.h.engine.decide((await cardOf(ib.h, first.intentId)).id, 'APPROVE', approver);
    expect(d).toMatchObject({ kind: 'approved', submit: { kind: 'rejected', reason: expect.stringContaining('ACCOUNT_MODE_MISMATCH') } });
    expect(ib.server.placements).toEqual([]); // nothing reached the broker
    const refused = await intentOf(ib.h, first.intentId);
    expect(refused.state).toBe('REJECTED');
    expect(refused.submittedAt).toBeNull();
    const next = await ib.h.engine.submitIntent(ib.h.intent());
    expect(next).toMatchObject({ kind: 'accepted', state: 'PROPOSED', denials: [] });
    const gate = (await beads(ib.h, 'GATE')).find((b) => next.kind === 'accepted' && b.intentId === next.intentId);
    expect((gate?.data.inputs as { today: { trades: number } }).today.trades).toBe(0);
  });

  it('MONEY-9: trades per day still counts what reached the broker — at the boundary, 1 sent of max 1 blocks the next (TRADES_PER_DAY)', async () => {
    h = await harness({ constitution: { limits: { maxTradesPerDay: 1 } } });
    const a = await h.engine.submitIntent(h.intent());
    if (a.kind !== 'accepted') throw new Error('not accepted');
    expect(await h.engine.decide((await cardOf(h, a.intentId)).id, 'APPROVE', approver)).toMatchObject({ submit: { kind: 'submitted' } });
    const b = await h.engine.submitIntent(h.intent({ instrument: { symbol: 'MNQ', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 2 }, entryPrice: 21010.25, stopLoss: 21005, takeProfit: 21020.75 }));
    expect(b.kind === 'accepted' && b.denials.map((x) => x.code)).toEqual(['TRADES_PER_DAY']);
  });

  it('MONEY-9: the broker down at intake — a contract qualified before is checked against its stored copy (ZN, tick 1/64: a process without the broker session), a never-qualified MES against the rule table, a never-qualified ZN is refused (CONTRACT_UNKNOWN, fail closed)', async () => {
    ib = await makeIbEngine({ constitution: { limits: { maxRiskPerTradeUsd: 100, maxOrderNotionalUsd: 200_000 } } });
    ib.server.addContract({ conId: 815824208, symbol: 'ZN', secType: 'FUT', exchange: 'CBOT', primaryExch: '', currency: 'USD', localSymbol: 'ZNZ6', tradingClass: 'ZN', lastTradeDate: '20261219', contractMonth: '202612', multiplier: 1000, minTick: 0.015625, longName: '10-Year T-Note', lastPrice: 112.5 });
    const zn = (hh: Harness, over: Record<string, unknown> = {}) => hh.intent({ instrument: ZN, entryPrice: 112.5, stopLoss: 112.46875, takeProfit: 112.5625, ...over });
    const live = await ib.h.engine.submitIntent(zn(ib.h));
    expect(live).toMatchObject({ kind: 'accepted', state: 'PROPOSED' });
    if (live.kind === 'accepted') expect(await intakeContract(ib.h, live.intentId)).toEqual({ source: 'broker', conId: 815824208, minTick: 0.015625, multiplier: 1000, localSymbol: 'ZNZ6' });
    await ib.server.stop(); // the gateway goes away (nightly restart)

    // another process on the same database that does not own the broker session (the CLI)
    const cli = await createApp({ config: testConfig({ DATABASE_URL: `file:${ib.h.dbFile}` }, testConstitution({ limits: { maxRiskPerTradeUsd: 100, maxOrderNotionalUsd: 200_000 } })), clock: ib.h.clock, random: seededRandom(9), logger: silentLogger, broker: offlineBroker, chatId: '-1' });
    try {
      const cached = await cli.engine.submitIntent(zn(ib.h));
      expect(cached).toMatchObject({ kind: 'accepted', state: 'PROPOSED', denials: [] });
      if (cached.kind === 'accepted') expect(await intakeContract(ib.h, cached.intentId)).toEqual({ source: 'cache', conId: 815824208, minTick: 0.015625, multiplier: 1000, localSymbol: 'ZNZ6' });
      const offTick = await cli.engine.submitIntent(zn(ib.h, { entryPrice: 112.51 }));
      expect(offTick.kind === 'accepted' && offTick.denials).toEqual([{ gate: 'contract', code: 'PRICE_OFF_TICK', message: "entry 112.51 is not on ZN's tick 0.015625: nearest valid prices 112.500000 or 112.515625" }]);
      const mes = await cli.engine.submitIntent(ib.h.intent({ entryPrice: 6010.13 }));
      expect(mes.kind === 'accepted' && mes.denials.map((d) => d.code)).toEqual(['PRICE_OFF_TICK']);
      if (mes.kind === 'accepted') expect(await intakeContract(ib.h, mes.intentId)).toEqual({ source: 'rule', conId: 0, minTick: 0.25, multiplier: 5 });
    } finally {
      await cli.close();
    }

    // a fresh database (never qualified) with the broker down: ZN cannot be checked → refused
    h = await harness({ connect: false, constitution: { limits: { maxRiskPerTradeUsd: 100, maxOrderNotionalUsd: 200_000 } } });
    const unknown = await h.engine.submitIntent(zn(h));
    expect(unknown).toMatchObject({ kind: 'accepted', state: 'CANCELLED' });
    if (unknown.kind !== 'accepted') return;
    expect(unknown.denials.map((d) => d.code)).toEqual(['CONTRACT_UNKNOWN']);
    expect(unknown.denials[0]?.message).toMatch(/^contract details of FUT:ZN:202612:USD are unknown: the broker cannot be asked \(.+\) and never qualified it, so its tick size and multiplier cannot be checked; send it again once the broker is connected$/);
    expect(await h.app.store.tx((tx) => tx.cards.bySubject(unknown.intentId, 'TRADE'))).toBeNull();
    // a contract the broker says does not exist is believed (no fallback)
    const h2 = await harness({ constitution: { limits: { maxRiskPerTradeUsd: 100, maxOrderNotionalUsd: 200_000 } } });
    try {
      const none = await h2.engine.submitIntent(zn(h2));
      expect(none.kind === 'accepted' && none.denials.map((d) => [d.code, d.message])).toEqual([['CONTRACT_UNKNOWN', 'the broker does not know this contract (NO_SECURITY: No security definition has been found for ZN)']]);
    } finally {
      await h2.close();
    }
  });
});

describe('MONEY-10: the multiplier comes from the qualified contract', () => {
  it('MONEY-10: over IBKR, an MES intent claiming multiplier 2 (real 5) is refused before the card — MULTIPLIER_MISMATCH, and its risk is measured with 5 ($16.25 > $15): the risk gate no longer scales by what the strategy sends', async () => {
    ib = await makeIbEngine();
    const r = await ib.h.engine.submitIntent(ib.h.intent({ instrument: { symbol: 'MES', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 2 }, stopLoss: 6007.0 }));
    expect(r).toMatchObject({ kind: 'accepted', state: 'CANCELLED' });
    if (r.kind !== 'accepted') return;
    expect(r.denials).toEqual([
      { gate: 'contract', code: 'MULTIPLIER_MISMATCH', message: "the intent says multiplier 2, the broker's contract MESZ6 has 5: risk and P&L would be off by ×0.4" },
      { gate: 'per_trade_risk', code: 'RISK_PER_TRADE', message: 'risk $16.25 > cap $15.00' },
    ]);
    expect(await intakeContract(ib.h, r.intentId)).toMatchObject({ source: 'broker', multiplier: 5 });
    expect(ib.server.placements).toEqual([]);
  });

  it('MONEY-10: the IBKR adapter takes the multiplier from the contract details and refuses an order whose multiplier differs, before anything is sent', async () => {
    ib = await makeIbEngine();
    const q = await ib.broker.qualify({ symbol: 'MES', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 50 });
    expect(q).toMatchObject({ conId: 770561201, minTick: 0.25, localSymbol: 'MESZ6', instrument: { multiplier: 5 } });
    const permit = { tokenId: 't', intentId: 'mm-1', evidenceHash: 'e', usedAt: 0 };
    await expect(
      ib.broker.placeBracket({ orderRef: 'mm-1', instrument: { ...q.instrument, multiplier: 50 }, side: 'BUY', quantity: 1, entryType: 'MKT', stopPrice: 5990, targetPrice: 6010 }, permit),
    ).rejects.toMatchObject({ name: 'BrokerRefusedError', code: 'MULTIPLIER_MISMATCH' });
    await ib.broker.sync();
    expect(ib.server.placements).toEqual([]);
  });

  it('MONEY-10: the simulated broker lists its contracts too (MES 0.25 × 5, MNQ 0.25 × 2, stocks 0.01 × 1) and refuses off-tick prices and a wrong multiplier like IBKR', async () => {
    h = await harness();
    const mes = await h.broker.qualify({ symbol: 'MES', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 1 });
    const mnq = await h.broker.qualify({ symbol: 'MNQ', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 2 });
    const aapl = await h.broker.qualify({ symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD', multiplier: 1 });
    expect([mes, mnq, aapl].map((q) => [q.localSymbol, q.minTick, q.instrument.multiplier])).toEqual([
      ['MESZ6', 0.25, 5],
      ['MNQZ6', 0.25, 2],
      ['AAPL', 0.01, 1],
    ]);
    const permit = { tokenId: 't', intentId: 'x', evidenceHash: 'e', usedAt: 0 };
    const bracket = { orderRef: 'x', instrument: mes.instrument, side: 'BUY' as const, quantity: 1, entryType: 'LMT' as const, limitPrice: 6010.25, stopPrice: 6008, targetPrice: 6015 };
    await expect(h.broker.placeBracket({ ...bracket, limitPrice: 6010.13 }, permit)).rejects.toMatchObject({ code: 'PRICE_NOT_ON_TICK' });
    await expect(h.broker.placeBracket({ ...bracket, instrument: { ...mes.instrument, multiplier: 50 } }, permit)).rejects.toMatchObject({ code: 'MULTIPLIER_MISMATCH' });
    expect(await h.broker.openOrders()).toEqual([]);
    // intake through the sim: the same denials as over IBKR
    const r = await h.engine.submitIntent(h.intent({ entryPrice: 6010.13 }));
    expect(r.kind === 'accepted' && r.denials.map((d) => d.code)).toEqual(['PRICE_OFF_TICK']);
  });
});

/**
 * The gate registry as pure functions (SPEC 4): the account/mode check at submission, and
 * the difference between "refuse" and "wait for the broker".
 */
import { describe, expect, it } from 'vitest';
import type { BrokerHealth } from '../../src/engine/broker.port.js';
import { runGates, refusals, type GateContext } from '../../src/engine/risk.gates.js';
import { IN_SESSION, makeHarness, testConstitution } from '../support/harness.js';
import { aKill } from '../support/records.js';

const now = Date.parse(IN_SESSION);
const paperAccount = { accountId: 'DU0000001', netLiquidation: 25_000, buyingPower: 100_000, currency: 'USD' };

function ctx(over: Partial<GateContext> = {}): GateContext {
  return {
    stage: 'SUBMIT',
    now,
    intent: { instrumentKey: 'MES.202612.CME', side: 'BUY', quantity: 1, multiplier: 5, entryPrice: 6010.25, stopLoss: 6008, dvs: 0.93, eqs: 0.88, stateAsOf: now, regime: null },
    constitution: testConstitution(),
    mode: 'paper',
    allowLive: false,
    activeKills: [],
    today: { realizedPnlCents: 0, consecutiveLosses: 0, trades: 0 },
    openQtyOthers: 0,
    broker: { state: 'READY', canSubmit: true, account: paperAccount },
    lastKnownAccount: paperAccount,
    ...over,
  };
}

const codes = (c: GateContext) => runGates(c).denials.map((d) => d.code);

describe('gate registry', () => {
  it('INV-IBKR-ACCOUNT-CHECK-1: every submission checks the account against the mode', () => {
    expect(codes(ctx())).toEqual([]);
    const live = { ...paperAccount, accountId: 'U1234567' };
    expect(codes(ctx({ broker: { state: 'READY', canSubmit: true, account: live } }))).toEqual(['ACCOUNT_MODE_MISMATCH']);
    expect(codes(ctx({ mode: 'live', allowLive: true, broker: { state: 'READY', canSubmit: true, account: paperAccount } }))).toEqual(['ACCOUNT_MODE_MISMATCH']);
    expect(codes(ctx({ mode: 'live', allowLive: false, broker: { state: 'READY', canSubmit: true, account: live } }))).toEqual(['ACCOUNT_MODE_MISMATCH']);
    expect(codes(ctx({ mode: 'live', allowLive: true, broker: { state: 'READY', canSubmit: true, account: live }, lastKnownAccount: live }))).toEqual([]);
    expect(codes(ctx({ mode: 'observe' }))).toEqual(['MODE_OBSERVE']);
    // the broker is ready but the account was never read: refuse, do not guess
    const blind: BrokerHealth = { state: 'READY', canSubmit: true, account: null };
    expect(codes(ctx({ broker: blind, lastKnownAccount: null })).sort()).toEqual(['ACCOUNT_MODE_MISMATCH', 'MIN_CAPITAL']);
    // not checked at intake (no broker needed to show a card)
    expect(codes(ctx({ stage: 'INTAKE', broker: { state: 'READY', canSubmit: true, account: live } }))).toEqual([]);
  });

  it('INV-IBKR-ACCOUNT-CHECK-1: a broker that is not ready makes the submission WAIT (not refuse), even with the account still unknown', () => {
    const down: BrokerHealth = { state: 'DISCONNECTED', canSubmit: false, account: null, detail: 'not connected' };
    const r = runGates(ctx({ broker: down, lastKnownAccount: null }));
    expect(r.denials.map((d) => [d.code, d.wait ?? false])).toEqual([['BROKER_NOT_READY', true]]);
    expect(refusals(r)).toEqual([]);
    // a known wrong account is still refused while down (last known account)
    const r2 = runGates(ctx({ broker: down, lastKnownAccount: { ...paperAccount, accountId: 'U1234567' } }));
    expect(refusals(r2).map((d) => d.code)).toEqual(['ACCOUNT_MODE_MISMATCH']);
  });

  it('INV-KILL-BLOCKS-ENTRY-1: an active kill flag denies at every stage', () => {
    const kill = aKill({ id: 'k1' }, now);
    for (const stage of ['INTAKE', 'APPROVAL', 'SUBMIT'] as const) expect(codes(ctx({ stage, activeKills: [kill] }))).toEqual(['KILL_ACTIVE']);
  });

  it('INV-STALE-KILL-1: stale means strictly older than the TTL (900 s), per-regime overrides apply', () => {
    expect(codes(ctx({ intent: { ...ctx().intent, stateAsOf: now - 900_000 } }))).toEqual([]);
    expect(codes(ctx({ intent: { ...ctx().intent, stateAsOf: now - 901_000 } }))).toEqual(['STATE_CONFLICT']);
    const c = testConstitution({ staleState: { regimeTtlSec: { range: 1200 } } });
    expect(codes(ctx({ constitution: c, intent: { ...ctx().intent, stateAsOf: now - 1000_000, regime: 'range' } }))).toEqual([]);
    expect(codes(ctx({ constitution: c, intent: { ...ctx().intent, stateAsOf: now - 1000_000, regime: 'trend' } }))).toEqual(['STATE_CONFLICT']);
  });
});

describe('stale state: clock skew', () => {
  it('INV-STALE-KILL-1: a stateAsOf stamped more than 60 s in the future is a STATE_CONFLICT (it would otherwise never go stale), 30 s ahead is tolerated', async () => {
    const h = await makeHarness();
    try {
      const future = await h.engine.submitIntent(h.intent({ stateAsOf: new Date(h.clock.now() + 10 * 60_000).toISOString() }));
      expect(future.kind === 'accepted' && future.state).toBe('CANCELLED');
      expect(future.kind === 'accepted' && future.denials.map((d) => d.code)).toContain('STATE_CONFLICT');
      const kills = await h.app.store.tx((tx) => tx.kills.active(h.clock.now()));
      expect(kills.map((k) => k.kind)).toEqual(['STALE']);
      await h.clock.advance(5 * 60_000 + 1000);
      const slightlyAhead = await h.engine.submitIntent(h.intent({ stateAsOf: new Date(h.clock.now() + 30_000).toISOString() }));
      expect(slightlyAhead.kind === 'accepted' && slightlyAhead.state).toBe('PROPOSED');
    } finally {
      await h.close();
    }
  });
});

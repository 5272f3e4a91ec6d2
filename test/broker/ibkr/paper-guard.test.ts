import { afterAll, describe, expect, it } from 'vitest';
import { BrokerRefusedError } from '../../../src/engine/broker.port.js';
import {
  checkAccountForMode,
  isLiveAccount,
  isPaperAccount,
  pickAccount,
  type TradingMode,
} from '../../../src/broker/ibkr/account.guard.js';
import { decoderErrorsSeen, makeRig, mesBracket, permitFor, rejectionOf, sleep, waitFor, type Rig } from './harness.js';
import { closeAfterEach } from '../../support/cleanup.js';

describe('INV-IBKR-PAPER-GUARD-1: pure guard, every combination', () => {
  const accounts = [
    ['DU1234567', 'paper'],
    ['U7654321', 'live'],
    ['', 'none'],
    ['F1234567', 'other'],
  ] as const;
  const modes: TradingMode[] = ['observe', 'paper', 'live'];
  const cases = modes.flatMap((mode) =>
    [false, true].flatMap((allowLive) => accounts.map(([acct, kind]) => ({ mode, allowLive, acct, kind }))),
  );

  it.each(cases)('mode=$mode allowLive=$allowLive account=$acct ($kind)', ({ mode, allowLive, acct, kind }) => {
    const r = checkAccountForMode(acct, mode, allowLive);
    const expectedOk = (mode === 'paper' && kind === 'paper') || (mode === 'live' && allowLive && kind === 'live');
    expect(r.ok).toBe(expectedOk);
    if (r.ok) return;
    const expectedCode =
      mode === 'observe'
        ? 'OBSERVE_NEVER_SUBMITS'
        : kind === 'none'
          ? 'NO_ACCOUNT'
          : mode === 'paper'
            ? 'PAPER_REQUIRES_DU_ACCOUNT'
            : !allowLive
              ? 'LIVE_NOT_ALLOWED'
              : 'LIVE_REQUIRES_U_ACCOUNT';
    expect(r.code).toBe(expectedCode);
  });

  it('classifies account ids', () => {
    expect(isPaperAccount('DU1234567')).toBe(true);
    expect(isPaperAccount('U1234567')).toBe(false);
    expect(isLiveAccount('U1234567')).toBe(true);
    expect(isLiveAccount('DU1234567')).toBe(false);
  });

  it('picks the configured or the single managed account', () => {
    expect(pickAccount(['DU1'], undefined)).toEqual({ ok: true, accountId: 'DU1' });
    expect(pickAccount(['DU1', 'DU2'], 'DU2')).toEqual({ ok: true, accountId: 'DU2' });
    expect(pickAccount(['DU1', 'DU2'], undefined)).toMatchObject({ ok: false, code: 'AMBIGUOUS_ACCOUNT' });
    expect(pickAccount(['DU1'], 'DU9')).toMatchObject({ ok: false, code: 'ACCOUNT_NOT_MANAGED' });
    expect(pickAccount([], undefined)).toMatchObject({ ok: false, code: 'NO_MANAGED_ACCOUNT' });
  });
});

describe('INV-IBKR-PAPER-GUARD-1: adapter', () => {
  let rig: Rig | undefined;
  const newRig = closeAfterEach(makeRig);
  afterAll(() => expect(decoderErrorsSeen()).toEqual([]));

  it('INV-IBKR-PAPER-GUARD-1: live mode with allowLive=true (set at construction) and a U… account connects and trades', async () => {
    rig = await newRig({ server: { accounts: ['U7654321'] }, broker: { mode: 'live', allowLive: true } });
    expect(rig.broker.health()).toMatchObject({ state: 'READY', canSubmit: true });
    expect(rig.broker.accountId).toBe('U7654321');
    await rig.broker.placeBracket(mesBracket('live-1'), permitFor('live-1'));
    const server = rig.server;
    await waitFor(() => server.placements.length === 3, 2000, '3 legs at the server');
    expect(rig.server.placements.filter((p) => p.orderRef === 'live-1').map((p) => p.account)).toEqual([
      'U7654321',
      'U7654321',
      'U7654321',
    ]);
  });

  it('INV-IBKR-PAPER-GUARD-1: live mode without allowLive refuses a live account at connect', async () => {
    rig = await newRig({ server: { accounts: ['U7654321'] }, broker: { mode: 'live', allowLive: false }, connect: false });
    const err = await rejectionOf(rig.broker.connect());
    expect(err.message).toMatch(/ACCOUNT_MODE_MISMATCH LIVE_NOT_ALLOWED/);
    expect(rig.broker.health()).toMatchObject({ state: 'DOWN', canSubmit: false });
    const down = rig.connectionEvents().at(-1);
    expect(down).toMatchObject({ state: 'DOWN' });
    expect(down?.detail).toMatch(/^ACCOUNT_MODE_MISMATCH/);
    await sleep(50);
    expect(rig.server.sessionCount).toBe(0); // we hung up
    const refused = await rejectionOf(rig.broker.placeBracket(mesBracket('x'), permitFor('x')));
    expect(refused).toBeInstanceOf(BrokerRefusedError);
    expect(rig.server.placements).toHaveLength(0);
  });

  it('INV-IBKR-PAPER-GUARD-1: live mode refuses a paper (DU…) account even with allowLive', async () => {
    rig = await newRig({ broker: { mode: 'live', allowLive: true }, connect: false });
    const err = await rejectionOf(rig.broker.connect());
    expect(err.message).toMatch(/LIVE_REQUIRES_U_ACCOUNT/);
    expect(rig.broker.health().canSubmit).toBe(false);
  });

  it('INV-IBKR-PAPER-GUARD-1: observe mode connects read-only and never submits', async () => {
    rig = await newRig({ server: { accounts: ['U7654321'] }, broker: { mode: 'observe' } });
    expect(rig.broker.health()).toMatchObject({ state: 'READY', canSubmit: false });
    expect((await rig.broker.accountSummary()).accountId).toBe('U7654321');
    const err = await rejectionOf(rig.broker.placeBracket(mesBracket('obs'), permitFor('obs')));
    expect(err).toBeInstanceOf(BrokerRefusedError);
    expect((err as BrokerRefusedError).code).toBe('ACCOUNT_MODE_MISMATCH');
    expect(rig.server.placements).toHaveLength(0);
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { BrokerRefusedError } from '../../../src/engine/broker.port.js';
import { decoderErrorsSeen, makeRig, mesBracket, permitFor, rejectionOf, sleep, waitFor, type Rig } from './harness.js';
import { closeAfterEach } from '../../support/cleanup.js';

describe('INV-IBKR-ACCOUNT-CHECK-1', () => {
  let rig: Rig | undefined;
  const newRig = closeAfterEach(makeRig);
  afterAll(() => expect(decoderErrorsSeen()).toEqual([]));

  it('INV-IBKR-ACCOUNT-CHECK-1: a U… account is refused in PAPER at connect (DOWN, canSubmit false, session closed)', async () => {
    rig = await newRig({ server: { accounts: ['U7654321'] }, connect: false });
    const err = await rejectionOf(rig.broker.connect());
    expect(err).toBeInstanceOf(BrokerRefusedError);
    expect((err as BrokerRefusedError).code).toBe('ACCOUNT_MODE_MISMATCH');
    expect(err.message).toMatch(/ACCOUNT_MODE_MISMATCH PAPER_REQUIRES_DU_ACCOUNT/);
    expect(rig.broker.health()).toMatchObject({ state: 'DOWN', canSubmit: false });
    const events = rig.connectionEvents();
    expect(events.at(-1)).toMatchObject({ kind: 'connection', state: 'DOWN' });
    expect(events.at(-1)?.detail).toMatch(/^ACCOUNT_MODE_MISMATCH/);
    await sleep(50);
    expect(rig.server.sessionCount).toBe(0);
    // refused sessions are not retried: still exactly one TCP connection
    await sleep(300);
    expect(rig.server.connectionAttempts).toBe(1);
  });

  it('INV-IBKR-ACCOUNT-CHECK-1: the account is re-checked on every submit; a switch to U… is refused and nothing reaches the server', async () => {
    rig = await newRig();
    expect(rig.broker.accountId).toBe('DU1234567');
    await rig.broker.placeBracket(mesBracket('ok-1'), permitFor('ok-1'));
    const server = rig.server;
    await waitFor(() => server.placements.length === 3, 2000, 'first bracket at the server');
    const acctQueriesBefore = server.receivedOf('REQ_MANAGED_ACCTS').length;

    server.setAccounts(['U7654321']); // the gateway now logs in a live account (no unsolicited push)
    const err = await rejectionOf(rig.broker.placeBracket(mesBracket('after-switch'), permitFor('after-switch')));
    expect(err).toBeInstanceOf(BrokerRefusedError);
    expect((err as BrokerRefusedError).code).toBe('ACCOUNT_MODE_MISMATCH');
    expect(err.message).toMatch(/PAPER_REQUIRES_DU_ACCOUNT|ACCOUNT_CHANGED/);
    await sleep(100);
    expect(server.receivedOf('REQ_MANAGED_ACCTS').length).toBe(acctQueriesBefore + 1); // re-queried for this submit
    expect(server.placements.filter((p) => p.orderRef === 'after-switch')).toHaveLength(0);
    expect(server.receivedOf('PLACE_ORDER')).toHaveLength(3);
    expect(rig.broker.health().canSubmit).toBe(false);

    // back to the paper account: the next submit passes again
    server.setAccounts(['DU1234567']);
    await rig.broker.placeBracket(mesBracket('ok-2'), permitFor('ok-2'));
    expect(rig.broker.health().canSubmit).toBe(true);
  });

  it('INV-IBKR-ACCOUNT-CHECK-1: a configured IB_ACCOUNT that is no longer managed is refused at submit', async () => {
    rig = await newRig({ server: { accounts: ['DU1234567', 'DU7654321'] }, broker: { account: 'DU7654321' } });
    expect(rig.broker.accountId).toBe('DU7654321');
    rig.server.setAccounts(['DU1234567'], { notify: true }); // unsolicited MANAGED_ACCTS push
    const err = await rejectionOf(rig.broker.placeBracket(mesBracket('gone'), permitFor('gone')));
    expect((err as BrokerRefusedError).code).toBe('ACCOUNT_MODE_MISMATCH');
    expect(err.message).toMatch(/ACCOUNT_NOT_MANAGED/);
    expect(rig.server.placements).toHaveLength(0);
  });

  it('INV-IBKR-ACCOUNT-CHECK-1: several managed accounts without IB_ACCOUNT is refused at connect (ambiguous)', async () => {
    rig = await newRig({ server: { accounts: ['DU1234567', 'DU7654321'] }, connect: false });
    const err = await rejectionOf(rig.broker.connect());
    expect(err.message).toMatch(/AMBIGUOUS_ACCOUNT/);
    expect(rig.broker.health().state).toBe('DOWN');
  });
});

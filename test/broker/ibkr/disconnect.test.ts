import { afterAll, describe, expect, it } from 'vitest';
import { BrokerRefusedError, BrokerUnavailableError } from '../../../src/engine/broker.port.js';
import { decoderErrorsSeen, makeRig, mesBracket, permitFor, rejectionOf, sleep, waitFor, type Rig } from './harness.js';
import { closeAfterEach } from '../../support/cleanup.js';

describe('CV IBKR disconnect', () => {
  let rig: Rig | undefined;
  const newRig = closeAfterEach(makeRig);
  afterAll(() => expect(decoderErrorsSeen()).toEqual([]));

  it('CV IBKR disconnect: 1100 → PAUSED and submits are refused as unavailable (not rejected); 1102 → READY with code 1102', async () => {
    rig = await newRig();
    const server = rig.server;
    server.sendInfo(1100, 'Connectivity between IB and Trader Workstation has been lost.');
    const paused = await rig.waitForEvent((e) => e.state === 'PAUSED', 'connection');
    expect(paused.code).toBe(1100);
    expect(rig.broker.health()).toMatchObject({ state: 'PAUSED', canSubmit: false });

    const err = await rejectionOf(rig.broker.placeBracket(mesBracket('during-1100'), permitFor('during-1100')));
    expect(err).toBeInstanceOf(BrokerUnavailableError);
    expect(err).not.toBeInstanceOf(BrokerRefusedError);
    expect(rig.events.filter((e) => e.kind === 'orderStatus' && e.status === 'REJECTED')).toHaveLength(0);
    expect(server.receivedOf('PLACE_ORDER')).toHaveLength(0);

    server.sendInfo(1102, 'Connectivity between IB and Trader Workstation has been restored - data maintained.');
    const ready = await rig.waitForEvent((e) => e.state === 'READY' && e.code === 1102, 'connection');
    expect(ready.detail).toMatch(/1102/);
    expect(rig.broker.health()).toMatchObject({ state: 'READY', canSubmit: true });
    await rig.broker.placeBracket(mesBracket('after-1102'), permitFor('after-1102'));
    await waitFor(() => server.receivedOf('PLACE_ORDER').length === 3, 2000, 'placement after 1102');
  });

  it('CV IBKR disconnect: 2110 pauses too; 1101 (data lost) resumes with code 1101 and re-subscribes the account summary', async () => {
    rig = await newRig();
    const server = rig.server;
    const subsBefore = server.receivedOf('REQ_ACCOUNT_SUMMARY').length;
    server.sendInfo(2110, 'Connectivity between Trader Workstation and server is broken. It will be restored automatically.');
    await rig.waitForEvent((e) => e.state === 'PAUSED' && e.code === 2110, 'connection');
    server.sendInfo(1101, 'Connectivity between IB and TWS has been restored- data lost.');
    await rig.waitForEvent((e) => e.state === 'READY' && e.code === 1101, 'connection');
    await waitFor(() => server.receivedOf('REQ_ACCOUNT_SUMMARY').length === subsBefore + 1, 2000, 'account summary re-subscribed');
  });

  it('CV IBKR disconnect: farm notices are ignored (no connection event, state stays READY)', async () => {
    rig = await newRig();
    const before = rig.connectionEvents().length;
    rig.server.sendInfo(2104, 'Market data farm connection is OK:usfarm');
    rig.server.sendInfo(2158, 'Sec-def data farm connection is OK:secdefnj');
    await sleep(100);
    expect(rig.connectionEvents()).toHaveLength(before);
    expect(rig.events.filter((e) => e.kind === 'error')).toHaveLength(0);
    expect(rig.broker.health().state).toBe('READY');
  });

  it('CV IBKR disconnect: a socket drop gives DISCONNECTED then a successful reconnect with the attempt number', async () => {
    rig = await newRig();
    rig.server.dropConnections();
    const ready = await rig.waitForEvent((e) => e.state === 'READY' && e.attempt === 1, 'connection');
    expect(ready.detail).toMatch(/reconnected on attempt 1/);
    expect(rig.connectionEvents().some((e) => e.state === 'DISCONNECTED' && e.attempt === 0)).toBe(true);
    expect(rig.broker.health().canSubmit).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { AAPL, MES, aaplBracket, makeRig, mesBracket, permitFor, sleep, type Rig } from './harness.js';
import { closeAfterEach } from '../../support/cleanup.js';

describe('Decoder health', () => {
  let rig: Rig | undefined;
  const newRig = closeAfterEach(makeRig);

  it('Decoder health: every message the test server sends decodes cleanly at server version 193 (no error 505)', async () => {
    rig = await newRig();
    const { broker, server } = rig;
    expect(broker.serverVersion).toBe(193);
    // contract details (stock, future, unknown → 200), account summary, positions
    await broker.qualify(AAPL);
    await broker.qualify(MES);
    await broker.qualify({ ...MES, contractMonth: '202703' });
    await broker.qualify({ ...AAPL, symbol: 'NOPE' }).catch(() => undefined);
    await broker.accountSummary();
    // orders: fills, OCA cancel, partial, reject, cancel, 10148, completed orders, executions replay
    await broker.placeBracket(mesBracket('dh-1'), permitFor('dh-1'));
    await rig.waitForEvent((e) => e.orderRef === 'dh-1' && e.role === 'ENTRY' && e.status === 'FILLED', 'orderStatus');
    server.movePrice('MES', 6012);
    await rig.waitForEvent((e) => e.orderRef === 'dh-1' && e.role === 'STOP' && e.status === 'CANCELLED', 'orderStatus');
    server.setBehavior({ orderRef: 'dh-2' }, { kind: 'partial', ratio: 0.5 });
    await broker.placeBracket(aaplBracket('dh-2'), permitFor('dh-2'));
    server.setBehavior({ orderRef: 'dh-3' }, { kind: 'reject' });
    await broker.placeBracket(aaplBracket('dh-3'), permitFor('dh-3'));
    server.setBehavior({ orderRef: 'dh-4' }, { kind: 'rest' });
    const rest = await broker.placeBracket(aaplBracket('dh-4'), permitFor('dh-4'));
    await broker.cancel(rest[0]?.brokerOrderId ?? '');
    await broker.cancel(rest[0]?.brokerOrderId ?? '');
    await broker.placeOrder({ orderRef: 'dh-5', role: 'EXIT', instrument: MES, side: 'SELL', quantity: 1, type: 'STP', stopPrice: 5900 });
    await sleep(200);
    await broker.openOrders();
    await broker.executions();
    await broker.positions();
    await broker.findByOrderRef('dh-1');
    server.sendInfo(1100, 'Connectivity between IB and Trader Workstation has been lost.');
    server.sendInfo(1102, 'Connectivity between IB and Trader Workstation has been restored - data maintained.');
    server.setAccountValue('BuyingPower', '99000');
    await sleep(200);

    const decodeErrors = rig.events.filter((e) => e.kind === 'error' && e.code >= 505 && e.code <= 508);
    expect(decodeErrors).toEqual([]);
    expect(server.protocolErrors).toEqual([]);
    // the workout really covered the message types
    const names = new Set(server.received.map((m) => m.name));
    for (const n of [
      'START_API',
      'REQ_CONTRACT_DATA',
      'PLACE_ORDER',
      'CANCEL_ORDER',
      'REQ_ALL_OPEN_ORDERS',
      'REQ_COMPLETED_ORDERS',
      'REQ_EXECUTIONS',
      'REQ_POSITIONS',
      'REQ_ACCOUNT_SUMMARY',
      'REQ_MANAGED_ACCTS',
    ]) {
      expect(names.has(n), n).toBe(true);
    }
  });

  it('Decoder health: the 505 detector itself works (a truncated message is reported, not swallowed)', async () => {
    rig = await newRig();
    rig.server.sendRaw([5, 42, 265598, 'AAPL']); // OPEN_ORDER cut short
    const e = await rig.waitForEvent((x) => x.code === 505, 'error');
    expect(e.message).toMatch(/Underrun error on OPEN_ORDER/);
    expect(rig.broker.health().state).toBe('READY');
  });

  it('Decoder health: an exception inside the client decoder (bad advancedOrderReject JSON) is contained, not a process crash', async () => {
    rig = await newRig();
    rig.server.sendRaw([4, 2, 999, 201, 'Order rejected - reason:test', '{not json']);
    rig.server.sendInfo(1100, 'Connectivity between IB and Trader Workstation has been lost.'); // same TCP chunk, right behind it
    const e = await rig.waitForEvent((x) => x.code === 505 && /contained/.test(x.message), 'error');
    expect(e.message).toMatch(/JSON/);
    await rig.waitForEvent((x) => x.state === 'PAUSED' && x.code === 1100, 'connection');
    rig.server.sendInfo(1102, 'Connectivity between IB and Trader Workstation has been restored - data maintained.');
    await rig.waitForEvent((x) => x.state === 'READY' && x.code === 1102, 'connection');
    // the session keeps working afterwards
    await rig.broker.placeBracket(aaplBracket('after-bad-json'), permitFor('after-bad-json'));
    await rig.waitForEvent((x) => x.fill.orderRef === 'after-bad-json', 'fill');
    expect(rig.broker.health().state).toBe('READY');
  });
});

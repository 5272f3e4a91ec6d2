import { describe, expect, it } from 'vitest';
import {
  IB_ORDER_STATUS,
  contractToInstrument,
  exitSide,
  inferRole,
  instrumentKey,
  instrumentToContract,
  isOnTick,
  mapOrderStatus,
  mapOrderType,
  mapSide,
  parseIbTime,
  snapToTick,
  TIF_FOR_ROLE,
  ORDER_TYPE_TO_IB,
  SIDE_TO_ACTION,
} from '../../../src/broker/ibkr/ib.parse.js';
import {
  CONNECTIVITY_LOST,
  CONNECTIVITY_RESTORED,
  FARM_OK,
  ORDER_REJECTION,
  classifyIbCode,
  parseCancelFailedState,
} from '../../../src/broker/ibkr/ib.errors.js';
import { backoffDelay, DEFAULT_RECONNECT } from '../../../src/broker/ibkr/connection.js';
import { AAPL, MES } from './harness.js';

describe('ib.parse: order status table', () => {
  it.each([
    ['PendingSubmit', 'PENDING'],
    ['ApiPending', 'PENDING'],
    ['PreSubmitted', 'WORKING'],
    ['Submitted', 'WORKING'],
    ['PendingCancel', 'WORKING'],
    ['Filled', 'FILLED'],
    ['ApiCancelled', 'CANCELLED'],
    ['Cancelled', 'CANCELLED'],
    ['Inactive', 'REJECTED'],
  ])('%s → %s', (ib, domain) => {
    expect(mapOrderStatus(ib)).toBe(domain);
  });

  it('unknown statuses map to undefined (never guessed)', () => {
    expect(mapOrderStatus('Unknown')).toBeUndefined();
    expect(mapOrderStatus(undefined)).toBeUndefined();
    expect(Object.isFrozen(IB_ORDER_STATUS)).toBe(true);
  });
});

describe('ib.parse: sides, types, tif, roles', () => {
  it('maps sides both ways, including execution sides BOT/SLD', () => {
    expect(SIDE_TO_ACTION.BUY).toBe('BUY');
    expect(SIDE_TO_ACTION.SELL).toBe('SELL');
    expect(mapSide('BOT')).toBe('BUY');
    expect(mapSide('SLD')).toBe('SELL');
    expect(mapSide('sell')).toBe('SELL');
    expect(mapSide('XYZ')).toBeUndefined();
    expect(exitSide('BUY')).toBe('SELL');
    expect(exitSide('SELL')).toBe('BUY');
  });

  it('maps order types and falls back to MKT for unknown ones', () => {
    expect(ORDER_TYPE_TO_IB).toEqual({ MKT: 'MKT', LMT: 'LMT', STP: 'STP' });
    expect(mapOrderType('STP LMT')).toBe('STP');
    expect(mapOrderType('LMT')).toBe('LMT');
    expect(mapOrderType('WEIRD')).toBe('MKT');
  });

  it('entries are DAY, protective children GTC', () => {
    expect(TIF_FOR_ROLE).toEqual({ ENTRY: 'DAY', EXIT: 'DAY', STOP: 'GTC', TARGET: 'GTC' });
  });

  it('infers roles of orders seen only through IB', () => {
    expect(inferRole(5, 'STP', false)).toBe('STOP');
    expect(inferRole(5, 'LMT', false)).toBe('TARGET');
    expect(inferRole(0, 'MKT', true)).toBe('ENTRY');
    expect(inferRole(0, 'MKT', false)).toBe('EXIT');
  });
});

describe('ib.parse: instruments and contracts', () => {
  it('builds contracts for stocks and futures and keys the qualification cache', () => {
    expect(instrumentToContract(AAPL)).toEqual({ symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' });
    expect(instrumentToContract(MES)).toEqual({
      symbol: 'MES',
      secType: 'FUT',
      exchange: 'CME',
      currency: 'USD',
      lastTradeDateOrContractMonth: '202612',
    }); // no multiplier: the contract details say what it is (MONEY-10)
    expect(instrumentKey(MES)).toBe('FUT:MES:202612:USD'); // THE identity: exchange is routing, left out
    expect(instrumentKey(AAPL)).toBe('STK:AAPL:USD');
  });

  it('maps IB contracts back to instruments', () => {
    expect(
      contractToInstrument({ symbol: 'MES', secType: 'FUT' as never, exchange: 'CME', currency: 'USD', lastTradeDateOrContractMonth: '20261218', multiplier: 5 }),
    ).toEqual(MES);
    expect(contractToInstrument({ symbol: 'AAPL', secType: 'STK' as never, exchange: '', primaryExch: 'NASDAQ', currency: 'USD' })).toEqual({
      ...AAPL,
      exchange: 'NASDAQ',
    });
    expect(contractToInstrument({ symbol: 'X', secType: 'OPT' as never })).toBeUndefined();
  });

  it('checks and snaps ticks', () => {
    expect(isOnTick(6000.25, 0.25)).toBe(true);
    expect(isOnTick(6000.1, 0.25)).toBe(false);
    expect(isOnTick(190.37, 0.01)).toBe(true);
    expect(snapToTick(0.1 + 0.2, 0.01)).toBe(0.3);
    expect(snapToTick(6000.2500000001, 0.25)).toBe(6000.25);
  });

  it('parses IB execution times (UTC, IANA zones, dash form)', () => {
    expect(parseIbTime('20261123 15:00:01 UTC')).toBe(Date.UTC(2026, 10, 23, 15, 0, 1));
    expect(parseIbTime('20261123-15:00:01')).toBe(Date.UTC(2026, 10, 23, 15, 0, 1));
    expect(parseIbTime('20261123  10:00:01 US/Eastern')).toBe(Date.UTC(2026, 10, 23, 15, 0, 1));
    expect(parseIbTime('20260623 10:00:01 America/New_York')).toBe(Date.UTC(2026, 5, 23, 14, 0, 1));
    expect(parseIbTime('garbage')).toBeUndefined();
  });
});

describe('ib.errors: classifier', () => {
  it.each([
    [1100, 'CONNECTIVITY_LOST'],
    [2110, 'CONNECTIVITY_LOST'],
    [1101, 'CONNECTIVITY_RESTORED'],
    [1102, 'CONNECTIVITY_RESTORED'],
    [2104, 'FARM_OK'],
    [2106, 'FARM_OK'],
    [2158, 'FARM_OK'],
    [2103, 'FARM_BROKEN'],
    [201, 'ORDER_REJECTION'],
    [203, 'ORDER_REJECTION'],
    [103, 'ORDER_REJECTION'],
    [110, 'ORDER_REJECTION'],
    [202, 'ORDER_CANCELLED'],
    [10148, 'CANCEL_FAILED'],
    [10147, 'CANCEL_FAILED'],
    [100, 'PACING'],
    [502, 'CLIENT_CONNECTIVITY'],
    [504, 'CLIENT_CONNECTIVITY'],
    [326, 'CLIENT_ID_IN_USE'],
    [505, 'DECODE_ERROR'],
    [2100, 'WARNING'],
    [2999, 'WARNING'],
    [399, 'WARNING'],
    [12345, 'OTHER'],
  ])('%i → %s', (code, cls) => {
    expect(classifyIbCode(code)).toBe(cls);
  });

  it('messages containing "Warning:" are warnings whatever the code', () => {
    expect(classifyIbCode(12345, 'Order Message: Warning: outside RTH')).toBe('WARNING');
  });

  it('named sets do not overlap where it matters', () => {
    for (const c of [...CONNECTIVITY_LOST, ...CONNECTIVITY_RESTORED, ...FARM_OK]) expect(ORDER_REJECTION.has(c)).toBe(false);
    expect(ORDER_REJECTION.has(202)).toBe(false);
  });

  it('reads the state out of a 10148', () => {
    expect(parseCancelFailedState('OrderId 7 that needs to be cancelled cannot be cancelled, state: Filled.')).toBe('Filled');
    expect(parseCancelFailedState('nothing')).toBeUndefined();
  });
});

describe('connection: backoff', () => {
  it('doubles from the base and caps at the max', () => {
    expect(DEFAULT_RECONNECT).toEqual({ maxAttempts: 3, baseDelayMs: 2000, maxDelayMs: 30000 });
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(DEFAULT_RECONNECT, n))).toEqual([2000, 4000, 8000, 16000, 30000, 30000]);
  });
});

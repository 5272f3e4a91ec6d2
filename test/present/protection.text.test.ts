/** src/present/protection.text.ts: one wording per re-protect outcome code. */
import { describe, expect, it } from 'vitest';
import { reprotectText } from '../../src/present/protection.text.js';

const intentId = 'int_1';

describe('reprotectText', () => {
  it('STOP_SENT: quantity, symbol and stop price', () => {
    expect(reprotectText({ ok: true, code: 'STOP_SENT', intentId, quantity: 1, symbol: 'MES', stopPrice: 6008 })).toBe('Stop for 1 MES at 6008 sent to the broker; the card shows when it works.');
    expect(reprotectText({ ok: true, code: 'STOP_SENT', intentId, quantity: 2, symbol: 'MES', stopPrice: 6008.25 })).toBe('Stop for 2 MES at 6008.25 sent to the broker; the card shows when it works.');
  });

  it('STOP_NOT_PLACED carries the broker error', () => {
    expect(reprotectText({ ok: false, code: 'STOP_NOT_PLACED', intentId, detail: 'not connected' })).toBe('The stop was NOT placed (not connected). The position is still unprotected: flatten it or place a stop at the broker.');
  });

  it('NOT_HOLDING: the state, or unknown', () => {
    expect(reprotectText({ ok: false, code: 'NOT_HOLDING', intentId, state: 'CLOSED' })).toBe('Nothing to protect: int_1 is CLOSED.');
    expect(reprotectText({ ok: false, code: 'NOT_HOLDING', intentId, state: null })).toBe('Nothing to protect: int_1 is unknown.');
  });

  it('the other refusals', () => {
    expect(reprotectText({ ok: false, code: 'OTHER_SIDE', intentId, open: -1 })).toBe('The account is on the other side of this entry: a stop would add to it. Flatten instead.');
    expect(reprotectText({ ok: false, code: 'NOTHING_OPEN', intentId })).toBe('Nothing is open for this intent.');
    expect(reprotectText({ ok: false, code: 'STOP_WORKING', intentId })).toBe('Its stop is already working at the broker.');
    expect(reprotectText({ ok: false, code: 'FLATTENING', intentId })).toBe('A flatten is already closing this position.');
    expect(reprotectText({ ok: false, code: 'STOP_ON_ITS_WAY', intentId })).toBe('A stop is already on its way to the broker.');
    expect(reprotectText({ ok: false, code: 'NOT_ALLOWED', needs: ['approver'] })).toBe('Not allowed: approver role needed.');
  });
});

/**
 * The CME quarterly roll rule behind `MES1!` (src/tradingview/front-month.ts): third Friday of
 * Mar/Jun/Sep/Dec, roll `daysBeforeExpiry` calendar days earlier, on the New York date.
 */
import { describe, expect, it } from 'vitest';
import { frontContract, thirdFriday, yyyymm, type RollRule } from '../../src/tradingview/front-month.js';

const NY = 'America/New_York';
const RULE: RollRule = { rule: 'cme-quarterly', daysBeforeExpiry: 8 };
const front = (iso: string, nth = 1, rule = RULE) => yyyymm(frontContract(Date.parse(iso), NY, rule, nth));

describe('front month (cme-quarterly)', () => {
  it('SPEC-3 TradingView: third Fridays of the 2026-2027 quarterly months', () => {
    expect([3, 6, 9, 12].map((m) => thirdFriday(2026, m))).toEqual([20, 19, 18, 18]);
    expect([3, 6, 9, 12].map((m) => thirdFriday(2027, m))).toEqual([19, 18, 17, 17]);
    // a month that starts on a Friday: its third Friday is the 15th (May 2026 starts on a Friday)
    expect(thirdFriday(2026, 5)).toBe(15);
  });

  it('SPEC-3 TradingView: MES1! rolls on the New York date 8 days before expiry — 2026-12-09 is 202612, 2026-12-10 is 202703 (edge to the minute in ET)', () => {
    expect(front('2026-11-24T15:00:00Z')).toBe('202612');
    expect(front('2026-12-10T04:59:00Z')).toBe('202612'); // 23:59 ET on Dec 9
    expect(front('2026-12-10T05:00:00Z')).toBe('202703'); // 00:00 ET on Dec 10 (roll day)
    expect(front('2026-12-18T20:00:00Z')).toBe('202703'); // expiry day
    expect(front('2026-12-31T23:00:00Z')).toBe('202703'); // year end
    expect(front('2027-03-10T15:00:00Z')).toBe('202703'); // Mar 2027 expires on the 19th: roll on the 11th
    expect(front('2027-03-11T15:00:00Z')).toBe('202706');
    expect(front('2026-01-15T15:00:00Z')).toBe('202603'); // a non-quarter month: the next quarter
  });

  it('SPEC-3 TradingView: MES2! is the quarter after the front month; daysBeforeExpiry 0 rolls on expiry day', () => {
    expect(front('2026-11-24T15:00:00Z', 2)).toBe('202703');
    expect(front('2026-12-10T15:00:00Z', 2)).toBe('202706');
    expect(front('2026-11-24T15:00:00Z', 4)).toBe('202709');
    const atExpiry: RollRule = { rule: 'cme-quarterly', daysBeforeExpiry: 0 };
    expect(front('2026-12-17T15:00:00Z', 1, atExpiry)).toBe('202612');
    expect(front('2026-12-18T15:00:00Z', 1, atExpiry)).toBe('202703');
  });
});

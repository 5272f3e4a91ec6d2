/** tradeDecisionText: every outcome of a tap on a trade card, in the words users saw before outcomes were data. */
import { describe, expect, it } from 'vitest';
import type { DecisionOutcome } from '../../src/engine/index.js';
import { tradeDecisionText } from '../../src/present/decision.text.js';

const TZ = 'America/New_York';
const at1042 = Date.parse('2026-12-07T15:42:00Z'); // 10:42 EST in New York
const text = (o: DecisionOutcome) => tradeDecisionText(o, TZ);

describe('tradeDecisionText: a tap on a trade card', () => {
  it.each([
    ['UNKNOWN_CARD', 'Unknown or invalid card.'],
    ['NOT_ALLOWED', 'Only approvers can decide trade cards.'],
    ['UNKNOWN_INTENT', 'Unknown intent.'],
    ['UNKNOWN_DECISION', 'Unknown decision.'],
  ] as const)('refused %s', (why, words) => {
    expect(text({ kind: 'refused', why })).toBe(words);
  });

  it('noop: already decided, by whom, when (New York time), and the state now', () => {
    expect(text({ kind: 'noop', cardStatus: 'DECIDED', intentState: 'APPROVED', decidedBy: 'alice', decidedAt: at1042 })).toBe('Already decided by alice at 10:42 EST (now APPROVED); nothing was done.');
    expect(text({ kind: 'noop', cardStatus: 'CLOSED', intentState: 'CANCELLED', decidedBy: null, decidedAt: null })).toBe('Already decided (now CANCELLED); nothing was done.');
  });

  it('noop on an expired card, and expired now: the same words', () => {
    expect(text({ kind: 'noop', cardStatus: 'EXPIRED', intentState: 'EXPIRED', decidedBy: null, decidedAt: null })).toBe('This card expired; nothing was done.');
    expect(text({ kind: 'expired' })).toBe('This card expired; nothing was done.');
  });

  it('blocked: every gate message, then that nothing was sent', () => {
    expect(text({ kind: 'blocked', denials: [{ gate: 'kill', code: 'KILL_FLAG_ACTIVE', message: 'kill flag active' }, { gate: 'risk', code: 'RISK_CAP', message: 'risk 500 over cap 400' }] })).toBe('Blocked by a gate: kill flag active; risk 500 over cap 400. Nothing was sent.');
  });

  it('passed and approved (each broker outcome)', () => {
    expect(text({ kind: 'passed', intentId: 'i1' })).toBe('Passed. Nothing will be sent.');
    const approved = (submit: Extract<DecisionOutcome, { kind: 'approved' }>['submit']) => text({ kind: 'approved', intentId: 'i1', tokenId: 't1', submit });
    expect(approved({ kind: 'submitted', intentId: 'i1' })).toBe('Approved ✅ Order sent to the broker.');
    expect(approved({ kind: 'waiting', reason: 'broker disconnected' })).toBe('Approved. Waiting for the broker: broker disconnected');
    expect(approved({ kind: 'unknown', reason: 'timeout' })).toBe('Approved. Broker outcome unconfirmed, reconciling: timeout');
    expect(approved({ kind: 'refused', reason: 'token expired' })).toBe('Approved, but not sent: token expired');
  });
});

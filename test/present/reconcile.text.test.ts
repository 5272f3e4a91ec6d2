/** src/present/reconcile.text.ts: the words of /drift "check now" for each kind of answer. */
import { describe, expect, it } from 'vitest';
import type { BrokerPosition, ConnectionState, DriftRecord, ReconcileResult } from '../../src/engine/index.js';
import { reconcileText } from '../../src/present/reconcile.text.js';
import { MES_DEC26, T0 } from '../support/records.js';

type Discrepancy = ReconcileResult['discrepancies'][number];
const mismatch: Discrepancy = { type: 'POSITION_COUNT', severity: 'CRITICAL', subject: 'MES', instrumentKey: null, intentId: null, summary: 'Phoenix 1, broker 2', local: null, broker: null, fingerprint: 'fp1' };
const drift = { id: 'drf_1' } as DriftRecord;
const ran = (over: Partial<Extract<ReconcileResult, { ran: true }>> = {}): ReconcileResult => ({ ran: true, nextAllowedAt: T0 + 5_000, at: T0, reason: 'test', scope: 'full', discrepancies: [], newDrifts: [], unresolved: 0, otherAccounts: [], ...over });

describe('reconcileText', () => {
  it('a run: mismatches (new ones, unresolved drifts), singular and plural', () => {
    expect(reconcileText(ran({ discrepancies: [mismatch], newDrifts: [drift], unresolved: 1 }))).toBe('1 mismatch with the broker (1 new); 1 unresolved drift.');
    expect(reconcileText(ran({ discrepancies: [mismatch, mismatch], unresolved: 3 }))).toBe('2 mismatches with the broker (0 new); 3 unresolved drifts.');
  });

  it('a run: everything matches, earlier drifts still unresolved are said', () => {
    expect(reconcileText(ran())).toBe('Positions and orders match the broker.');
    expect(reconcileText(ran({ unresolved: 1 }))).toBe('Positions and orders match the broker; 1 earlier drift still unresolved.');
    expect(reconcileText(ran({ unresolved: 2 }))).toBe('Positions and orders match the broker; 2 earlier drifts still unresolved.');
  });

  it('a run: positions in other accounts are context, listed', () => {
    const other: BrokerPosition = { account: 'DU7777777', instrument: MES_DEC26, quantity: -1, avgCost: 0 };
    expect(reconcileText(ran({ otherAccounts: [other] }))).toBe("Positions and orders match the broker. Other accounts at this broker (not Phoenix's, not compared): DU7777777 MES -1.");
  });

  it('RATE_LIMITED: how long ago the last check started, and what it found', () => {
    const last = ran({ discrepancies: [mismatch], newDrifts: [drift], unresolved: 1 });
    const limited: ReconcileResult = { ...last, ran: false, skipped: 'RATE_LIMITED', askedAt: T0 + 3_400, lastStartedAt: T0, lastRun: last, newDrifts: [] };
    expect(reconcileText(limited)).toBe('Checked 3 s ago (at most 12 checks a minute); 1 mismatch with the broker (1 new); 1 unresolved drift.');
    expect(reconcileText({ ...limited, lastRun: null })).toBe('Checked 3 s ago (at most 12 checks a minute);');
  });

  it('BROKER_DOWN: its state, or the error a read failed with', () => {
    const down = (brokerState: ConnectionState, detail: string | null): ReconcileResult => ({ ...ran(), ran: false, skipped: 'BROKER_DOWN', brokerState, detail });
    expect(reconcileText(down('DISCONNECTED', null))).toBe('Broker disconnected: cannot reconcile now.');
    expect(reconcileText(down('READY', 'socket closed'))).toBe('Broker unavailable: socket closed');
  });
});

/** src/present/drift.text.ts: one wording per drift resolution outcome code. */
import { describe, expect, it } from 'vitest';
import { DRIFT_RESOLUTIONS, type DriftRecord } from '../../src/engine/index.js';
import { driftText } from '../../src/present/drift.text.js';
import { T0 } from '../support/records.js';

const drift: DriftRecord = {
  id: 'drf_1',
  type: 'POSITION_COUNT',
  severity: 'CRITICAL',
  instrumentKey: null,
  local: null,
  broker: null,
  fingerprint: 'POSITION_COUNT|MES',
  detectedAt: T0,
  escalatedAt: null,
  resolvedAt: T0 + 60_000,
  resolution: 'ACKNOWLEDGED',
  resolvedBy: '@alice',
  note: 'known',
};

describe('driftText', () => {
  it('RESOLVED: the drift, its resolution and who', () => {
    expect(driftText({ ok: true, code: 'RESOLVED', drift })).toBe('Drift POSITION_COUNT marked ACKNOWLEDGED by @alice.');
  });

  it('ALREADY_RESOLVED: how and by whom (someone when not recorded)', () => {
    expect(driftText({ ok: false, code: 'ALREADY_RESOLVED', drift: { ...drift, resolution: 'BROKER_CORRECTED' } })).toBe('Already resolved (BROKER_CORRECTED) by @alice; nothing changed.');
    expect(driftText({ ok: false, code: 'ALREADY_RESOLVED', drift: { ...drift, resolvedBy: null } })).toBe('Already resolved (ACKNOWLEDGED) by someone; nothing changed.');
  });

  it('NOT_ALLOWED keeps the drift wording', () => {
    expect(driftText({ ok: false, code: 'NOT_ALLOWED', needs: ['approver', 'admin'] })).toBe('Not allowed: only approvers and admins resolve drift.');
  });

  it('UNKNOWN_RESOLUTION lists the ones there are; UNKNOWN_DRIFT; RESOLVED_CONCURRENTLY', () => {
    expect(driftText({ ok: false, code: 'UNKNOWN_RESOLUTION', allowed: DRIFT_RESOLUTIONS })).toBe('Unknown resolution; use one of ACKNOWLEDGED, PHOENIX_CORRECTED, BROKER_CORRECTED.');
    expect(driftText({ ok: false, code: 'UNKNOWN_DRIFT', driftId: 'drf_x' })).toBe('Unknown drift.');
    expect(driftText({ ok: false, code: 'RESOLVED_CONCURRENTLY', driftId: 'drf_1' })).toBe('Resolved concurrently by someone else; nothing changed.');
  });
});

/** src/present/promotion.text.ts: one wording per /promote outcome and per PROMOTION card tap outcome. */
import { describe, expect, it } from 'vitest';
import type { MissingItem, PromotionBundle, PromotionDecisionOutcome, PromotionRequestOutcome } from '../../src/engine/index.js';
import { promotionDecisionText, promotionRequestText } from '../../src/present/promotion.text.js';

const TZ = 'America/New_York';
const AT_1005 = Date.parse('2026-11-24T15:05:00Z'); // 10:05 EST
const missing: MissingItem[] = [
  { code: 'SESSIONS', message: 'sessions observed: 12 of 20 (8 more trading sessions needed)' },
  { code: 'KILL_FLAG_ACTIVE', message: 'kill flag active (manual: desk halt, set by alice)' },
];
const ids = { strategy: 'orb', promotionId: 'prm_1' };
const request = (o: PromotionRequestOutcome) => promotionRequestText(o, TZ);
const decision = (o: PromotionDecisionOutcome) => promotionDecisionText(o, TZ);

describe('promotionRequestText', () => {
  it('denied, refused (a bad name; missing items), requested (with the deadline in the session zone)', () => {
    expect(request({ kind: 'denied', needs: ['admin'] })).toBe('Not allowed: only admins can request a promotion.');
    expect(request({ kind: 'refused', why: 'BAD_NAME', promotionId: null, strategy: ' ', maxLength: 64, missing: [], bundle: null })).toBe('Usage: /promote STRATEGY (1–64 printable characters).');
    expect(request({ kind: 'refused', why: 'MISSING', ...ids, missing, bundle: null })).toBe('Promotion of orb refused — missing: sessions observed: 12 of 20 (8 more trading sessions needed); kill flag active (manual: desk halt, set by alice).');
    const bundle = {} as PromotionBundle;
    expect(request({ kind: 'requested', ...ids, cardId: 'c1', expiresAt: AT_1005, bundle, bundleHash: 'sha256:00' })).toBe('Promotion of orb to LIVE requested: an approver must APPROVE the card before 10:05 EST.');
  });
});

describe('promotionDecisionText', () => {
  it('refused: each reason', () => {
    expect(decision({ kind: 'refused', why: 'UNKNOWN_CARD' })).toBe('Unknown or invalid card.');
    expect(decision({ kind: 'refused', why: 'NOT_ALLOWED', needs: ['approver', 'admin'] })).toBe('Only approvers and admins can decide promotion cards.');
    expect(decision({ kind: 'refused', why: 'UNKNOWN_PROMOTION' })).toBe('Unknown promotion.');
    expect(decision({ kind: 'refused', why: 'UNKNOWN_DECISION' })).toBe('Unknown decision.');
  });

  it('noop: an expired card; a decided one (how, by whom, when, each only when known)', () => {
    expect(decision({ kind: 'noop', ...ids, cardStatus: 'EXPIRED', decision: 'EXPIRED', decidedBy: null, decidedAt: null })).toBe('This promotion card expired; nothing was done.');
    expect(decision({ kind: 'noop', ...ids, cardStatus: 'DECIDED', decision: 'PASSED', decidedBy: 'alice', decidedAt: AT_1005 })).toBe('Already passed by alice at 10:05 EST; nothing was done.');
    expect(decision({ kind: 'noop', ...ids, cardStatus: 'CLOSED', decision: 'WITHDRAWN', decidedBy: 'bob', decidedAt: null })).toBe('Already withdrawn by bob; nothing was done.');
    expect(decision({ kind: 'noop', ...ids, cardStatus: 'CLOSED', decision: null, decidedBy: null, decidedAt: null })).toBe('Already closed; nothing was done.');
  });

  it('expired, blocked, passed, promoted', () => {
    expect(decision({ kind: 'expired', ...ids })).toBe('This promotion card expired; nothing was done.');
    expect(decision({ kind: 'blocked', ...ids, missing })).toBe('Blocked, orb stays SHADOW — missing: sessions observed: 12 of 20 (8 more trading sessions needed); kill flag active (manual: desk halt, set by alice)');
    expect(decision({ kind: 'passed', ...ids, by: 'alice' })).toBe('Passed. orb stays SHADOW.');
    expect(decision({ kind: 'promoted', ...ids, tokenId: 'tok_prm_1', bundleHash: 'sha256:00', since: AT_1005, by: 'dave' })).toBe('Promoted ✅ orb is LIVE; its next intents get trade cards.');
  });
});

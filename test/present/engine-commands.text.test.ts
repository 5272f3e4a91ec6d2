/**
 * src/present words the engine's command outcomes (issue 15): one case per code of the kill
 * switch, confirmations, STALLED resolution, alert snooze, reconnect and flatten outcomes, each
 * checked against the exact words users saw before the outcomes became data.
 */
import { describe, expect, it } from 'vitest';
import type { ConfirmOutcome, FlattenIssue, FlattenReport, KillFlag, KillOutcome, StalledCancelOutcome, StalledResolveOutcome } from '../../src/engine/index.js';
import { notAllowed } from '../../src/engine/index.js';
import { confirmRequestText, confirmText } from '../../src/present/confirm.text.js';
import { flattenIssueText, flattenText } from '../../src/present/flatten.text.js';
import { killText } from '../../src/present/kill.text.js';
import { reconnectText } from '../../src/present/reconnect.text.js';
import { snoozeText } from '../../src/present/snooze.text.js';
import { stalledCancelText, stalledResolveText } from '../../src/present/stalled.text.js';

const TZ = 'America/New_York';
/** 2026-01-05 10:05 EST */
const AT_1005 = Date.UTC(2026, 0, 5, 15, 5);
const stale: KillFlag = { id: 'kill_s', kind: 'STALE', reason: 'stale market state on MES', setBy: 'Phoenix', setAt: AT_1005 - 300_000, expiresAt: AT_1005, clearedAt: null, clearedBy: null };
const STILL = ' Still active (not lifted by /resume; it ends on its own or with a fresh market state): stale-state pause (stale market state on MES) until 10:05 EST.';

describe('killText: /halt and /resume', () => {
  it.each<[string, KillOutcome, string]>([
    ['HALTED', { ok: true, code: 'HALTED', reason: 'news spike' }, 'Halted. New entries are blocked (exits still allowed). Reason: news spike'],
    ['RESUMED', { ok: true, code: 'RESUMED', cleared: 2, remaining: [] }, 'Resumed: 2 kill flag(s) lifted.'],
    ['RESUMED, a stale pause left', { ok: true, code: 'RESUMED', cleared: 1, remaining: [stale] }, `Resumed: 1 kill flag(s) lifted.${STILL}`],
    ['NOTHING_LIFTED', { ok: true, code: 'NOTHING_LIFTED', remaining: [] }, 'No kill flag was active; nothing changed.'],
    ['NOTHING_LIFTED, a stale pause left', { ok: true, code: 'NOTHING_LIFTED', remaining: [{ ...stale, expiresAt: null }] }, `No manual kill flag was active; nothing lifted.${STILL.replace('until 10:05 EST', 'until a fresh state')}`],
    ['NOT_ALLOWED', notAllowed('approver', 'admin'), 'Not allowed: approver or admin role needed.'],
  ])('%s', (_code, o, text) => {
    expect(killText(o, TZ)).toBe(text);
  });
});

describe('confirmRequestText / confirmText: confirmation cards', () => {
  it.each([
    ['NO_INTENT', { ok: false, code: 'NO_INTENT' } as const, 'Which position? (no intent given)'],
    ['NOT_ALLOWED', notAllowed('admin'), 'Not allowed: admin role needed.'],
  ])('request refused: %s', (_code, r, text) => {
    expect(confirmRequestText(r)).toBe(text);
  });

  const flattened: FlattenReport = { ok: true, code: 'FLATTENED', intents: 1, closing: ['int_1'], cancelled: [], pending: [], failed: [] };
  it.each<[string, ConfirmOutcome, string]>([
    ['UNKNOWN', { ok: false, code: 'UNKNOWN' }, 'Unknown confirmation.'],
    ['NOT_YOURS', { ok: false, code: 'NOT_YOURS' }, 'Not yours: only the admin who asked can answer this confirmation. Send the command yourself.'],
    ['EXPIRED', { ok: false, code: 'EXPIRED' }, 'This confirmation expired; nothing was done. Send the command again.'],
    ['ALREADY_ANSWERED', { ok: false, code: 'ALREADY_ANSWERED' }, 'Already answered; nothing was done.'],
    ['DECLINED', { ok: true, code: 'DECLINED' }, 'Cancelled; nothing was done.'],
    ['NOT_ALLOWED', notAllowed('approver'), 'Not allowed: approver role needed.'],
    ['CONFIRMED /resume', { ok: true, code: 'CONFIRMED', kind: 'CONFIRM_RESUME', result: { ok: true, code: 'RESUMED', cleared: 1, remaining: [stale] } }, `Resumed: 1 kill flag(s) lifted.${STILL}`],
    ['CONFIRMED /flatten', { ok: true, code: 'CONFIRMED', kind: 'CONFIRM_FLATTEN', result: flattened }, 'Flatten: closing 1 position(s), cancelling 0 entry order(s).\nNothing pending.'],
    ['CONFIRMED close', { ok: true, code: 'CONFIRMED', kind: 'CONFIRM_CLOSE', result: flattened }, 'Flatten: closing 1 position(s), cancelling 0 entry order(s).\nNothing pending.'],
    ['CONFIRMED re-protect', { ok: true, code: 'CONFIRMED', kind: 'CONFIRM_REPROTECT', result: { ok: true, code: 'STOP_SENT', intentId: 'int_1', quantity: 1, symbol: 'MES', stopPrice: 6008 } }, 'Stop for 1 MES at 6008 sent to the broker; the card shows when it works.'],
    ['CONFIRMED cancel STALLED', { ok: true, code: 'CONFIRMED', kind: 'CONFIRM_CANCEL_STALLED', result: { ok: true, code: 'CANCELLED' } }, 'Cancelled: the broker has no order for this intent.'],
  ])('%s', (_code, o, text) => {
    expect(confirmText(o, TZ)).toBe(text);
  });
});

describe('stalledCancelText / stalledResolveText: a STALLED entry', () => {
  it.each<[string, StalledCancelOutcome, string]>([
    ['CANCEL_SENT', { ok: true, code: 'CANCEL_SENT' }, 'Cancel sent to the broker; the card updates when the broker confirms.'],
    ['CANCELLED', { ok: true, code: 'CANCELLED' }, 'Cancelled: the broker has no order for this intent.'],
    ['FILLED', { ok: true, code: 'FILLED', qty: 2 }, 'Not cancelled: the broker filled 2 of this entry; the position is now tracked.'],
    ['ALREADY_FINAL', { ok: true, code: 'ALREADY_FINAL', status: 'REJECTED' }, 'The broker already shows this entry REJECTED; recorded.'],
    ['NOT_STALLED', { ok: false, code: 'NOT_STALLED', intentId: 'int_1', state: 'MANAGED' }, 'Intent int_1 is not STALLED (it is MANAGED).'],
    ['NOT_STALLED, unknown', { ok: false, code: 'NOT_STALLED', intentId: 'int_x', state: null }, 'Intent int_x is not STALLED.'],
    ['BROKER_UNREACHABLE', { ok: false, code: 'BROKER_UNREACHABLE', detail: 'not connected' }, 'Broker unreachable: cannot confirm the cancel, nothing changed (not connected).'],
    ['CANCEL_NOT_TAKEN', { ok: false, code: 'CANCEL_NOT_TAKEN', detail: 'order 7 not cancellable' }, 'The broker did not take the cancel (order 7 not cancellable); the intent stays STALLED.'],
    ['CHANGED_MEANWHILE', { ok: false, code: 'CHANGED_MEANWHILE' }, 'The intent changed meanwhile; nothing was done.'],
    ['NOT_ALLOWED', notAllowed('admin'), 'Not allowed: admin role needed.'],
  ])('cancel: %s', (_code, o, text) => {
    expect(stalledCancelText(o)).toBe(text);
  });

  it.each<[string, StalledResolveOutcome, string]>([
    ['RESOLVED', { ok: true, code: 'RESOLVED', intentId: 'int_1', by: '@bob', note: 'TWS: nothing' }, 'Resolved: int_1 is CANCELLED (checked at the broker by @bob: TWS: nothing).'],
    ['NOTE_REQUIRED', { ok: false, code: 'NOTE_REQUIRED' }, 'Say what you checked at the broker (a note is required), e.g. "TWS: no order with this Order Ref".'],
    ['BROKER_KNOWS_ORDER', { ok: false, code: 'BROKER_KNOWS_ORDER', orders: 1, fills: 0 }, 'The broker knows this order (1 order(s), 0 fill(s)): not resolved by hand. Use the broker check (cancel) instead.'],
    ['NOT_STALLED', { ok: false, code: 'NOT_STALLED', intentId: 'int_1', state: 'CLOSED' }, 'Intent int_1 is CLOSED, not STALLED; nothing changed.'],
    ['NOT_STALLED, unknown', { ok: false, code: 'NOT_STALLED', intentId: 'int_x', state: null }, 'Unknown intent int_x.'],
    ['HAS_BROKER_ID', { ok: false, code: 'HAS_BROKER_ID', intentId: 'int_1' }, 'Intent int_1 has a broker order id: use the broker check (cancel) instead; nothing changed.'],
    ['NOT_ALLOWED', notAllowed('admin'), 'Not allowed: admin role needed.'],
  ])('resolve: %s', (_code, o, text) => {
    expect(stalledResolveText(o)).toBe(text);
  });
});

describe('snoozeText and reconnectText', () => {
  it('SNOOZED: the types, until when (session time), by whom', () => {
    expect(snoozeText({ ok: true, code: 'SNOOZED', types: ['ORDER_REJECTED', 'POSITION_STALLED'], until: AT_1005, by: '@alice' }, TZ)).toBe(
      '🔕 ORDER_REJECTED, POSITION_STALLED snoozed until 10:05 EST by @alice: delivered without sound until then (CRITICAL alerts still ring).',
    );
  });
  it('NOT_SNOOZABLE', () => {
    expect(snoozeText({ ok: false, code: 'NOT_SNOOZABLE', types: ['HALT'] }, TZ)).toBe('This alert cannot be snoozed (only repeating WARNING alerts can; CRITICAL never).');
  });
  it('NOT_ALLOWED: the snooze says who may', () => {
    expect(snoozeText(notAllowed('approver'), TZ)).toBe('Only approvers and admins can snooze alerts.');
  });
  it('RECONNECT_REQUESTED and NOT_ALLOWED', () => {
    expect(reconnectText({ ok: true, code: 'RECONNECT_REQUESTED' })).toBe('Reconnect requested; the running service tries the broker within a few seconds (watch /status).');
    expect(reconnectText(notAllowed('admin'))).toBe('Not allowed: admin role needed.');
  });
});

describe('flattenText / flattenIssueText: the flatten answer', () => {
  const who = { intentId: 'int_1', side: 'BUY', quantity: 1, symbol: 'MES' } as const;
  it.each<[string, FlattenIssue, string]>([
    ['CANCEL_NOT_SENT', { ...who, problem: 'CANCEL_NOT_SENT', role: 'STOP', detail: 'not connected' }, 'BUY 1 MES (int_1): STOP cancel not sent (not connected)'],
    ['NO_BROKER_ID', { ...who, problem: 'NO_BROKER_ID', roles: ['ENTRY', 'STOP', 'TARGET'] }, 'BUY 1 MES (int_1): ENTRY/STOP/TARGET has no broker id yet (placement unconfirmed); cancelled as soon as the broker reports it'],
    ['AWAITING_CANCEL', { ...who, problem: 'AWAITING_CANCEL', roles: ['STOP', 'TARGET'] }, 'BUY 1 MES (int_1): waiting for the broker to confirm the STOP/TARGET cancel before the market exit'],
    ['EXIT_WORKING', { ...who, problem: 'EXIT_WORKING', qty: 1 }, 'BUY 1 MES (int_1): market exit of 1 working at the broker'],
    ['EXIT_NOT_SENT', { ...who, problem: 'EXIT_NOT_SENT' }, 'BUY 1 MES (int_1): market exit not sent yet (broker unavailable); retried when it is back'],
  ])('issue %s', (_problem, l, text) => {
    expect(flattenIssueText(l)).toBe(text);
  });

  it('FLATTENED: counts, then pending and failed lines', () => {
    const pending: FlattenIssue[] = [{ ...who, problem: 'EXIT_NOT_SENT' }];
    const failed: FlattenIssue[] = [{ ...who, problem: 'CANCEL_NOT_SENT', role: 'TARGET', detail: 'refused' }];
    expect(flattenText({ ok: false, code: 'FLATTENED', intents: 2, closing: ['int_1'], cancelled: ['int_2'], pending, failed })).toBe(
      [
        'Flatten: closing 1 position(s), cancelling 1 entry order(s).',
        'Still pending (1):',
        '• BUY 1 MES (int_1): market exit not sent yet (broker unavailable); retried when it is back',
        'FAILED (1) — check the broker:',
        '• BUY 1 MES (int_1): TARGET cancel not sent (refused)',
      ].join('\n'),
    );
    // nothing open: no "Nothing pending." line
    expect(flattenText({ ok: true, code: 'FLATTENED', intents: 0, closing: [], cancelled: [], pending: [], failed: [] })).toBe('Flatten: closing 0 position(s), cancelling 0 entry order(s).');
  });

  it('NOT_ALLOWED', () => {
    expect(flattenText({ ...notAllowed('admin'), closing: [], cancelled: [], pending: [], failed: [] })).toBe('Not allowed: admin role needed.');
  });
});

/**
 * Position lifecycle (SPEC 6): the one transition table. Every transition is applied by the
 * engine inside one store transaction together with its POSITION bead
 * (INV-POSITION-AUDIT-1); anything not listed here is refused (INV-POSITION-SM-1).
 */
import type { IntentState } from './domain.js';

export const TRANSITIONS: Readonly<Record<string, string>> = {
  'PROPOSED>APPROVED': 'human approved, token issued',
  'PROPOSED>CANCELLED': 'human passed, card expired, or a gate blocked it',
  'APPROVED>SUBMITTED': 'order accepted by the broker layer (token used)',
  'APPROVED>EXPIRED': 'token expired before submission',
  'APPROVED>CANCELLED': 'a gate re-check failed before submission',
  'SUBMITTED>FILLED': 'entry (fully or partly) filled',
  'SUBMITTED>REJECTED': 'broker rejected the order; no retry',
  'SUBMITTED>CANCELLED': 'order cancelled before any fill',
  'SUBMITTED>STALLED': 'no broker acknowledgement within 60 s; no retry',
  'STALLED>FILLED': 'late acknowledgement or fill',
  'STALLED>CANCELLED': 'a human cancelled, confirmed with the broker',
  // real-world edge beyond SPEC 6: the broker may still reject an order we had given up on
  'STALLED>REJECTED': 'late broker rejection of a stalled order; no retry',
  'FILLED>MANAGED': 'protective stop and target working at the broker',
  'MANAGED>CLOSED': 'stop, target, manual close or flatten filled; P&L recorded',
  // Broker truth beyond SPEC 6 (issue 13): every fill changes the position (INV-FILL-COMPLETE-1),
  // and MANAGED means "a stop is working at the broker" (INV-PROTECTED-1).
  'MANAGED>FILLED': 'the protective stop stopped working at the broker: unprotected (CRITICAL)',
  'FILLED>CLOSED': 'closed while unprotected (flatten, manual close or a late exit fill); P&L recorded',
  'CLOSED>FILLED': 'a fill after the close changed the position again (late entry fill or an exit beyond the position)',
  'CANCELLED>FILLED': 'the broker holds a fill of an entry Phoenix had as cancelled (out-of-order replay)',
  'REJECTED>FILLED': 'the broker holds a fill of an entry Phoenix had as rejected',
};

export class InvalidTransitionError extends Error {
  readonly code = 'INVALID_TRANSITION';
  constructor(readonly from: IntentState, readonly to: IntentState) {
    super(`invalid transition ${from} -> ${to}`);
    this.name = 'InvalidTransitionError';
  }
}

export function canTransition(from: IntentState, to: IntentState): boolean {
  return `${from}>${to}` in TRANSITIONS;
}

/** Throws InvalidTransitionError for any pair not in the table. */
export function assertTransition(from: IntentState, to: IntentState): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(from, to);
}

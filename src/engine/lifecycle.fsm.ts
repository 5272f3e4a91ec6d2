/**
 * Position lifecycle (SPEC 6): the states, the one transition table and the named state groups.
 * Every transition is applied by the engine (context.ts `transition`) inside one store transaction
 * together with its POSITION bead (INV-POSITION-AUDIT-1); anything not listed here is refused
 * (INV-POSITION-SM-1). Code that asks "is this intent open / in flight / holding a position?"
 * uses the groups below, never its own list of names.
 */

export const INTENT_STATES = ['PROPOSED', 'APPROVED', 'SUBMITTED', 'FILLED', 'MANAGED', 'CLOSED', 'CANCELLED', 'REJECTED', 'EXPIRED', 'STALLED'] as const;
export type IntentState = (typeof INTENT_STATES)[number];

/** One edge of the table, `FROM>TO`. */
export type Transition = `${IntentState}>${IntentState}`;

export const TRANSITIONS = {
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
} as const satisfies Partial<Record<Transition, string>>;

// === Named state groups (the only lists of state names outside the table)

/** Waiting for a human's decision on the card. */
export const AWAITING_DECISION: readonly IntentState[] = ['PROPOSED'];
/** Not yet handed to the broker: a card or an approval may still be withdrawn without the broker. */
export const BEFORE_BROKER: readonly IntentState[] = ['PROPOSED', 'APPROVED'];
/** The entry was sent and the broker has not settled it (no fill yet, or no acknowledgement). */
export const IN_FLIGHT: readonly IntentState[] = ['SUBMITTED', 'STALLED'];
/** A position is held (filled, protected or not). */
export const HOLDING: readonly IntentState[] = ['FILLED', 'MANAGED'];
/** Handed to the broker and not finished: orders or a position may live at the broker. */
export const AT_BROKER: readonly IntentState[] = [...IN_FLIGHT, ...HOLDING];
/** Holds (or may hold) broker exposure: approved and not finished. */
export const OPEN_STATES: readonly IntentState[] = ['APPROVED', ...AT_BROKER];
/** Finished: no transition out except a fill the broker reports later (see the table). */
export const TERMINAL_STATES: readonly IntentState[] = ['CLOSED', 'CANCELLED', 'REJECTED', 'EXPIRED'];

export const isIn = (group: readonly IntentState[], state: IntentState): boolean => group.includes(state);

export class InvalidTransitionError extends Error {
  readonly code = 'INVALID_TRANSITION';
  constructor(readonly from: IntentState, readonly to: IntentState) {
    super(`invalid transition ${from} -> ${to}`);
    this.name = 'InvalidTransitionError';
  }
}

export function canTransition(from: IntentState, to: IntentState): boolean {
  return Object.hasOwn(TRANSITIONS, `${from}>${to}`);
}

/** Throws InvalidTransitionError for any pair not in the table. */
export function assertTransition(from: IntentState, to: IntentState): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(from, to);
}

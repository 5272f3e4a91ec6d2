/**
 * Domain records the engine reasons about. Times are epoch milliseconds; money that is
 * summed (P&L, commissions) is integer cents.
 */
import type { Instrument, Side } from './broker.port.js';
import { instrumentId } from './instrument.js';
import type { IntentState } from './lifecycle.fsm.js';
import type { IntentInput } from './intent.schema.js';

export type Mode = 'observe' | 'paper' | 'live';
export type Role = 'viewer' | 'approver' | 'admin';

/** Who did something: a Telegram user, the CLI operator, or Phoenix itself. */
export interface Actor {
  readonly id: string;
  readonly name: string;
  readonly roles: readonly Role[];
  readonly via: 'telegram' | 'cli' | 'http' | 'system';
}

export const SYSTEM_ACTOR: Actor = { id: 'system', name: 'Phoenix', roles: ['viewer', 'approver', 'admin'], via: 'system' };

/** The lifecycle owns the states and their groups (lifecycle.fsm.ts); re-exported for the records below. */
export type { IntentState } from './lifecycle.fsm.js';
export { OPEN_STATES, TERMINAL_STATES } from './lifecycle.fsm.js';

export interface IntentRecord {
  readonly id: string;
  readonly signalId: string;
  readonly strategy: string;
  readonly shadow: boolean;
  readonly payload: IntentInput;
  readonly evidenceHash: string;
  readonly state: IntentState;
  readonly stateReason: string | null;
  readonly instrument: Instrument;
  readonly instrumentKey: string;
  readonly side: Side;
  readonly orderType: 'MKT' | 'LMT' | 'BRACKET';
  readonly quantity: number;
  readonly entryPrice: number | null;
  readonly stopLoss: number;
  readonly takeProfit: number;
  readonly stateAsOf: number;
  readonly ttlSec: number;
  readonly regime: string | null;
  readonly cardExpiresAt: number;
  readonly filledQty: number;
  readonly avgFillPrice: number | null;
  readonly exitQty: number;
  readonly exitAvgPrice: number | null;
  readonly commissionCents: number;
  readonly realizedPnlCents: number | null;
  readonly approvedBy: string | null;
  readonly approvedAt: number | null;
  /**
   * when the entry was handed to the broker layer (token used). Cleared when the placement
   * provably never reached the broker (refused or unavailable before sending, or stopped by the
   * last look): trades per day counts what reached the broker (MONEY-9).
   */
  readonly submittedAt: number | null;
  readonly ackedAt: number | null;
  readonly closedAt: number | null;
  readonly closedDay: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/**
 * What `IntentRepo.update` may change. `state` is not in it: a state changes only through the
 * lifecycle's `transition` (context.ts), which checks the table and writes the POSITION bead.
 */
export type IntentPatch = IntentFieldsPatch & { readonly state?: never };
/** The row change one lifecycle transition writes (compare-and-set on the old state). */
export type IntentTransitionPatch = IntentFieldsPatch & { readonly state: IntentState };
type IntentFieldsPatch = Partial<Omit<IntentRecord, 'id' | 'signalId' | 'payload' | 'createdAt' | 'state'>>;

export interface TokenRecord {
  readonly id: string;
  readonly purpose: 'TRADE' | 'PROMOTION';
  readonly intentId: string;
  readonly evidenceHash: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly usedAt: number | null;
  readonly expiredAt: number | null;
  readonly issuedTo: string;
}

/**
 * RESERVED: an EXIT a flatten has decided on, not sent until the other legs are confirmed dead.
 * HELD: accepted by the broker but not active at the exchange yet (IBKR PreSubmitted).
 */
export type OrderStatus = 'RESERVED' | 'PENDING' | 'WORKING' | 'HELD' | 'FILLED' | 'CANCELLED' | 'REJECTED' | 'UNKNOWN';
/** Order statuses the broker does not move out of (a later report cannot revive the leg). */
export const FINAL_ORDER_STATUSES: readonly OrderStatus[] = ['FILLED', 'CANCELLED', 'REJECTED'];
export const isFinalOrder = (s: OrderStatus): boolean => FINAL_ORDER_STATUSES.includes(s);

export interface OrderRecord {
  readonly id: string;
  readonly intentId: string;
  readonly role: 'ENTRY' | 'STOP' | 'TARGET' | 'EXIT';
  readonly brokerOrderId: string | null;
  readonly status: OrderStatus;
  readonly quantity: number;
  readonly filledQty: number;
  readonly avgFillPrice: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface FillRecord {
  readonly execId: string;
  readonly intentId: string;
  readonly role: OrderRecord['role'];
  readonly side: Side;
  readonly quantity: number;
  readonly price: number;
  readonly commission: number;
  readonly time: number;
}

export type KillKind = 'MANUAL' | 'STALE' | 'SYSTEM';

export interface KillFlag {
  readonly id: string;
  readonly kind: KillKind;
  readonly reason: string;
  readonly setBy: string;
  readonly setAt: number;
  readonly expiresAt: number | null;
  readonly clearedAt: number | null;
  readonly clearedBy: string | null;
}

export type CardKind =
  | 'TRADE'
  | 'PROMOTION'
  | 'CONFIRM_RESUME'
  | 'CONFIRM_FLATTEN'
  /** MONEY-1: a new stop for one unprotected position (approver+) */
  | 'CONFIRM_REPROTECT'
  /** MONEY-1: close one unprotected position at market (approver+) */
  | 'CONFIRM_CLOSE'
  /** SAFE-13: ask the broker about one STALLED entry and cancel it (admin) */
  | 'CONFIRM_CANCEL_STALLED'
  | 'DRIFT';
export type CardStatus = 'OPEN' | 'DECIDED' | 'EXPIRED' | 'CLOSED';

/** A chat message Phoenix owns; version > renderedVersion means it must be (re)rendered. */
export interface CardRecord {
  readonly id: string;
  readonly kind: CardKind;
  readonly subjectId: string;
  readonly chatId: string;
  readonly messageId: number | null;
  readonly status: CardStatus;
  readonly version: number;
  readonly renderedVersion: number;
  readonly expiresAt: number;
  readonly decidedBy: string | null;
  readonly decidedAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** The one instrument identity (see instrument.ts); the stored column `instrumentKey` holds it. */
export function instrumentKey(i: Instrument): string {
  return instrumentId(i);
}

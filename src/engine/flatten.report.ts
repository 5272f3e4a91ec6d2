/**
 * A flatten's answer, as data (src/present/flatten.text.ts words it): which intents are being
 * closed or cancelled, and, honestly, what is not done yet or failed, one issue per line.
 */
import type { Side } from './broker.port.js';
import type { IntentRecord } from './domain.js';
import type { NotAllowed } from './outcome.js';

/** A leg a flatten cancels (the EXIT is its own). */
export type FlattenLeg = 'ENTRY' | 'STOP' | 'TARGET';

/** What is not done yet (pending) or could not be done (failed) for one intent. */
export type FlattenProblem =
  /** the broker did not take a leg's cancel: `detail` is its error text */
  | { readonly problem: 'CANCEL_NOT_SENT'; readonly role: FlattenLeg; readonly detail: string }
  /** the legs' placement is unconfirmed (no broker id): cancelled as soon as the broker reports them */
  | { readonly problem: 'NO_BROKER_ID'; readonly roles: readonly FlattenLeg[] }
  /** the market exit waits for the broker to confirm these legs' cancels */
  | { readonly problem: 'AWAITING_CANCEL'; readonly roles: readonly FlattenLeg[] }
  /** a market exit of `qty` works at the broker */
  | { readonly problem: 'EXIT_WORKING'; readonly qty: number }
  /** the market exit is not sent yet (broker unavailable): retried when it is back */
  | { readonly problem: 'EXIT_NOT_SENT' };

/** The intent an issue is about, as the answer names it ("BUY 1 MES (int_…)"). */
export interface FlattenSubject {
  readonly intentId: string;
  readonly side: Side;
  readonly quantity: number;
  readonly symbol: string;
}

export type FlattenIssue = FlattenSubject & FlattenProblem;

export const flattenSubject = (i: IntentRecord): FlattenSubject => ({ intentId: i.id, side: i.side, quantity: i.quantity, symbol: i.instrument.symbol });

export interface FlattenLists {
  /** intents whose open position is being closed */
  readonly closing: readonly string[];
  /** intents whose entry was cancelled or asked to cancel */
  readonly cancelled: readonly string[];
  /** what is not done yet */
  readonly pending: readonly FlattenIssue[];
  readonly failed: readonly FlattenIssue[];
}

/** A refused flatten closed nothing: its lists are empty (the deadline jobs read them either way). */
export type FlattenReport =
  /** `ok`: nothing failed (pending work is not a failure; it is listed); `intents`: how many open intents it took in hand */
  | (FlattenLists & { readonly ok: boolean; readonly code: 'FLATTENED'; readonly intents: number })
  | (NotAllowed & FlattenLists);

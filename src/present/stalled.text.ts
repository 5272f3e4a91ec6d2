/** Resolving a STALLED entry (SPEC 6, SAFE-13): the broker-checked cancel and the by-hand resolve, worded once for every transport. */
import type { StalledCancelOutcome, StalledResolveOutcome } from '../engine/index.js';
import { notAllowedText } from './not-allowed.text.js';

export function stalledCancelText(o: StalledCancelOutcome): string {
  switch (o.code) {
    case 'CANCEL_SENT':
      return 'Cancel sent to the broker; the card updates when the broker confirms.';
    case 'CANCELLED':
      return 'Cancelled: the broker has no order for this intent.';
    case 'FILLED':
      return `Not cancelled: the broker filled ${o.qty} of this entry; the position is now tracked.`;
    case 'ALREADY_FINAL':
      return `The broker already shows this entry ${o.status}; recorded.`;
    case 'NOT_STALLED':
      return `Intent ${o.intentId} is not STALLED${o.state !== null ? ` (it is ${o.state})` : ''}.`;
    case 'BROKER_UNREACHABLE':
      return `Broker unreachable: cannot confirm the cancel, nothing changed (${o.detail}).`;
    case 'CANCEL_NOT_TAKEN':
      return `The broker did not take the cancel (${o.detail}); the intent stays STALLED.`;
    case 'CHANGED_MEANWHILE':
      return 'The intent changed meanwhile; nothing was done.';
    case 'NOT_ALLOWED':
      return notAllowedText(o);
  }
}

export function stalledResolveText(o: StalledResolveOutcome): string {
  switch (o.code) {
    case 'RESOLVED':
      return `Resolved: ${o.intentId} is CANCELLED (checked at the broker by ${o.by}: ${o.note}).`;
    case 'NOTE_REQUIRED':
      return 'Say what you checked at the broker (a note is required), e.g. "TWS: no order with this Order Ref".';
    case 'BROKER_KNOWS_ORDER':
      return `The broker knows this order (${o.orders} order(s), ${o.fills} fill(s)): not resolved by hand. Use the broker check (cancel) instead.`;
    case 'NOT_STALLED':
      return o.state !== null ? `Intent ${o.intentId} is ${o.state}, not STALLED; nothing changed.` : `Unknown intent ${o.intentId}.`;
    case 'HAS_BROKER_ID':
      return `Intent ${o.intentId} has a broker order id: use the broker check (cancel) instead; nothing changed.`;
    case 'NOT_ALLOWED':
      return notAllowedText(o);
  }
}

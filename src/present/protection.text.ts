/** A re-protect (🛡 on an unprotected position, confirmed), in plain words once for every transport. */
import type { ReprotectOutcome } from '../engine/index.js';
import { notAllowedText } from './not-allowed.text.js';

/** "Stop for 1 MES at 6008 sent to the broker; the card shows when it works." */
export function reprotectText(o: ReprotectOutcome): string {
  switch (o.code) {
    case 'STOP_SENT':
      return `Stop for ${o.quantity} ${o.symbol} at ${o.stopPrice} sent to the broker; the card shows when it works.`;
    case 'STOP_NOT_PLACED':
      return `The stop was NOT placed (${o.detail}). The position is still unprotected: flatten it or place a stop at the broker.`;
    case 'NOT_HOLDING':
      return `Nothing to protect: ${o.intentId} is ${o.state ?? 'unknown'}.`;
    case 'OTHER_SIDE':
      return 'The account is on the other side of this entry: a stop would add to it. Flatten instead.';
    case 'NOTHING_OPEN':
      return 'Nothing is open for this intent.';
    case 'STOP_WORKING':
      return 'Its stop is already working at the broker.';
    case 'FLATTENING':
      return 'A flatten is already closing this position.';
    case 'STOP_ON_ITS_WAY':
      return 'A stop is already on its way to the broker.';
    case 'NOT_ALLOWED':
      return notAllowedText(o);
  }
}

/** `phoenix reconnect` (SPEC 7, RB-001), worded once for every transport. */
import type { ReconnectRequestOutcome } from '../engine/index.js';
import { notAllowedText } from './not-allowed.text.js';

export function reconnectText(o: ReconnectRequestOutcome): string {
  switch (o.code) {
    case 'RECONNECT_REQUESTED':
      return 'Reconnect requested; the running service tries the broker within a few seconds (watch /status).';
    case 'NOT_ALLOWED':
      return notAllowedText(o);
  }
}

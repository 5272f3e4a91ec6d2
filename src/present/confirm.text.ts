/**
 * Confirmation cards (/resume, /flatten, and per position re-protect / close / cancel STALLED),
 * worded once for every transport: the refusals of a request, and the answer to a tap — a
 * confirmed tap says what the action did, in that action's own words.
 */
import type { ConfirmOutcome, ConfirmRequest } from '../engine/index.js';
import { flattenText } from './flatten.text.js';
import { killText } from './kill.text.js';
import { notAllowedText } from './not-allowed.text.js';
import { reprotectText } from './protection.text.js';
import { stalledCancelText } from './stalled.text.js';

/** Why no card was posted (a posted card is worded by the transport: where it is, until when). */
export function confirmRequestText(r: Exclude<ConfirmRequest, { ok: true }>): string {
  switch (r.code) {
    case 'NO_INTENT':
      return 'Which position? (no intent given)';
    case 'NOT_ALLOWED':
      return notAllowedText(r);
  }
}

/** `timeZone`: the constitution's session time zone (a confirmed /resume names pauses until a time). */
export function confirmText(o: ConfirmOutcome, timeZone: string): string {
  switch (o.code) {
    case 'UNKNOWN':
      return 'Unknown confirmation.';
    case 'NOT_YOURS':
      return 'Not yours: only the admin who asked can answer this confirmation. Send the command yourself.';
    case 'EXPIRED':
      return 'This confirmation expired; nothing was done. Send the command again.';
    case 'ALREADY_ANSWERED':
      return 'Already answered; nothing was done.';
    case 'DECLINED':
      return 'Cancelled; nothing was done.';
    case 'NOT_ALLOWED':
      return notAllowedText(o);
    case 'CONFIRMED':
      switch (o.kind) {
        case 'CONFIRM_RESUME':
          return killText(o.result, timeZone);
        case 'CONFIRM_FLATTEN':
        case 'CONFIRM_CLOSE':
          return flattenText(o.result);
        case 'CONFIRM_REPROTECT':
          return reprotectText(o.result);
        case 'CONFIRM_CANCEL_STALLED':
          return stalledCancelText(o.result);
      }
  }
}

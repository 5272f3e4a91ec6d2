/** 🔕 "Snooze 1 h" on a WARNING alert digest (SPEC 9), worded once for every transport. */
import { clockTime, type SnoozeOutcome } from '../engine/index.js';

/** `timeZone`: the constitution's session time zone (the snooze says until when in it). */
export function snoozeText(o: SnoozeOutcome, timeZone: string): string {
  switch (o.code) {
    case 'SNOOZED':
      return `🔕 ${o.types.join(', ')} snoozed until ${clockTime(o.until, timeZone)} by ${o.by}: delivered without sound until then (CRITICAL alerts still ring).`;
    case 'NOT_SNOOZABLE':
      return 'This alert cannot be snoozed (only repeating WARNING alerts can; CRITICAL never).';
    case 'NOT_ALLOWED':
      // the snooze's own words: approvers may, and admins (who are approvers too)
      return 'Only approvers and admins can snooze alerts.';
  }
}

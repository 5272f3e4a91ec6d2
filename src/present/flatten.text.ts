/** A flatten's answer (SPEC 4, 12), worded once for every transport: counts, then what is pending or failed, one line each. */
import type { FlattenIssue, FlattenReport } from '../engine/index.js';
import { notAllowedText } from './not-allowed.text.js';

/** Several lines ('\n'): the bot and the CLI show them as they are. */
export function flattenText(r: FlattenReport): string {
  if (r.code === 'NOT_ALLOWED') return notAllowedText(r);
  const { closing, cancelled, pending, failed } = r;
  return [
    `Flatten: closing ${closing.length} position(s), cancelling ${cancelled.length} entry order(s).`,
    ...(pending.length ? [`Still pending (${pending.length}):`, ...pending.map((l) => `• ${flattenIssueText(l)}`)] : r.intents ? ['Nothing pending.'] : []),
    ...(failed.length ? [`FAILED (${failed.length}) — check the broker:`, ...failed.map((l) => `• ${flattenIssueText(l)}`)] : []),
  ].join('\n');
}

/** "SELL 1 MES (int_…): STOP cancel not sent (broker unreachable)" */
export function flattenIssueText(l: FlattenIssue): string {
  const who = `${l.side} ${l.quantity} ${l.symbol} (${l.intentId})`;
  switch (l.problem) {
    case 'CANCEL_NOT_SENT':
      return `${who}: ${l.role} cancel not sent (${l.detail})`;
    case 'NO_BROKER_ID':
      return `${who}: ${l.roles.join('/')} has no broker id yet (placement unconfirmed); cancelled as soon as the broker reports it`;
    case 'AWAITING_CANCEL':
      return `${who}: waiting for the broker to confirm the ${l.roles.join('/')} cancel before the market exit`;
    case 'EXIT_WORKING':
      return `${who}: market exit of ${l.qty} working at the broker`;
    case 'EXIT_NOT_SENT':
      return `${who}: market exit not sent yet (broker unavailable); retried when it is back`;
  }
}

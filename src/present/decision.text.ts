/**
 * A tap on a trade card (APPROVE / PASS), worded once: the bot's toast and the card's answer.
 * Gate and broker details are the records' own words (the gate's message, the broker's error).
 */
import { clockTime, type DecisionOutcome } from '../engine/index.js';

export function tradeDecisionText(o: DecisionOutcome, timeZone: string): string {
  switch (o.kind) {
    case 'refused':
      return REFUSED[o.why];
    case 'expired':
      return EXPIRED;
    case 'noop': {
      if (o.cardStatus === 'EXPIRED') return EXPIRED;
      const by = o.decidedBy ? ` by ${o.decidedBy}` : '';
      const at = o.decidedAt ? ` at ${clockTime(o.decidedAt, timeZone)}` : '';
      return `Already decided${by}${at} (now ${o.intentState}); nothing was done.`;
    }
    case 'blocked':
      return `Blocked by a gate: ${o.denials.map((d) => d.message).join('; ')}. Nothing was sent.`;
    case 'passed':
      return 'Passed. Nothing will be sent.';
    case 'approved':
      switch (o.submit.kind) {
        case 'submitted':
          return 'Approved ✅ Order sent to the broker.';
        case 'waiting':
          return `Approved. Waiting for the broker: ${o.submit.reason}`;
        case 'unknown':
          return `Approved. Broker outcome unconfirmed, reconciling: ${o.submit.reason}`;
        default:
          return `Approved, but not sent: ${o.submit.reason}`;
      }
  }
}

const EXPIRED = 'This card expired; nothing was done.';

const REFUSED: Record<Extract<DecisionOutcome, { kind: 'refused' }>['why'], string> = {
  UNKNOWN_CARD: 'Unknown or invalid card.',
  NOT_ALLOWED: 'Only approvers can decide trade cards.',
  UNKNOWN_INTENT: 'Unknown intent.',
  UNKNOWN_DECISION: 'Unknown decision.',
};

/**
 * /promote and the PROMOTION card's buttons, in plain words once for every transport. Times are
 * in the constitution's session zone, which the caller passes in (`engine.info.timeZone`). The
 * missing items keep their own words: they are evidence stored in the bundle (MissingItem).
 */
import { clockTime, type PromotionDecisionOutcome, type PromotionRequestOutcome } from '../engine/index.js';

const missingText = (o: { readonly missing: readonly { readonly message: string }[] }): string => o.missing.map((m) => m.message).join('; ');

/** "Promotion of orb to LIVE requested: an approver must APPROVE the card before 10:05 EST." */
export function promotionRequestText(o: PromotionRequestOutcome, timeZone: string): string {
  switch (o.kind) {
    case 'denied':
      return 'Not allowed: only admins can request a promotion.';
    case 'refused':
      return o.why === 'BAD_NAME' ? `Usage: /promote STRATEGY (1–${o.maxLength} printable characters).` : `Promotion of ${o.strategy} refused — missing: ${missingText(o)}.`;
    case 'requested':
      return `Promotion of ${o.strategy} to LIVE requested: an approver must APPROVE the card before ${clockTime(o.expiresAt, timeZone)}.`;
  }
}

const EXPIRED = 'This promotion card expired; nothing was done.';

/** The answer to a tap on a promotion card: "Promoted ✅ orb is LIVE; its next intents get trade cards." (the card itself, edited, says who and when) */
export function promotionDecisionText(o: PromotionDecisionOutcome, timeZone: string): string {
  switch (o.kind) {
    case 'refused':
      return REFUSED[o.why];
    case 'noop': {
      if (o.cardStatus === 'EXPIRED') return EXPIRED;
      const who = o.decidedBy ? ` by ${o.decidedBy}` : '';
      const when = o.decidedAt ? ` at ${clockTime(o.decidedAt, timeZone)}` : '';
      return `Already ${o.decision ? o.decision.toLowerCase() : 'closed'}${who}${when}; nothing was done.`;
    }
    case 'expired':
      return EXPIRED;
    case 'blocked':
      return `Blocked, ${o.strategy} stays SHADOW — missing: ${missingText(o)}`;
    case 'passed':
      return `Passed. ${o.strategy} stays SHADOW.`;
    case 'promoted':
      return `Promoted ✅ ${o.strategy} is LIVE; its next intents get trade cards.`;
  }
}

const REFUSED: Record<Extract<PromotionDecisionOutcome, { kind: 'refused' }>['why'], string> = {
  UNKNOWN_CARD: 'Unknown or invalid card.',
  NOT_ALLOWED: 'Only approvers and admins can decide promotion cards.',
  UNKNOWN_PROMOTION: 'Unknown promotion.',
  UNKNOWN_DECISION: 'Unknown decision.',
};

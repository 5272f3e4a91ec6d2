/**
 * What the promotion ceremony's commands return: data only (src/present/promotion.text.ts words
 * it for every transport). The request and the decision are promotion.usecase.ts and
 * promotion.decision.ts.
 */
import type { CardRecord, Role } from './domain.js';
import type { PromotionBundle } from './promotion.usecase.js';
import type { MissingItem } from './shadow-record.js';
import type { PromotionDecisionRecord } from './store.port.js';

/**
 * What /promote did, as data (src/present/promotion.text.ts words it). `refused` says `why`:
 * the name is not a strategy name (BAD_NAME: nothing recorded), or something is `missing`
 * (MISSING: a REFUSED bead lists it). `denied` needs the admin role.
 */
export type PromotionRequestOutcome =
  | { readonly kind: 'denied'; readonly needs: readonly Role[] }
  | { readonly kind: 'refused'; readonly why: 'BAD_NAME'; readonly promotionId: null; readonly strategy: string; readonly maxLength: number; readonly missing: readonly MissingItem[]; readonly bundle: null }
  | { readonly kind: 'refused'; readonly why: 'MISSING'; readonly promotionId: string; readonly strategy: string; readonly missing: readonly MissingItem[]; readonly bundle: PromotionBundle | null }
  | {
      readonly kind: 'requested';
      readonly promotionId: string;
      readonly cardId: string;
      /** the card's deadline (epoch ms): an approver must decide before it */
      readonly expiresAt: number;
      readonly strategy: string;
      readonly bundle: PromotionBundle;
      readonly bundleHash: string;
    };

/**
 * What a tap on a PROMOTION card did, as data (src/present/promotion.text.ts words it).
 * `refused`: the tap could not decide (`why`); `noop`: the card was already closed (how, by whom,
 * when: epoch ms); `expired`: its time ran out now; `blocked`: the re-check at approval found
 * `missing` items; `passed` / `promoted`: decided `by` that person.
 */
export type PromotionDecisionOutcome =
  | { readonly kind: 'refused'; readonly why: 'UNKNOWN_CARD' | 'UNKNOWN_PROMOTION' | 'UNKNOWN_DECISION' }
  | { readonly kind: 'refused'; readonly why: 'NOT_ALLOWED'; readonly needs: readonly Role[] }
  | {
      readonly kind: 'noop';
      readonly strategy: string;
      readonly promotionId: string;
      /** the card's own status: EXPIRED, DECIDED or CLOSED (withdrawn) */
      readonly cardStatus: CardRecord['status'];
      /** the promotion's recorded decision, when one was recorded */
      readonly decision: PromotionDecisionRecord['event'] | null;
      readonly decidedBy: string | null;
      readonly decidedAt: number | null;
    }
  | { readonly kind: 'expired'; readonly strategy: string; readonly promotionId: string }
  | { readonly kind: 'blocked'; readonly strategy: string; readonly promotionId: string; readonly missing: readonly MissingItem[] }
  | { readonly kind: 'passed'; readonly strategy: string; readonly promotionId: string; readonly by: string }
  | {
      readonly kind: 'promoted';
      readonly strategy: string;
      readonly promotionId: string;
      readonly tokenId: string;
      readonly bundleHash: string;
      /** LIVE since (epoch ms) */
      readonly since: number;
      readonly by: string;
    };

/**
 * Strategies and their promotion SHADOW → LIVE (SPEC 11): the registry, the request that
 * posts a PROMOTION card, the T2 decision on it, and the immediate demotion. Outcomes are
 * typed unions (`kind` / `ok`); the transports render them.
 */
import type { EngineContext } from '../context.js';
import type { Actor } from '../domain.js';
import { decidePromotion } from '../promotion.decision.js';
import {
  previewPromotion,
  promotionCardView,
  requestPromotion,
  type PromotionCardView,
  type PromotionDecision,
  type PromotionDecisionOutcome,
  type PromotionRequestOutcome,
} from '../promotion.usecase.js';
import { demote, getStrategy, listStrategies, registerStrategy, type StrategyOutcome, type StrategyView } from '../strategy.usecase.js';

export class PromotionsFacade {
  readonly #ctx: EngineContext;

  constructor(ctx: EngineContext) {
    this.#ctx = ctx;
  }

  /** admin: assemble the evidence bundle and post a PROMOTION card (or say what is missing) */
  request(strategy: string, actor: Actor): Promise<PromotionRequestOutcome> {
    return requestPromotion(this.#ctx, strategy, actor);
  }
  /** the bundle a request would carry, without posting anything */
  preview(strategy: string): ReturnType<typeof previewPromotion> {
    return previewPromotion(this.#ctx, strategy);
  }
  /** APPROVE (the T2 ceremony, one write of stage LIVE) or PASS on a PROMOTION card */
  decide(cardId: string, decision: PromotionDecision, actor: Actor): Promise<PromotionDecisionOutcome> {
    return decidePromotion(this.#ctx, cardId, decision, actor);
  }
  cardView(cardId: string): Promise<PromotionCardView | null> {
    return promotionCardView(this.#ctx, cardId);
  }
  /** admin: a new strategy name, registered SHADOW */
  register(strategy: string, actor: Actor): Promise<StrategyOutcome> {
    return registerStrategy(this.#ctx, strategy, actor);
  }
  /** admin: back to SHADOW at once, no confirmation */
  demote(strategy: string, actor: Actor, reason?: string): Promise<StrategyOutcome> {
    return demote(this.#ctx, strategy, actor, reason);
  }
  get(strategy: string): Promise<StrategyView | null> {
    return getStrategy(this.#ctx, strategy);
  }
  list(): Promise<StrategyView[]> {
    return listStrategies(this.#ctx);
  }
}

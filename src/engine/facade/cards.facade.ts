/**
 * Cards, as the bot's senders see them: the card OUTBOX (dirty cards, marked rendered once
 * shown) and the read models a card is rendered from. Reads only, plus the outbox mark.
 */
import type { EngineContext } from '../context.js';
import type { CardRecord } from '../domain.js';
import { cardView, dirtyCards, listPending, markCardRendered, type CardView, type PendingRow } from '../queries.usecase.js';

export class CardsFacade {
  readonly #ctx: EngineContext;

  constructor(ctx: EngineContext) {
    this.#ctx = ctx;
  }

  /** the read model of one card (TRADE, PROMOTION, CONFIRM, …); null for an unknown id */
  view(cardId: string): Promise<CardView | null> {
    return cardView(this.#ctx, cardId);
  }
  /** cards whose version is ahead of what the chat shows (the outbox), oldest first */
  dirty(limit?: number): Promise<CardRecord[]> {
    return dirtyCards(this.#ctx, limit);
  }
  /** the chat now shows `version` of the card (messageId null: it could not be shown) */
  markRendered(cardId: string, version: number, messageId: number | null): Promise<void> {
    return markCardRendered(this.#ctx, cardId, version, messageId);
  }
  /** intents waiting for APPROVE / PASS with their cards (/pending, the countdown) */
  pending(): Promise<PendingRow[]> {
    return listPending(this.#ctx);
  }
}

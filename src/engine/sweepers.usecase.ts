/**
 * Periodic sweeps the jobs call (SPEC 10): expire cards and tokens, detect stalled orders,
 * retry submissions that were waiting for the broker. Each is idempotent and safe to run
 * at any time; time comes from the injected clock.
 */
import { expireTradeCard } from './approval.usecase.js';
import { transition, type EngineContext } from './context.js';
import type { Tx } from './store.port.js';
import { expireToken, submitWithToken, type SubmitOutcome } from './execution.js';
import { openPromotionsOf } from './promotion.usecase.js';

export async function expireDue(ctx: EngineContext): Promise<{ cards: number; tokens: number }> {
  const now = ctx.clock.now();
  const result = await ctx.store.tx(async (tx) => {
    let cards = 0;
    for (const card of await tx.cards.listOpenExpiring(now, 200)) {
      if (card.kind === 'TRADE') {
        const intent = await tx.intents.get(card.subjectId);
        if (intent) await expireTradeCard(ctx, tx, card, intent);
      } else if (!(card.kind === 'PROMOTION' && (await expirePromotionCard(ctx, tx, card.subjectId, card.id)))) {
        await tx.cards.update(card.id, { status: 'EXPIRED', updatedAt: now });
        await tx.cards.touch(card.id, now);
      }
      cards++;
    }
    let tokens = 0;
    for (const token of await tx.tokens.listExpired(now, 200)) {
      const intent = await tx.intents.get(token.intentId);
      if (intent) {
        await expireToken(ctx, tx, intent, token.id);
        tokens++;
      }
    }
    return { cards, tokens };
  });
  if (result.cards || result.tokens) ctx.notify();
  return result;
}

/** SUBMITTED without a broker acknowledgement for longer than the stall limit → STALLED + alert. */
export async function detectStalls(ctx: EngineContext): Promise<string[]> {
  const now = ctx.clock.now();
  const limitMs = ctx.constitution.approval.stallAfterSec * 1000;
  const stalled = await ctx.store.tx(async (tx) => {
    const out: string[] = [];
    for (const intent of await tx.intents.listByState(['SUBMITTED'])) {
      if (intent.ackedAt !== null || intent.submittedAt === null || now - intent.submittedAt <= limitMs) continue;
      const secs = Math.round((now - intent.submittedAt) / 1000);
      await transition(ctx, tx, intent, 'STALLED', `no broker acknowledgement for ${secs} s; not retried`);
      tx.alerts.enqueue({ type: 'POSITION_STALLED', at: now, payload: { summary: `${intent.side} ${intent.quantity} ${intent.instrument.symbol}: no broker acknowledgement for ${secs} s. Not retried; check the broker.`, intentId: intent.id, instrumentKey: intent.instrumentKey } });
      out.push(intent.id);
    }
    return out;
  });
  if (stalled.length) ctx.notify();
  return stalled;
}

/** APPROVED intents whose token is still valid: try submission again (broker came back). */
export async function retryWaitingSubmissions(ctx: EngineContext): Promise<SubmitOutcome[]> {
  if (!ctx.broker.health().canSubmit) return [];
  const waiting = await ctx.store.tx(async (tx) => {
    const list: { intentId: string; tokenId: string }[] = [];
    for (const intent of await tx.intents.listByState(['APPROVED'])) {
      const token = await tx.tokens.latestForIntent(intent.id);
      if (token && token.usedAt === null && token.expiredAt === null) list.push({ intentId: intent.id, tokenId: token.id });
    }
    return list;
  });
  const out: SubmitOutcome[] = [];
  for (const w of waiting) out.push(await submitWithToken(ctx, w.intentId, w.tokenId));
  return out;
}

/**
 * A PROMOTION card past its time: let the promotion use case expire it (card EXPIRED, the
 * request's decision EXPIRED, PROMOTION EXPIRED and CARD EXPIRED beads) — `openPromotionsOf`
 * with a clock expires every due card of the strategy on the way. False when the request is
 * unknown (the caller then only marks the card expired).
 */
async function expirePromotionCard(ctx: EngineContext, tx: Tx, promotionId: string, cardId: string): Promise<boolean> {
  const request = await tx.promotions.get(promotionId);
  if (!request) return false;
  await openPromotionsOf(tx, request.strategy, ctx, ctx.clock.now());
  return (await tx.cards.get(cardId))?.status !== 'OPEN';
}

/**
 * Approval (SPEC 5, engine side): a human's APPROVE or PASS on a card. Only approvers may
 * decide; anyone else is refused and audited. APPROVE re-runs the gates, issues the
 * single-use token bound to the intent and its evidence hash, and hands it to submission.
 * Every outcome is a value the bot turns into a short answer and a card edit.
 */
import { actorRef, evaluateGates, transition, type EngineContext } from './context.js';
import type { Actor, CardRecord, IntentRecord, TokenRecord } from './domain.js';
import { submitWithToken, type SubmitOutcome } from './execution.js';
import { refusals } from './risk.gates.js';
import type { Tx } from './store.port.js';
import { clockTime } from './people-time.js';

export type Decision = 'APPROVE' | 'PASS';

export type DecisionOutcome =
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'noop'; readonly reason: string }
  | { readonly kind: 'expired'; readonly reason: string }
  | { readonly kind: 'blocked'; readonly reason: string }
  | { readonly kind: 'passed'; readonly intentId: string }
  | { readonly kind: 'approved'; readonly intentId: string; readonly tokenId: string; readonly submit: SubmitOutcome };


/** A tap on a TRADE card (the bot passes the card id from callback data). */
export async function decideTradeCard(ctx: EngineContext, cardId: string, decision: Decision, actor: Actor): Promise<DecisionOutcome> {
  const first = await ctx.store.tx(async (tx) => {
    const card = await tx.cards.get(cardId);
    if (!card || card.kind !== 'TRADE') return { kind: 'refused', reason: 'Unknown or invalid card.' } as const;
    if (!actor.roles.includes('approver')) {
      const now = ctx.clock.now();
      tx.beads.append({ type: 'ACCESS_DENIED', intentId: card.subjectId, ts: now, payload: { userId: actor.id, chatId: card.chatId, action: `${decision} card ${card.id}`, reason: 'not an approver' } });
      return { kind: 'refused', reason: 'Only approvers can decide trade cards.' } as const;
    }
    const intent = await tx.intents.get(card.subjectId);
    if (!intent) return { kind: 'refused', reason: 'Unknown intent.' } as const;
    return decide(ctx, tx, card, intent, decision, actor);
  });
  ctx.notify();
  if (first.kind !== 'approved-pending-submit') return first;
  const submit = await submitWithToken(ctx, first.intentId, first.tokenId);
  ctx.notify();
  return { kind: 'approved', intentId: first.intentId, tokenId: first.tokenId, submit };
}

type Internal = Exclude<DecisionOutcome, { kind: 'approved' }> | { kind: 'approved-pending-submit'; intentId: string; tokenId: string };

async function decide(ctx: EngineContext, tx: Tx, card: CardRecord, intent: IntentRecord, decision: Decision, actor: Actor): Promise<Internal> {
  const now = ctx.clock.now();
  if (card.status !== 'OPEN' || intent.state !== 'PROPOSED') {
    const who = card.decidedBy ? ` by ${card.decidedBy}` : '';
    const when = card.decidedAt ? ` at ${clockTime(card.decidedAt, ctx.constitution.session.timeZone)}` : '';
    const reason = card.status === 'EXPIRED' ? 'This card expired; nothing was done.' : `Already decided${who}${when} (now ${intent.state}); nothing was done.`;
    tx.beads.append({ type: 'CARD', intentId: intent.id, ts: now, payload: { cardId: card.id, kind: card.kind, event: 'TAP_REFUSED', actor: actorRef(actor), detail: reason } });
    return { kind: 'noop', reason };
  }
  if (now >= card.expiresAt) {
    await expireTradeCard(ctx, tx, card, intent);
    return { kind: 'expired', reason: 'This card expired; nothing was done.' };
  }
  if (decision === 'PASS') {
    await transition(ctx, tx, intent, 'CANCELLED', `passed by ${actor.name}`, {}, actor);
    await closeCard(tx, card, actor, now);
    tx.beads.append({ type: 'CARD', intentId: intent.id, ts: now, payload: { cardId: card.id, kind: card.kind, event: 'DECIDED', actor: actorRef(actor), detail: 'PASS' } });
    return { kind: 'passed', intentId: intent.id };
  }
  const gates = await evaluateGates(ctx, tx, intent, 'APPROVAL');
  const denied = refusals(gates);
  if (denied.length) {
    await transition(ctx, tx, intent, 'CANCELLED', `blocked by gate at approval: ${denied.map((d) => d.code).join(', ')}`, {}, actor);
    await closeCard(tx, card, actor, now);
    return { kind: 'blocked', reason: denied.map((d) => d.message).join('; ') };
  }
  const token: TokenRecord = {
    id: `tok_${ctx.random.id(20)}`,
    purpose: 'TRADE',
    intentId: intent.id,
    evidenceHash: intent.evidenceHash,
    issuedAt: now,
    expiresAt: now + ctx.constitution.approval.tokenTtlSec * 1000,
    usedAt: null,
    expiredAt: null,
    issuedTo: actor.id,
  };
  await tx.tokens.insert(token);
  tx.beads.append({ type: 'T2_TOKEN', intentId: intent.id, ts: now, payload: { event: 'ISSUED', tokenId: token.id, purpose: 'TRADE', actor: actorRef(actor), expiresAt: new Date(token.expiresAt).toISOString() } });
  await transition(ctx, tx, intent, 'APPROVED', `approved by ${actor.name}`, { approvedBy: actor.name, approvedAt: now }, actor);
  await closeCard(tx, card, actor, now);
  tx.beads.append({ type: 'CARD', intentId: intent.id, ts: now, payload: { cardId: card.id, kind: card.kind, event: 'DECIDED', actor: actorRef(actor), detail: 'APPROVE' } });
  return { kind: 'approved-pending-submit', intentId: intent.id, tokenId: token.id };
}

async function closeCard(tx: Tx, card: CardRecord, actor: Actor, now: number): Promise<void> {
  await tx.cards.update(card.id, { status: 'DECIDED', decidedBy: actor.name, decidedAt: now, updatedAt: now });
  await tx.cards.touch(card.id, now);
}

/** Card TTL passed without a decision: intent cancelled with reason card_expired. */
export async function expireTradeCard(ctx: EngineContext, tx: Tx, card: CardRecord, intent: IntentRecord): Promise<void> {
  const now = ctx.clock.now();
  await tx.cards.update(card.id, { status: 'EXPIRED', updatedAt: now });
  if (intent.state === 'PROPOSED') await transition(ctx, tx, intent, 'CANCELLED', 'card_expired');
  else await tx.cards.touch(card.id, now);
  tx.beads.append({ type: 'CARD', intentId: intent.id, ts: now, payload: { cardId: card.id, kind: card.kind, event: 'EXPIRED' } });
}

/**
 * Approval (SPEC 5, engine side): a human's APPROVE or PASS on a card. Only approvers may
 * decide; anyone else is refused and audited. APPROVE re-runs the gates, issues the
 * single-use token bound to the intent and its evidence hash, and hands it to submission.
 * Every outcome is a value the bot turns into a short answer and a card edit.
 */
import { actorRef, evaluateGates, transition, type EngineContext } from './context.js';
import { decidedBy, issueToken, openCardFor, type CardDecision, type CardFlow, type CardStop } from './card-decision.js';
import type { Actor, CardRecord, IntentRecord, IntentState } from './domain.js';
import { submitWithToken, type SubmitOutcome } from './execution.js';
import { refusals } from './risk.gates.js';
import type { Tx } from './store.port.js';

export type Decision = CardDecision;

/** A gate's refusal as recorded in the evidence (its message is the gate's own detail). */
export interface GateDenial {
  readonly gate: string;
  readonly code: string;
  readonly message: string;
}

/** A tap on a trade card, as data (src/present/decision.text.ts words it). */
export type DecisionOutcome =
  | { readonly kind: 'refused'; readonly why: 'UNKNOWN_CARD' | 'NOT_ALLOWED' | 'UNKNOWN_INTENT' | 'UNKNOWN_DECISION' }
  /** the card was decided, expired or withdrawn before this tap: nothing was done */
  | { readonly kind: 'noop'; readonly cardStatus: CardRecord['status']; readonly intentState: IntentState; readonly decidedBy: string | null; readonly decidedAt: number | null }
  | { readonly kind: 'expired' }
  | { readonly kind: 'blocked'; readonly denials: readonly GateDenial[] }
  | { readonly kind: 'passed'; readonly intentId: string }
  | { readonly kind: 'approved'; readonly intentId: string; readonly tokenId: string; readonly submit: SubmitOutcome };

/** A tap on a TRADE card (the bot passes the card id from callback data). */
export async function decideTradeCard(ctx: EngineContext, cardId: string, decision: Decision, actor: Actor): Promise<DecisionOutcome> {
  const first = await ctx.store.tx(async (tx): Promise<Internal> => {
    const open = await openCardFor(ctx, tx, TRADE_CARD, cardId, decision, actor);
    if (open.kind !== 'open') return stopped(open);
    return decision === 'PASS' ? pass(ctx, tx, open.card, open.subject, actor, open.now) : approve(ctx, tx, open.card, open.subject, actor, open.now);
  });
  ctx.notify();
  if (first.kind !== 'approved-pending-submit') return first;
  const submit = await submitWithToken(ctx, first.intentId, first.tokenId);
  ctx.notify();
  return { kind: 'approved', intentId: first.intentId, tokenId: first.tokenId, submit };
}

function stopped(stop: CardStop<IntentRecord>): Internal {
  if (stop.kind === 'refused') return { kind: 'refused', why: stop.why === 'UNKNOWN_SUBJECT' ? 'UNKNOWN_INTENT' : stop.why };
  if (stop.kind === 'expired') return { kind: 'expired' };
  return { kind: 'noop', cardStatus: stop.card.status, intentState: stop.subject.state, decidedBy: stop.card.decidedBy, decidedAt: stop.card.decidedAt };
}

type Internal = Exclude<DecisionOutcome, { kind: 'approved' }> | { kind: 'approved-pending-submit'; intentId: string; tokenId: string };

/** What makes a TRADE card's decision flow (card-decision.ts) a trade's: its data. */
const TRADE_CARD: CardFlow<IntentRecord> = {
  kind: 'TRADE',
  deciders: ['approver'],
  deniedAction: (decision, card) => `${decision} card ${card.id}`,
  deniedReason: 'not an approver',
  load: (tx, card) => tx.intents.get(card.subjectId),
  beadId: (intent) => intent.id,
  closed: (ctx, card, intent) =>
    card.status === 'OPEN' && intent.state === 'PROPOSED' ? null : card.status === 'EXPIRED' ? 'This card expired; nothing was done.' : `Already decided${decidedBy(ctx, card)} (now ${intent.state}); nothing was done.`,
  expire: (ctx, tx, card, intent) => expireTradeCard(ctx, tx, card, intent),
};

async function pass(ctx: EngineContext, tx: Tx, card: CardRecord, intent: IntentRecord, actor: Actor, now: number): Promise<Internal> {
  await transition(ctx, tx, intent, 'CANCELLED', `passed by ${actor.name}`, {}, actor);
  await closeCard(tx, card, actor, now);
  tx.beads.append({ type: 'CARD', intentId: intent.id, ts: now, payload: { cardId: card.id, kind: card.kind, event: 'DECIDED', actor: actorRef(actor), detail: 'PASS' } });
  return { kind: 'passed', intentId: intent.id };
}

async function approve(ctx: EngineContext, tx: Tx, card: CardRecord, intent: IntentRecord, actor: Actor, now: number): Promise<Internal> {
  const gates = await evaluateGates(ctx, tx, intent, 'APPROVAL');
  const denied = refusals(gates);
  if (denied.length) {
    await transition(ctx, tx, intent, 'CANCELLED', `blocked by gate at approval: ${denied.map((d) => d.code).join(', ')}`, {}, actor);
    await closeCard(tx, card, actor, now);
    return { kind: 'blocked', denials: denied.map((d) => ({ gate: d.gate, code: d.code, message: d.message })) };
  }
  const token = await issueToken(ctx, tx, { id: `tok_${ctx.random.id(20)}`, purpose: 'TRADE', subjectId: intent.id, evidenceHash: intent.evidenceHash, actor, now });
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

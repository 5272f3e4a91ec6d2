/**
 * The PROMOTION card's buttons (SPEC 11): APPROVE runs the T2 ceremony — a single-use PROMOTION
 * token bound to the bundle hash, a re-check at this moment, consume by compare-and-set, and
 * the one write of stage LIVE; PASS keeps the strategy SHADOW. The shared card checks are
 * card-decision.ts; the request, the bundle and the card's state are promotion.usecase.ts.
 */
import { decidedBy, issueToken, openCardFor, type CardFlow, type CardStop } from './card-decision.js';
import { actorRef, type EngineContext } from './context.js';
import type { Actor, CardRecord } from './domain.js';
import { ConcurrentChangeError } from './errors.js';
import { dateClockTime, isoUtc } from './people-time.js';
import {
  assemble,
  bundleHash,
  expirePromotion,
  finishCard,
  line,
  loadPending,
  notShadow,
  type MissingItem,
  type PendingPromotion,
  type PromotionDecision,
  type PromotionDecisionOutcome,
} from './promotion.usecase.js';
import type { Tx } from './store.port.js';

export async function decidePromotion(ctx: EngineContext, cardId: string, decision: PromotionDecision, actor: Actor): Promise<PromotionDecisionOutcome> {
  const out = await ctx.store.tx(async (tx): Promise<PromotionDecisionOutcome> => {
    const open = await openCardFor(ctx, tx, PROMOTION_CARD, cardId, decision, actor);
    if (open.kind !== 'open') return stopped(open);
    const { card, subject: p, now } = open;
    if (decision === 'PASS') {
      await finishCard(tx, card, p, actor, now, { event: 'PASSED', by: actor.name, at: now });
      tx.beads.append({ type: 'PROMOTION', intentId: p.id, ts: now, payload: { strategy: p.strategy, from: 'SHADOW', to: 'SHADOW', event: 'PASSED', promotionId: p.id, cardId: card.id, bundleHash: p.bundleHash, actor: actorRef(actor) } });
      tx.beads.append({ type: 'CARD', intentId: p.id, ts: now, payload: { cardId: card.id, kind: card.kind, event: 'DECIDED', actor: actorRef(actor), detail: 'PASS' } });
      return { kind: 'passed', strategy: p.strategy, promotionId: p.id, by: actor.name };
    }
    return approveInTx(ctx, tx, card, p, actor, now);
  });
  ctx.notify();
  return out;
}

/** A tap that could not decide, as data: why, or how the card was closed (and by whom, when). */
function stopped(stop: CardStop<PendingPromotion>): PromotionDecisionOutcome {
  if (stop.kind === 'refused') {
    if (stop.why === 'NOT_ALLOWED') return { kind: 'refused', why: 'NOT_ALLOWED', needs: PROMOTION_CARD.deciders };
    return { kind: 'refused', why: stop.why === 'UNKNOWN_SUBJECT' ? 'UNKNOWN_PROMOTION' : stop.why };
  }
  const { card, subject: p } = stop;
  if (stop.kind === 'expired') return { kind: 'expired', strategy: p.strategy, promotionId: p.id };
  return { kind: 'noop', strategy: p.strategy, promotionId: p.id, cardStatus: card.status, decision: p.decision?.event ?? null, decidedBy: card.decidedBy, decidedAt: card.decidedAt };
}

/** What makes a PROMOTION card's decision flow (card-decision.ts) a promotion's: its data. */
const PROMOTION_CARD: CardFlow<PendingPromotion> = {
  kind: 'PROMOTION',
  deciders: ['approver', 'admin'],
  deniedAction: (decision, card) => `${decision} promotion card ${card.id}`,
  deniedReason: 'not an approver or admin',
  load: (tx, card) => loadPending(tx, card.subjectId),
  beadId: (p) => p.id,
  closed: (ctx, card, p) =>
    card.status === 'OPEN' ? null : card.status === 'EXPIRED' ? 'This promotion card expired; nothing was done.' : `Already ${p.decision ? p.decision.event.toLowerCase() : 'closed'}${decidedBy(ctx, card)}; nothing was done.`,
  expire: (ctx, tx, card, p) => expirePromotion(ctx, tx, card, p),
};

/**
 * APPROVE, inside the caller's transaction: issue the PROMOTION token, re-check, consume it
 * by compare-and-set, emit APPROVED and flip the stage. THE ONLY WRITE OF STAGE LIVE.
 */
async function approveInTx(ctx: EngineContext, tx: Tx, card: CardRecord, p: PendingPromotion, actor: Actor, now: number): Promise<PromotionDecisionOutcome> {
  // 1. the single-use token, bound to this promotion and its bundle hash; one per promotion
  //    (the id derives from the promotion id, so the table's key refuses a second one)
  const token = await issueToken(ctx, tx, { id: `tok_${p.id}`, purpose: 'PROMOTION', subjectId: p.id, evidenceHash: p.bundleHash, actor, now, reason: `promotion of ${p.strategy}, bundle ${p.bundleHash}` });

  // 2. re-check at this moment: the request is intact, the strategy still in the same shadow
  //    period, the evidence still complete, no kill flag, no unresolved drift
  const problems: MissingItem[] = [];
  if (bundleHash(p.bundle) !== p.bundleHash || (await requestedHash(tx, p.id)) !== p.bundleHash) {
    problems.push({ code: 'BUNDLE_CHANGED', message: 'the stored bundle no longer matches the hash recorded when it was requested' });
  }
  const rec = await tx.strategies.get(p.strategy);
  if (!rec || rec.stage !== 'SHADOW') problems.push(notShadow(p.strategy, rec, ctx.constitution.session.timeZone));
  else {
    if (isoUtc(rec.since) !== p.bundle.shadowSince) problems.push({ code: 'BUNDLE_CHANGED', message: `the shadow period of ${p.strategy} restarted at ${dateClockTime(rec.since, ctx.constitution.session.timeZone)} after the request` });
    problems.push(...(await assemble(ctx, tx, rec, now, [])).missing);
  }
  if (problems.length) {
    const reason = problems.map(line).join('; ');
    await tx.tokens.markExpired(token.id, now); // dead: never usable, never swept again
    tx.beads.append({ type: 'T2_TOKEN', intentId: p.id, ts: now, payload: { event: 'REJECTED', tokenId: token.id, purpose: 'PROMOTION', reason: `re-check at approval failed: ${reason}` } });
    tx.beads.append({ type: 'PROMOTION', intentId: p.id, ts: now, payload: { strategy: p.strategy, from: rec?.stage ?? 'UNREGISTERED', to: 'LIVE', event: 'REFUSED', missing: problems.map(line), promotionId: p.id, cardId: card.id, bundleHash: p.bundleHash, tokenId: token.id, actor: actorRef(actor) } });
    await finishCard(tx, card, p, actor, now, { event: 'REFUSED', by: actor.name, at: now, reason, tokenId: token.id });
    tx.beads.append({ type: 'CARD', intentId: p.id, ts: now, payload: { cardId: card.id, kind: card.kind, event: 'DECIDED', actor: actorRef(actor), detail: `APPROVE refused: ${reason}` } });
    return { kind: 'blocked', strategy: p.strategy, promotionId: p.id, missing: problems };
  }

  // 3. consume by compare-and-set; losing it rolls the whole transaction back
  if (!(await tx.tokens.consume(token.id, p.id, p.bundleHash, now))) throw new ConcurrentChangeError(`promotion token ${token.id}`);
  tx.beads.append({ type: 'T2_TOKEN', intentId: p.id, ts: now, payload: { event: 'USED', tokenId: token.id, purpose: 'PROMOTION' } });

  // 4. the flip (INV-PROMOTION-T2-1: the only place stage LIVE is written) and its bead
  await tx.strategies.upsert({ name: p.strategy, stage: 'LIVE', since: now, changedBy: actor.name });
  tx.beads.append({ type: 'PROMOTION', intentId: p.id, ts: now, payload: { strategy: p.strategy, from: 'SHADOW', to: 'LIVE', event: 'APPROVED', promotionId: p.id, cardId: card.id, bundleHash: p.bundleHash, tokenId: token.id, actor: actorRef(actor) } });
  await finishCard(tx, card, p, actor, now, { event: 'APPROVED', by: actor.name, at: now, tokenId: token.id });
  tx.beads.append({ type: 'CARD', intentId: p.id, ts: now, payload: { cardId: card.id, kind: card.kind, event: 'DECIDED', actor: actorRef(actor), detail: 'APPROVE' } });
  return { kind: 'promoted', strategy: p.strategy, promotionId: p.id, tokenId: token.id, bundleHash: p.bundleHash, since: now, by: actor.name };
}

/** The bundle hash the audit chain recorded for the request (beads are tamper-evident; kv is not). */
async function requestedHash(tx: Tx, promotionId: string): Promise<string | null> {
  for (const b of await tx.beads.listByIntent(promotionId)) {
    if (b.type !== 'PROMOTION') continue;
    const payload = JSON.parse(b.payload) as { event?: string; bundleHash?: string };
    if (payload.event === 'REQUESTED') return payload.bundleHash ?? null;
  }
  return null;
}

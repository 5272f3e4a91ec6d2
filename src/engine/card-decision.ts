/**
 * The one decision flow for a human's APPROVE / PASS on a card (SPEC 5, 11). TRADE and
 * PROMOTION cards share the skeleton — the card must exist and be of the kind, the actor must
 * hold a deciding role (else refused and audited), its subject must exist, the card must still
 * be open (else refused and audited as TAP_REFUSED) and unexpired (else expired now) — and
 * differ in data: the roles, the words, how a subject is loaded, closed and expired. The
 * decision itself (PASS, APPROVE with its T2 token) stays with each use case.
 */
import { actorRef, type EngineContext } from './context.js';
import type { Actor, CardRecord, Role, TokenRecord } from './domain.js';
import { clockTime, isoUtc } from './people-time.js';
import type { Tx } from './store.port.js';

export type CardDecision = 'APPROVE' | 'PASS';

/** What differs between the kinds of decidable cards. */
export interface CardFlow<S> {
  readonly kind: CardRecord['kind'];
  /** any one of these roles may decide */
  readonly deciders: readonly Role[];
  /** the ACCESS_DENIED bead's action and reason */
  readonly deniedAction: (decision: CardDecision, card: CardRecord) => string;
  readonly deniedReason: string;
  load(tx: Tx, card: CardRecord): Promise<S | null>;
  /** the id beads of this subject are filed under */
  beadId(subject: S): string;
  /** why the card can no longer be decided (already decided, expired, withdrawn), or null while it can: the TAP_REFUSED bead's detail */
  closed(ctx: EngineContext, card: CardRecord, subject: S): string | null;
  expire(ctx: EngineContext, tx: Tx, card: CardRecord, subject: S): Promise<void>;
}

/**
 * Why a tap cannot decide, as data: `why`, and for a closed or expired card the card and its
 * subject (each use case turns it into its own typed outcome; src/present words it).
 */
export type CardStop<S> =
  | { readonly kind: 'refused'; readonly why: 'UNKNOWN_CARD' | 'NOT_ALLOWED' | 'UNKNOWN_SUBJECT' | 'UNKNOWN_DECISION' }
  | { readonly kind: 'noop'; readonly why: 'CLOSED'; readonly card: CardRecord; readonly subject: S }
  | { readonly kind: 'expired'; readonly why: 'EXPIRED'; readonly card: CardRecord; readonly subject: S };
export type CardOpen<S> = { readonly kind: 'open'; readonly card: CardRecord; readonly subject: S; readonly now: number };

/** The shared checks, inside the caller's transaction: why the tap stops, or the open card to decide. */
export async function openCardFor<S>(ctx: EngineContext, tx: Tx, flow: CardFlow<S>, cardId: string, decision: CardDecision, actor: Actor): Promise<CardStop<S> | CardOpen<S>> {
  const now = ctx.clock.now();
  const card = await tx.cards.get(cardId);
  if (!card || card.kind !== flow.kind) return { kind: 'refused', why: 'UNKNOWN_CARD' };
  if (!flow.deciders.some((r) => actor.roles.includes(r))) {
    tx.beads.append({ type: 'ACCESS_DENIED', intentId: card.subjectId, ts: now, payload: { userId: actor.id, chatId: card.chatId, action: flow.deniedAction(decision, card), reason: flow.deniedReason } });
    return { kind: 'refused', why: 'NOT_ALLOWED' };
  }
  const subject = await flow.load(tx, card);
  if (!subject) return { kind: 'refused', why: 'UNKNOWN_SUBJECT' };
  if (decision !== 'APPROVE' && decision !== 'PASS') return { kind: 'refused', why: 'UNKNOWN_DECISION' };
  const closed = flow.closed(ctx, card, subject);
  if (closed !== null) {
    tx.beads.append({ type: 'CARD', intentId: flow.beadId(subject), ts: now, payload: { cardId: card.id, kind: card.kind, event: 'TAP_REFUSED', actor: actorRef(actor), detail: closed } });
    return { kind: 'noop', why: 'CLOSED', card, subject };
  }
  if (now >= card.expiresAt) {
    await flow.expire(ctx, tx, card, subject);
    return { kind: 'expired', why: 'EXPIRED', card, subject };
  }
  return { kind: 'open', card, subject, now };
}

/** " by Alice at 10:42" of a card already decided (each part only when known). */
export function decidedBy(ctx: EngineContext, card: CardRecord): string {
  const who = card.decidedBy ? ` by ${card.decidedBy}` : '';
  const when = card.decidedAt ? ` at ${clockTime(card.decidedAt, ctx.constitution.session.timeZone)}` : '';
  return `${who}${when}`;
}

/**
 * The single-use T2 token an APPROVE issues, bound to its subject and evidence hash, with its
 * ISSUED bead. `id` comes from the caller (a trade draws a random one; a promotion derives it).
 */
export async function issueToken(
  ctx: EngineContext,
  tx: Tx,
  t: { readonly id: string; readonly purpose: TokenRecord['purpose']; readonly subjectId: string; readonly evidenceHash: string; readonly actor: Actor; readonly now: number; readonly reason?: string },
): Promise<TokenRecord> {
  const token: TokenRecord = {
    id: t.id,
    purpose: t.purpose,
    intentId: t.subjectId,
    evidenceHash: t.evidenceHash,
    issuedAt: t.now,
    expiresAt: t.now + ctx.constitution.approval.tokenTtlSec * 1000,
    usedAt: null,
    expiredAt: null,
    issuedTo: t.actor.id,
  };
  await tx.tokens.insert(token);
  tx.beads.append({ type: 'T2_TOKEN', intentId: t.subjectId, ts: t.now, payload: { event: 'ISSUED', tokenId: token.id, purpose: t.purpose, actor: actorRef(t.actor), expiresAt: isoUtc(token.expiresAt), ...(t.reason !== undefined ? { reason: t.reason } : {}) } });
  return token;
}

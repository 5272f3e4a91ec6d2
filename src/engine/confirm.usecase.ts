/**
 * Two-step confirmations for risky actions: /resume and /flatten (admin), and per position the
 * re-protect / close of an unprotected one (approver+, MONEY-1) and the broker-checked cancel of a
 * STALLED entry (admin, SAFE-13). A confirmation card has its own short expiry, its state on the
 * server, is re-validated on confirm (style.md #9) and answers only its asker (SAFE-10).
 */
import { actorRef, type EngineContext } from './context.js';
import type { Actor, CardKind, CardRecord, Role } from './domain.js';
import { flatten } from './flatten.usecase.js';
import { resume } from './kill.usecase.js';
import { reprotect, type ReprotectOutcome } from './protection.usecase.js';
import { cancelStalledConfirmed } from './stalled.usecase.js';

export const CONFIRM_TTL_MS = 60_000;

export type ConfirmKind = Extract<CardKind, 'CONFIRM_RESUME' | 'CONFIRM_FLATTEN' | 'CONFIRM_REPROTECT' | 'CONFIRM_CLOSE' | 'CONFIRM_CANCEL_STALLED'>;

/** Who may ask for (and answer) each confirmation, and whether it names one intent. */
export const CONFIRMS: Readonly<Record<ConfirmKind, { readonly role: Role; readonly perIntent: boolean }>> = {
  CONFIRM_RESUME: { role: 'admin', perIntent: false },
  CONFIRM_FLATTEN: { role: 'admin', perIntent: false },
  CONFIRM_REPROTECT: { role: 'approver', perIntent: true },
  CONFIRM_CLOSE: { role: 'approver', perIntent: true },
  CONFIRM_CANCEL_STALLED: { role: 'admin', perIntent: true },
};

export const isConfirmKind = (k: CardKind): k is ConfirmKind => k in CONFIRMS;

export type ConfirmRequest = { readonly ok: true; readonly cardId: string; readonly expiresAt: number } | { readonly ok: false; readonly message: string };

export async function requestConfirmation(ctx: EngineContext, kind: ConfirmKind, actor: Actor, intentId?: string): Promise<ConfirmRequest> {
  const now = ctx.clock.now();
  const rule = CONFIRMS[kind];
  if (!actor.roles.includes(rule.role) && !actor.roles.includes('admin')) {
    await ctx.store.tx(async (tx) => {
      tx.beads.append({ type: 'ACCESS_DENIED', intentId: intentId ?? null, ts: now, payload: { userId: actor.id, chatId: null, action: kind, reason: `${rule.role} role needed` } });
    });
    return { ok: false, message: `Not allowed: ${rule.role} role needed.` };
  }
  if (rule.perIntent && !intentId) return { ok: false, message: 'Which position? (no intent given)' };
  const subject = `${kind}:${actor.id}:${now}${rule.perIntent ? `:${intentId}` : ''}`;
  const card: CardRecord = { id: ctx.random.id(10), kind, subjectId: subject, chatId: ctx.chatId, messageId: null, status: 'OPEN', version: 1, renderedVersion: 0, expiresAt: now + CONFIRM_TTL_MS, decidedBy: null, decidedAt: null, createdAt: now, updatedAt: now };
  await ctx.store.tx(async (tx) => {
    if (rule.perIntent && !(await tx.intents.get(intentId!))) throw new Error(`unknown intent ${intentId}`);
    await tx.cards.insert(card);
    tx.beads.append({ type: 'CARD', intentId: intentId ?? null, ts: now, payload: { cardId: card.id, kind, event: 'CREATED', actor: actorRef(actor) } });
  });
  return { ok: true, cardId: card.id, expiresAt: card.expiresAt };
}

/** a confirmed re-protect answers with its own typed outcome (the others still carry words) */
export type ConfirmOutcome = { readonly ok: boolean; readonly message: string } | ReprotectOutcome;

/** The confirmation card's subject is `KIND:askerId:requestedAt[:intentId]` (written by requestConfirmation). */
function askerOf(card: CardRecord): string {
  return card.subjectId.split(':')[1] ?? '';
}

export function intentOf(card: Pick<CardRecord, 'subjectId'>): string {
  return card.subjectId.split(':')[3] ?? '';
}

export async function answerConfirmation(ctx: EngineContext, cardId: string, confirmed: boolean, actor: Actor): Promise<ConfirmOutcome> {
  const now = ctx.clock.now();
  const check = await ctx.store.tx(async (tx) => {
    const card = await tx.cards.get(cardId);
    if (!card || !isConfirmKind(card.kind)) return { ok: false, message: 'Unknown confirmation.' } as const;
    const role = CONFIRMS[card.kind].role;
    if (!actor.roles.includes(role) && !actor.roles.includes('admin')) {
      tx.beads.append({ type: 'ACCESS_DENIED', intentId: null, ts: now, payload: { userId: actor.id, chatId: card.chatId, action: `confirm ${card.kind}`, reason: `${role} role needed` } });
      return { ok: false, message: `Not allowed: ${role} role needed.` } as const;
    }
    // INV-CONFIRM-ASKER-1: a confirmation answers only the admin who asked for it
    const asker = askerOf(card);
    if (asker !== actor.id) {
      tx.beads.append({ type: 'ACCESS_DENIED', intentId: null, ts: now, payload: { userId: actor.id, chatId: card.chatId, action: `confirm ${card.kind}`, reason: `confirmation belongs to user ${asker}` } });
      return { ok: false, message: 'Not yours: only the admin who asked can answer this confirmation. Send the command yourself.' } as const;
    }
    if (card.status !== 'OPEN') return { ok: false, message: card.status === 'EXPIRED' ? 'This confirmation expired; nothing was done. Send the command again.' : 'Already answered; nothing was done.' } as const;
    if (now >= card.expiresAt) {
      await tx.cards.update(card.id, { status: 'EXPIRED', updatedAt: now });
      await tx.cards.touch(card.id, now);
      return { ok: false, message: 'This confirmation expired; nothing was done. Send the command again.' } as const;
    }
    // DECIDED = confirmed, CLOSED = cancelled: the card, edited in place, says which (one message per tap)
    await tx.cards.update(card.id, { status: confirmed ? 'DECIDED' : 'CLOSED', decidedBy: actor.name, decidedAt: now, updatedAt: now });
    await tx.cards.touch(card.id, now);
    tx.beads.append({ type: 'CARD', intentId: null, ts: now, payload: { cardId: card.id, kind: card.kind, event: 'DECIDED', actor: actorRef(actor), detail: confirmed ? 'CONFIRM' : 'CANCEL' } });
    return { ok: true, kind: card.kind, intentId: intentOf(card) } as const;
  });
  ctx.notify();
  if (!check.ok) return check;
  if (!confirmed) return { ok: true, message: 'Cancelled; nothing was done.' };
  switch (check.kind) {
    case 'CONFIRM_RESUME':
      // the confirmation card in the main chat says it (no second message through the alerts)
      return resume(ctx, actor, { announce: false });
    case 'CONFIRM_FLATTEN':
      return flatten(ctx, actor);
    case 'CONFIRM_REPROTECT':
      return reprotect(ctx, check.intentId, actor);
    case 'CONFIRM_CLOSE':
      return flatten(ctx, actor, `close ${check.intentId}`, { only: (i) => i.id === check.intentId, approverMay: true });
    case 'CONFIRM_CANCEL_STALLED':
      return cancelStalledConfirmed(ctx, check.intentId, actor);
  }
}

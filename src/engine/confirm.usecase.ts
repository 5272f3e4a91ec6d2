/**
 * Two-step confirmations for risky admin actions (/resume, /flatten): a confirmation card
 * with its own short expiry, state on the server, re-validated on confirm (style.md #9).
 */
import { actorRef, type EngineContext } from './context.js';
import type { Actor, CardKind, CardRecord } from './domain.js';
import { flatten, resume } from './kill.usecase.js';

export const CONFIRM_TTL_MS = 60_000;

export type ConfirmKind = Extract<CardKind, 'CONFIRM_RESUME' | 'CONFIRM_FLATTEN'>;

export type ConfirmRequest = { readonly ok: true; readonly cardId: string; readonly expiresAt: number } | { readonly ok: false; readonly message: string };

export async function requestConfirmation(ctx: EngineContext, kind: ConfirmKind, actor: Actor): Promise<ConfirmRequest> {
  const now = ctx.clock.now();
  if (!actor.roles.includes('admin')) {
    await ctx.store.tx(async (tx) => {
      tx.beads.append({ type: 'ACCESS_DENIED', intentId: null, ts: now, payload: { userId: actor.id, chatId: null, action: kind, reason: 'admin role needed' } });
    });
    return { ok: false, message: 'Not allowed: admin role needed.' };
  }
  const card: CardRecord = { id: ctx.random.id(10), kind, subjectId: `${kind}:${actor.id}:${now}`, chatId: ctx.chatId, messageId: null, status: 'OPEN', version: 1, renderedVersion: 0, expiresAt: now + CONFIRM_TTL_MS, decidedBy: null, decidedAt: null, createdAt: now, updatedAt: now };
  await ctx.store.tx(async (tx) => {
    await tx.cards.insert(card);
    tx.beads.append({ type: 'CARD', intentId: null, ts: now, payload: { cardId: card.id, kind, event: 'CREATED', actor: actorRef(actor) } });
  });
  return { ok: true, cardId: card.id, expiresAt: card.expiresAt };
}

export type ConfirmOutcome = { readonly ok: boolean; readonly message: string };

/** The confirmation card's subject is `KIND:askerId:requestedAt` (written by requestConfirmation). */
function askerOf(card: CardRecord): string {
  return card.subjectId.split(':')[1] ?? '';
}

export async function answerConfirmation(ctx: EngineContext, cardId: string, confirmed: boolean, actor: Actor): Promise<ConfirmOutcome> {
  const now = ctx.clock.now();
  const check = await ctx.store.tx(async (tx) => {
    const card = await tx.cards.get(cardId);
    if (!card || (card.kind !== 'CONFIRM_RESUME' && card.kind !== 'CONFIRM_FLATTEN')) return { ok: false, message: 'Unknown confirmation.' } as const;
    if (!actor.roles.includes('admin')) {
      tx.beads.append({ type: 'ACCESS_DENIED', intentId: null, ts: now, payload: { userId: actor.id, chatId: card.chatId, action: `confirm ${card.kind}`, reason: 'admin role needed' } });
      return { ok: false, message: 'Not allowed: admin role needed.' } as const;
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
    await tx.cards.update(card.id, { status: 'DECIDED', decidedBy: actor.name, decidedAt: now, updatedAt: now });
    await tx.cards.touch(card.id, now);
    tx.beads.append({ type: 'CARD', intentId: null, ts: now, payload: { cardId: card.id, kind: card.kind, event: 'DECIDED', actor: actorRef(actor), detail: confirmed ? 'CONFIRM' : 'CANCEL' } });
    return { ok: true, kind: card.kind } as const;
  });
  ctx.notify();
  if (!check.ok) return check;
  if (!confirmed) return { ok: true, message: 'Cancelled; nothing was done.' };
  return check.kind === 'CONFIRM_RESUME' ? resume(ctx, actor) : flatten(ctx, actor);
}

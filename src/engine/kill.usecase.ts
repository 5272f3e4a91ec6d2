/**
 * Kill switch and exits (SPEC 4, 12). /halt is the fast path: one transaction, no
 * confirmation. /resume lifts every active kill flag (manual and stale) and /flatten closes
 * everything; both are admin-only and go through a confirmation card first (confirm.usecase).
 * Exits never need a token and are never blocked by a kill flag.
 */
import { actorRef, type EngineContext } from './context.js';
import type { Actor, KillFlag } from './domain.js';

export type KillOutcome = { readonly ok: true; readonly message: string } | { readonly ok: false; readonly message: string };

export async function halt(ctx: EngineContext, actor: Actor, reason: string): Promise<KillOutcome> {
  if (!actor.roles.includes('approver') && !actor.roles.includes('admin')) return denied(ctx, actor, 'halt', 'approver or admin role needed');
  const text = reason.trim().slice(0, 200) || 'no reason given';
  const now = ctx.clock.now();
  const flag: KillFlag = { id: `kill_${ctx.random.id(10)}`, kind: 'MANUAL', reason: text, setBy: actor.name, setAt: now, expiresAt: null, clearedAt: null, clearedBy: null };
  await ctx.store.tx(async (tx) => {
    await tx.kills.insert(flag);
    tx.beads.append({ type: 'KILL_FLAG', intentId: null, ts: now, payload: { action: 'SET', flagId: flag.id, kind: 'MANUAL', reason: text, actor: actorRef(actor), expiresAt: null } });
    tx.alerts.enqueue({ type: 'HALT', at: now, payload: { summary: `HALTED by ${actor.name}: ${text}. New entries are blocked; exits still allowed.`, facts: { by: actor.name } } });
  });
  ctx.notify();
  return { ok: true, message: `Halted. New entries are blocked (exits still allowed). Reason: ${text}` };
}

export async function resume(ctx: EngineContext, actor: Actor): Promise<KillOutcome> {
  if (!actor.roles.includes('admin')) return denied(ctx, actor, 'resume', 'admin role needed');
  const now = ctx.clock.now();
  const cleared = await ctx.store.tx(async (tx) => {
    const active = await tx.kills.active(now);
    for (const k of active) {
      if (!(await tx.kills.clear(k.id, actor.name, now))) continue;
      tx.beads.append({ type: 'KILL_FLAG', intentId: null, ts: now, payload: { action: 'CLEARED', flagId: k.id, kind: k.kind, reason: k.reason, actor: actorRef(actor) } });
    }
    if (active.length) tx.alerts.enqueue({ type: 'KILL_FLAG_CLEARED', at: now, payload: { summary: `Trading resumed by ${actor.name} (${active.length} kill flag${active.length > 1 ? 's' : ''} lifted).` } });
    return active.length;
  });
  ctx.notify();
  return cleared ? { ok: true, message: `Resumed: ${cleared} kill flag(s) lifted.` } : { ok: true, message: 'No kill flag was active; nothing changed.' };
}

/** Mark stale-state kill flags whose 5 minutes passed as cleared by expiry (for the record). */
export async function lapseKillFlags(ctx: EngineContext): Promise<number> {
  const now = ctx.clock.now();
  return ctx.store.tx(async (tx) => {
    const lapsed = await tx.kills.listLapsed(now);
    for (const k of lapsed) {
      if (!(await tx.kills.clear(k.id, 'expiry', now))) continue;
      tx.beads.append({ type: 'KILL_FLAG', intentId: null, ts: now, payload: { action: 'EXPIRED', flagId: k.id, kind: k.kind, reason: k.reason } });
    }
    return lapsed.length;
  });
}

export { flatten, type FlattenReport } from './flatten.usecase.js';

async function denied(ctx: EngineContext, actor: Actor, action: string, reason: string): Promise<KillOutcome> {
  await ctx.store.tx(async (tx) => {
    tx.beads.append({ type: 'ACCESS_DENIED', intentId: null, ts: ctx.clock.now(), payload: { userId: actor.id, chatId: null, action, reason } });
  });
  return { ok: false, message: `Not allowed: ${reason}.` };
}

/**
 * Kill switch and exits (SPEC 4, 12). /halt is the fast path: one transaction, no
 * confirmation. /resume lifts the manual kill flags (a stale-state pause ends by expiry or a
 * fresh state only) and /flatten closes everything; both are admin-only and go through a
 * confirmation card that answers only its asker (confirm.usecase).
 * Exits never need a token and are never blocked by a kill flag.
 */
import { actorRef, type EngineContext } from './context.js';
import type { Actor, KillFlag, Role } from './domain.js';
import { notAllowed, type NotAllowed } from './outcome.js';

/**
 * What /halt and /resume did, as data (src/present/kill.text.ts words it). `remaining`: the
 * stale-state pauses /resume may not lift, still active (their reason and expiry are shown).
 */
export type KillOutcome =
  | { readonly ok: true; readonly code: 'HALTED'; readonly reason: string }
  | { readonly ok: true; readonly code: 'RESUMED'; readonly cleared: number; readonly remaining: readonly KillFlag[] }
  | { readonly ok: true; readonly code: 'NOTHING_LIFTED'; readonly remaining: readonly KillFlag[] }
  | NotAllowed;

export async function halt(ctx: EngineContext, actor: Actor, reason: string): Promise<KillOutcome> {
  if (!actor.roles.includes('approver') && !actor.roles.includes('admin')) return denied(ctx, actor, 'halt', ['approver', 'admin']);
  const text = reason.trim().slice(0, 200) || 'no reason given';
  const id = `kill_${ctx.random.id(10)}`;
  await ctx.store.tx(async (tx) => {
    // the kill's time is read inside its transaction: transactions run one at a time, so no
    // entry's last look (also timed inside its own) can pass after it (INV-KILL-LAST-MOMENT-1)
    const now = ctx.clock.now();
    const flag: KillFlag = { id, kind: 'MANUAL', reason: text, setBy: actor.name, setAt: now, expiresAt: null, clearedAt: null, clearedBy: null };
    await tx.kills.insert(flag);
    tx.beads.append({ type: 'KILL_FLAG', intentId: null, ts: now, payload: { action: 'SET', flagId: id, kind: 'MANUAL', reason: text, actor: actorRef(actor), expiresAt: null } });
    tx.alerts.enqueue({ type: 'HALT', at: now, payload: { summary: `HALTED by ${actor.name}: ${text}. New entries are blocked; exits still allowed.`, facts: { by: actor.name } } });
  });
  ctx.notify();
  return { ok: true, code: 'HALTED', reason: text };
}

/**
 * /resume lifts MANUAL (and SYSTEM) kill flags only (SAFE-10). A stale-state flag is not a
 * human's to lift: SPEC 4 clears it only by expiry or a fresh market state; the answer says
 * which remain and until when.
 */
export async function resume(ctx: EngineContext, actor: Actor, opts: { readonly announce?: boolean } = {}): Promise<KillOutcome> {
  if (!actor.roles.includes('admin')) return denied(ctx, actor, 'resume', ['admin']);
  const { cleared, remaining } = await ctx.store.tx(async (tx) => {
    const now = ctx.clock.now();
    const active = await tx.kills.active(now);
    let n = 0;
    for (const k of active.filter((x) => x.kind !== 'STALE')) {
      if (!(await tx.kills.clear(k.id, actor.name, now))) continue;
      n++;
      tx.beads.append({ type: 'KILL_FLAG', intentId: null, ts: now, payload: { action: 'CLEARED', flagId: k.id, kind: k.kind, reason: k.reason, actor: actorRef(actor) } });
    }
    const left = active.filter((x) => x.kind === 'STALE');
    // announce: false when the confirmation card in the main chat already says it (Telegram /resume)
    if (n && opts.announce !== false) tx.alerts.enqueue({ type: 'KILL_FLAG_CLEARED', at: now, payload: { summary: `Trading resumed by ${actor.name} (${n} kill flag${n > 1 ? 's' : ''} lifted)${left.length ? `; ${left.length} stale-state pause(s) remain until they expire` : ''}.` } });
    return { cleared: n, remaining: left };
  });
  ctx.notify();
  return cleared ? { ok: true, code: 'RESUMED', cleared, remaining } : { ok: true, code: 'NOTHING_LIFTED', remaining };
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

async function denied(ctx: EngineContext, actor: Actor, action: string, needs: Role[]): Promise<NotAllowed> {
  await ctx.store.tx(async (tx) => {
    tx.beads.append({ type: 'ACCESS_DENIED', intentId: null, ts: ctx.clock.now(), payload: { userId: actor.id, chatId: null, action, reason: `${needs.join(' or ')} role needed` } });
  });
  return notAllowed(...needs);
}

/**
 * Kill switch and exits (SPEC 4, 12). /halt is the fast path: one transaction, no
 * confirmation. /resume lifts every active kill flag (manual and stale) and /flatten closes
 * everything; both are admin-only and go through a confirmation card first (confirm.usecase).
 * Exits never need a token and are never blocked by a kill flag.
 */
import { actorRef, type EngineContext } from './context.js';
import type { Actor, IntentRecord, KillFlag } from './domain.js';

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

export interface FlattenReport {
  readonly ok: boolean;
  readonly message: string;
  readonly closing: readonly string[];
  readonly cancelled: readonly string[];
  readonly failed: readonly string[];
}

/** Close every open position at market and cancel working entries. No token needed. */
export async function flatten(ctx: EngineContext, actor: Actor, why = 'flatten'): Promise<FlattenReport> {
  if (!actor.roles.includes('admin') && actor.via !== 'system') {
    const r = await denied(ctx, actor, 'flatten', 'admin role needed');
    return { ...r, closing: [], cancelled: [], failed: [] };
  }
  const open = await ctx.store.tx((tx) => tx.intents.listByState(['SUBMITTED', 'STALLED', 'FILLED', 'MANAGED']));
  const closing: string[] = [];
  const cancelled: string[] = [];
  const failed: string[] = [];
  for (const intent of open) {
    try {
      if (intent.state === 'SUBMITTED' || intent.state === 'STALLED') {
        if (await cancelLeg(ctx, intent, 'ENTRY', actor)) cancelled.push(intent.id);
      }
      if ((intent.state === 'FILLED' || intent.state === 'MANAGED') && intent.filledQty - intent.exitQty > 0) {
        await closeAtMarket(ctx, intent, actor, why);
        closing.push(intent.id);
      }
    } catch (e) {
      failed.push(`${intent.id}: ${(e as Error).message}`);
    }
  }
  const now = ctx.clock.now();
  await ctx.store.tx(async (tx) => {
    tx.alerts.enqueue({ type: 'FLATTEN', at: now, payload: { summary: `Flatten by ${actor.name}: closing ${closing.length}, cancelling ${cancelled.length}${failed.length ? `, FAILED ${failed.length} — check the broker` : ''}.` } });
  });
  ctx.notify();
  const message = `Flatten: closing ${closing.length} position(s), cancelling ${cancelled.length} working order(s)${failed.length ? `; ${failed.length} failed: ${failed.join('; ')}` : ''}.`;
  return { ok: failed.length === 0, message, closing, cancelled, failed };
}

async function cancelLeg(ctx: EngineContext, intent: IntentRecord, role: 'ENTRY' | 'STOP' | 'TARGET', actor: Actor): Promise<boolean> {
  const orders = await ctx.store.tx((tx) => tx.orders.listByIntent(intent.id));
  const o = orders.find((x) => x.role === role);
  if (!o?.brokerOrderId || o.status === 'FILLED' || o.status === 'CANCELLED' || o.status === 'REJECTED') return false;
  await ctx.store.tx(async (tx) => {
    tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: ctx.clock.now(), payload: { role, event: 'CANCEL_REQUESTED', brokerOrderId: o.brokerOrderId, detail: `by ${actor.name}` } });
  });
  await ctx.broker.cancel(o.brokerOrderId);
  return true;
}

async function closeAtMarket(ctx: EngineContext, intent: IntentRecord, actor: Actor, why: string): Promise<void> {
  await cancelLeg(ctx, intent, 'STOP', actor).catch(() => false);
  await cancelLeg(ctx, intent, 'TARGET', actor).catch(() => false);
  const qty = intent.filledQty - intent.exitQty;
  const now = ctx.clock.now();
  await ctx.store.tx(async (tx) => {
    const existing = (await tx.orders.listByIntent(intent.id)).find((o) => o.role === 'EXIT');
    if (!existing) await tx.orders.insert({ id: `ord_${ctx.random.id(12)}`, intentId: intent.id, role: 'EXIT', brokerOrderId: null, status: 'PENDING', quantity: qty, filledQty: 0, avgFillPrice: null, createdAt: now, updatedAt: now });
    tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: now, payload: { role: 'EXIT', event: 'PLACING', detail: `${why} by ${actor.name}: market exit of ${qty}` } });
  });
  const leg = await ctx.broker.placeOrder({ orderRef: intent.id, role: 'EXIT', instrument: intent.instrument, side: intent.side === 'BUY' ? 'SELL' : 'BUY', quantity: qty, type: 'MKT' });
  await ctx.store.tx(async (tx) => {
    await tx.orders.update(intent.id, 'EXIT', { brokerOrderId: leg.brokerOrderId, updatedAt: ctx.clock.now() });
    tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: ctx.clock.now(), payload: { role: 'EXIT', event: 'PLACED', brokerOrderId: leg.brokerOrderId } });
  });
}

async function denied(ctx: EngineContext, actor: Actor, action: string, reason: string): Promise<KillOutcome> {
  await ctx.store.tx(async (tx) => {
    tx.beads.append({ type: 'ACCESS_DENIED', intentId: null, ts: ctx.clock.now(), payload: { userId: actor.id, chatId: null, action, reason } });
  });
  return { ok: false, message: `Not allowed: ${reason}.` };
}

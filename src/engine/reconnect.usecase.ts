/**
 * Broker reconnect on human request (SPEC 7, RB-001). After three failed reconnects (or a
 * failed connect at start-up) the broker session stays down until a human acts: `phoenix
 * reconnect` records the request in the database (it works from any process); the service's
 * broker-reconnect job honours it once, with an IBKR_SESSION bead either way.
 */
import { actorRef, type EngineContext } from './context.js';
import type { Actor } from './domain.js';
import { KV } from './kv.keys.js';
import { notAllowed, type NotAllowed } from './outcome.js';

/** `phoenix reconnect`'s answer, as data (src/present/reconnect.text.ts words it). */
export type ReconnectRequestOutcome = { readonly ok: true; readonly code: 'RECONNECT_REQUESTED' } | NotAllowed;

export async function requestReconnect(ctx: EngineContext, actor: Actor): Promise<ReconnectRequestOutcome> {
  if (!actor.roles.includes('admin')) return notAllowed('admin');
  const now = ctx.clock.now();
  await ctx.store.tx(async (tx) => {
    await tx.kv.set(KV.reconnectRequestedAt, String(now), now);
    tx.beads.append({ type: 'IBKR_SESSION', intentId: null, ts: now, payload: { state: 'RECONNECT_REQUESTED', detail: `reconnect requested by ${actorRef(actor).name}` } });
  });
  return { ok: true, code: 'RECONNECT_REQUESTED' };
}

export type ReconnectOutcome = 'NONE' | 'ALREADY_READY' | 'CONNECTED' | 'FAILED';

/** Called by the job: honour a pending request once. Never throws. */
export async function honourReconnectRequest(ctx: EngineContext): Promise<ReconnectOutcome> {
  const pending = await ctx.store.tx(async (tx) => {
    const requested = Number((await tx.kv.get(KV.reconnectRequestedAt)) ?? 0);
    const handled = Number((await tx.kv.get(KV.reconnectHandledAt)) ?? 0);
    if (!requested || requested <= handled) return false;
    await tx.kv.set(KV.reconnectHandledAt, String(requested), ctx.clock.now());
    return true;
  });
  if (!pending) return 'NONE';
  if (ctx.broker.health().state === 'READY') return 'ALREADY_READY';
  try {
    await ctx.broker.connect();
    return 'CONNECTED';
  } catch (e) {
    const detail = `reconnect on request failed: ${(e as Error).message}`;
    await ctx.store.tx(async (tx) => {
      const now = ctx.clock.now();
      tx.beads.append({ type: 'IBKR_SESSION', intentId: null, ts: now, payload: { state: 'DOWN', detail } });
      tx.alerts.enqueue({ type: 'IBKR_ESCALATION', at: now, payload: { summary: `Broker still down: ${detail}. Fix the gateway, then npx phoenix reconnect.` } });
    });
    return 'FAILED';
  }
}

/**
 * Resolving a STALLED entry (SPEC 6: STALLED → FILLED on a late fill, STALLED → CANCELLED
 * when "a human cancels (confirmed with the broker)").
 *
 * A late fill needs nothing here: broker-events applies STALLED → FILLED like any fill.
 * `cancelStalledConfirmed` is the human cancel. Unlike kill.usecase's `cancelStalled`, which
 * trusts Phoenix's own order row (a row without a broker id, e.g. after an unknown-outcome
 * placement, is cancelled locally while the order may still be live at the broker), it asks
 * the broker by orderRef first:
 *   - the broker has fills for the entry → they are applied (the position is FILLED, not
 *     cancelled) and the human is told;
 *   - the broker has the entry working → cancel it there; the broker's CANCELLED event moves
 *     the intent (the card updates then);
 *   - the broker has the entry already CANCELLED/REJECTED → that status is applied;
 *   - only when the broker has NO order and NO fill for the orderRef is CANCELLED recorded
 *     directly.
 * With the broker unreachable nothing is recorded: the cancel cannot be confirmed.
 */
import { BrokerRefusedError, BrokerUnavailableError } from './broker.port.js';
import { onBrokerEvent } from './broker-events.usecase.js';
import { transition, type EngineContext } from './context.js';
import type { Actor } from './domain.js';

export type StalledCancelOutcome =
  | { readonly ok: true; readonly kind: 'cancel-sent' | 'cancelled' | 'filled' | 'already-final'; readonly message: string }
  | { readonly ok: false; readonly message: string };

export async function cancelStalledConfirmed(ctx: EngineContext, intentId: string, actor: Actor): Promise<StalledCancelOutcome> {
  const now = ctx.clock.now();
  if (!actor.roles.includes('admin')) {
    await ctx.store.tx(async (tx) => {
      tx.beads.append({ type: 'ACCESS_DENIED', intentId: null, ts: now, payload: { userId: actor.id, chatId: null, action: 'cancel stalled', reason: 'admin role needed' } });
    });
    return { ok: false, message: 'Not allowed: admin role needed.' };
  }
  const intent = await ctx.store.tx((tx) => tx.intents.get(intentId));
  if (!intent || intent.state !== 'STALLED') return { ok: false, message: `Intent ${intentId} is not STALLED${intent ? ` (it is ${intent.state})` : ''}.` };
  let report;
  try {
    report = await ctx.broker.findByOrderRef(intent.id);
  } catch (e) {
    if (e instanceof BrokerUnavailableError) return { ok: false, message: `Broker unreachable: cannot confirm the cancel, nothing changed (${e.message}).` };
    throw e;
  }
  const entryFills = report.fills.filter((f) => f.role === 'ENTRY');
  const entry = report.orders.find((o) => o.role === 'ENTRY');
  if (entryFills.length) {
    for (const fill of report.fills) await onBrokerEvent(ctx, { kind: 'fill', fill });
    return { ok: true, kind: 'filled', message: `Not cancelled: the broker filled ${entryFills.reduce((a, f) => a + f.quantity, 0)} of this entry; the position is now tracked.` };
  }
  if (entry && (entry.status === 'PENDING' || entry.status === 'WORKING')) {
    await ctx.store.tx(async (tx) => {
      const rows = await tx.orders.listByIntent(intent.id);
      if (rows.some((r) => r.role === 'ENTRY' && !r.brokerOrderId)) await tx.orders.update(intent.id, 'ENTRY', { brokerOrderId: entry.brokerOrderId, updatedAt: now });
      tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: now, payload: { role: 'ENTRY', event: 'CANCEL_REQUESTED', brokerOrderId: entry.brokerOrderId, detail: `stalled entry, by ${actor.name}` } });
    });
    try {
      await ctx.broker.cancel(entry.brokerOrderId);
    } catch (e) {
      if (e instanceof BrokerUnavailableError || e instanceof BrokerRefusedError) return { ok: false, message: `The broker did not take the cancel (${e.message}); the intent stays STALLED.` };
      throw e;
    }
    return { ok: true, kind: 'cancel-sent', message: 'Cancel sent to the broker; the card updates when the broker confirms.' };
  }
  if (entry) {
    await onBrokerEvent(ctx, { kind: 'orderStatus', orderRef: entry.orderRef, role: 'ENTRY', brokerOrderId: entry.brokerOrderId, status: entry.status, filledQty: entry.filledQty, reason: `broker reports ${entry.status} (checked by ${actor.name})` });
    return { ok: true, kind: 'already-final', message: `The broker already shows this entry ${entry.status}; recorded.` };
  }
  const done = await ctx.store.tx(async (tx) => {
    const fresh = await tx.intents.get(intentId);
    if (fresh?.state !== 'STALLED') return false;
    await transition(ctx, tx, fresh, 'CANCELLED', `cancelled by ${actor.name}; broker confirms no order and no fill for this orderRef`, {}, actor);
    return true;
  });
  ctx.notify();
  return done ? { ok: true, kind: 'cancelled', message: 'Cancelled: the broker has no order for this intent.' } : { ok: false, message: 'The intent changed meanwhile; nothing was done.' };
}

/**
 * SAFE-13: the human path when the broker cannot answer for a STALLED entry that never got a
 * broker id (it counts against the position limit until resolved). An admin who has checked the
 * broker (TWS / IBKR Mobile: no order and no fill with this intent id as Order Ref) records that,
 * with a note; the intent is CANCELLED, the note and the admin are in its beads. When the broker
 * IS reachable and knows the order, its word wins: the attestation is refused.
 */
export async function resolveStalledChecked(ctx: EngineContext, intentId: string, actor: Actor, note: string): Promise<StalledCancelOutcome> {
  const now = ctx.clock.now();
  const text = note.trim().slice(0, 300);
  if (!actor.roles.includes('admin')) {
    await ctx.store.tx(async (tx) => {
      tx.beads.append({ type: 'ACCESS_DENIED', intentId, ts: now, payload: { userId: actor.id, chatId: null, action: 'resolve stalled', reason: 'admin role needed' } });
    });
    return { ok: false, message: 'Not allowed: admin role needed.' };
  }
  if (!text) return { ok: false, message: 'Say what you checked at the broker (a note is required), e.g. "TWS: no order with this Order Ref".' };
  if (ctx.broker.health().canSubmit) {
    try {
      const report = await ctx.broker.findByOrderRef(intentId);
      if (report.orders.length || report.fills.length) return { ok: false, message: `The broker knows this order (${report.orders.length} order(s), ${report.fills.length} fill(s)): not resolved by hand. Use the broker check (cancel) instead.` };
    } catch {
      /* unreachable after all: the human's check stands */
    }
  }
  const done = await ctx.store.tx(async (tx) => {
    const intent = await tx.intents.get(intentId);
    if (intent?.state !== 'STALLED') return intent ? `Intent ${intentId} is ${intent.state}, not STALLED; nothing changed.` : `Unknown intent ${intentId}.`;
    const orders = await tx.orders.listByIntent(intentId);
    if (orders.some((o) => o.brokerOrderId && o.status !== 'CANCELLED' && o.status !== 'REJECTED')) return `Intent ${intentId} has a broker order id: use the broker check (cancel) instead; nothing changed.`;
    for (const o of orders) if (o.status === 'PENDING' || o.status === 'UNKNOWN') await tx.orders.update(intentId, o.role, { status: 'CANCELLED', updatedAt: now });
    tx.beads.append({ type: 'ORDER', intentId, ts: now, payload: { role: 'ENTRY', event: 'STATUS', status: 'CANCELLED', detail: `resolved by ${actor.name} after checking the broker: ${text}` } });
    await transition(ctx, tx, intent, 'CANCELLED', `resolved by ${actor.name} after checking the broker: ${text}`, {}, actor);
    return null;
  });
  ctx.notify();
  return done === null ? { ok: true, kind: 'cancelled', message: `Resolved: ${intentId} is CANCELLED (checked at the broker by ${actor.name}: ${text}).` } : { ok: false, message: done };
}

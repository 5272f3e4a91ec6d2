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
import type { Actor, IntentState, OrderStatus } from './domain.js';
import { notAllowed, type NotAllowed } from './outcome.js';

/**
 * The broker-checked cancel of a STALLED entry, as data (src/present/stalled.text.ts words it).
 * `detail`: the broker's error text, shown to the human.
 */
export type StalledCancelOutcome =
  /** the entry was working at the broker: cancel sent, its CANCELLED event moves the intent */
  | { readonly ok: true; readonly code: 'CANCEL_SENT' }
  /** the broker has no order and no fill for it: CANCELLED recorded */
  | { readonly ok: true; readonly code: 'CANCELLED' }
  /** not cancelled: the broker filled `qty` of the entry; the position is tracked */
  | { readonly ok: true; readonly code: 'FILLED'; readonly qty: number }
  /** the broker already had the entry in a final `status`; recorded */
  | { readonly ok: true; readonly code: 'ALREADY_FINAL'; readonly status: OrderStatus }
  /** `state` null: no such intent */
  | { readonly ok: false; readonly code: 'NOT_STALLED'; readonly intentId: string; readonly state: IntentState | null }
  | { readonly ok: false; readonly code: 'BROKER_UNREACHABLE'; readonly detail: string }
  | { readonly ok: false; readonly code: 'CANCEL_NOT_TAKEN'; readonly detail: string }
  | { readonly ok: false; readonly code: 'CHANGED_MEANWHILE' }
  | NotAllowed;

/** Resolving a STALLED entry by hand (SAFE-13), as data (src/present/stalled.text.ts words it). */
export type StalledResolveOutcome =
  /** CANCELLED on the admin's word: `note` is what they checked at the broker */
  | { readonly ok: true; readonly code: 'RESOLVED'; readonly intentId: string; readonly by: string; readonly note: string }
  | { readonly ok: false; readonly code: 'NOTE_REQUIRED' }
  /** the broker is reachable and has `orders` order(s) / `fills` fill(s) for it: its word wins */
  | { readonly ok: false; readonly code: 'BROKER_KNOWS_ORDER'; readonly orders: number; readonly fills: number }
  /** `state` null: no such intent */
  | { readonly ok: false; readonly code: 'NOT_STALLED'; readonly intentId: string; readonly state: IntentState | null }
  | { readonly ok: false; readonly code: 'HAS_BROKER_ID'; readonly intentId: string }
  | NotAllowed;

export async function cancelStalledConfirmed(ctx: EngineContext, intentId: string, actor: Actor): Promise<StalledCancelOutcome> {
  const now = ctx.clock.now();
  if (!actor.roles.includes('admin')) {
    await ctx.store.tx(async (tx) => {
      tx.beads.append({ type: 'ACCESS_DENIED', intentId: null, ts: now, payload: { userId: actor.id, chatId: null, action: 'cancel stalled', reason: 'admin role needed' } });
    });
    return notAllowed('admin');
  }
  const intent = await ctx.store.tx((tx) => tx.intents.get(intentId));
  if (!intent || intent.state !== 'STALLED') return { ok: false, code: 'NOT_STALLED', intentId, state: intent?.state ?? null };
  let report;
  try {
    report = await ctx.broker.findByOrderRef(intent.id);
  } catch (e) {
    if (e instanceof BrokerUnavailableError) return { ok: false, code: 'BROKER_UNREACHABLE', detail: e.message };
    throw e;
  }
  const entryFills = report.fills.filter((f) => f.role === 'ENTRY');
  const entry = report.orders.find((o) => o.role === 'ENTRY');
  if (entryFills.length) {
    for (const fill of report.fills) await onBrokerEvent(ctx, { kind: 'fill', fill });
    return { ok: true, code: 'FILLED', qty: entryFills.reduce((a, f) => a + f.quantity, 0) };
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
      if (e instanceof BrokerUnavailableError || e instanceof BrokerRefusedError) return { ok: false, code: 'CANCEL_NOT_TAKEN', detail: e.message };
      throw e;
    }
    return { ok: true, code: 'CANCEL_SENT' };
  }
  if (entry) {
    await onBrokerEvent(ctx, { kind: 'orderStatus', orderRef: entry.orderRef, role: 'ENTRY', brokerOrderId: entry.brokerOrderId, status: entry.status, filledQty: entry.filledQty, reason: `broker reports ${entry.status} (checked by ${actor.name})` });
    return { ok: true, code: 'ALREADY_FINAL', status: entry.status };
  }
  const done = await ctx.store.tx(async (tx) => {
    const fresh = await tx.intents.get(intentId);
    if (fresh?.state !== 'STALLED') return false;
    await transition(ctx, tx, fresh, 'CANCELLED', `cancelled by ${actor.name}; broker confirms no order and no fill for this orderRef`, {}, actor);
    return true;
  });
  ctx.notify();
  return done ? { ok: true, code: 'CANCELLED' } : { ok: false, code: 'CHANGED_MEANWHILE' };
}

/**
 * SAFE-13: the human path when the broker cannot answer for a STALLED entry that never got a
 * broker id (it counts against the position limit until resolved). An admin who has checked the
 * broker (TWS / IBKR Mobile: no order and no fill with this intent id as Order Ref) records that,
 * with a note; the intent is CANCELLED, the note and the admin are in its beads. When the broker
 * IS reachable and knows the order, its word wins: the attestation is refused.
 */
export async function resolveStalledChecked(ctx: EngineContext, intentId: string, actor: Actor, note: string): Promise<StalledResolveOutcome> {
  const now = ctx.clock.now();
  const text = note.trim().slice(0, 300);
  if (!actor.roles.includes('admin')) {
    await ctx.store.tx(async (tx) => {
      tx.beads.append({ type: 'ACCESS_DENIED', intentId, ts: now, payload: { userId: actor.id, chatId: null, action: 'resolve stalled', reason: 'admin role needed' } });
    });
    return notAllowed('admin');
  }
  if (!text) return { ok: false, code: 'NOTE_REQUIRED' };
  if (ctx.broker.health().canSubmit) {
    try {
      const report = await ctx.broker.findByOrderRef(intentId);
      if (report.orders.length || report.fills.length) return { ok: false, code: 'BROKER_KNOWS_ORDER', orders: report.orders.length, fills: report.fills.length };
    } catch {
      /* unreachable after all: the human's check stands */
    }
  }
  const refused = await ctx.store.tx(async (tx): Promise<StalledResolveOutcome | null> => {
    const intent = await tx.intents.get(intentId);
    if (intent?.state !== 'STALLED') return { ok: false, code: 'NOT_STALLED', intentId, state: intent?.state ?? null };
    const orders = await tx.orders.listByIntent(intentId);
    if (orders.some((o) => o.brokerOrderId && o.status !== 'CANCELLED' && o.status !== 'REJECTED')) return { ok: false, code: 'HAS_BROKER_ID', intentId };
    for (const o of orders) if (o.status === 'PENDING' || o.status === 'UNKNOWN') await tx.orders.update(intentId, o.role, { status: 'CANCELLED', updatedAt: now });
    tx.beads.append({ type: 'ORDER', intentId, ts: now, payload: { role: 'ENTRY', event: 'STATUS', status: 'CANCELLED', detail: `resolved by ${actor.name} after checking the broker: ${text}` } });
    await transition(ctx, tx, intent, 'CANCELLED', `resolved by ${actor.name} after checking the broker: ${text}`, {}, actor);
    return null;
  });
  ctx.notify();
  return refused ?? { ok: true, code: 'RESOLVED', intentId, by: actor.name, note: text };
}

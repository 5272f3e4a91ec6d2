/**
 * Order status events into the lifecycle (SPEC 6, 7; issue 13 MONEY-1, MONEY-2, MONEY-10).
 * - A final status never goes back to live (a late or replayed WORKING must not resurrect a
 *   FILLED, CANCELLED or REJECTED leg).
 * - The broker's cumulative filled count is respected: an entry reported CANCELLED with 2 filled
 *   is a partial fill whose executions are on their way, not a cancelled intent (MONEY-2).
 * - WORKING + held (IBKR PreSubmitted) is stored as HELD; a HELD stop protects only once the entry
 *   is done (protection.usecase stopWorks).
 * - A dead stop under an open position makes it unprotected (protection.usecase).
 * - A status of a superseded order of the leg (an earlier stop or exit) changes nothing.
 * - An entry done with a partial fill leaves its children sized to the full order: they are fitted
 *   to what filled (child-size.usecase, MONEY-10).
 */
import type { BrokerEvent, BrokerOrderStatus } from './broker.port.js';
import { childFits, type ChildFit } from './child-size.usecase.js';
import { transition, type EngineContext } from './context.js';
import { isFinalOrder, type OrderRecord, type OrderStatus } from './domain.js';
import { isExitReserved } from './flatten.usecase.js';
import { afterStopStatus, maybeManaged } from './protection.usecase.js';
import type { Tx } from './store.port.js';
import { IN_FLIGHT, isIn } from './lifecycle.fsm.js';

type StatusEvent = Extract<BrokerEvent, { kind: 'orderStatus' }>;

function rowStatus(status: BrokerOrderStatus, held: boolean | undefined): OrderStatus {
  return status === 'WORKING' && held ? 'HELD' : status;
}

export interface StatusFollowUp {
  /** a flatten owns this intent's exit (the caller then moves it on) */
  readonly flattening: boolean;
  /** protective legs to fit to the filled quantity, sent by the caller after the commit */
  readonly fits: readonly ChildFit[];
}

const NOTHING: StatusFollowUp = { flattening: false, fits: [] };

export async function applyStatus(ctx: EngineContext, tx: Tx, ev: StatusEvent): Promise<StatusFollowUp> {
  let intent = await tx.intents.get(ev.orderRef);
  if (!intent) {
    ctx.logger.warn({ orderRef: ev.orderRef, brokerOrderId: ev.brokerOrderId, status: ev.status }, 'status for an order Phoenix does not know');
    return NOTHING;
  }
  const now = ctx.clock.now();
  const leg = ev.role;
  const orders = await tx.orders.listByIntent(intent.id);
  const row = orders.find((o) => o.role === leg);
  // A status about an order this leg no longer is — a stop replaced by a re-protect, an exit
  // replaced by a new flatten — is history, not news: replays after a restart deliver the old
  // order's final status too, and it must not overwrite the live one (found by the simulator:
  // the row then said the working re-protect stop was CANCELLED, the deadline flatten left it at
  // the broker, and it later fired into a reversed position; INV-FLATTEN-EXIT-1). An id this leg
  // never had (IBKR names an order differently in a new session) is news as before.
  if (row && row.brokerOrderId !== ev.brokerOrderId && (await wasEarlierOrderOf(tx, intent.id, leg, ev.brokerOrderId))) return { flattening: isExitReserved(orders), fits: [] };
  const incoming = rowStatus(ev.status, ev.held);
  const next: OrderStatus = row && isFinalOrder(row.status) && !isFinalOrder(incoming) ? row.status : incoming;
  // the broker's cumulative count can run ahead of the executions (IBKR sends them apart)
  const rowFilled = row ? Math.max(row.filledQty, ev.filledQty) : 0;
  if (row && (row.status !== next || row.brokerOrderId !== ev.brokerOrderId || row.filledQty !== rowFilled)) {
    await tx.orders.update(intent.id, leg, { status: next, brokerOrderId: ev.brokerOrderId, filledQty: rowFilled, updatedAt: now });
    tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: now, payload: { role: leg, event: 'STATUS', brokerOrderId: ev.brokerOrderId, status: next, ...(ev.reason ? { detail: ev.reason } : {}) } });
    // the card says where the entry is ("Working at the broker: entry LMT … resting", HELD …)
    if (leg === 'ENTRY' && row.status !== next) {
      const card = await tx.cards.bySubject(intent.id, 'TRADE');
      if (card) await tx.cards.touch(card.id, now);
    }
  }
  const flattening = isExitReserved(orders);
  if (leg === 'ENTRY') {
    if ((ev.status === 'WORKING' || ev.status === 'FILLED') && intent.ackedAt === null) {
      await tx.intents.update(intent.id, { ackedAt: now, updatedAt: now });
      intent = { ...intent, ackedAt: now };
    }
    const brokerFilled = Math.max(intent.filledQty, ev.filledQty);
    const waiting = isIn(IN_FLIGHT, intent.state);
    if (ev.status === 'REJECTED' && waiting && brokerFilled === 0) {
      await transition(ctx, tx, intent, 'REJECTED', `broker rejected: ${ev.reason ?? 'no reason given'}; not retried`);
      for (const r of ['STOP', 'TARGET'] as const) if (orders.some((o) => o.role === r)) await tx.orders.update(intent.id, r, { status: 'CANCELLED', updatedAt: now });
      tx.alerts.enqueue({ type: 'ORDER_REJECTED', at: now, payload: { summary: `${intent.side} ${intent.quantity} ${intent.instrument.symbol} rejected by broker: ${ev.reason ?? 'no reason'}. Not retried.`, intentId: intent.id, instrumentKey: intent.instrumentKey } });
    }
    if (ev.status === 'CANCELLED' && waiting && brokerFilled === 0) {
      await transition(ctx, tx, intent, 'CANCELLED', `entry order cancelled at the broker${ev.reason ? `: ${ev.reason}` : ''}`);
    }
    // cancelled/rejected with fills the executions have not brought yet: the position is real and
    // stays open for flatten, limits and reconciliation; the fills complete it when they come
    const done = ev.status === 'CANCELLED' || ev.status === 'REJECTED';
    if (!done || brokerFilled <= 0 || flattening) return { flattening, fits: [] };
    const fresh = await tx.orders.listByIntent(intent.id);
    await maybeManaged(ctx, tx, intent); // a held stop works once its parent is done
    return { flattening, fits: childFits(intent, fresh, brokerFilled) };
  }
  if (leg === 'STOP') intent = await afterStopStatus(ctx, tx, intent, ev.reason);
  if ((leg === 'STOP' || leg === 'TARGET') && (next === 'WORKING' || next === 'HELD')) await maybeManaged(ctx, tx, intent);
  return { flattening, fits: [] };
}

/**
 * Whether this broker order is one the leg had before it was replaced: named by an ORDER bead of
 * the leg before the leg's last replacement (a re-protect's STOP PLACING, a flatten's EXIT RESERVED).
 */
async function wasEarlierOrderOf(tx: Tx, intentId: string, role: string, brokerOrderId: string): Promise<boolean> {
  const replacedBy = role === 'STOP' ? 'PLACING' : role === 'EXIT' ? 'RESERVED' : null;
  if (!replacedBy) return false; // the entry and the target are never replaced
  let named = false;
  let earlier = false;
  for (const b of await tx.beads.listByIntent(intentId)) {
    if (b.type !== 'ORDER') continue;
    const p = JSON.parse(b.payload) as { role?: string; event?: string; brokerOrderId?: string | null };
    if (p.role !== role) continue;
    if (p.event === replacedBy && named) earlier = true;
    if (p.brokerOrderId === brokerOrderId) named = true;
  }
  return earlier;
}

export type { OrderRecord };

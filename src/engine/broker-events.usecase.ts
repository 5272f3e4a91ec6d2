/**
 * Broker events into the lifecycle (SPEC 6, 7): acknowledgements, fills (deduped on execId),
 * rejections, cancels, and connection changes. Each event is one transaction with its
 * beads. Fills, rejects and cancels ask for a reconciliation; a restored connection also
 * retries submissions that were waiting for the broker.
 */
import type { BrokerEvent, ConnectionState } from './broker.port.js';
import { RECONCILE_REASON, type EngineContext } from './context.js';
import { fitChildren } from './child-size.usecase.js';
import { applyCommission, applyFill, type FillFollowUp } from './fill.usecase.js';
import { cancelOnceKnown, continueFlattens, flatten } from './flatten.usecase.js';
import { SYSTEM_ACTOR } from './domain.js';
import { gatewayConnection } from './gateway-day.usecase.js';
import { applyStatus } from './order-status.usecase.js';
import { flattenOverdue } from './session-jobs.usecase.js';
import type { Tx } from './store.port.js';
import type { OrderRecord } from './domain.js';

export async function onBrokerEvent(ctx: EngineContext, ev: BrokerEvent): Promise<void> {
  switch (ev.kind) {
    case 'fill': {
      const next = await ctx.store.tx((tx) => applyFill(ctx, tx, ev.fill));
      await followUp(ctx, ev.fill.orderRef, next);
      ctx.reconcileSoon(RECONCILE_REASON.fill);
      break;
    }
    case 'commission': {
      const next = await ctx.store.tx((tx) => applyCommission(ctx, tx, ev.orderRef, ev.execId, ev.commission));
      await followUp(ctx, ev.orderRef, next);
      break;
    }
    case 'orderStatus': {
      const next = await ctx.store.tx((tx) => applyStatus(ctx, tx, ev));
      if (next.flattening) await cancelOnceKnown(ctx, ev.orderRef);
      if (next.fits.length) await fitChildren(ctx, ev.orderRef, next.fits);
      if (ev.status === 'REJECTED' || ev.status === 'CANCELLED') ctx.reconcileSoon(ev.status === 'REJECTED' ? RECONCILE_REASON.rejected : RECONCILE_REASON.cancelled);
      break;
    }
    case 'connection':
      await ctx.store.tx(async (tx) => connection(ctx, tx, ev));
      if (ev.state === 'READY') {
        ctx.reconcileSoon(RECONCILE_REASON.brokerRestored);
        await continueFlattens(ctx); // cancels and exits that could not be sent while it was down
        await cancelLegsLeftUnderClosed(ctx);
      }
      break;
    case 'error':
      if (ev.code === 100) {
        await ctx.store.tx(async (tx) => {
          tx.alerts.enqueue({ type: 'PACING_VIOLATION', at: ctx.clock.now(), payload: { summary: `IBKR error 100: ${ev.message}`, facts: { code: 100 } } });
        });
      }
      if (ev.code === 404 && ev.orderRef) await orderHeld(ctx, ev.orderRef, ev.message);
      ctx.logger.warn({ code: ev.code, orderRef: ev.orderRef }, ev.message);
      break;
  }
  ctx.notify();
}

async function connection(ctx: EngineContext, tx: Tx, ev: Extract<BrokerEvent, { kind: 'connection' }>): Promise<void> {
  const now = ctx.clock.now();
  const escalated = ev.state === 'DOWN' && (ev.attempt ?? 0) >= 3;
  const last = await tx.beads.latestOfType('IBKR_SESSION');
  const previous = last ? ((JSON.parse(last.payload) as { state?: ConnectionState }).state ?? null) : null;
  tx.beads.append({ type: 'IBKR_SESSION', intentId: null, ts: now, payload: { state: ev.state, detail: ev.detail, ...(ev.code !== undefined ? { code: ev.code } : {}), ...(ev.attempt !== undefined ? { attempt: ev.attempt } : {}), ...(escalated ? { escalated } : {}) } });
  const facts = { detail: ev.detail, ...(ev.code !== undefined ? { code: ev.code } : {}) };
  if (/ACCOUNT_MODE_MISMATCH/.test(ev.detail)) {
    tx.alerts.enqueue({ type: 'ACCOUNT_MODE_MISMATCH', at: now, payload: { summary: `Broker refused: ${ev.detail}`, facts } });
  } else if (await gatewayConnection(ctx, tx, ev, previous, escalated)) {
    // IB Gateway's day raised it: an expected drop in the restart window (INFO) or a gateway waiting for its login
  } else if (escalated) {
    tx.alerts.enqueue({ type: 'IBKR_ESCALATION', at: now, payload: { summary: `Broker reconnect failed ${ev.attempt} times; Phoenix stays down until a human acts (npx phoenix reconnect).`, facts } });
  } else if (ev.state === 'PAUSED' || ev.state === 'DOWN' || (ev.state === 'DISCONNECTED' && !ev.attempt)) {
    // One alert per outage: failed reconnect attempts (attempt ≥ 1) are beads only.
    tx.alerts.enqueue({ type: 'IBKR_DISCONNECTED', at: now, payload: { summary: `Broker ${ev.state.toLowerCase()}: ${ev.detail}. Submissions paused.`, facts } });
  } else if (ev.state === 'READY' && (ev.code !== undefined || (ev.attempt ?? 0) > 0 || previous === 'WAITING_FOR_LOGIN')) {
    const how = ev.code !== undefined ? `code ${ev.code}` : (ev.attempt ?? 0) > 0 ? `reconnect attempt ${ev.attempt}` : 'the gateway was logged in';
    tx.alerts.enqueue({ type: 'IBKR_RESTORED', at: now, payload: { summary: `Broker connection restored (${how}); reconciling.`, facts } });
  }
}

/**
 * After a fill: a flatten moves on; legs left working under a closed position are cancelled; a
 * position open again past its deadline is flattened.
 */
async function followUp(ctx: EngineContext, orderRef: string, next: FillFollowUp): Promise<void> {
  if (next.cancelLegs?.length) await cancelLegs(ctx, orderRef, next.cancelLegs);
  if (next.flattening) await cancelOnceKnown(ctx, orderRef);
  // INV-FLATTEN-DEADLINE-1: a fill that re-opened a position after its day's deadline flatten is
  // flattened at once (found by the simulator: the 30 s watch, then a rejected exit, left it open
  // past the minute)
  if (next.overdue) await flattenOverdue(ctx);
  // INV-FLATTEN-EXIT-1: a flatten that found nothing open (or closed it) is not undone by a fill
  // that arrives after it (found by the simulator: the entry's cancel was confirmed, then its fill)
  else if (next.reflatten) await flatten(ctx, SYSTEM_ACTOR, 'flatten again (a fill after the flatten re-opened the position)', { only: (i) => i.id === orderRef });
}

type Leg = { readonly role: OrderRecord['role']; readonly brokerOrderId: string };

/** Cancel legs left working under a closed position, each with its CANCEL_REQUESTED bead first. */
async function cancelLegs(ctx: EngineContext, orderRef: string, legs: readonly Leg[]): Promise<void> {
  await ctx.store.tx(async (tx) => {
    for (const leg of legs) {
      const detail = leg.role === 'ENTRY' ? 'the position was closed by its exits: the entry remainder must not fill' : `the position was closed by its exits: the ${leg.role.toLowerCase()} must not fire into a position that no longer exists`;
      tx.beads.append({ type: 'ORDER', intentId: orderRef, ts: ctx.clock.now(), payload: { role: leg.role, event: 'CANCEL_REQUESTED', brokerOrderId: leg.brokerOrderId, detail } });
    }
  });
  for (const leg of legs) {
    try {
      await ctx.broker.cancel(leg.brokerOrderId);
    } catch (e) {
      ctx.logger.warn({ orderRef, role: leg.role, err: (e as Error).message }, 'could not cancel a leg left under a closed position');
    }
  }
}

/**
 * INV-FLATTEN-EXIT-1 across a restart or an outage: legs still working under positions Phoenix
 * has closed — their cancel was lost with a killed process, or failed while the broker was away —
 * are cancelled now (found by the simulator, seed 3001: killed right after the re-protect stop's
 * fill was booked, the bracket's target stayed working and hours later reversed the account).
 */
export async function cancelLegsLeftUnderClosed(ctx: EngineContext): Promise<number> {
  const byIntent = await ctx.store.tx(async (tx) => {
    const out = new Map<string, Leg[]>();
    for (const o of await tx.orders.listWorking()) {
      if (!o.brokerOrderId || (o.role !== 'ENTRY' && o.role !== 'STOP' && o.role !== 'TARGET')) continue;
      if ((await tx.intents.get(o.intentId))?.state !== 'CLOSED') continue;
      out.set(o.intentId, [...(out.get(o.intentId) ?? []), { role: o.role, brokerOrderId: o.brokerOrderId }]);
    }
    return out;
  });
  for (const [id, legs] of byIntent) await cancelLegs(ctx, id, legs);
  return byIntent.size;
}

/** IBKR 404 (shares not available for short sale; the order is held): alert and show it on the card. */
async function orderHeld(ctx: EngineContext, orderRef: string, message: string): Promise<void> {
  await ctx.store.tx(async (tx) => {
    const intent = await tx.intents.get(orderRef);
    if (!intent) return;
    const now = ctx.clock.now();
    tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: now, payload: { role: 'ENTRY', event: 'STATUS', status: 'HELD', detail: `IBKR 404: ${message}` } });
    tx.alerts.enqueue({ type: 'ORDER_HELD', at: now, payload: { summary: `${intent.side} ${intent.quantity} ${intent.instrument.symbol} is HELD by IBKR (404: ${message}). It may never fill; cancel it or wait for shares to borrow.`, intentId: intent.id, instrumentKey: intent.instrumentKey, facts: { code: 404 } } });
    const card = await tx.cards.bySubject(intent.id, 'TRADE');
    if (card) await tx.cards.touch(card.id, now);
  });
}

/**
 * Broker events into the lifecycle (SPEC 6, 7): acknowledgements, fills (deduped on execId),
 * rejections, cancels, and connection changes. Each event is one transaction with its
 * beads. Fills, rejects and cancels ask for a reconciliation; a restored connection also
 * retries submissions that were waiting for the broker.
 */
import type { BrokerEvent, BrokerFill, BrokerOrderStatus } from './broker.port.js';
import { transition, type EngineContext } from './context.js';
import type { IntentRecord } from './domain.js';
import { cancelOnceKnown, continueFlattens, isExitReserved } from './flatten.usecase.js';
import { addToAverage, realizedPnlCents } from './pnl.js';
import { tradingDayOf } from './session.calendar.js';
import type { Tx } from './store.port.js';

export async function onBrokerEvent(ctx: EngineContext, ev: BrokerEvent): Promise<void> {
  switch (ev.kind) {
    case 'fill':
      if (await ctx.store.tx((tx) => applyFill(ctx, tx, ev.fill))) await cancelOnceKnown(ctx, ev.fill.orderRef);
      ctx.reconcileSoon('fill');
      break;
    case 'orderStatus':
      if (await ctx.store.tx((tx) => applyStatus(ctx, tx, ev.orderRef, ev.role, ev.brokerOrderId, ev.status, ev.filledQty, ev.reason))) await cancelOnceKnown(ctx, ev.orderRef);
      if (ev.status === 'REJECTED' || ev.status === 'CANCELLED') ctx.reconcileSoon(ev.status.toLowerCase());
      break;
    case 'connection':
      await ctx.store.tx(async (tx) => connection(ctx, tx, ev));
      if (ev.state === 'READY') {
        ctx.reconcileSoon('broker connection restored');
        await continueFlattens(ctx); // cancels and exits that could not be sent while it was down
      }
      break;
    case 'error':
      if (ev.code === 100) {
        await ctx.store.tx(async (tx) => {
          tx.alerts.enqueue({ type: 'PACING_VIOLATION', at: ctx.clock.now(), payload: { summary: `IBKR error 100: ${ev.message}`, facts: { code: 100 } } });
        });
      }
      ctx.logger.warn({ code: ev.code, orderRef: ev.orderRef }, ev.message);
      break;
  }
  ctx.notify();
}

async function connection(ctx: EngineContext, tx: Tx, ev: Extract<BrokerEvent, { kind: 'connection' }>): Promise<void> {
  const now = ctx.clock.now();
  const escalated = ev.state === 'DOWN' && (ev.attempt ?? 0) >= 3;
  tx.beads.append({ type: 'IBKR_SESSION', intentId: null, ts: now, payload: { state: ev.state, detail: ev.detail, ...(ev.code !== undefined ? { code: ev.code } : {}), ...(ev.attempt !== undefined ? { attempt: ev.attempt } : {}), ...(escalated ? { escalated } : {}) } });
  const facts = { detail: ev.detail, ...(ev.code !== undefined ? { code: ev.code } : {}) };
  if (/ACCOUNT_MODE_MISMATCH/.test(ev.detail)) {
    tx.alerts.enqueue({ type: 'ACCOUNT_MODE_MISMATCH', at: now, payload: { summary: `Broker refused: ${ev.detail}`, facts } });
  } else if (escalated) {
    tx.alerts.enqueue({ type: 'IBKR_ESCALATION', at: now, payload: { summary: `Broker reconnect failed ${ev.attempt} times; Phoenix stays down until a human acts (npx phoenix reconnect).`, facts } });
  } else if (ev.state === 'PAUSED' || ev.state === 'DOWN' || (ev.state === 'DISCONNECTED' && !ev.attempt)) {
    // One alert per outage: failed reconnect attempts (attempt ≥ 1) are beads only.
    tx.alerts.enqueue({ type: 'IBKR_DISCONNECTED', at: now, payload: { summary: `Broker ${ev.state.toLowerCase()}: ${ev.detail}. Submissions paused.`, facts } });
  } else if (ev.state === 'READY' && (ev.code !== undefined || (ev.attempt ?? 0) > 0)) {
    const how = ev.code !== undefined ? `code ${ev.code}` : `reconnect attempt ${ev.attempt}`;
    tx.alerts.enqueue({ type: 'IBKR_RESTORED', at: now, payload: { summary: `Broker connection restored (${how}); reconciling.`, facts } });
  }
}

const FINAL_ORDER_STATUSES: readonly string[] = ['FILLED', 'CANCELLED', 'REJECTED'];

async function intentFor(tx: Tx, orderRef: string): Promise<IntentRecord | null> {
  return tx.intents.get(orderRef);
}

/** Returns true when a flatten owns this intent's exit (the caller then moves it on). */
async function applyStatus(ctx: EngineContext, tx: Tx, orderRef: string, role: string, brokerOrderId: string, status: BrokerOrderStatus, filledQty: number, reason?: string): Promise<boolean> {
  let intent = await intentFor(tx, orderRef);
  if (!intent) {
    ctx.logger.warn({ orderRef, brokerOrderId, status }, 'status for an order Phoenix does not know');
    return false;
  }
  const now = ctx.clock.now();
  const leg = role as 'ENTRY' | 'STOP' | 'TARGET' | 'EXIT';
  const orders = await tx.orders.listByIntent(intent.id);
  const row = orders.find((o) => o.role === leg);
  // A final order status never goes back to live: a late or replayed WORKING/PENDING (restart
  // recovery, out-of-order callbacks) must not resurrect a FILLED, CANCELLED or REJECTED leg.
  const next = row && FINAL_ORDER_STATUSES.includes(row.status) && (status === 'WORKING' || status === 'PENDING') ? row.status : status;
  // the broker's cumulative filled count can run ahead of the executions (IBKR sends them
  // apart); the row keeps the larger, so an exit is never sized from a stale count
  const rowFilled = row ? Math.max(row.filledQty, filledQty) : 0;
  if (row && (row.status !== next || row.brokerOrderId !== brokerOrderId || row.filledQty !== rowFilled)) {
    await tx.orders.update(intent.id, leg, { status: next, brokerOrderId, filledQty: rowFilled, updatedAt: now });
    tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: now, payload: { role: leg, event: 'STATUS', brokerOrderId, status: next, ...(reason ? { detail: reason } : {}) } });
  }
  const flattening = isExitReserved(orders);
  if (leg === 'ENTRY') {
    if ((status === 'WORKING' || status === 'FILLED') && intent.ackedAt === null) {
      await tx.intents.update(intent.id, { ackedAt: now, updatedAt: now });
      intent = { ...intent, ackedAt: now };
    }
    if (status === 'REJECTED' && (intent.state === 'SUBMITTED' || intent.state === 'STALLED')) {
      await transition(ctx, tx, intent, 'REJECTED', `broker rejected: ${reason ?? 'no reason given'}; not retried`);
      for (const r of ['STOP', 'TARGET'] as const) if (orders.some((o) => o.role === r)) await tx.orders.update(intent.id, r, { status: 'CANCELLED', updatedAt: now });
      tx.alerts.enqueue({ type: 'ORDER_REJECTED', at: now, payload: { summary: `${intent.side} ${intent.quantity} ${intent.instrument.symbol} rejected by broker: ${reason ?? 'no reason'}. Not retried.`, intentId: intent.id, instrumentKey: intent.instrumentKey } });
    }
    if (status === 'CANCELLED' && intent.filledQty === 0 && (intent.state === 'SUBMITTED' || intent.state === 'STALLED')) {
      await transition(ctx, tx, intent, 'CANCELLED', `entry order cancelled at the broker${reason ? `: ${reason}` : ''}`);
    }
    return flattening;
  }
  if ((leg === 'STOP' || leg === 'TARGET') && status === 'WORKING' && intent.state === 'FILLED') await maybeManaged(ctx, tx, intent);
  return flattening;
}

/** FILLED → MANAGED once both protective legs are working at the broker. */
async function maybeManaged(ctx: EngineContext, tx: Tx, intent: IntentRecord): Promise<IntentRecord> {
  if (intent.state !== 'FILLED') return intent;
  const orders = await tx.orders.listByIntent(intent.id);
  const protectedBy = (r: string) => orders.find((o) => o.role === r)?.status === 'WORKING';
  if (protectedBy('STOP') && protectedBy('TARGET')) return transition(ctx, tx, intent, 'MANAGED', 'protective stop and target working at the broker');
  return intent;
}

/** Returns true when a flatten owns this intent's exit (the caller then moves it on). */
async function applyFill(ctx: EngineContext, tx: Tx, f: BrokerFill): Promise<boolean> {
  let intent = await intentFor(tx, f.orderRef);
  if (!intent) {
    ctx.logger.warn({ orderRef: f.orderRef, execId: f.execId }, 'fill for an order Phoenix does not know');
    return false;
  }
  const isNew = await tx.fills.insertIfNew({ execId: f.execId, intentId: intent.id, role: f.role, side: f.side, quantity: f.quantity, price: f.price, commission: f.commission, time: f.time });
  if (!isNew) return false; // broker re-sent an execution we already booked
  const now = ctx.clock.now();
  const commissionCents = intent.commissionCents + Math.round(f.commission * 100);
  const orders = await tx.orders.listByIntent(intent.id);
  const flattening = isExitReserved(orders);
  const row = orders.find((o) => o.role === f.role);
  if (row) {
    const filled = row.filledQty + f.quantity;
    await tx.orders.update(intent.id, f.role, { filledQty: filled, avgFillPrice: addToAverage(row.filledQty, row.avgFillPrice, f.quantity, f.price), status: filled >= row.quantity ? 'FILLED' : row.status, brokerOrderId: row.brokerOrderId ?? f.brokerOrderId, updatedAt: now });
  }
  if (f.role === 'ENTRY') {
    const filledQty = intent.filledQty + f.quantity;
    const avgFillPrice = addToAverage(intent.filledQty, intent.avgFillPrice, f.quantity, f.price);
    tx.beads.append({ type: 'FILL', intentId: intent.id, ts: now, payload: { execId: f.execId, role: f.role, side: f.side, quantity: f.quantity, price: f.price, commission: f.commission, filledQty, requestedQty: intent.quantity, partialFillRatio: filledQty / intent.quantity } });
    const patch = { filledQty, avgFillPrice, commissionCents, ackedAt: intent.ackedAt ?? now };
    if (intent.state === 'SUBMITTED' || intent.state === 'STALLED') {
      const partial = filledQty < intent.quantity ? ` (partial ${filledQty}/${intent.quantity})` : '';
      intent = await transition(ctx, tx, intent, 'FILLED', `entry filled at ${avgFillPrice}${partial}`, patch);
    } else {
      await tx.intents.update(intent.id, { ...patch, updatedAt: now });
      intent = { ...intent, ...patch };
      const card = await tx.cards.bySubject(intent.id, 'TRADE');
      if (card) await tx.cards.touch(card.id, now);
    }
    await maybeManaged(ctx, tx, intent);
    return flattening;
  }
  // An exit leg (stop, target, or a flatten/close order).
  const exitQty = intent.exitQty + f.quantity;
  const exitAvgPrice = addToAverage(intent.exitQty, intent.exitAvgPrice, f.quantity, f.price);
  tx.beads.append({ type: 'FILL', intentId: intent.id, ts: now, payload: { execId: f.execId, role: f.role, side: f.side, quantity: f.quantity, price: f.price, commission: f.commission, filledQty: exitQty, requestedQty: intent.filledQty, partialFillRatio: intent.filledQty ? exitQty / intent.filledQty : 0 } });
  const patch = { exitQty, exitAvgPrice, commissionCents };
  if (exitQty + 1e-9 < intent.filledQty || intent.filledQty === 0) {
    await tx.intents.update(intent.id, { ...patch, updatedAt: now });
    return flattening;
  }
  if (intent.state === 'FILLED') intent = await transition(ctx, tx, intent, 'MANAGED', 'protective orders working (exit already filling)');
  if (intent.state !== 'MANAGED') {
    ctx.logger.error({ intentId: intent.id, state: intent.state }, 'exit fill for a position that is not open');
    await tx.intents.update(intent.id, { ...patch, updatedAt: now });
    return flattening;
  }
  const pnl = realizedPnlCents(intent.side, intent.avgFillPrice ?? f.price, exitAvgPrice, intent.filledQty, intent.instrument.multiplier, commissionCents);
  const how = f.role === 'STOP' ? 'stop hit' : f.role === 'TARGET' ? 'target hit' : 'closed';
  await transition(ctx, tx, intent, 'CLOSED', `${how} at ${exitAvgPrice}; P&L ${(pnl / 100).toFixed(2)} USD`, { ...patch, realizedPnlCents: pnl, closedAt: now, closedDay: tradingDayOf(now, ctx.constitution) });
  return flattening;
}

/**
 * Broker events into the lifecycle (SPEC 6, 7): acknowledgements, fills (deduped on execId),
 * rejections, cancels, and connection changes. Each event is one transaction with its
 * beads. Fills, rejects and cancels ask for a reconciliation; a restored connection also
 * retries submissions that were waiting for the broker.
 */
import type { BrokerEvent, ConnectionState } from './broker.port.js';
import type { EngineContext } from './context.js';
import { fitChildren } from './child-size.usecase.js';
import { applyCommission, applyFill, type FillFollowUp } from './fill.usecase.js';
import { cancelOnceKnown, continueFlattens } from './flatten.usecase.js';
import { gatewayConnection } from './gateway-day.usecase.js';
import { applyStatus } from './order-status.usecase.js';
import type { Tx } from './store.port.js';

export async function onBrokerEvent(ctx: EngineContext, ev: BrokerEvent): Promise<void> {
  switch (ev.kind) {
    case 'fill': {
      const next = await ctx.store.tx((tx) => applyFill(ctx, tx, ev.fill));
      await followUp(ctx, ev.fill.orderRef, next);
      ctx.reconcileSoon('fill');
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
      if (ev.status === 'REJECTED' || ev.status === 'CANCELLED') ctx.reconcileSoon(ev.status.toLowerCase());
      break;
    }
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

/** After a fill: a flatten moves on; an entry remainder left working under a closed position is cancelled. */
async function followUp(ctx: EngineContext, orderRef: string, next: FillFollowUp): Promise<void> {
  if (next.cancelEntry) {
    await ctx.store.tx(async (tx) => {
      tx.beads.append({ type: 'ORDER', intentId: orderRef, ts: ctx.clock.now(), payload: { role: 'ENTRY', event: 'CANCEL_REQUESTED', brokerOrderId: next.cancelEntry, detail: 'the position was closed by its exits: the entry remainder must not fill' } });
    });
    try {
      await ctx.broker.cancel(next.cancelEntry);
    } catch (e) {
      ctx.logger.warn({ orderRef, err: (e as Error).message }, 'could not cancel the entry remainder');
    }
  }
  if (next.flattening) await cancelOnceKnown(ctx, orderRef);
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

/**
 * The safety fixes of the safety and money reviews, reverted — test-only code the power check
 * (power.test.ts) swaps in with `vi.doMock`, one at a time, never a switch in a production path.
 * Each is what the code did before its fix (see the commits named), adapted to today's signatures.
 */
import type { EngineContext } from '../../src/engine/context.js';
import type { Actor, IntentRecord } from '../../src/engine/domain.js';
import type { FlattenIssue, FlattenReport, FlattenScope } from '../../src/engine/flatten.usecase.js';
import { notAllowed } from '../../src/engine/outcome.js';
import type { Instrument } from '../../src/engine/broker.port.js';
import type { Tx } from '../../src/engine/store.port.js';
import type { BrokerFill } from '../../src/engine/broker.port.js';

/** SAFE-1/2 reverted (before d576376): cancel the legs and send the market exit at once, no reservation. */
export async function flattenWithoutReservation(ctx: EngineContext, actor: Actor, why = 'flatten', scope: FlattenScope = {}): Promise<FlattenReport> {
  const allowed = actor.roles.includes('admin') || actor.via === 'system' || (scope.approverMay === true && actor.roles.includes('approver'));
  if (!allowed) return { ...notAllowed('admin'), closing: [], cancelled: [], pending: [], failed: [] };
  const open = (await ctx.store.tx((tx) => tx.intents.listByState(['SUBMITTED', 'STALLED', 'FILLED', 'MANAGED']))).filter((i) => !scope.only || scope.only(i));
  const closing: string[] = [];
  const cancelled: string[] = [];
  const failed: FlattenIssue[] = [];
  const cancelLeg = async (intent: IntentRecord, role: 'ENTRY' | 'STOP' | 'TARGET') => {
    const o = (await ctx.store.tx((tx) => tx.orders.listByIntent(intent.id))).find((x) => x.role === role);
    if (!o?.brokerOrderId || o.status === 'FILLED' || o.status === 'CANCELLED' || o.status === 'REJECTED') return false;
    await ctx.store.tx(async (tx) => {
      tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: ctx.clock.now(), payload: { role, event: 'CANCEL_REQUESTED', brokerOrderId: o.brokerOrderId, detail: `by ${actor.name}` } });
    });
    await ctx.broker.cancel(o.brokerOrderId);
    return true;
  };
  for (const intent of open) {
    try {
      if ((intent.state === 'SUBMITTED' || intent.state === 'STALLED') && (await cancelLeg(intent, 'ENTRY'))) cancelled.push(intent.id);
      if ((intent.state === 'FILLED' || intent.state === 'MANAGED') && intent.filledQty - intent.exitQty > 0) {
        await cancelLeg(intent, 'STOP').catch(() => false);
        await cancelLeg(intent, 'TARGET').catch(() => false);
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
        closing.push(intent.id);
      }
    } catch (e) {
      // the code before the fix did not say which step failed: reported as its cancel
      failed.push({ intentId: intent.id, side: intent.side, quantity: intent.quantity, symbol: intent.instrument.symbol, problem: 'CANCEL_NOT_SENT', role: 'ENTRY', detail: (e as Error).message });
    }
  }
  await ctx.store.tx(async (tx) => {
    tx.alerts.enqueue({ type: 'FLATTEN', at: ctx.clock.now(), payload: { summary: `Flatten by ${actor.name}: closing ${closing.length}, cancelling ${cancelled.length}` } });
  });
  ctx.notify();
  return { ok: failed.length === 0, code: 'FLATTENED', intents: open.length, closing, cancelled, pending: [], failed };
}

/** SAFE-9 reverted (before d576376): the key is the raw spelling, exchange included. */
export function instrumentIdBySpelling(i: Pick<Instrument, 'symbol' | 'secType' | 'currency' | 'contractMonth'> & { exchange?: string }): string {
  return i.secType === 'FUT' ? `${i.symbol}.${i.contractMonth ?? ''}.${i.exchange ?? ''}` : `${i.symbol}.${i.exchange ?? ''}`;
}

/** MONEY-3 reverted (before b144382): a fill for an intent Phoenix has as finished is recorded, not booked into the position. */
export function fillsIgnoredAfterTerminal(real: (ctx: EngineContext, tx: Tx, f: BrokerFill) => Promise<{ flattening: boolean }>) {
  return async (ctx: EngineContext, tx: Tx, f: BrokerFill) => {
    const intent = await tx.intents.get(f.orderRef);
    if (intent && ['CLOSED', 'CANCELLED', 'REJECTED', 'EXPIRED'].includes(intent.state)) {
      await tx.fills.insertIfNew({ execId: f.execId, intentId: intent.id, role: f.role, side: f.side, quantity: f.quantity, price: f.price, commission: f.commission, time: f.time });
      ctx.logger.error({ intentId: intent.id, state: intent.state }, 'fill for a position that is not open');
      return { flattening: false };
    }
    return real(ctx, tx, f);
  };
}

/**
 * Restart safety (SPEC 6, 7; INV-IDEMPOTENT-ORDER-1). Before anything new is sent, every
 * intent that may have reached the broker is looked up by orderRef (= intentId). What the
 * broker knows is folded into the lifecycle (order ids, statuses, fills, deduped on
 * execId). An intent the broker has never heard of is NOT re-sent: it stays SUBMITTED and
 * the stall detector hands it to a human.
 */
import type { BrokerOrder } from './broker.port.js';
import { cancelLegsLeftUnderClosed, onBrokerEvent } from './broker-events.usecase.js';
import { cancelOnceKnown } from './flatten.usecase.js';
import type { EngineContext } from './context.js';
import { AT_BROKER } from './lifecycle.fsm.js';

export interface RecoveryReport {
  readonly checked: number;
  readonly found: number;
  readonly notAtBroker: readonly string[];
}

export async function recoverFromBroker(ctx: EngineContext): Promise<RecoveryReport> {
  const open = await ctx.store.tx((tx) => tx.intents.listByState(AT_BROKER));
  let found = 0;
  const notAtBroker: string[] = [];
  const exitsAgain: string[] = [];
  for (const intent of open) {
    const report = await ctx.broker.findByOrderRef(intent.id);
    if (!report.orders.length && !report.fills.length) {
      notAtBroker.push(intent.id);
      continue;
    }
    found++;
    await ctx.store.tx(async (tx) => {
      const now = ctx.clock.now();
      const rows = await tx.orders.listByIntent(intent.id);
      for (const o of report.orders) {
        const row = rows.find((r) => r.role === o.role);
        if (row && !row.brokerOrderId) {
          await tx.orders.update(intent.id, o.role, { brokerOrderId: o.brokerOrderId, updatedAt: now });
          tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: now, payload: { role: o.role, event: 'FOUND_AFTER_RESTART', brokerOrderId: o.brokerOrderId, status: o.status } });
        }
      }
      // a flatten's market exit recorded as being sent that the broker never got (the process died
      // before sending it): reserved again, so the flatten sends it — sized to what is open then.
      // Found by the simulator: the deadline flatten's exit was lost and the position stayed open.
      const exit = rows.find((r) => r.role === 'EXIT');
      if (exit?.status === 'PENDING' && !exit.brokerOrderId && !report.orders.some((o) => o.role === 'EXIT')) {
        await tx.orders.update(intent.id, 'EXIT', { status: 'RESERVED', quantity: exit.filledQty, updatedAt: now });
        tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: now, payload: { role: 'EXIT', event: 'RESERVED', detail: 'market exit never reached the broker (the process stopped before sending it): sent again' } });
        exitsAgain.push(intent.id);
      }
    });
    // executions first (MONEY-2): a final status must never be applied before the fills it ends
    for (const fill of report.fills) await onBrokerEvent(ctx, { kind: 'fill', fill });
    for (const o of report.orders) await replayStatus(ctx, o);
  }
  // a cancel the previous process decided but never sent (killed right after the closing fill)
  await cancelLegsLeftUnderClosed(ctx);
  for (const id of exitsAgain) await cancelOnceKnown(ctx, id, { again: true });
  return { checked: open.length, found, notAtBroker };
}

async function replayStatus(ctx: EngineContext, o: BrokerOrder): Promise<void> {
  // Fills are replayed separately; a FILLED status here only confirms the acknowledgement.
  const status = o.status === 'FILLED' ? 'WORKING' : o.status;
  await onBrokerEvent(ctx, { kind: 'orderStatus', orderRef: o.orderRef, role: o.role, brokerOrderId: o.brokerOrderId, status, filledQty: o.filledQty, ...(o.held && status === 'WORKING' ? { held: true } : {}) });
}

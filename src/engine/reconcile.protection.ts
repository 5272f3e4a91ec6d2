/**
 * Reconciliation, invariant 5 (issue 13, MONEY-1; INV-PROTECTED-1): every position Phoenix holds
 * has a stop working at the broker that covers it. Both sides may agree that the stop is
 * cancelled — "not open" on both sides is no order drift — and the position is still naked.
 * Pure, like reconcile.ts; called by it for the full scope.
 */
import type { BrokerOrder } from './broker.port.js';
import { canonicalJson, sha256Hex } from './canonical.js';
import type { Discrepancy, LocalSnapshot } from './reconcile.js';
import { HOLDING, isIn } from './lifecycle.fsm.js';

const EPS = 1e-9;
const FLATTENING = new Set(['RESERVED', 'PENDING', 'WORKING']);

export function protectionDiff(local: LocalSnapshot, openOrders: readonly BrokerOrder[], out: Discrepancy[]): void {
  const stops = new Map<string, BrokerOrder>();
  // a held stop (IBKR PreSubmitted) under an entry that still works is a bracket child waiting for
  // its parent: it protects nothing yet (MONEY-10); once the entry is done, IBKR holds it as a stop it triggers itself
  const entryWorks = new Set(openOrders.filter((o) => o.role === 'ENTRY' && (o.status === 'WORKING' || o.status === 'PENDING')).map((o) => o.orderRef));
  for (const o of openOrders) {
    if (o.role !== 'STOP' || !(o.status === 'WORKING' || o.status === 'PENDING')) continue;
    if (o.held && entryWorks.has(o.orderRef)) continue;
    stops.set(o.orderRef, o);
  }
  for (const i of local.intents) {
    if (!isIn(HOLDING, i.state)) continue;
    const open = i.filledQty - i.exitQty;
    if (Math.abs(open) <= EPS) continue;
    if (local.orders.some((o) => o.intentId === i.id && o.role === 'EXIT' && FLATTENING.has(o.status))) continue; // a flatten is closing it
    const stop = stops.get(i.id);
    const covers = stop !== undefined && open > 0 && stop.quantity - stop.filledQty + EPS >= open;
    if (covers) continue;
    const subject = `${i.id}:PROTECTION`;
    const localState = { orderRef: i.id, intentState: i.state, open, protection: 'no working stop' };
    const brokerState = { orderRef: i.id, stop: stop ? { brokerOrderId: stop.brokerOrderId, status: stop.status, remaining: stop.quantity - stop.filledQty } : null };
    out.push({
      type: 'ORDER_STATUS',
      severity: 'CRITICAL',
      subject,
      instrumentKey: i.instrumentKey,
      intentId: i.id,
      summary: `${i.instrument.symbol} ${i.id}: ${open} open and no working stop at the broker${stop ? ` covering it (stop has ${stop.quantity - stop.filledQty} left)` : ''}`,
      local: localState,
      broker: brokerState,
      fingerprint: `ORDER_STATUS:${subject}:${sha256Hex(canonicalJson({ local: { open }, broker: { stop: stop ? stop.quantity - stop.filledQty : null } })).slice(0, 16)}`,
    });
  }
}

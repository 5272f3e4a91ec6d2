/**
 * INV-RECONCILE-READONLY-1: reconciliation never places, cancels or modifies anything.
 *
 * Checked as "nothing reaches the broker that no audited decision asked for": every placement
 * and cancel that arrives at the broker is preceded by its committed decision bead of that
 * intent — a bracket by its ENTRY PLACING bead, a market exit by EXIT PLACING, a re-protect stop
 * by STOP PLACING, a cancel by a CANCEL_REQUESTED bead naming that broker order, a resize of a
 * bracket child to the filled quantity (MONEY-10) by a PLACING bead naming that order — one bead per
 * call. Reconciliation writes none of these (it writes drifts), so any broker mutation it made
 * would arrive unexplained.
 */
import type { Invariant } from './types.js';

export function reconcileReadonly(): Invariant {
  const calls = new Map<string, number>();
  return {
    id: 'INV-RECONCILE-READONLY-1',
    mutation(v, m, report) {
      let pattern: string;
      if (m.kind === 'bracket') pattern = `%"event":"PLACING"%"role":"ENTRY"%`;
      else if (m.kind === 'order') pattern = `%"event":"PLACING"%"role":"${m.role}"%`;
      else if (m.kind === 'resize') pattern = `%"brokerOrderId":"${m.brokerOrderId ?? '?'}"%"event":"PLACING"%`;
      else pattern = `%"brokerOrderId":"${m.brokerOrderId ?? '?'}"%"event":"CANCEL_REQUESTED"%`;
      const key = `${m.kind}|${m.orderRef}|${m.kind === 'cancel' || m.kind === 'resize' ? m.brokerOrderId : m.role}`;
      const n = (calls.get(key) ?? 0) + 1;
      calls.set(key, n);
      const decided = v.reader.count(`SELECT COUNT(*) AS c FROM "Bead" WHERE intentId = ? AND type = 'ORDER' AND payload LIKE ?`, m.orderRef, pattern);
      if (decided < n) {
        const what = m.kind === 'cancel' ? `cancel of ${m.role} order ${m.brokerOrderId}` : m.kind === 'resize' ? `resize of ${m.role} order ${m.brokerOrderId}` : m.kind === 'bracket' ? 'bracket placement' : `${m.role} placement`;
        report(`${m.orderRef}: ${what} #${n} reached the broker with ${decided} committed decision bead(s) for it`);
      }
    },
  };
}

/**
 * Every entry order the broker holds, traced back to a human approval.
 *
 * INV-IDEMPOTENT-ORDER-1: one intent never has two entries (nor two bracket targets) at the broker.
 * INV-T2-GATE-1: every entry traces to exactly one consumed approval token of its intent, bound
 * to the evidence hash of the intent's approved payload (recomputed), with its USED bead.
 * INV-EVIDENCE-ORDER-1: the bracket at the broker is the approved payload: side, quantity, entry
 * type and limit, stop, target, contract.
 */
import { evidenceHash, type IntentInput } from '../../src/engine/index.js';
import { canonicalKey, type Invariant } from './types.js';

export const idempotentOrder: Invariant = {
  id: 'INV-IDEMPOTENT-ORDER-1',
  check(v, report) {
    for (const r of v.truth.byRef.values()) {
      const entries = r.orders.filter((o) => o.role === 'ENTRY');
      const targets = r.orders.filter((o) => o.role === 'TARGET');
      if (entries.length > 1) report(`${r.orderRef} has ${entries.length} entry orders at the broker (${entries.map((o) => o.brokerOrderId).join(', ')})`);
      if (targets.length > 1) report(`${r.orderRef} has ${targets.length} bracket targets at the broker`);
    }
  },
};

/** Entries already traced (they never change once placed). */
function traced(): Set<string> {
  return new Set<string>();
}

export function t2Gate(): Invariant {
  const done = traced();
  return {
    id: 'INV-T2-GATE-1',
    check(v, report) {
      for (const r of v.truth.byRef.values()) {
        if (done.has(r.orderRef) || !r.orders.some((o) => o.role === 'ENTRY')) continue;
        done.add(r.orderRef);
        const intent = v.intent(r.orderRef);
        if (!intent) {
          report(`the broker holds an entry for ${r.orderRef}, an intent Phoenix does not have`);
          continue;
        }
        const used = v.reader.all(`SELECT * FROM "ApprovalToken" WHERE intentId = ? AND usedAt IS NOT NULL`, intent.id);
        if (used.length !== 1) {
          report(`${intent.id}: the broker holds its entry, but ${used.length} consumed approval tokens exist (exactly one needed)`);
          continue;
        }
        const token = used[0] as { id: string; evidenceHash: string; purpose: string };
        const shown = evidenceHash(intent.payload);
        if (token.purpose !== 'TRADE' || token.evidenceHash !== shown || intent.evidenceHash !== shown) {
          report(`${intent.id}: the consumed token ${token.id} is not bound to the evidence of the approved payload (token ${token.evidenceHash.slice(0, 12)}, payload ${shown.slice(0, 12)})`);
        }
        const usedBead = v.reader.count(`SELECT COUNT(*) AS c FROM "Bead" WHERE intentId = ? AND type = 'T2_TOKEN' AND payload LIKE ?`, intent.id, `%"event":"USED"%${token.id}%`);
        if (usedBead !== 1) report(`${intent.id}: token ${token.id} was consumed but has ${usedBead} USED beads`);
      }
    },
  };
}

export function evidenceOrder(): Invariant {
  const done = new Set<string>();
  return {
    id: 'INV-EVIDENCE-ORDER-1',
    check(v, report) {
      for (const r of v.truth.byRef.values()) {
        const entry = r.orders.find((o) => o.role === 'ENTRY');
        if (!entry || done.has(r.orderRef)) continue;
        done.add(r.orderRef);
        const intent = v.intent(r.orderRef);
        if (!intent) continue;
        const p: IntentInput = intent.payload;
        const stop = r.orders.find((o) => o.role === 'STOP' && o.type === 'STP' && o.orderRef === r.orderRef);
        const target = r.orders.find((o) => o.role === 'TARGET');
        const wantType = p.orderType === 'MKT' ? 'MKT' : 'LMT';
        const problems = [
          entry.side !== p.side && `side ${entry.side}≠${p.side}`,
          entry.quantity !== p.quantity && `quantity ${entry.quantity}≠${p.quantity}`,
          entry.type !== wantType && `type ${entry.type}≠${wantType}`,
          wantType === 'LMT' && entry.limitPrice !== p.entryPrice && `limit ${entry.limitPrice}≠${p.entryPrice}`,
          canonicalKey(entry.instrument) !== canonicalKey({ ...p.instrument }) && `contract ${canonicalKey(entry.instrument)}≠${canonicalKey(p.instrument)}`,
          stop && stop.stopPrice !== p.stopLoss && `stop ${stop.stopPrice}≠${p.stopLoss}`,
          target && target.limitPrice !== p.takeProfit && `target ${target.limitPrice}≠${p.takeProfit}`,
        ].filter(Boolean);
        if (problems.length) report(`${intent.id}: the bracket at the broker differs from the approved payload: ${problems.join(', ')}`);
      }
    },
  };
}

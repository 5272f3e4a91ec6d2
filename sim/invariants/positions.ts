/**
 * What Phoenix's account holds at the broker, per contract and per intent.
 *
 * INV-INSTRUMENT-ID-1: whatever the spelling of the intents, the account's real position in one
 * contract (the checks' own identity: symbol, type, month, currency) never exceeds the
 * constitution's limit.
 * INV-FLATTEN-EXIT-1: exits never exceed what an intent entered (never reversed, whatever
 * flattens, stops and targets raced), and once a flatten's market exit has been sent no entry
 * remainder fills any more.
 */
import { canonicalKey, type Invariant, type Truth } from './types.js';

// (both are functions of the broker's book alone: a book the previous step already passed is skipped)

export function instrumentIdentity(): Invariant {
  let checked: Truth | null = null;
  return {
    id: 'INV-INSTRUMENT-ID-1',
    check(v, report) {
      if (v.truth === checked) return;
      checked = v.truth;
      const net = new Map<string, number>();
      for (const f of v.truth.executions) {
        const o = v.truth.orderById.get(f.brokerOrderId);
        if (!o) continue;
        const key = canonicalKey(o.instrument);
        net.set(key, (net.get(key) ?? 0) + (f.side === 'BUY' ? f.quantity : -f.quantity));
      }
      const max = v.constitution.limits.maxPositionPerInstrument;
      for (const [key, q] of net) {
        if (Math.abs(q) > max + 1e-9) report(`the account holds ${q} of ${key} at the broker; the limit per instrument is ${max}`);
      }
    },
  };
}

export function flattenExit(): Invariant {
  let checked: Truth | null = null;
  return {
    id: 'INV-FLATTEN-EXIT-1',
    check(v, report) {
      if (v.truth === checked) return;
      checked = v.truth;
      for (const r of v.truth.byRef.values()) {
        if (r.exited > r.entered + 1e-9) report(`${r.orderRef}: exits ${r.exited} exceed the ${r.entered} entered: the account is reversed`);
        const firstExit = r.orders.find((o) => o.role === 'EXIT');
        if (!firstExit) continue;
        // executions are in execution order; an entry fill after the exit order exists is a remainder that was still alive
        const exitAt = r.executions.findIndex((f) => f.brokerOrderId === firstExit.brokerOrderId);
        if (exitAt < 0) continue;
        r.executions.forEach((f, i) => {
          if (f.role === 'ENTRY' && i > exitAt) report(`${r.orderRef}: an entry remainder filled (${f.quantity} @ ${f.price}) after the flatten's market exit had executed`);
        });
      }
    },
  };
}

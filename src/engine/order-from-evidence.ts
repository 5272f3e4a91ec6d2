/**
 * INV-EVIDENCE-ORDER-1: the order sent is derived from exactly the bytes that were hashed and
 * approved. The approved bytes are the intent's stored payload (its evidence hash is recomputed
 * at submission); the table's columns (side, quantity, prices, multiplier) are a copy for
 * queries and must agree with it, or nothing is sent.
 */
import type { BracketRequest, Instrument } from './broker.port.js';
import type { IntentRecord } from './domain.js';
import { instrumentKey } from './domain.js';

/** The instrument of the approved payload (stocks default to multiplier 1). */
export function approvedInstrument(intent: Pick<IntentRecord, 'payload'>): Instrument {
  const i = intent.payload.instrument;
  return { ...i, multiplier: i.multiplier ?? 1 };
}

/** The bracket for this intent, built from the approved payload only. */
export function orderFromApproved(intent: Pick<IntentRecord, 'id' | 'payload'>): BracketRequest {
  const p = intent.payload;
  return {
    orderRef: intent.id,
    instrument: approvedInstrument(intent),
    side: p.side,
    quantity: p.quantity,
    entryType: p.orderType === 'MKT' ? 'MKT' : 'LMT',
    ...(p.orderType === 'MKT' || p.entryPrice === undefined ? {} : { limitPrice: p.entryPrice }),
    stopPrice: p.stopLoss,
    targetPrice: p.takeProfit,
  };
}

/** Which stored columns disagree with the approved payload, as "field stored≠approved", or null. */
export function storedFieldsMismatch(intent: IntentRecord): string | null {
  const p = intent.payload;
  const ins = approvedInstrument(intent);
  const pairs: Array<[string, unknown, unknown]> = [
    ['side', intent.side, p.side],
    ['quantity', intent.quantity, p.quantity],
    ['orderType', intent.orderType, p.orderType],
    ['entryPrice', intent.entryPrice, p.entryPrice ?? null],
    ['stopLoss', intent.stopLoss, p.stopLoss],
    ['takeProfit', intent.takeProfit, p.takeProfit],
    ['symbol', intent.instrument.symbol, ins.symbol],
    ['secType', intent.instrument.secType, ins.secType],
    ['multiplier', intent.instrument.multiplier, ins.multiplier],
    ['instrumentKey', intent.instrumentKey, instrumentKey(ins)],
  ];
  const bad = pairs.filter(([, stored, approved]) => stored !== approved).map(([f, stored, approved]) => `${f} ${String(stored)}≠${String(approved)}`);
  return bad.length ? bad.join(', ') : null;
}

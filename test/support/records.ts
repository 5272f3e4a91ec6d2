/**
 * Record builders: one complete, valid record of each stored type, every field named once here,
 * so a test states only the fields it is about (`anIntent({ state: 'MANAGED', filledQty: 1 })`).
 * Typed against src/engine/domain.ts: a field added to a record fails to compile here, once,
 * instead of in every test that hand-copied the record.
 *
 * The defaults are the README's MES bracket (risk $11.25) proposed at T0 (Tue 2026-11-24 10:00
 * New York, the harness's IN_SESSION), its card just sent. Every time is relative to `now`
 * (second argument, T0 by default); an override always wins, nested objects are replaced whole.
 */
import type { CardRecord, FillRecord, IntentRecord, KillFlag, OrderRecord, TokenRecord } from '../../src/engine/domain.js';
import { instrumentKey } from '../../src/engine/domain.js';
import type { IntentInput } from '../../src/engine/intent.schema.js';

/** Tue 2026-11-24 10:00 EST (= harness IN_SESSION), as epoch ms. */
export const T0 = Date.parse('2026-11-24T15:00:00Z');

/** The README's MES contract (December 2026 micro E-mini). */
export const MES_DEC26 = { symbol: 'MES', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 5 } as const satisfies IntentInput['instrument'];

/** The validated intake payload an intent record keeps (`IntentRecord.payload`); signal 12 s old. */
export function anIntentInput(over: Partial<IntentInput> = {}, now = T0): IntentInput {
  return {
    signalId: 'sig-1',
    strategy: 'mes-orb',
    instrument: MES_DEC26,
    side: 'BUY',
    quantity: 1,
    orderType: 'BRACKET',
    entryPrice: 6010.25,
    stopLoss: 6008,
    takeProfit: 6015,
    evidence: {
      setupScore: 0.82,
      breakdown: { trend: 0.9, momentum: 0.7, volume: 0.85 },
      alignment: 'HTF up; LTF pullback to VWAP',
      redChecks: [{ name: 'no tier-1 news within 30 min', passed: true }, { name: 'spread ok', passed: true }],
      dvs: 0.93,
      eqs: 0.88,
    },
    stateHash: 'sha256:9f2c0a',
    stateAsOf: new Date(now - 12_000).toISOString(),
    ...over,
  };
}

/**
 * A PROPOSED intent as intake stores it. The top-level trade fields default to the payload's
 * (`anIntent({ payload })` keeps them in step); override them separately to make them differ.
 */
export function anIntent(over: Partial<IntentRecord> = {}, now = T0): IntentRecord {
  const payload = over.payload ?? anIntentInput({}, now);
  // as intake stores it (intake.usecase.ts): the multiplier defaults to 1
  const instrument = over.instrument ?? { ...payload.instrument, multiplier: payload.instrument.multiplier ?? 1 };
  return {
    id: 'int_abc',
    signalId: payload.signalId,
    strategy: payload.strategy,
    shadow: false,
    payload,
    evidenceHash: 'sha256:x',
    state: 'PROPOSED',
    stateReason: 'received',
    instrument,
    instrumentKey: instrumentKey(instrument),
    side: payload.side,
    orderType: payload.orderType,
    quantity: payload.quantity,
    entryPrice: payload.entryPrice ?? null,
    stopLoss: payload.stopLoss,
    takeProfit: payload.takeProfit,
    stateAsOf: now - 12_000,
    ttlSec: 300,
    regime: null,
    cardExpiresAt: now + 300_000,
    filledQty: 0,
    avgFillPrice: null,
    exitQty: 0,
    exitAvgPrice: null,
    commissionCents: 0,
    realizedPnlCents: null,
    approvedBy: null,
    approvedAt: null,
    submittedAt: null,
    ackedAt: null,
    closedAt: null,
    closedDay: null,
    createdAt: now,
    updatedAt: now,
    ...over,
  };
}

/** An OPEN TRADE card for `int_abc` in the harness chat, inserted but not yet sent. */
export function aCard(over: Partial<CardRecord> = {}, now = T0): CardRecord {
  return {
    id: 'k3j2h4g5f6',
    kind: 'TRADE',
    subjectId: 'int_abc',
    chatId: '-1001001',
    messageId: null,
    status: 'OPEN',
    version: 1,
    renderedVersion: 0,
    expiresAt: now + 300_000,
    decidedBy: null,
    decidedAt: null,
    createdAt: now,
    updatedAt: now,
    ...over,
  };
}

/** The ENTRY leg of `int_abc`, written before sending (PENDING, no broker id yet). */
export function anOrder(over: Partial<OrderRecord> = {}, now = T0): OrderRecord {
  return {
    id: 'ord_1',
    intentId: 'int_abc',
    role: 'ENTRY',
    brokerOrderId: null,
    status: 'PENDING',
    quantity: 1,
    filledQty: 0,
    avgFillPrice: null,
    createdAt: now,
    updatedAt: now,
    ...over,
  };
}

/** A fill of the ENTRY leg of `int_abc` at the README entry price. */
export function aFill(over: Partial<FillRecord> = {}, now = T0): FillRecord {
  return { execId: 'exec_1', intentId: 'int_abc', role: 'ENTRY', side: 'BUY', quantity: 1, price: 6010.25, commission: 0.62, time: now, ...over };
}

/** An unused TRADE token for `int_abc`, valid 5 minutes. */
export function aToken(over: Partial<TokenRecord> = {}, now = T0): TokenRecord {
  return { id: 'tok_1', purpose: 'TRADE', intentId: 'int_abc', evidenceHash: 'e', issuedAt: now, expiresAt: now + 300_000, usedAt: null, expiredAt: null, issuedTo: 'u', ...over };
}

/** An active MANUAL kill flag (a /halt) with no expiry. */
export function aKill(over: Partial<KillFlag> = {}, now = T0): KillFlag {
  return { id: 'kill_1', kind: 'MANUAL', reason: 'halt', setBy: 'alice', setAt: now, expiresAt: null, clearedAt: null, clearedBy: null, ...over };
}

/**
 * Prisma rows ↔ domain records. Prisma model types never leave src/store.
 */
import type {
  CardRecord,
  DriftRecord,
  FillRecord,
  Instrument,
  IntentInput,
  IntentPatch,
  IntentRecord,
  IntentTransitionPatch,
  KillFlag,
  OrderRecord,
  StoredBead,
  StrategyRecord,
  TokenRecord,
} from '../engine/index.js';
import type { Intent, ApprovalToken, BrokerOrder, Card, KillFlag as KillRow, Bead, Drift, Strategy, Fill } from './generated/client.js';

const ms = (d: Date | null): number | null => (d ? d.getTime() : null);
const dt = (n: number | null | undefined): Date | null | undefined => (n === undefined ? undefined : n === null ? null : new Date(n));

export function intentToDomain(r: Intent): IntentRecord {
  const payload = JSON.parse(r.payload) as IntentInput;
  const instrument: Instrument = {
    symbol: payload.instrument.symbol,
    secType: payload.instrument.secType,
    exchange: payload.instrument.exchange,
    currency: payload.instrument.currency,
    ...(payload.instrument.contractMonth ? { contractMonth: payload.instrument.contractMonth } : {}),
    multiplier: r.multiplier,
  };
  return {
    id: r.id,
    signalId: r.signalId,
    strategy: r.strategy,
    shadow: r.shadow,
    payload,
    evidenceHash: r.evidenceHash,
    state: r.state as IntentRecord['state'],
    stateReason: r.stateReason,
    instrument,
    instrumentKey: r.instrumentKey,
    side: r.side as IntentRecord['side'],
    orderType: r.orderType as IntentRecord['orderType'],
    quantity: r.quantity,
    entryPrice: r.entryPrice,
    stopLoss: r.stopLoss,
    takeProfit: r.takeProfit,
    stateAsOf: r.stateAsOf.getTime(),
    ttlSec: r.ttlSec,
    regime: r.regime,
    cardExpiresAt: r.cardExpiresAt.getTime(),
    filledQty: r.filledQty,
    avgFillPrice: r.avgFillPrice,
    exitQty: r.exitQty,
    exitAvgPrice: r.exitAvgPrice,
    commissionCents: r.commissionCents,
    realizedPnlCents: r.realizedPnlCents,
    approvedBy: r.approvedBy,
    approvedAt: ms(r.approvedAt),
    submittedAt: ms(r.submittedAt),
    ackedAt: ms(r.ackedAt),
    closedAt: ms(r.closedAt),
    closedDay: r.closedDay,
    createdAt: r.createdAt.getTime(),
    updatedAt: r.updatedAt.getTime(),
  };
}

export function intentToRow(i: IntentRecord): Intent {
  return {
    id: i.id,
    signalId: i.signalId,
    strategy: i.strategy,
    shadow: i.shadow,
    payload: JSON.stringify(i.payload),
    evidenceHash: i.evidenceHash,
    state: i.state,
    stateReason: i.stateReason,
    symbol: i.instrument.symbol,
    secType: i.instrument.secType,
    instrumentKey: i.instrumentKey,
    side: i.side,
    orderType: i.orderType,
    quantity: i.quantity,
    multiplier: i.instrument.multiplier,
    entryPrice: i.entryPrice,
    stopLoss: i.stopLoss,
    takeProfit: i.takeProfit,
    stateAsOf: new Date(i.stateAsOf),
    ttlSec: i.ttlSec,
    regime: i.regime,
    cardExpiresAt: new Date(i.cardExpiresAt),
    filledQty: i.filledQty,
    avgFillPrice: i.avgFillPrice,
    exitQty: i.exitQty,
    exitAvgPrice: i.exitAvgPrice,
    commissionCents: i.commissionCents,
    realizedPnlCents: i.realizedPnlCents,
    approvedBy: i.approvedBy,
    approvedAt: dt(i.approvedAt) ?? null,
    submittedAt: dt(i.submittedAt) ?? null,
    ackedAt: dt(i.ackedAt) ?? null,
    closedAt: dt(i.closedAt) ?? null,
    closedDay: i.closedDay,
    createdAt: new Date(i.createdAt),
    updatedAt: new Date(i.updatedAt),
  };
}

const DATE_FIELDS = new Set(['stateAsOf', 'cardExpiresAt', 'approvedAt', 'submittedAt', 'ackedAt', 'closedAt', 'updatedAt']);

/** Patch in domain shape → Prisma update data. */
export function intentPatchToRow(p: IntentPatch | IntentTransitionPatch): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    if (k === 'instrument') continue;
    out[k] = DATE_FIELDS.has(k) ? dt(v as number | null) : v;
  }
  return out;
}

export const tokenToDomain = (r: ApprovalToken): TokenRecord => ({
  id: r.id,
  purpose: r.purpose as TokenRecord['purpose'],
  intentId: r.intentId,
  evidenceHash: r.evidenceHash,
  issuedAt: r.issuedAt.getTime(),
  expiresAt: r.expiresAt.getTime(),
  usedAt: ms(r.usedAt),
  expiredAt: ms(r.expiredAt),
  issuedTo: r.issuedTo,
});

export const orderToDomain = (r: BrokerOrder): OrderRecord => ({
  id: r.id,
  intentId: r.intentId,
  role: r.role as OrderRecord['role'],
  brokerOrderId: r.brokerOrderId,
  status: r.status as OrderRecord['status'],
  quantity: r.quantity,
  filledQty: r.filledQty,
  avgFillPrice: r.avgFillPrice,
  createdAt: r.createdAt.getTime(),
  updatedAt: r.updatedAt.getTime(),
});

export const fillToDomain = (r: Fill): FillRecord => ({
  execId: r.execId,
  intentId: r.intentId,
  role: r.role as FillRecord['role'],
  side: r.side as FillRecord['side'],
  quantity: r.quantity,
  price: r.price,
  commission: r.commission,
  time: r.time.getTime(),
});

export const killToDomain = (r: KillRow): KillFlag => ({
  id: r.id,
  kind: r.kind as KillFlag['kind'],
  reason: r.reason,
  setBy: r.setBy,
  setAt: r.setAt.getTime(),
  expiresAt: ms(r.expiresAt),
  clearedAt: ms(r.clearedAt),
  clearedBy: r.clearedBy,
});

export const cardToDomain = (r: Card): CardRecord => ({
  id: r.id,
  kind: r.kind as CardRecord['kind'],
  subjectId: r.subjectId,
  chatId: r.chatId,
  messageId: r.messageId,
  status: r.status as CardRecord['status'],
  version: r.version,
  renderedVersion: r.renderedVersion,
  expiresAt: r.expiresAt.getTime(),
  decidedBy: r.decidedBy,
  decidedAt: ms(r.decidedAt),
  createdAt: r.createdAt.getTime(),
  updatedAt: r.updatedAt.getTime(),
});

export const beadToDomain = (r: Bead): StoredBead => ({
  seq: r.seq,
  id: r.id,
  type: r.type,
  intentId: r.intentId,
  payload: r.payload,
  ts: r.ts.getTime(),
  prevHash: r.prevHash,
  hash: r.hash,
  hashVersion: r.hashVersion,
});

export const driftToDomain = (r: Drift): DriftRecord => ({
  id: r.id,
  type: r.type as DriftRecord['type'],
  severity: r.severity as DriftRecord['severity'],
  instrumentKey: r.instrumentKey,
  local: JSON.parse(r.local) as unknown,
  broker: JSON.parse(r.broker) as unknown,
  fingerprint: r.fingerprint,
  detectedAt: r.detectedAt.getTime(),
  escalatedAt: ms(r.escalatedAt),
  resolvedAt: ms(r.resolvedAt),
  resolution: r.resolution,
  resolvedBy: r.resolvedBy,
  note: r.note,
});

export const strategyToDomain = (r: Strategy): StrategyRecord => ({
  name: r.name,
  stage: r.stage as StrategyRecord['stage'],
  since: r.since.getTime(),
  changedBy: r.changedBy,
});

export { dt };

/**
 * Row ↔ domain mapping for the native SQLite store. The column layout is the Prisma schema's
 * (prisma/schema.prisma is the single source of truth); values use Prisma's own SQLite
 * encoding so both adapters read and write the same file: DateTime as ISO-8601 text with a
 * `+00:00` offset, Boolean as 0/1.
 */
import type {
  CardRecord,
  DriftRecord,
  FillRecord,
  IntentInput,
  IntentRecord,
  JobRunRecord,
  KillFlag,
  OrderRecord,
  PromotionDecisionRecord,
  PromotionRecord,
  StoredBead,
  StrategyRecord,
  TokenRecord,
} from '../engine/index.js';

export type Row = Record<string, unknown>;

/** epoch ms → Prisma's SQLite DateTime text (sortable, fixed width). */
export const iso = (ms: number): string => new Date(ms).toISOString().replace('Z', '+00:00');
export const isoOrNull = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : iso(ms));
const t = (v: unknown): number => Date.parse(String(v));
const tn = (v: unknown): number | null => (v === null || v === undefined ? null : Date.parse(String(v)));
const s = (v: unknown): string => String(v);
const sn = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const n = (v: unknown): number => Number(v);
const nn = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function intentFromRow(r: Row): IntentRecord {
  const payload = JSON.parse(s(r.payload)) as IntentInput;
  return {
    id: s(r.id),
    signalId: s(r.signalId),
    strategy: s(r.strategy),
    shadow: n(r.shadow) === 1,
    payload,
    evidenceHash: s(r.evidenceHash),
    state: s(r.state) as IntentRecord['state'],
    stateReason: sn(r.stateReason),
    instrument: {
      symbol: payload.instrument.symbol,
      secType: payload.instrument.secType,
      exchange: payload.instrument.exchange,
      currency: payload.instrument.currency,
      ...(payload.instrument.contractMonth ? { contractMonth: payload.instrument.contractMonth } : {}),
      multiplier: n(r.multiplier),
    },
    instrumentKey: s(r.instrumentKey),
    side: s(r.side) as IntentRecord['side'],
    orderType: s(r.orderType) as IntentRecord['orderType'],
    quantity: n(r.quantity),
    entryPrice: nn(r.entryPrice),
    stopLoss: n(r.stopLoss),
    takeProfit: n(r.takeProfit),
    stateAsOf: t(r.stateAsOf),
    ttlSec: n(r.ttlSec),
    regime: sn(r.regime),
    cardExpiresAt: t(r.cardExpiresAt),
    filledQty: n(r.filledQty),
    avgFillPrice: nn(r.avgFillPrice),
    exitQty: n(r.exitQty),
    exitAvgPrice: nn(r.exitAvgPrice),
    commissionCents: n(r.commissionCents),
    realizedPnlCents: nn(r.realizedPnlCents),
    approvedBy: sn(r.approvedBy),
    approvedAt: tn(r.approvedAt),
    submittedAt: tn(r.submittedAt),
    ackedAt: tn(r.ackedAt),
    closedAt: tn(r.closedAt),
    closedDay: sn(r.closedDay),
    createdAt: t(r.createdAt),
    updatedAt: t(r.updatedAt),
  };
}

const INTENT_DATES = new Set(['stateAsOf', 'cardExpiresAt', 'approvedAt', 'submittedAt', 'ackedAt', 'closedAt', 'createdAt', 'updatedAt']);

/** Domain values → column values (dates to text, booleans to 0/1, payload to JSON). */
export function intentColumns(fields: Partial<IntentRecord>): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if (k === 'instrument') {
      const i = v as IntentRecord['instrument'];
      out.symbol = i.symbol;
      out.secType = i.secType;
      out.multiplier = i.multiplier;
    } else if (k === 'payload') out.payload = JSON.stringify(v);
    else if (k === 'shadow') out.shadow = v ? 1 : 0;
    else if (INTENT_DATES.has(k)) out[k] = isoOrNull(v as number | null);
    else out[k] = v;
  }
  return out;
}

export const tokenFromRow = (r: Row): TokenRecord => ({
  id: s(r.id),
  purpose: s(r.purpose) as TokenRecord['purpose'],
  intentId: s(r.intentId),
  evidenceHash: s(r.evidenceHash),
  issuedAt: t(r.issuedAt),
  expiresAt: t(r.expiresAt),
  usedAt: tn(r.usedAt),
  expiredAt: tn(r.expiredAt),
  issuedTo: s(r.issuedTo),
});

export const orderFromRow = (r: Row): OrderRecord => ({
  id: s(r.id),
  intentId: s(r.intentId),
  role: s(r.role) as OrderRecord['role'],
  brokerOrderId: sn(r.brokerOrderId),
  status: s(r.status) as OrderRecord['status'],
  quantity: n(r.quantity),
  filledQty: n(r.filledQty),
  avgFillPrice: nn(r.avgFillPrice),
  createdAt: t(r.createdAt),
  updatedAt: t(r.updatedAt),
});

export const fillFromRow = (r: Row): FillRecord => ({
  execId: s(r.execId),
  intentId: s(r.intentId),
  role: s(r.role) as FillRecord['role'],
  side: s(r.side) as FillRecord['side'],
  quantity: n(r.quantity),
  price: n(r.price),
  commission: n(r.commission),
  time: t(r.time),
});

export const jobRunFromRow = (r: Row): JobRunRecord => ({
  id: String(r.id),
  job: String(r.job),
  startedAt: Date.parse(String(r.startedAt)),
  endedAt: r.endedAt === null || r.endedAt === undefined ? null : Date.parse(String(r.endedAt)),
  outcome: r.outcome === null || r.outcome === undefined ? null : String(r.outcome),
  detail: r.detail === null || r.detail === undefined ? null : String(r.detail),
});

export const killFromRow = (r: Row): KillFlag => ({
  id: s(r.id),
  kind: s(r.kind) as KillFlag['kind'],
  reason: s(r.reason),
  setBy: s(r.setBy),
  setAt: t(r.setAt),
  expiresAt: tn(r.expiresAt),
  clearedAt: tn(r.clearedAt),
  clearedBy: sn(r.clearedBy),
});

export const cardFromRow = (r: Row): CardRecord => ({
  id: s(r.id),
  kind: s(r.kind) as CardRecord['kind'],
  subjectId: s(r.subjectId),
  chatId: s(r.chatId),
  messageId: nn(r.messageId),
  status: s(r.status) as CardRecord['status'],
  version: n(r.version),
  renderedVersion: n(r.renderedVersion),
  expiresAt: t(r.expiresAt),
  decidedBy: sn(r.decidedBy),
  decidedAt: tn(r.decidedAt),
  createdAt: t(r.createdAt),
  updatedAt: t(r.updatedAt),
});

export const beadFromRow = (r: Row): StoredBead => ({
  seq: n(r.seq),
  id: s(r.id),
  type: s(r.type),
  intentId: sn(r.intentId),
  payload: s(r.payload),
  ts: t(r.ts),
  prevHash: s(r.prevHash),
  hash: s(r.hash),
  hashVersion: n(r.hashVersion),
});

export const driftFromRow = (r: Row): DriftRecord => ({
  id: s(r.id),
  type: s(r.type) as DriftRecord['type'],
  severity: s(r.severity) as DriftRecord['severity'],
  instrumentKey: sn(r.instrumentKey),
  local: JSON.parse(s(r.local)) as unknown,
  broker: JSON.parse(s(r.broker)) as unknown,
  fingerprint: s(r.fingerprint),
  detectedAt: t(r.detectedAt),
  escalatedAt: tn(r.escalatedAt),
  resolvedAt: tn(r.resolvedAt),
  resolution: sn(r.resolution),
  resolvedBy: sn(r.resolvedBy),
  note: sn(r.note),
});

export const strategyFromRow = (r: Row): StrategyRecord => ({
  name: s(r.name),
  stage: s(r.stage) as StrategyRecord['stage'],
  since: t(r.since),
  changedBy: s(r.changedBy),
});

/** A promotion request's columns (`now`: updatedAt). */
export function promotionColumns(p: PromotionRecord, now: number): Row {
  const d = p.decision;
  return {
    id: p.id,
    strategy: p.strategy,
    cardId: p.cardId,
    bundle: JSON.stringify(p.bundle),
    bundleHash: p.bundleHash,
    requestedById: p.requestedBy.id,
    requestedByName: p.requestedBy.name,
    requestedVia: p.requestedBy.via,
    requestedAt: iso(p.requestedAt),
    expiresAt: iso(p.expiresAt),
    decisionEvent: d?.event ?? null,
    decisionBy: d?.by ?? null,
    decisionAt: isoOrNull(d?.at),
    decisionReason: d?.reason ?? null,
    decisionTokenId: d?.tokenId ?? null,
    updatedAt: iso(now),
  };
}

/** A promotion request from its row (timestamps as ISO text or Date: every adapter's rows). */
export function promotionFromRow(r: Row): PromotionRecord {
  const at = (v: unknown) => (v instanceof Date ? v.getTime() : t(v));
  const decision: PromotionDecisionRecord | null =
    r.decisionEvent === null || r.decisionEvent === undefined
      ? null
      : {
          event: s(r.decisionEvent) as PromotionDecisionRecord['event'],
          by: sn(r.decisionBy),
          at: at(r.decisionAt),
          ...(r.decisionReason != null ? { reason: s(r.decisionReason) } : {}),
          ...(r.decisionTokenId != null ? { tokenId: s(r.decisionTokenId) } : {}),
        };
  return {
    id: s(r.id),
    strategy: s(r.strategy),
    cardId: s(r.cardId),
    bundle: JSON.parse(s(r.bundle)) as PromotionRecord['bundle'],
    bundleHash: s(r.bundleHash),
    requestedBy: { id: s(r.requestedById), name: s(r.requestedByName), via: s(r.requestedVia) },
    requestedAt: at(r.requestedAt),
    expiresAt: at(r.expiresAt),
    decision,
  };
}

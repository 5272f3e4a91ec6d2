/**
 * Audit log beads (SPEC 13): typed, zod-validated before they are written, hash-chained.
 * hash = sha256(prevHash + type + canonicalJson(payload) + ts ISO-8601). The store appends
 * them inside the transaction of the state change they record; the database refuses UPDATE
 * and DELETE on them; `verifyChain` names the first broken link (INV-AUDIT-CHAIN-1).
 */
import { z } from 'zod';
import { canonicalJson, sha256Hex } from './canonical.js';

export const GENESIS_HASH = '0'.repeat(64);

const denial = z.object({ gate: z.string(), code: z.string(), message: z.string(), wait: z.boolean().optional() });
const who = z.object({ id: z.string(), name: z.string(), via: z.string() });

export const beadSchemas = {
  INTENT: z.object({ signalId: z.string(), strategy: z.string(), instrumentKey: z.string(), side: z.string(), quantity: z.number(), orderType: z.string(), evidenceHash: z.string(), source: z.string(), shadow: z.boolean(), outcome: z.enum(['PROPOSED', 'CANCELLED', 'SHADOW']) }),
  GATE: z.object({ stage: z.enum(['INTAKE', 'APPROVAL', 'SUBMIT']), passed: z.array(z.string()), denials: z.array(denial), inputs: z.record(z.string(), z.unknown()) }),
  T2_TOKEN: z.object({ event: z.enum(['ISSUED', 'USED', 'EXPIRED', 'REJECTED']), tokenId: z.string().nullable(), purpose: z.enum(['TRADE', 'PROMOTION']), reason: z.string().optional(), actor: who.optional(), expiresAt: z.string().optional() }),
  POSITION: z.object({ from: z.string(), to: z.string(), reason: z.string(), actor: who.optional(), filledQty: z.number().optional(), avgFillPrice: z.number().nullable().optional(), realizedPnlCents: z.number().optional() }),
  ORDER: z.object({ role: z.string(), event: z.enum(['PLACING', 'PLACED', 'STATUS', 'PLACE_FAILED', 'FOUND_AFTER_RESTART', 'CANCEL_REQUESTED', 'CANCEL_FAILED', 'RESERVED', 'SENDING', 'SEND_REFUSED', 'NOT_NEEDED']), brokerOrderId: z.string().nullable().optional(), status: z.string().optional(), detail: z.string().optional() }),
  FILL: z.object({ execId: z.string(), role: z.string(), side: z.string(), quantity: z.number(), price: z.number(), commission: z.number(), filledQty: z.number(), requestedQty: z.number(), partialFillRatio: z.number(), corrects: z.string().optional(), commissionUpdate: z.boolean().optional(), netQty: z.number().optional() }),
  RECONCILIATION_DRIFT: z.object({ driftId: z.string(), driftType: z.enum(['POSITION_COUNT', 'POSITION_SIZE', 'PNL', 'ORDER_STATUS']), severity: z.enum(['WARNING', 'CRITICAL']), local: z.unknown(), broker: z.unknown(), instrumentKey: z.string().nullable() }),
  RECONCILIATION_RESOLUTION: z.object({ driftId: z.string(), resolution: z.enum(['ACKNOWLEDGED', 'PHOENIX_CORRECTED', 'BROKER_CORRECTED']), note: z.string(), actor: who }),
  HEARTBEAT: z.object({ status: z.enum(['OK', 'DEGRADED', 'MISSED']), reasons: z.array(z.string()), checks: z.record(z.string(), z.unknown()).optional(), gapSec: z.number().optional() }),
  IBKR_SESSION: z.object({ state: z.string(), detail: z.string(), code: z.number().optional(), attempt: z.number().optional(), escalated: z.boolean().optional() }),
  KILL_FLAG: z.object({ action: z.enum(['SET', 'CLEARED', 'EXPIRED']), flagId: z.string(), kind: z.string(), reason: z.string(), actor: who.optional(), expiresAt: z.string().nullable().optional() }),
  ALERT: z.object({ alertId: z.string(), alertType: z.string(), severity: z.string(), event: z.enum(['RAISED', 'SENT', 'FOLDED']), messageId: z.string().optional() }),
  PROMOTION: z.object({
    strategy: z.string(),
    from: z.string(),
    to: z.string(),
    event: z.enum(['REQUESTED', 'REFUSED', 'APPROVED', 'PASSED', 'DEMOTED', 'EXPIRED', 'REGISTERED', 'WITHDRAWN']),
    missing: z.array(z.string()).optional(),
    bundle: z.unknown().optional(),
    actor: who.optional(),
    // additive (issue 7): which request, card, bundle and token the event is about
    promotionId: z.string().optional(),
    cardId: z.string().optional(),
    bundleHash: z.string().optional(),
    tokenId: z.string().optional(),
    reason: z.string().optional(),
  }),
  ACCESS_DENIED: z.object({ userId: z.string(), chatId: z.string().nullable(), action: z.string(), reason: z.string() }),
  CONFIG: z.object({ digest: z.string(), mode: z.string(), broker: z.string(), constitution: z.string(), telegram: z.string(), version: z.string() }),
  CARD: z.object({ cardId: z.string(), kind: z.string(), event: z.enum(['CREATED', 'DECIDED', 'EXPIRED', 'TAP_REFUSED']), actor: who.optional(), detail: z.string().optional() }),
  ALERT_SNOOZE: z.object({ alertTypes: z.array(z.string()).min(1), until: z.string(), actor: who, messageId: z.string() }),
  JOB: z.object({ job: z.string(), event: z.enum(['DAILY_RESET', 'FLATTEN_DEADLINE', 'FLATTEN_DEADLINE_CATCH_UP', 'ESCALATION']), detail: z.string() }),
} as const;

export type BeadType = keyof typeof beadSchemas;
export const BEAD_TYPES = Object.keys(beadSchemas) as BeadType[];
export type BeadPayload<T extends BeadType> = z.infer<(typeof beadSchemas)[T]>;

/** What the engine asks the store to append. */
export interface BeadDraft<T extends BeadType = BeadType> {
  readonly type: T;
  readonly intentId: string | null;
  readonly payload: BeadPayload<T>;
  readonly ts: number;
}

export interface StoredBead {
  readonly seq: number;
  readonly id: string;
  readonly type: string;
  readonly intentId: string | null;
  /** canonical JSON as stored */
  readonly payload: string;
  readonly ts: number;
  readonly prevHash: string;
  readonly hash: string;
}

/** Validate a draft against its schema; throws with the type and the issues. */
export function validateBead<T extends BeadType>(draft: BeadDraft<T>): BeadDraft<T> {
  const schema = beadSchemas[draft.type];
  if (!schema) throw new Error(`unknown bead type ${String(draft.type)}`);
  const r = schema.safeParse(draft.payload);
  if (!r.success) throw new Error(`invalid ${draft.type} bead: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return draft;
}

export function beadHash(prevHash: string, type: string, canonicalPayload: string, ts: number): string {
  return sha256Hex(prevHash + type + canonicalPayload + new Date(ts).toISOString());
}

/** Link drafts onto the chain head: returns the rows to insert, in order. */
export function chainBeads(head: string, drafts: readonly BeadDraft[], ids: () => string): Omit<StoredBead, 'seq'>[] {
  let prev = head;
  return drafts.map((d) => {
    validateBead(d);
    const payload = canonicalJson(d.payload);
    const hash = beadHash(prev, d.type, payload, d.ts);
    const row = { id: ids(), type: d.type, intentId: d.intentId, payload, ts: d.ts, prevHash: prev, hash };
    prev = hash;
    return row;
  });
}

export type ChainBreak = { seq: number; id: string; type: string; problem: string };

/**
 * Incremental verifier: feed beads in seq order; returns the first break found. Checks the
 * link to the previous hash, the recomputed hash, and that the payload is still valid.
 */
export class ChainVerifier {
  private prev = GENESIS_HASH;
  private lastSeq = 0;
  count = 0;
  firstBreak: ChainBreak | null = null;

  push(b: StoredBead): ChainBreak | null {
    if (this.firstBreak) return this.firstBreak;
    this.count++;
    const fail = (problem: string) => (this.firstBreak = { seq: b.seq, id: b.id, type: b.type, problem });
    if (b.seq <= this.lastSeq) return fail(`sequence ${b.seq} is not after ${this.lastSeq}`);
    if (b.prevHash !== this.prev) return fail('prevHash does not match the previous bead (a bead was removed, inserted or re-ordered)');
    if (beadHash(b.prevHash, b.type, b.payload, b.ts) !== b.hash) return fail('hash does not match the content (payload, type or timestamp was edited)');
    this.prev = b.hash;
    this.lastSeq = b.seq;
    return null;
  }
}

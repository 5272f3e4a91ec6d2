/**
 * Audit log beads (SPEC 13): typed, zod-validated before they are written, hash-chained. The
 * store appends them inside the transaction of the state change they record; the database
 * refuses UPDATE and DELETE on them; `ChainVerifier` names the first broken link
 * (INV-AUDIT-CHAIN-1), and the anchor (audit.anchor.ts) catches what a chain cannot:
 * truncation and well-formed forged appends (INV-AUDIT-ANCHOR-1).
 *
 * Hash versions (SAFE-12). Databases from before SAFE-12 hold version-1 beads:
 *   v1 = sha256(prevHash + type + canonicalJson(payload) + ts ISO-8601)
 * which does not cover seq, id or intentId (a bead could be re-pointed to another intent).
 * The triggers forbid rewriting them, so they stay v1 and verify under v1. Every bead written
 * now is version 2, over every stored column:
 *   v2 = sha256("phoenix-bead-v2\n" + JSON [seq, id, type, intentId, ts ISO, prevHash] + "\n" + payload)
 * (the header is JSON, so null and "" intent ids differ and no field can bleed into the next;
 * the payload is last, after the first raw newline, so it needs no escaping). The version is
 * a column, and it only goes up: once a v2 bead exists, a later v1 bead is a break (a forger
 * must not get the weaker formula back by writing hashVersion = 1), and v2 sequence numbers
 * are consecutive. Downgrading the whole chain to v1 means rewriting every bead after the
 * switch, which changes the head hash: that is what the anchor is for.
 */
import { z } from 'zod';
import { canonicalJson, sha256Hex } from './canonical.js';

export const GENESIS_HASH = '0'.repeat(64);

/** The hash formula every new bead uses. */
export const BEAD_HASH_VERSION = 2;

const denial = z.object({ gate: z.string(), code: z.string(), message: z.string(), wait: z.boolean().optional() });
const who = z.object({ id: z.string(), name: z.string(), via: z.string() });

export const beadSchemas = {
  INTENT: z.object({ signalId: z.string(), strategy: z.string(), instrumentKey: z.string(), side: z.string(), quantity: z.number(), orderType: z.string(), evidenceHash: z.string(), source: z.string(), shadow: z.boolean(), outcome: z.enum(['PROPOSED', 'CANCELLED', 'SHADOW']) }),
  GATE: z.object({ stage: z.enum(['INTAKE', 'APPROVAL', 'SUBMIT']), passed: z.array(z.string()), denials: z.array(denial), inputs: z.record(z.string(), z.unknown()) }),
  T2_TOKEN: z.object({ event: z.enum(['ISSUED', 'USED', 'EXPIRED', 'REJECTED']), tokenId: z.string().nullable(), purpose: z.enum(['TRADE', 'PROMOTION']), reason: z.string().optional(), actor: who.optional(), expiresAt: z.string().optional() }),
  POSITION: z.object({ from: z.string(), to: z.string(), reason: z.string(), actor: who.optional(), filledQty: z.number().optional(), avgFillPrice: z.number().nullable().optional(), realizedPnlCents: z.number().optional() }),
  ORDER: z.object({ role: z.string(), event: z.enum(['PLACING', 'PLACED', 'STATUS', 'PLACE_FAILED', 'FOUND_AFTER_RESTART', 'CANCEL_REQUESTED', 'CANCEL_FAILED', 'RESERVED', 'SENDING', 'SEND_REFUSED', 'NOT_NEEDED']), brokerOrderId: z.string().nullable().optional(), status: z.string().optional(), detail: z.string().optional() }),
  FILL: z.object({ execId: z.string(), role: z.string(), side: z.string(), quantity: z.number(), price: z.number(), commission: z.number(), filledQty: z.number(), requestedQty: z.number(), partialFillRatio: z.number(), corrects: z.string().optional(), commissionUpdate: z.boolean().optional(), netQty: z.number().optional() }),
  RECONCILIATION_DRIFT: z.object({ driftId: z.string(), driftType: z.enum(['POSITION_COUNT', 'POSITION_SIZE', 'PNL', 'ORDER_STATUS']), severity: z.enum(['WARNING', 'CRITICAL']), local: z.unknown(), broker: z.unknown(), instrumentKey: z.string().nullable(), recurred: z.boolean().optional() }),
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
  /** which formula `hash` was computed with (1: before SAFE-12; 2: every column) */
  readonly hashVersion: number;
}

/** Where the chain ends: what the next bead links onto. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

export const EMPTY_HEAD: ChainHead = { seq: 0, hash: GENESIS_HASH };

/** Validate a draft against its schema; throws with the type and the issues. */
export function validateBead<T extends BeadType>(draft: BeadDraft<T>): BeadDraft<T> {
  const schema = beadSchemas[draft.type];
  if (!schema) throw new Error(`unknown bead type ${String(draft.type)}`);
  const r = schema.safeParse(draft.payload);
  if (!r.success) throw new Error(`invalid ${draft.type} bead: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return draft;
}

/** Version 1 (before SAFE-12): kept to verify the beads old databases already hold. */
export function beadHashV1(prevHash: string, type: string, canonicalPayload: string, ts: number): string {
  return sha256Hex(prevHash + type + canonicalPayload + new Date(ts).toISOString());
}

/** Version 2: every stored column (see the header comment for the layout). */
export function beadHashV2(b: Omit<StoredBead, 'hash' | 'hashVersion'>): string {
  return sha256Hex(`phoenix-bead-v2\n${JSON.stringify([b.seq, b.id, b.type, b.intentId, new Date(b.ts).toISOString(), b.prevHash])}\n${b.payload}`);
}

/** The hash a stored bead should carry under its own version; null for an unknown version. */
export function expectedHash(b: StoredBead): string | null {
  if (b.hashVersion === 2) return beadHashV2(b);
  if (b.hashVersion === 1) return beadHashV1(b.prevHash, b.type, b.payload, b.ts);
  return null;
}

/** Link drafts onto the chain head: returns the rows to insert, in order (seq included: it is hashed). */
export function chainBeads(head: ChainHead, drafts: readonly BeadDraft[], ids: () => string): StoredBead[] {
  let prev = head;
  return drafts.map((d) => {
    validateBead(d);
    const unhashed = { seq: prev.seq + 1, id: ids(), type: d.type, intentId: d.intentId, payload: canonicalJson(d.payload), ts: d.ts, prevHash: prev.hash };
    const row: StoredBead = { ...unhashed, hash: beadHashV2(unhashed), hashVersion: BEAD_HASH_VERSION };
    prev = row;
    return row;
  });
}

export type ChainBreak = { seq: number; id: string; type: string; problem: string };

/**
 * Incremental verifier: feed beads in seq order; returns the first break found. Checks the
 * link to the previous hash, the sequence, that hash versions never go down, and the
 * recomputed hash. (The payload's schema is checked when a bead is written, not here: a
 * payload that no longer parses is an edit, which the hash already catches.)
 */
export class ChainVerifier {
  private prev: string;
  private lastSeq: number;
  private version: number;
  count = 0;
  /** beads per hash version */
  readonly versions: Record<number, number> = {};
  firstBreak: ChainBreak | null = null;

  /** `from`: verify a window that starts after this bead (default: the genesis) */
  constructor(from: ChainHead & { readonly hashVersion: number } = { ...EMPTY_HEAD, hashVersion: 1 }) {
    this.prev = from.hash;
    this.lastSeq = from.seq;
    this.version = from.hashVersion;
  }

  /** the last bead that verified (what the next one must link onto) */
  get head(): ChainHead {
    return { seq: this.lastSeq, hash: this.prev };
  }

  push(b: StoredBead): ChainBreak | null {
    if (this.firstBreak) return this.firstBreak;
    this.count++;
    const fail = (problem: string) => (this.firstBreak = { seq: b.seq, id: b.id, type: b.type, problem });
    if (b.hashVersion !== 1 && b.hashVersion !== 2) return fail(`unknown hash version ${b.hashVersion}`);
    if (b.hashVersion < this.version) return fail(`hash version ${b.hashVersion} after version-${this.version} beads: a downgraded or forged bead (versions never go down)`);
    if (b.seq <= this.lastSeq) return fail(`sequence ${b.seq} is not after ${this.lastSeq}`);
    if (b.prevHash !== this.prev) return fail('prevHash does not match the previous bead (a bead was removed, inserted or re-ordered)');
    if (b.hashVersion >= 2 && b.seq !== this.lastSeq + 1) return fail(`sequence ${b.seq} does not follow ${this.lastSeq} (a bead was removed, inserted or re-ordered)`);
    if (expectedHash(b) !== b.hash) {
      return fail(
        b.hashVersion >= 2
          ? 'hash does not match the content: its payload, type, intent id, sequence, id or timestamp was edited (a bead re-pointed to another intent lands here)'
          : 'hash does not match the content (payload, type or timestamp was edited)',
      );
    }
    this.prev = b.hash;
    this.lastSeq = b.seq;
    this.version = b.hashVersion;
    this.versions[b.hashVersion] = (this.versions[b.hashVersion] ?? 0) + 1;
    return null;
  }
}

/**
 * Audit queries (SPEC 13): walk the chain and name the first broken link, and check it
 * against anchors kept outside the database (INV-AUDIT-ANCHOR-1); export beads as JSON lines
 * for one intent or since a time.
 */
import { AnchorCheck, type Anchor, type AnchorFindings } from './audit.anchor.js';
import { ChainVerifier, type ChainBreak, type ChainHead, type StoredBead } from './beads.js';
import type { Store } from './store.port.js';
import { isoUtc } from './people-time.js';

export interface VerifyReport {
  /** the chain verifies and, when anchors were given, agrees with them */
  readonly ok: boolean;
  readonly count: number;
  readonly firstBreak: ChainBreak | null;
  /** the last bead verified (null: empty log, or the first bead is broken) */
  readonly head: ChainHead | null;
  /** beads per hash version (1: before SAFE-12, 2: every column) */
  readonly versions: Readonly<Record<number, number>>;
  /** present when anchors were given and the chain itself verified */
  readonly anchor?: AnchorFindings;
}

export interface AnchorInput {
  readonly anchors: readonly Anchor[];
  /** journal lines that are not anchors (fail the check) */
  readonly malformed?: readonly string[];
  /** reported, not failed (e.g. a torn last line) */
  readonly notes?: readonly string[];
}

const PAGE = 5000;

export async function verifyAudit(store: Store, opts: { readonly anchors?: AnchorInput } = {}): Promise<VerifyReport> {
  const v = new ChainVerifier();
  const a = opts.anchors ? new AnchorCheck(opts.anchors.anchors, { malformed: opts.anchors.malformed ?? [], notes: opts.anchors.notes ?? [] }) : null;
  const headOf = () => (v.head.seq ? v.head : null);
  let after = 0;
  for (;;) {
    const page = await store.tx((tx) => tx.beads.page(after, PAGE));
    for (const b of page) {
      if (v.push(b)) return { ok: false, count: v.count, firstBreak: v.firstBreak, head: headOf(), versions: { ...v.versions } };
      a?.push(b);
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.seq;
  }
  if (!a) return { ok: true, count: v.count, firstBreak: null, head: headOf(), versions: { ...v.versions } };
  // Anchors past the head walked: beads committed since (a running service), or truncation.
  for (const p of a.pending()) if (!a.resolvePending(p, await store.tx((tx) => tx.beads.bySeq(p.seq)))) break;
  const anchor = a.findings();
  return { ok: anchor.ok, count: v.count, firstBreak: null, head: headOf(), versions: { ...v.versions }, anchor };
}

export function beadToJson(b: StoredBead): string {
  return JSON.stringify({ seq: b.seq, id: b.id, type: b.type, intentId: b.intentId, ts: isoUtc(b.ts), payload: JSON.parse(b.payload), prevHash: b.prevHash, hash: b.hash, hashVersion: b.hashVersion });
}

/** Yield export lines (one bead each) for an intent, or since a time, or everything. */
export async function* exportAudit(store: Store, opts: { intentId?: string; since?: number }): AsyncGenerator<string> {
  if (opts.intentId) {
    const intentId = opts.intentId;
    for (const b of await store.tx((tx) => tx.beads.listByIntent(intentId))) {
      if (opts.since === undefined || b.ts >= opts.since) yield beadToJson(b);
    }
    return;
  }
  let after = 0;
  for (;;) {
    const page = await store.tx((tx) => tx.beads.page(after, PAGE, opts.since));
    for (const b of page) yield beadToJson(b);
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.seq;
  }
}

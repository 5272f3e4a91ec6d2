/**
 * Audit queries (SPEC 13): walk the chain and name the first broken link; export beads as
 * JSON lines for one intent or since a time.
 */
import { ChainVerifier, type ChainBreak, type StoredBead } from './beads.js';
import type { Store } from './store.port.js';

export interface VerifyReport {
  readonly ok: boolean;
  readonly count: number;
  readonly firstBreak: ChainBreak | null;
}

const PAGE = 5000;

export async function verifyAudit(store: Store): Promise<VerifyReport> {
  const v = new ChainVerifier();
  let after = 0;
  for (;;) {
    const page = await store.tx((tx) => tx.beads.page(after, PAGE));
    for (const b of page) if (v.push(b)) return { ok: false, count: v.count, firstBreak: v.firstBreak };
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.seq;
  }
  return { ok: true, count: v.count, firstBreak: null };
}

export function beadToJson(b: StoredBead): string {
  return JSON.stringify({ seq: b.seq, id: b.id, type: b.type, intentId: b.intentId, ts: new Date(b.ts).toISOString(), payload: JSON.parse(b.payload), prevHash: b.prevHash, hash: b.hash });
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

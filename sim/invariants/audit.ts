/**
 * The audit log explains the state.
 *
 * INV-AUDIT-CHAIN-1: the bead chain verifies (each new bead links to the previous and its hash
 * matches its content), with no gap in the sequence.
 * INV-POSITION-SM-1: every POSITION bead is a transition of the one table.
 * INV-POSITION-AUDIT-1: every intent's current state is where its POSITION beads lead, from
 * PROPOSED, one continuous chain.
 * INV-T2-TOKEN-1: a token is consumed at most once, and never at or after its expiry.
 * INV-T2-TOKEN-AUDIT-1: every token event is a bead (ISSUED; USED when consumed; EXPIRED when expired).
 */
import { canTransition, ChainVerifier, type IntentState } from '../../src/engine/index.js';
import { isoOf } from '../reader.js';
import type { Invariant } from './types.js';

const payloadOf = (p: string): Record<string, unknown> => JSON.parse(p) as Record<string, unknown>;

export function auditChain(): Invariant {
  const verifier = new ChainVerifier();
  return {
    id: 'INV-AUDIT-CHAIN-1',
    check(v, report) {
      for (const b of v.newBeads) {
        const broken = verifier.push(b);
        if (broken) {
          report(`bead #${broken.seq} (${broken.type}): ${broken.problem}`);
          return;
        }
      }
    },
  };
}

export const positionSm: Invariant = {
  id: 'INV-POSITION-SM-1',
  check(v, report) {
    for (const b of v.newBeads) {
      if (b.type !== 'POSITION') continue;
      const p = payloadOf(b.payload) as { from: IntentState; to: IntentState };
      if (!canTransition(p.from, p.to)) report(`bead #${b.seq}: ${b.intentId} went ${p.from} → ${p.to}, not a transition of the table`);
    }
  },
};

export function positionAudit(): Invariant {
  let since = 0;
  return {
    id: 'INV-POSITION-AUDIT-1',
    check(v, report) {
      const ids = new Set<string>();
      for (const b of v.newBeads) if (b.intentId && (b.type === 'POSITION' || b.type === 'INTENT')) ids.add(b.intentId);
      for (const i of v.reader.intentsUpdatedSince(isoOf(since))) ids.add(i.id);
      since = v.now;
      for (const id of ids) {
        const intent = v.intent(id);
        if (!intent) continue;
        const steps = v.reader.all(`SELECT seq, payload FROM "Bead" WHERE intentId = ? AND type = 'POSITION' ORDER BY seq`, id).map((r) => payloadOf(String(r.payload)) as { from: string; to: string });
        let at = 'PROPOSED';
        for (const s of steps) {
          if (s.from !== at) {
            report(`${id}: POSITION beads jump from ${at} to a transition out of ${s.from}`);
            break;
          }
          at = s.to;
        }
        if (at !== intent.state) report(`${id} is ${intent.state} but its POSITION beads end at ${at}`);
      }
    },
  };
}

export function tokenSingleUse(): Invariant {
  const used = new Set<string>();
  return {
    id: 'INV-T2-TOKEN-1',
    check(v, report) {
      for (const b of v.newBeads) {
        if (b.type !== 'T2_TOKEN') continue;
        const p = payloadOf(b.payload) as { event: string; tokenId: string | null };
        if (p.event !== 'USED' || !p.tokenId) continue;
        if (used.has(p.tokenId)) report(`token ${p.tokenId} was consumed twice (bead #${b.seq})`);
        used.add(p.tokenId);
        const row = v.reader.get(`SELECT usedAt, expiresAt FROM "ApprovalToken" WHERE id = ?`, p.tokenId) as { usedAt: string | null; expiresAt: string } | undefined;
        if (row?.usedAt && Date.parse(row.usedAt) >= Date.parse(row.expiresAt)) report(`token ${p.tokenId} was consumed at ${row.usedAt}, at or after its expiry ${row.expiresAt}`);
      }
    },
  };
}

export function tokenAudit(): Invariant {
  let since = 0;
  return {
    id: 'INV-T2-TOKEN-AUDIT-1',
    check(v, report) {
      const from = isoOf(since);
      since = v.now;
      const rows = v.reader.all(`SELECT id, intentId, usedAt, expiredAt FROM "ApprovalToken" WHERE purpose = 'TRADE' AND (issuedAt >= ? OR usedAt >= ? OR expiredAt >= ?)`, from, from, from);
      for (const r of rows) {
        const events = new Set(
          v.reader
            .all(`SELECT payload FROM "Bead" WHERE intentId = ? AND type = 'T2_TOKEN'`, r.intentId)
            .map((b) => payloadOf(String(b.payload)))
            .filter((p) => p.tokenId === r.id)
            .map((p) => String(p.event)),
        );
        if (!events.has('ISSUED')) report(`token ${String(r.id)} has no ISSUED bead`);
        if (r.usedAt && !events.has('USED')) report(`token ${String(r.id)} was consumed without a USED bead`);
        if (r.expiredAt && !events.has('EXPIRED')) report(`token ${String(r.id)} expired without an EXPIRED bead`);
      }
    },
  };
}

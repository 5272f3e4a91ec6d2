/**
 * INV-PROTECTED-1: every open position has a working stop at the broker covering it, or a
 * CRITICAL alert about it within 10 s.
 *
 * From the broker's own book, per intent: what is open (entered − exited on the entry's side; a
 * reversed position is never covered) and whether a working STOP of that intent still covers it.
 * The 10 s run from the moment it was first seen uncovered, but only while a Phoenix process runs
 * and the broker connection is up (a dead process or a dropped socket can tell no one); the
 * alert must name the intent and be raised at or after the position last was protected.
 */
import type { Invariant, SimView } from './types.js';

const LIMIT_MS = 10_000;

interface Episode {
  /** first seen uncovered */
  readonly since: number;
  /** the last time it was seen covered (or first seen open) */
  readonly protectedAt: number;
  satisfied: boolean;
}

export function protectedPositions(): Invariant {
  const episodes = new Map<string, Episode>();
  const lastCovered = new Map<string, number>();

  const update = (v: SimView) => {
    for (const r of v.truth.byRef.values()) {
      if (r.entrySide === null) continue;
      const open = r.entered - r.exited;
      const exitSide = r.entrySide === 'BUY' ? 'SELL' : 'BUY';
      const covered =
        Math.abs(open) < 1e-9 ||
        (open > 0 && r.orders.some((o) => o.role === 'STOP' && o.status === 'WORKING' && o.side === exitSide && o.quantity - o.filledQty + 1e-9 >= open));
      if (covered) {
        episodes.delete(r.orderRef);
        lastCovered.set(r.orderRef, v.now);
        continue;
      }
      if (!episodes.has(r.orderRef)) episodes.set(r.orderRef, { since: v.now, protectedAt: lastCovered.get(r.orderRef) ?? v.now, satisfied: false });
    }
  };

  const alerted = (v: SimView, ref: string, e: Episode) =>
    v.reader.count(`SELECT COUNT(*) AS c FROM "Alert" WHERE severity = 'CRITICAL' AND json_extract(payload, '$.intentId') = ? AND createdAt >= ?`, ref, new Date(e.protectedAt).toISOString().replace('Z', '+00:00')) > 0;

  const clockStart = (v: SimView, e: Episode): number | null =>
    v.aliveSince === null || v.brokerReadySince === null ? null : Math.max(e.since, v.aliveSince, v.brokerReadySince);

  return {
    id: 'INV-PROTECTED-1',
    running(v) {
      update(v);
      for (const [ref, e] of episodes) {
        if (e.satisfied || clockStart(v, e) === null) continue;
        if (alerted(v, ref, e)) e.satisfied = true;
        else return true;
      }
      return false;
    },
    timed(v, report) {
      update(v);
      for (const [ref, e] of episodes) {
        if (e.satisfied) continue;
        const start = clockStart(v, e);
        if (start === null) continue;
        if (alerted(v, ref, e)) {
          e.satisfied = true;
          continue;
        }
        if (v.now - start > LIMIT_MS) {
          const r = v.truth.byRef.get(ref);
          report(`${ref}: ${r ? r.entered - r.exited : '?'} open at the broker without a working stop for ${Math.round((v.now - start) / 1000)} s (since ${new Date(e.since).toISOString()}) and no CRITICAL alert about it`);
          e.satisfied = true; // once per episode
        }
      }
    },
  };
}

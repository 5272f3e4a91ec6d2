/**
 * The watches that must fire in time.
 *
 * INV-POSITION-SUBMITTED-TTL-1: an entry SUBMITTED without a broker acknowledgement for more than
 * the stall limit (60 s) becomes STALLED with an alert, within one stall-detector tick (10 s),
 * counted while a process runs.
 * INV-RECONCILE-ALERT-1: a position the broker misreports (an injected spoof) is a drift alert
 * within 60 s during market hours, counted while a process runs and the broker is connected.
 */
import { isMarketHours } from '../../src/engine/index.js';
import type { Invariant, SimView } from './types.js';

const TICK_MS = 10_000;

function stuck(v: SimView): { id: string; over: number }[] {
  if (v.aliveSince === null) return [];
  const limit = v.constitution.approval.stallAfterSec * 1000;
  return v.reader
    .intentsIn(['SUBMITTED'])
    .filter((i) => i.ackedAt === null && i.submittedAt !== null)
    .map((i) => ({ id: i.id, over: v.now - Math.max(i.submittedAt as number, v.aliveSince as number) - limit }));
}

export function submittedTtl(): Invariant {
  const alerted = new Set<string>();
  return {
    id: 'INV-POSITION-SUBMITTED-TTL-1',
    running: (v) => stuck(v).length > 0,
    timed(v, report) {
      for (const s of stuck(v)) if (s.over > TICK_MS + 1000) report(`${s.id}: SUBMITTED without an acknowledgement ${Math.round(s.over / 1000)} s past the stall limit, not STALLED`);
    },
    check(v, report) {
      for (const b of v.newBeads) {
        if (b.type !== 'POSITION' || !b.intentId || alerted.has(b.intentId) || !b.payload.includes('"to":"STALLED"')) continue;
        alerted.add(b.intentId);
        const n = v.reader.count(`SELECT COUNT(*) AS c FROM "Alert" WHERE type = 'POSITION_STALLED' AND json_extract(payload, '$.intentId') = ?`, b.intentId);
        if (!n) report(`${b.intentId} went STALLED (bead #${b.seq}) without a POSITION_STALLED alert`);
      }
    },
  };
}

export function reconcileAlert(): Invariant {
  const satisfied = new Set<string>();
  const open = (v: SimView) => {
    const out: { symbol: string; at: number; since: number }[] = [];
    if (v.aliveSince === null || v.brokerReadySince === null) return out;
    for (const [symbol, at] of v.spoofs) {
      const key = `${symbol}@${at}`;
      if (satisfied.has(key)) continue;
      const since = Math.max(at, v.aliveSince, v.brokerReadySince);
      if (!isMarketHours(since, v.constitution) || !isMarketHours(v.now, v.constitution)) continue;
      const n = v.reader.count(`SELECT COUNT(*) AS c FROM "Alert" WHERE type = 'RECONCILIATION_DRIFT' AND createdAt >= ?`, new Date(at).toISOString().replace('Z', '+00:00'));
      if (n) satisfied.add(key);
      else out.push({ symbol, at, since });
    }
    return out;
  };
  return {
    id: 'INV-RECONCILE-ALERT-1',
    running: (v) => open(v).length > 0,
    timed(v, report) {
      for (const o of open(v)) {
        if (v.now - o.since > 60_000) {
          report(`the broker has misreported ${o.symbol} since ${new Date(o.since).toISOString()} and no drift alert came within 60 s`);
          satisfied.add(`${o.symbol}@${o.at}`);
        }
      }
    },
  };
}

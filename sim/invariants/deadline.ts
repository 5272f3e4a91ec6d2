/**
 * INV-FLATTEN-DEADLINE-1: the deadline flatten also runs after a restart past 15:55. Whatever
 * the broker holds for an intent submitted on a trading day is flat — or its market exit is at
 * the broker — within 60 s of that day's flatten deadline, counted from when a process runs and
 * the broker is connected (a process down over 15:55 must catch up as soon as it is back).
 */
import { localTime } from '../../src/engine/index.js';
import { nyTime } from '../calendar.js';
import type { Invariant, SimView } from './types.js';

const GRACE_MS = 60_000;

function overdue(v: SimView): { ref: string; open: number; since: number }[] {
  if (v.aliveSince === null || v.brokerReadySince === null) return [];
  const out: { ref: string; open: number; since: number }[] = [];
  for (const r of v.truth.byRef.values()) {
    const open = r.entered - r.exited;
    if (r.entrySide === null || Math.abs(open) < 1e-9) continue;
    if (r.orders.some((o) => o.role === 'EXIT' && (o.status === 'WORKING' || o.status === 'PENDING'))) continue;
    const intent = v.intent(r.orderRef);
    const at = intent?.submittedAt ?? intent?.createdAt;
    if (at === undefined) continue;
    const c = v.constitution.session;
    const day = localTime(at, c.timeZone).day;
    if (!v.calendar.isTradingDay(day)) continue;
    const due = Math.max(nyTime(day, c.flattenAt), v.aliveSince, v.brokerReadySince);
    if (v.now >= due) out.push({ ref: r.orderRef, open, since: due });
  }
  return out;
}

export const flattenDeadline: Invariant = {
  id: 'INV-FLATTEN-DEADLINE-1',
  running: (v) => overdue(v).length > 0,
  timed(v, report) {
    for (const o of overdue(v)) {
      if (v.now - o.since > GRACE_MS) report(`${o.ref}: ${o.open} still open at the broker ${Math.round((v.now - o.since) / 1000)} s past its day's flatten deadline (counted from ${new Date(o.since).toISOString()}) with no market exit working`);
    }
  },
};

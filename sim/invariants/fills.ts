/**
 * Every execution at the broker is in Phoenix's books.
 *
 * INV-FILL-COMPLETE-1: each execution of the account is booked (a Fill row with its execId) once
 * Phoenix could have heard of it — a process running and the broker connected for 5 s after it —
 * and then the intent's position is the broker's (entered − exited on the entry's side) and, when
 * something is open, the intent is open (FILLED or MANAGED), also after CLOSED or CANCELLED.
 * INV-PNL-DAY-1: per trading day, the realised P&L Phoenix booked (closedDay) equals the P&L of
 * the broker's executions and commissions, booked on the day of each intent's last exit fill.
 * INV-ACCOUNT-SCOPE-1: a position drift is only raised when Phoenix's own account differs
 * (another account's positions at the same login are never netted in).
 */
import { localTime } from '../../src/engine/index.js';
import { addDays } from '../calendar.js';
import { canonicalKey, type Invariant, type RefTruth, type SimView } from './types.js';

const GRACE_MS = 5_000;

/** Could Phoenix have heard of something that happened at `t`? */
function couldKnow(v: SimView, t: number): boolean {
  if (v.aliveSince === null || v.brokerReadySince === null) return false;
  return v.now - Math.max(t, v.aliveSince, v.brokerReadySince) >= GRACE_MS;
}

function booked(v: SimView, r: RefTruth): boolean {
  return r.executions.every((f) => v.isBooked(f.execId));
}

/** Changed since the last check: intents whose row changed, refs with new executions. */
function changedSince(v: SimView, lastIso: string | null): Set<string> {
  return new Set(lastIso === null ? [] : v.reader.all(`SELECT id FROM "Intent" WHERE updatedAt >= ?`, lastIso).map((r) => String(r.id)));
}

const isoOf = (t: number) => new Date(t).toISOString().replace('Z', '+00:00');

export function fillComplete(): Invariant {
  // refs found complete, with their execution count then (checked again when either side changes)
  const verified = new Map<string, number>();
  let lastIso: string | null = null;
  return {
    id: 'INV-FILL-COMPLETE-1',
    check(v, report) {
      const changed = changedSince(v, lastIso);
      lastIso = isoOf(v.now);
      for (const r of v.truth.byRef.values()) {
        if (!r.executions.length || r.entrySide === null) continue;
        if (verified.get(r.orderRef) === r.executions.length && !changed.has(r.orderRef)) continue;
        const last = r.executions[r.executions.length - 1]!;
        if (!couldKnow(v, last.time)) continue;
        const intent = v.intent(r.orderRef);
        if (!intent) continue;
        const missing = r.executions.filter((f) => !v.isBooked(f.execId));
        if (missing.length) {
          report(`${r.orderRef}: ${missing.length} execution(s) at the broker never booked (${missing.map((f) => `${f.role} ${f.side} ${f.quantity} @ ${f.price}`).join(', ')}); Phoenix has it ${intent.state}`);
          continue;
        }
        const net = r.entered - r.exited;
        if (Math.abs(intent.filledQty - intent.exitQty - net) > 1e-9) report(`${r.orderRef}: Phoenix has ${intent.filledQty - intent.exitQty} open, the broker ${net}`);
        else if (Math.abs(net) > 1e-9 && intent.state !== 'FILLED' && intent.state !== 'MANAGED') report(`${r.orderRef}: ${net} open at the broker but Phoenix has the intent ${intent.state}`);
        else verified.set(r.orderRef, r.executions.length);
      }
    },
  };
}

function pnlDay(v: SimView, timeMs: number, secType: string): string {
  const t = localTime(timeMs, v.constitution.session.timeZone);
  if (secType !== 'FUT') return t.day;
  return v.calendar.nextTradingDay(t.minutes < 18 * 60 ? t.day : addDays(t.day, 1));
}

export function pnlDayBooked(): Invariant {
  // compared again only when something could have changed it: new executions, new FILL beads
  // (fills and late commissions), or a comparison that had to wait for bookings
  let settledAt = -1;
  return {
    id: 'INV-PNL-DAY-1',
    check(v, report) {
      const n = v.truth.executions.length;
      if (n === settledAt && !v.newBeads.some((b) => b.type === 'FILL')) return;
      if (compare(v, report)) settledAt = n;
      else settledAt = -1;
    },
  };
}

/** Per trading day, Phoenix's booked P&L against the broker's; false when bookings are still due. */
function compare(v: SimView, report: (message: string) => void): boolean {
    const broker = new Map<string, { cents: number; n: number }>();
    for (const r of v.truth.byRef.values()) {
      if (r.entrySide === null || !r.executions.length) continue;
      if (!couldKnow(v, r.executions[r.executions.length - 1]!.time) || !booked(v, r)) return false; // not all booked yet: compare later
      const intent = v.intent(r.orderRef);
      if (!intent) continue;
      let inQ = 0, inAvg = 0, outQ = 0, outAvg = 0, fees = 0, lastExit = 0;
      for (const f of r.executions) {
        fees += Math.round(f.commission * 100);
        if (f.side === r.entrySide) {
          inAvg = (inAvg * inQ + f.price * f.quantity) / (inQ + f.quantity);
          inQ += f.quantity;
        } else {
          outAvg = (outAvg * outQ + f.price * f.quantity) / (outQ + f.quantity);
          outQ += f.quantity;
          lastExit = f.time;
        }
      }
      if (!outQ || !inQ) continue;
      const day = pnlDay(v, lastExit, intent.instrument.secType);
      const dir = r.entrySide === 'BUY' ? 1 : -1;
      const cents = Math.round((outAvg - inAvg) * Math.min(inQ, outQ) * intent.instrument.multiplier * dir * 100) - fees;
      const d = broker.get(day) ?? { cents: 0, n: 0 };
      broker.set(day, { cents: d.cents + cents, n: d.n + 1 });
    }
    for (const [day, b] of broker) {
      const phoenix = Number((v.reader.get(`SELECT COALESCE(SUM(realizedPnlCents), 0) AS s FROM "Intent" WHERE closedDay = ?`, day) as { s: number }).s);
      if (Math.abs(phoenix - b.cents) > b.n) report(`${day}: Phoenix booked ${(phoenix / 100).toFixed(2)} USD realised, the broker's executions and commissions give ${(b.cents / 100).toFixed(2)} USD`);
    }
    return true;
}

export const accountScope: Invariant = {
  id: 'INV-ACCOUNT-SCOPE-1',
  check(v, report) {
    for (const b of v.newBeads) {
      if (b.type !== 'RECONCILIATION_DRIFT') continue;
      const p = JSON.parse(b.payload) as { driftType: string; instrumentKey: string | null };
      if ((p.driftType !== 'POSITION_COUNT' && p.driftType !== 'POSITION_SIZE') || v.spoofedBetween(b.ts - 60_000, b.ts)) continue;
      // own account at the broker vs Phoenix's open intents, per contract (the checks' identity)
      const own = new Map<string, number>();
      for (const f of v.truth.executions) {
        const o = v.truth.orderById.get(f.brokerOrderId);
        if (o) own.set(canonicalKey(o.instrument), (own.get(canonicalKey(o.instrument)) ?? 0) + (f.side === 'BUY' ? f.quantity : -f.quantity));
      }
      const mine = new Map<string, number>();
      for (const i of v.reader.intentsIn(['FILLED', 'MANAGED', 'SUBMITTED', 'STALLED', 'CLOSED', 'CANCELLED', 'REJECTED'])) {
        const q = (i.filledQty - i.exitQty) * (i.side === 'BUY' ? 1 : -1);
        if (q) mine.set(canonicalKey(i.instrument), (mine.get(canonicalKey(i.instrument)) ?? 0) + q);
      }
      const keys = new Set([...own.keys(), ...mine.keys()]);
      const differs = [...keys].some((k) => Math.abs((own.get(k) ?? 0) - (mine.get(k) ?? 0)) > 1e-9);
      if (!differs) report(`drift ${p.driftType} on ${p.instrumentKey ?? '?'} raised (bead #${b.seq}) although Phoenix's own account matches the broker (another account netted in?)`);
    }
  },
};

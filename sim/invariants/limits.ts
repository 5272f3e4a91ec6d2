/**
 * GATE-DAY-LIMITS (SPEC 4: daily loss cap, consecutive losses, trades per day): no entry reaches
 * the broker that its submission gate should have refused.
 *
 * Computed independently of the gates, at the broker's door: the entries that reached the broker
 * this trading day, and the day's realised P&L and trailing losses from the fills Phoenix had
 * booked (FILL beads) before the entry's token was consumed (its T2_TOKEN USED bead: the
 * submission gate ran in that transaction). Realised P&L per intent is the matched quantity's
 * P&L with all its commissions, booked on the trading day of its last exit fill (futures: CME
 * day, a fill from 18:00 ET on counts for the next trading day).
 */
import { localTime } from '../../src/engine/index.js';
import { addDays } from '../calendar.js';
import type { Invariant, SimView } from './types.js';

interface FillRow {
  readonly seq: number;
  readonly intentId: string;
  readonly side: string;
  readonly quantity: number;
  readonly price: number;
  readonly commission: number;
  readonly time: string;
}

function pnlDay(v: SimView, timeMs: number, secType: string): string {
  const t = localTime(timeMs, v.constitution.session.timeZone);
  if (secType !== 'FUT') return t.day;
  if (t.minutes < 18 * 60) return v.calendar.nextTradingDay(t.day);
  return v.calendar.nextTradingDay(addDays(t.day, 1));
}

/** The day's closes as of bead `beforeSeq`: realised cents per intent, in close order. */
export function dayCloses(v: SimView, day: string, beforeSeq: number): number[] {
  const rows = v.reader.all(
    `SELECT b.seq AS seq, b.intentId AS intentId, f.side AS side, f.quantity AS quantity, f.price AS price, f.commission AS commission, f.time AS time
       FROM "Bead" b JOIN "Fill" f ON f.execId = json_extract(b.payload, '$.execId')
      WHERE b.type = 'FILL' AND b.seq < ? ORDER BY b.seq`,
    beforeSeq,
  ) as unknown as FillRow[];
  const byIntent = new Map<string, FillRow[]>();
  for (const r of rows) {
    const list = byIntent.get(r.intentId) ?? [];
    list.push(r);
    byIntent.set(r.intentId, list);
  }
  const closes: { order: number; cents: number }[] = [];
  for (const [intentId, fills] of byIntent) {
    const intent = v.intent(intentId);
    if (!intent) continue;
    let inQty = 0, inAvg = 0, outQty = 0, outAvg = 0, fees = 0, lastExit: FillRow | null = null, flatAt: number | null = null;
    for (const f of fills) {
      fees += Math.round(f.commission * 100);
      if (f.side === intent.side) {
        inAvg = (inAvg * inQty + f.price * f.quantity) / (inQty + f.quantity);
        inQty += f.quantity;
      } else {
        outAvg = (outAvg * outQty + f.price * f.quantity) / (outQty + f.quantity);
        outQty += f.quantity;
        lastExit = f;
      }
      flatAt = inQty > 0 && Math.abs(inQty - outQty) < 1e-9 ? f.seq : null;
    }
    if (!lastExit || inQty === 0) continue;
    if (pnlDay(v, Date.parse(lastExit.time), intent.instrument.secType) !== day) continue;
    const dir = intent.side === 'BUY' ? 1 : -1;
    const cents = Math.round((outAvg - inAvg) * Math.min(inQty, outQty) * intent.instrument.multiplier * dir * 100) - fees;
    closes.push({ order: flatAt ?? -1, cents });
  }
  return closes.sort((a, b) => a.order - b.order).map((c) => c.cents);
}

export function dayLimits(): Invariant {
  /** entries that reached the broker, per trading day (orderRefs) */
  const placed = new Map<string, Set<string>>();
  return {
    id: 'GATE-DAY-LIMITS',
    check(v) {
      // an entry whose placement failed after its last look never reached the broker
      for (const [day, refs] of placed) {
        if (day !== localTime(v.now, v.constitution.session.timeZone).day) placed.delete(day); // only today's count matters
        else for (const ref of refs) if (!v.truth.byRef.get(ref)?.orders.some((o) => o.role === 'ENTRY')) refs.delete(ref);
      }
    },
    entryLeaving(v, orderRef, report) {
      const c = v.constitution.limits;
      const day = localTime(v.now, v.constitution.session.timeZone).day;
      const today = placed.get(day) ?? new Set<string>();
      placed.set(day, today);
      const before = [...today].filter((r) => r !== orderRef && v.truth.byRef.get(r)?.orders.some((o) => o.role === 'ENTRY')).length;
      if (before >= c.maxTradesPerDay) report(`${orderRef}: entry number ${before + 1} of ${day} reached the broker (max ${c.maxTradesPerDay} trades per day)`);
      today.add(orderRef);
      const used = v.reader.get(`SELECT seq FROM "Bead" WHERE intentId = ? AND type = 'T2_TOKEN' AND payload LIKE '%"event":"USED"%' ORDER BY seq DESC LIMIT 1`, orderRef) as { seq: number } | undefined;
      if (!used) return; // INV-T2-GATE-1 reports an entry without a consumed token
      const closes = dayCloses(v, day, used.seq);
      const pnl = closes.reduce((a, b) => a + b, 0);
      const cap = Math.round(c.dailyLossCapUsd * 100);
      // 1 cent per close of rounding room between two averaging orders
      if (-pnl >= cap + closes.length) report(`${orderRef}: submitted when ${day}'s realised loss was $${(-pnl / 100).toFixed(2)} (cap $${c.dailyLossCapUsd})`);
      let streak = 0;
      for (let i = closes.length - 1; i >= 0 && (closes[i] ?? 0) < 0; i--) streak++;
      if (streak >= c.maxConsecutiveLosses) report(`${orderRef}: submitted after ${streak} losses in a row on ${day} (max ${c.maxConsecutiveLosses})`);
    },
  };
}

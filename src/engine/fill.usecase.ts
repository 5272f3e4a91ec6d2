/**
 * Fills into position and P&L (SPEC 6; issue 13: INV-FILL-COMPLETE-1, INV-PNL-DAY-1).
 *
 * Every fill of any leg changes the position and the P&L — also after CLOSED or CANCELLED. The
 * intent's numbers are recomputed from ALL its booked executions each time, so the order in which
 * the broker reports them (replays after a reconnect, statuses before executions) cannot lose or
 * double anything, and an IBKR correction (`….01.02` for `….01.01`, same base) replaces the
 * execution it corrects — across restarts too, since the base is read from the stored rows.
 *
 * Then the state follows the broker's position (net = entry filled − exits filled):
 *   entry fill on SUBMITTED/STALLED → FILLED; on CANCELLED/REJECTED/CLOSED → FILLED again (the
 *   broker holds a position Phoenix had as gone: CRITICAL);
 *   exits reach the position → CLOSED (P&L recorded); beyond it (an over-exit: the account is now
 *   on the other side) → CRITICAL, and the intent stays open so flatten, limits and
 *   reconciliation all see it.
 * Realised P&L (matched quantity, all commissions) is booked on the trading day of the fill.
 */
import type { BrokerFill } from './broker.port.js';
import { transition, type EngineContext } from './context.js';
import type { FillRecord, IntentRecord, OrderRecord } from './domain.js';
import { execBase, latestPerBase } from './exec-id.js';
import { isExitReserved } from './flatten.usecase.js';
import { addToAverage, realizedPnlCents } from './pnl.js';
import { maybeManaged } from './protection.usecase.js';
import { isPastItsDeadline } from './session-jobs.usecase.js';
import type { Tx } from './store.port.js';
import { pnlDayOf } from './trading-day.js';
import { HOLDING, IN_FLIGHT, isIn } from './lifecycle.fsm.js';

const EPS = 1e-9;

/** One execution per base (the latest correction wins), in execution order. */
export function effectiveFills(fills: readonly FillRecord[]): FillRecord[] {
  return latestPerBase(fills).sort((a, b) => a.time - b.time || (a.execId < b.execId ? -1 : 1));
}

export interface PositionNumbers {
  readonly filledQty: number;
  readonly avgFillPrice: number | null;
  readonly exitQty: number;
  readonly exitAvgPrice: number | null;
  readonly commissionCents: number;
}

/**
 * The position from every execution, by SIDE (not by leg): buys against sells. An exit beyond the
 * position bought back later (a flatten of a reversed position) then nets to zero, and the P&L of
 * equal buys and sells is exactly (average sell − average buy) × quantity.
 */
export function positionOf(fills: readonly FillRecord[], entrySide: IntentRecord['side']): PositionNumbers {
  let filledQty = 0;
  let avgFillPrice: number | null = null;
  let exitQty = 0;
  let exitAvgPrice: number | null = null;
  let commissionCents = 0;
  for (const f of effectiveFills(fills)) {
    commissionCents += Math.round(f.commission * 100);
    if (f.side === entrySide) {
      avgFillPrice = addToAverage(filledQty, avgFillPrice, f.quantity, f.price);
      filledQty += f.quantity;
    } else {
      exitAvgPrice = addToAverage(exitQty, exitAvgPrice, f.quantity, f.price);
      exitQty += f.quantity;
    }
  }
  return { filledQty, avgFillPrice, exitQty, exitAvgPrice, commissionCents };
}

/** Realised P&L of the matched quantity, every commission included; null before any exit. */
export function realizedOf(intent: Pick<IntentRecord, 'side' | 'instrument'>, p: PositionNumbers): number | null {
  if (p.exitQty <= EPS || p.avgFillPrice === null || p.exitAvgPrice === null) return null;
  return realizedPnlCents(intent.side, p.avgFillPrice, p.exitAvgPrice, Math.min(p.filledQty, p.exitQty), intent.instrument.multiplier, p.commissionCents);
}

export interface FillFollowUp {
  /** a flatten owns this intent's exit: move it on */
  readonly flattening: boolean;
  /**
   * the position was closed by its exits while other legs of the intent still work at the broker
   * (an entry remainder; a re-protect stop or a target outside the bracket's OCA group): cancel them
   */
  readonly cancelLegs?: readonly { readonly role: OrderRecord['role']; readonly brokerOrderId: string }[];
  /**
   * the fill left a position open past its day's flatten deadline with no flatten owning it (an
   * entry that filled after the deadline flatten had cancelled it): flatten it now, not at the
   * deadline watch's next tick
   */
  readonly overdue?: boolean;
  /**
   * the fill re-opened a position a flatten had already dealt with (an entry that filled after its
   * confirmed cancel, a remainder after the exit): flatten it again — any number of flattens ends flat
   */
  readonly reflatten?: boolean;
}

const NONE: FillFollowUp = { flattening: false };

export async function applyFill(ctx: EngineContext, tx: Tx, f: BrokerFill): Promise<FillFollowUp> {
  const intent = await tx.intents.get(f.orderRef);
  if (!intent) {
    ctx.logger.warn({ orderRef: f.orderRef, execId: f.execId }, 'fill for an order Phoenix does not know');
    return NONE;
  }
  const isNew = await tx.fills.insertIfNew({ execId: f.execId, intentId: intent.id, role: f.role, side: f.side, quantity: f.quantity, price: f.price, commission: f.commission, time: f.time });
  if (!isNew) return NONE; // broker re-sent an execution we already booked
  const all = await tx.fills.listByIntent(intent.id);
  const corrected = all.find((x) => x.execId !== f.execId && execBase(x.execId) === execBase(f.execId));
  const supersededNow = corrected !== undefined && f.execId > corrected.execId;
  return book(ctx, tx, intent, all, { ...f, intentId: intent.id }, { ...(corrected && supersededNow ? { corrects: corrected.execId } : {}) });
}

/** A commission report that came after its fill (MONEY-4): the fill, the intent and the day's P&L follow it. */
export async function applyCommission(ctx: EngineContext, tx: Tx, orderRef: string, execId: string, commission: number): Promise<FillFollowUp> {
  const intent = await tx.intents.get(orderRef);
  if (!intent) return NONE;
  if (!(await tx.fills.setCommission(execId, commission))) return NONE;
  const all = await tx.fills.listByIntent(intent.id);
  const f = all.find((x) => x.execId === execId);
  if (!f) return NONE;
  return book(ctx, tx, intent, all, { ...f, brokerOrderId: '', orderRef }, { commissionUpdate: true });
}

async function book(ctx: EngineContext, tx: Tx, before: IntentRecord, fills: readonly FillRecord[], f: FillRecord & { brokerOrderId: string; orderRef: string }, note: { corrects?: string; commissionUpdate?: boolean }): Promise<FillFollowUp> {
  const now = ctx.clock.now();
  const c = ctx.constitution;
  const orders = await tx.orders.listByIntent(before.id);
  const flattening = isExitReserved(orders);
  await updateLegRows(tx, before.id, orders, fills, f, now);
  const p = positionOf(fills, before.side);
  const net = p.filledQty - p.exitQty;
  const realized = realizedOf(before, p);
  const realizedChanged = realized !== before.realizedPnlCents;
  const patch = {
    ...p,
    ackedAt: before.ackedAt ?? now,
    ...(realizedChanged ? { realizedPnlCents: realized, closedDay: pnlDayOf(f.time, before.instrument, c) } : {}),
  };
  const entryLeg = f.role === 'ENTRY';
  tx.beads.append({
    type: 'FILL',
    intentId: before.id,
    ts: now,
    payload: {
      execId: f.execId,
      role: f.role,
      side: f.side,
      quantity: f.quantity,
      price: f.price,
      commission: f.commission,
      filledQty: entryLeg ? p.filledQty : p.exitQty,
      requestedQty: entryLeg ? before.quantity : p.filledQty,
      partialFillRatio: entryLeg ? p.filledQty / before.quantity : p.filledQty ? p.exitQty / p.filledQty : 0,
      netQty: net,
      ...note,
    },
  });
  const summary = `${before.side} ${before.quantity} ${before.instrument.symbol}`;
  const money = realized === null ? '' : `; P&L ${(realized / 100).toFixed(2)} USD`;
  let intent = before;
  const move = (to: IntentRecord['state'], reason: string, extra = {}) => transition(ctx, tx, intent, to, reason, { ...patch, ...extra });
  if (Math.abs(net) <= EPS && p.filledQty > EPS) {
    // flat at the broker
    if (isIn(HOLDING, intent.state)) {
      const how = f.role === 'STOP' ? 'stop hit' : f.role === 'TARGET' ? 'target hit' : 'closed';
      intent = await move('CLOSED', `${how} at ${p.exitAvgPrice}${money}`, { closedAt: now });
    } else await quietUpdate(tx, intent, patch, now);
  } else if (net > EPS) {
    // long the entry side (the normal open position, or more of it)
    if (isIn(IN_FLIGHT, intent.state)) {
      const partial = p.filledQty < intent.quantity ? ` (partial ${p.filledQty}/${intent.quantity})` : '';
      intent = await move('FILLED', `entry filled at ${p.avgFillPrice}${partial}`);
    } else if (intent.state === 'CLOSED' || intent.state === 'CANCELLED' || intent.state === 'REJECTED') {
      const was = intent.state;
      intent = await move('FILLED', `${f.role} fill after ${was}: the broker holds ${net} again`);
      tx.alerts.enqueue({ type: 'LATE_FILL', at: now, payload: { summary: `${summary}: a ${f.role} fill of ${f.quantity} arrived after Phoenix had it ${was}. The broker now holds ${net} ${intent.instrument.symbol} for this intent — check its protection; flatten if unsure.`, intentId: intent.id, instrumentKey: intent.instrumentKey, facts: { open: net, was } } });
    } else await quietUpdate(tx, intent, patch, now);
  } else if (net < -EPS) {
    // exits beyond the position: the account is on the other side now
    tx.alerts.enqueue({ type: 'OVER_EXIT', at: now, payload: { summary: `${summary}: exits (${p.exitQty}) exceeded the filled entry (${p.filledQty}): the account is ${before.side === 'BUY' ? 'SHORT' : 'LONG'} ${-net} ${before.instrument.symbol} that no approved entry asked for. Close it at the broker or /flatten.`, intentId: before.id, instrumentKey: before.instrumentKey, facts: { over: -net } } });
    if (intent.state === 'CLOSED' || intent.state === 'MANAGED') intent = await move('FILLED', `over-exit: ${-net} beyond the position (reversed)`);
    else await quietUpdate(tx, intent, patch, now);
  } else await quietUpdate(tx, intent, patch, now);
  if (intent.state === 'FILLED' && net > EPS) intent = await maybeManaged(ctx, tx, { ...intent, ...patch });
  // A closed position leaves nothing working at the broker: IBKR may leave an entry remainder
  // working when a child closes what was filled, and a re-protect stop is outside the bracket's
  // one-cancels-other group, so the target (or that stop) would still fire into a position that no
  // longer exists (found by the simulator: it reversed the account days later; INV-FLATTEN-EXIT-1).
  const live = (o: OrderRecord) => o.brokerOrderId !== null && (o.status === 'WORKING' || o.status === 'PENDING' || o.status === 'HELD');
  const cancelLegs = intent.state === 'CLOSED' && !entryLeg ? await legsLeftWorking(tx, before.id, f, live) : [];
  const reopened = (intent.state === 'FILLED' || intent.state === 'MANAGED') && Math.abs(net) > EPS && !flattening;
  const overdue = reopened && isPastItsDeadline(intent, now, c);
  const reflatten = reopened && !overdue && orders.some((o) => o.role === 'EXIT');
  return { flattening, ...(cancelLegs.length ? { cancelLegs } : {}), ...(overdue ? { overdue } : {}), ...(reflatten ? { reflatten } : {}) };
}

/**
 * The legs still live under a position its exits just closed, but for the bracket's own stop and
 * target when one of them closed it: they are one-cancels-other at the broker, which cancels the
 * other itself. A re-protect stop is outside that group (its sibling target must be cancelled).
 */
async function legsLeftWorking(tx: Tx, intentId: string, f: { role: OrderRecord['role']; brokerOrderId: string }, live: (o: OrderRecord) => boolean): Promise<{ role: OrderRecord['role']; brokerOrderId: string }[]> {
  const rows = await tx.orders.listByIntent(intentId);
  let legs = rows.filter(live);
  if ((f.role === 'STOP' || f.role === 'TARGET') && legs.some((o) => o.role === 'STOP' || o.role === 'TARGET')) {
    const bracketStop = (await tx.beads.listByIntent(intentId)).map((b) => (b.type === 'ORDER' ? (JSON.parse(b.payload) as { role?: string; event?: string; brokerOrderId?: string }) : null)).find((p) => p?.role === 'STOP' && p.event === 'PLACED')?.brokerOrderId;
    const stop = rows.find((o) => o.role === 'STOP');
    const filledStop = f.role === 'STOP' ? f.brokerOrderId || stop?.brokerOrderId : stop?.brokerOrderId;
    if (bracketStop !== undefined && filledStop === bracketStop) legs = legs.filter((o) => o.role !== 'STOP' && o.role !== 'TARGET');
  }
  return legs.map((o) => ({ role: o.role, brokerOrderId: o.brokerOrderId as string }));
}

async function quietUpdate(tx: Tx, intent: IntentRecord, patch: object, now: number): Promise<void> {
  await tx.intents.update(intent.id, { ...patch, updatedAt: now });
  const card = await tx.cards.bySubject(intent.id, 'TRADE');
  if (card) await tx.cards.touch(card.id, now);
}

/** The leg's row follows its executions (corrections replace, never add). */
async function updateLegRows(tx: Tx, intentId: string, orders: readonly OrderRecord[], fills: readonly FillRecord[], f: { role: OrderRecord['role']; brokerOrderId: string }, now: number): Promise<void> {
  const row = orders.find((o) => o.role === f.role);
  if (!row) return;
  let qty = 0;
  let avg: number | null = null;
  for (const x of effectiveFills(fills)) {
    if (x.role !== f.role) continue;
    avg = addToAverage(qty, avg, x.quantity, x.price);
    qty += x.quantity;
  }
  // the status count may run ahead of the executions: keep the larger
  const filledQty = Math.max(qty, row.filledQty);
  await tx.orders.update(intentId, f.role, { filledQty, avgFillPrice: avg, status: filledQty + EPS >= row.quantity && row.quantity > 0 ? 'FILLED' : row.status, brokerOrderId: row.brokerOrderId ?? (f.brokerOrderId || null), updatedAt: now });
}

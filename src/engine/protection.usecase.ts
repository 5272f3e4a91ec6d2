/**
 * Protection (issue 13, MONEY-1; INV-PROTECTED-1): MANAGED means "a stop is working at the
 * broker". A protective stop that dies (cancelled 202, rejected 201, never placed) while the
 * position is open takes the intent back to FILLED (unprotected), and within seconds a CRITICAL
 * POSITION_UNPROTECTED alert with its runbook reaches the chat — also for a position that was
 * never protected (FILLED too long) or that an over-exit turned around. The approver can
 * re-protect (a new stop for what is open) or flatten it, one tap each, confirmed.
 */
import { BrokerRefusedError, BrokerUnavailableError } from './broker.port.js';
import { transition, type EngineContext } from './context.js';
import { isFinalOrder, type Actor, type IntentRecord, type OrderRecord } from './domain.js';
import { isExitReserved, openAtBroker } from './flatten.usecase.js';
import { approvedInstrument } from './order-from-evidence.js';
import type { Tx } from './store.port.js';
import { HOLDING, isIn, type IntentState } from './lifecycle.fsm.js';
import { notAllowed, type NotAllowed } from './outcome.js';

/** A FILLED position is given this long to get its stop working before it is CRITICAL (well inside 10 s). */
export const UNPROTECTED_GRACE_MS = 3_000;

const ALIVE = new Set(['WORKING', 'HELD', 'PENDING']);

/**
 * The stop is at the broker and can still fire. HELD (IBKR PreSubmitted, MONEY-10) counts only
 * once the entry is done at the broker: IBKR holds a stop it triggers itself (a simulated stop,
 * outside regular hours) as PreSubmitted and it IS working; but a bracket child PreSubmitted while
 * its parent still works is waiting for the parent and protects nothing yet (a partial fill).
 */
export function stopWorks(orders: readonly OrderRecord[]): boolean {
  const s = orders.find((o) => o.role === 'STOP')?.status;
  if (s === 'WORKING') return true;
  if (s !== 'HELD') return false;
  const entry = orders.find((o) => o.role === 'ENTRY')?.status;
  return entry === undefined || isFinalOrder(entry);
}

/** FILLED → MANAGED once the stop (and the target) work at the broker for an open long/short. */
export async function maybeManaged(ctx: EngineContext, tx: Tx, intent: IntentRecord): Promise<IntentRecord> {
  if (intent.state !== 'FILLED') return intent;
  const orders = await tx.orders.listByIntent(intent.id);
  const target = orders.find((o) => o.role === 'TARGET')?.status;
  if (openAtBroker(intent, orders) > 0 && stopWorks(orders) && (target === 'WORKING' || target === 'HELD')) {
    return transition(ctx, tx, intent, 'MANAGED', 'protective stop and target working at the broker');
  }
  return intent;
}

/** After a STOP status: a dead stop under an open position makes it unprotected (MANAGED → FILLED). */
export async function afterStopStatus(ctx: EngineContext, tx: Tx, intent: IntentRecord, reason: string | undefined): Promise<IntentRecord> {
  if (intent.state !== 'MANAGED') return intent;
  const orders = await tx.orders.listByIntent(intent.id);
  if (stopWorks(orders) || isExitReserved(orders) || openAtBroker(intent, orders) <= 0) return intent;
  const stop = orders.find((o) => o.role === 'STOP');
  return transition(ctx, tx, intent, 'FILLED', `protective stop ${stop?.status ?? 'missing'} at the broker${reason ? ` (${reason})` : ''}: position unprotected`);
}

/**
 * The watch (every few seconds): every open position with no working stop, unprotected for longer
 * than the grace, gets one CRITICAL alert per episode. A flatten cancels the stop on purpose and
 * closes at market; that is an episode too once its exit has been on its way longer than the
 * grace without closing the position (the exit timed out, was never acknowledged, or could not be
 * sent): found by the deterministic simulator, INV-PROTECTED-1.
 */
export async function detectUnprotected(ctx: EngineContext): Promise<string[]> {
  const now = ctx.clock.now();
  const raised = await ctx.store.tx(async (tx) => {
    const out: string[] = [];
    for (const intent of await tx.intents.listByState(HOLDING)) {
      const orders = await tx.orders.listByIntent(intent.id);
      const open = openAtBroker(intent, orders);
      if (open === 0 || (open > 0 && stopWorks(orders))) continue;
      const beads = await tx.beads.listByIntent(intent.id);
      const flattening = isExitReserved(orders);
      const lastMove = beads.filter((b) => b.type === 'POSITION').at(-1)?.ts ?? intent.updatedAt;
      const exitReservedAt = flattening ? beads.filter((b) => b.type === 'ORDER' && /"event":"RESERVED"/.test(b.payload) && /"role":"EXIT"/.test(b.payload)).at(-1)?.ts : undefined;
      const since = Math.max(lastMove, exitReservedAt ?? lastMove);
      if (now - since < UNPROTECTED_GRACE_MS) continue;
      const alerted = beads.some((b) => b.type === 'ALERT' && b.ts >= since && (JSON.parse(b.payload) as { alertType?: string }).alertType === 'POSITION_UNPROTECTED');
      if (alerted) continue;
      const stop = orders.find((o) => o.role === 'STOP');
      const exit = orders.find((o) => o.role === 'EXIT');
      const secs = Math.round((now - since) / 1000);
      const why = flattening
        ? `a flatten cancelled its stop and its market exit has not closed it for ${secs} s (exit ${exit?.status ?? 'missing'}${exit?.brokerOrderId ? ` as broker order ${exit.brokerOrderId}` : ''})`
        : open < 0
          ? `the account is on the other side (${open})`
          : stop
            ? `its stop is ${stop.status} at the broker`
            : 'it has no stop';
      tx.alerts.enqueue({
        type: 'POSITION_UNPROTECTED',
        at: now,
        payload: { summary: `${intent.side} ${Math.abs(open)} ${intent.instrument.symbol} is OPEN WITHOUT A WORKING STOP: ${why}. ${flattening ? 'Check the exit at the broker; close it there if it is stuck.' : 'Re-protect or flatten it now.'}`, intentId: intent.id, instrumentKey: intent.instrumentKey, facts: { open, stop: stop?.status ?? 'none', ...(flattening ? { exit: exit?.status ?? 'none' } : {}) } },
      });
      const card = await tx.cards.bySubject(intent.id, 'TRADE');
      if (card) await tx.cards.touch(card.id, now);
      out.push(intent.id);
    }
    return out;
  });
  if (raised.length) ctx.notify();
  return raised;
}

/**
 * What a re-protect did, as data (src/present/protection.text.ts words it). STOP_SENT: a stop for
 * `quantity` at `stopPrice` went to the broker; STOP_NOT_PLACED: the broker's error is `detail`
 * and the position is still unprotected; the others say why nothing was sent.
 */
export type ReprotectOutcome =
  | { readonly ok: true; readonly code: 'STOP_SENT'; readonly intentId: string; readonly quantity: number; readonly symbol: string; readonly stopPrice: number }
  | { readonly ok: false; readonly code: 'NOT_HOLDING'; readonly intentId: string; readonly state: IntentState | null }
  /** the account is on the other side of this entry (`open` < 0): a stop would add to it */
  | { readonly ok: false; readonly code: 'OTHER_SIDE'; readonly intentId: string; readonly open: number }
  | { readonly ok: false; readonly code: 'NOTHING_OPEN' | 'STOP_WORKING' | 'FLATTENING' | 'STOP_ON_ITS_WAY'; readonly intentId: string }
  | { readonly ok: false; readonly code: 'STOP_NOT_PLACED'; readonly intentId: string; readonly detail: string }
  | NotAllowed;

/** One tap (confirmed) from the approver: a new stop for what is open, at the approved stop price. */
export async function reprotect(ctx: EngineContext, intentId: string, actor: Actor): Promise<ReprotectOutcome> {
  const now = ctx.clock.now();
  if (!actor.roles.includes('approver') && !actor.roles.includes('admin')) {
    await ctx.store.tx(async (tx) => {
      tx.beads.append({ type: 'ACCESS_DENIED', intentId, ts: now, payload: { userId: actor.id, chatId: null, action: 're-protect', reason: 'approver role needed' } });
    });
    return notAllowed('approver');
  }
  const plan = await ctx.store.tx(async (tx): Promise<ReprotectOutcome | { readonly ok: true; readonly intent: IntentRecord; readonly qty: number }> => {
    const intent = await tx.intents.get(intentId);
    if (!intent || !isIn(HOLDING, intent.state)) return { ok: false, code: 'NOT_HOLDING', intentId, state: intent?.state ?? null };
    const orders = await tx.orders.listByIntent(intentId);
    const open = openAtBroker(intent, orders);
    if (open < 0) return { ok: false, code: 'OTHER_SIDE', intentId, open };
    if (open === 0) return { ok: false, code: 'NOTHING_OPEN', intentId };
    if (stopWorks(orders)) return { ok: false, code: 'STOP_WORKING', intentId };
    if (isExitReserved(orders)) return { ok: false, code: 'FLATTENING', intentId };
    const stop = orders.find((o) => o.role === 'STOP');
    if (stop && ALIVE.has(stop.status)) return { ok: false, code: 'STOP_ON_ITS_WAY', intentId };
    const qty = open;
    if (stop) await tx.orders.update(intentId, 'STOP', { status: 'PENDING', brokerOrderId: null, quantity: stop.filledQty + qty, updatedAt: now });
    else await tx.orders.insert({ id: `ord_${ctx.random.id(12)}`, intentId, role: 'STOP', brokerOrderId: null, status: 'PENDING', quantity: qty, filledQty: 0, avgFillPrice: null, createdAt: now, updatedAt: now });
    tx.beads.append({ type: 'ORDER', intentId, ts: now, payload: { role: 'STOP', event: 'PLACING', detail: `re-protect by ${actor.name}: stop ${qty} at ${intent.payload.stopLoss}` } });
    return { ok: true, intent, qty };
  });
  if (!('qty' in plan)) return plan;
  const { intent, qty } = plan;
  try {
    const leg = await ctx.broker.placeOrder({ orderRef: intent.id, role: 'STOP', instrument: approvedInstrument(intent), side: intent.side === 'BUY' ? 'SELL' : 'BUY', quantity: qty, type: 'STP', stopPrice: intent.payload.stopLoss });
    await ctx.store.tx(async (tx) => {
      const row = (await tx.orders.listByIntent(intent.id)).find((o) => o.role === 'STOP');
      if (row && !row.brokerOrderId) await tx.orders.update(intent.id, 'STOP', { brokerOrderId: leg.brokerOrderId, updatedAt: ctx.clock.now() });
      tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: ctx.clock.now(), payload: { role: 'STOP', event: 'PLACED', brokerOrderId: leg.brokerOrderId } });
    });
    ctx.notify();
    return { ok: true, code: 'STOP_SENT', intentId: intent.id, quantity: qty, symbol: intent.instrument.symbol, stopPrice: intent.payload.stopLoss };
  } catch (e) {
    const err = e as Error;
    const known = e instanceof BrokerRefusedError || e instanceof BrokerUnavailableError;
    await ctx.store.tx(async (tx) => {
      tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: ctx.clock.now(), payload: { role: 'STOP', event: 'PLACE_FAILED', detail: known ? err.message : `unknown outcome, reconciling: ${err.message}` } });
      if (known) await tx.orders.update(intent.id, 'STOP', { status: 'CANCELLED', updatedAt: ctx.clock.now() });
    });
    return { ok: false, code: 'STOP_NOT_PLACED', intentId: intent.id, detail: err.message };
  }
}

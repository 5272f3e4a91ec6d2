/**
 * Flatten (SPEC 4, 10, 12; SAFE-1, SAFE-2, INV-FLATTEN-EXIT-1): close every position at market
 * and make sure no entry can still fill. Exits never need a token and a kill never blocks them.
 *
 * Why it is built this way (both holes were seen on main):
 * - The exit is RESERVED in the same transaction that decides it (an EXIT order row; the
 *   store runs transactions one at a time), so a second flatten — the 15:55 job plus an admin,
 *   two admins, a repeat while the first exit works — finds the reservation and sends nothing.
 * - The market exit is sent only once the broker has confirmed that the entry remainder, the
 *   stop and the target are dead, and its size is what is open then (entry filled minus
 *   everything already exited, counting fills the broker reported by status before the
 *   execution arrived). A stop that fills instead of being cancelled shrinks the exit to 0:
 *   any number of flattens ends flat, never short.
 * - A leg without a broker id yet (placement in flight, or unconfirmed) cannot be cancelled; it
 *   is cancelled as soon as an id is known (`cancelOnceKnown`, called after placement and on
 *   every broker event), and an entry not yet handed over is refused by the last look.
 * The answer says honestly what is still pending.
 */
import { BrokerRefusedError, BrokerUnavailableError } from './broker.port.js';
import { onBrokerEvent } from './broker-events.usecase.js';
import { transition, type EngineContext } from './context.js';
import { isFinalOrder, type Actor, type IntentRecord, type OrderRecord } from './domain.js';
import { approvedInstrument } from './order-from-evidence.js';
import type { StoredBead } from './beads.js';
import type { Tx } from './store.port.js';
import { AT_BROKER, HOLDING, IN_FLIGHT, OPEN_STATES, isIn } from './lifecycle.fsm.js';
import { flattenSubject, type FlattenIssue, type FlattenLeg, type FlattenReport } from './flatten.report.js';
import { notAllowed } from './outcome.js';

export type { FlattenIssue, FlattenReport } from './flatten.report.js';

const LEGS: readonly FlattenLeg[] = ['ENTRY', 'STOP', 'TARGET'];

/** An EXIT row that is reserved or working: a flatten owns this intent's exit. */
export function isExitReserved(orders: readonly OrderRecord[]): boolean {
  const exit = orders.find((o) => o.role === 'EXIT');
  return exit !== undefined && (exit.status === 'RESERVED' || exit.status === 'PENDING' || exit.status === 'WORKING');
}

/**
 * Quantity open at the broker for this intent, signed (< 0: exits went beyond the entry): the
 * booked executions (by side), or the larger fill counts the broker already reported by status
 * for the entry and its protective legs (IBKR sends statuses ahead of executions).
 */
export function openAtBroker(intent: IntentRecord, orders: readonly OrderRecord[]): number {
  const entry = orders.find((o) => o.role === 'ENTRY');
  const protective = orders.filter((o) => o.role === 'STOP' || o.role === 'TARGET').reduce((a, o) => a + o.filledQty, 0);
  return Math.max(intent.filledQty, entry?.filledQty ?? 0) - Math.max(intent.exitQty, protective);
}

interface Plan {
  readonly intent: IntentRecord;
  readonly kind: 'cancelled-before-submit' | 'reserved' | 'already-closing';
  readonly cancels: { readonly role: FlattenLeg; readonly brokerOrderId: string }[];
  readonly waitingForId: FlattenLeg[];
}

export interface FlattenScope {
  /** narrow the flatten to some intents (the deadline catch-up; one unprotected position) */
  readonly only?: (intent: IntentRecord) => boolean;
  /** an approver may close one unprotected position from its card (MONEY-1) */
  readonly approverMay?: boolean;
}

export async function flatten(ctx: EngineContext, actor: Actor, why = 'flatten', scope: FlattenScope = {}): Promise<FlattenReport> {
  const only = scope.only;
  const allowed = actor.roles.includes('admin') || actor.via === 'system' || (scope.approverMay === true && actor.roles.includes('approver'));
  if (!allowed) {
    await ctx.store.tx(async (tx) => {
      tx.beads.append({ type: 'ACCESS_DENIED', intentId: null, ts: ctx.clock.now(), payload: { userId: actor.id, chatId: null, action: 'flatten', reason: 'admin role needed' } });
    });
    return { ...notAllowed('admin'), closing: [], cancelled: [], pending: [], failed: [] };
  }
  const plans = await ctx.store.tx(async (tx) => {
    const open = await tx.intents.listByState(OPEN_STATES);
    const out: Plan[] = [];
    for (const intent of open) if (!only || only(intent)) out.push(await reserve(ctx, tx, intent, actor, why));
    const fresh = out.filter((p) => p.kind !== 'already-closing').length;
    tx.alerts.enqueue({ type: 'FLATTEN', at: ctx.clock.now(), payload: { summary: `Flatten by ${actor.name} (${why}): ${fresh} position(s)/order(s) being closed${out.length > fresh ? `, ${out.length - fresh} already closing` : ''}.` } });
    return out;
  });
  ctx.notify();
  const failed: FlattenIssue[] = [];
  const pending: FlattenIssue[] = [];
  for (const p of plans) {
    for (const c of p.cancels) {
      const problem = await requestCancel(ctx, p.intent.id, c.role, c.brokerOrderId);
      if (problem) (problem.retry ? pending : failed).push({ ...flattenSubject(p.intent), problem: 'CANCEL_NOT_SENT', role: c.role, detail: problem.message });
    }
    if (p.waitingForId.length) await discoverAtBroker(ctx, p.intent.id);
  }
  for (const p of plans) if (p.kind !== 'cancelled-before-submit') await advanceExit(ctx, p.intent.id);
  pending.push(...(await stillPending(ctx, plans)));
  const closing = plans.filter((p) => p.kind !== 'cancelled-before-submit' && (p.intent.filledQty > 0 || isIn(HOLDING, p.intent.state))).map((p) => p.intent.id);
  const cancelled = plans.filter((p) => p.kind === 'cancelled-before-submit' || isIn(IN_FLIGHT, p.intent.state)).map((p) => p.intent.id);
  return { ok: failed.length === 0, code: 'FLATTENED', intents: plans.length, closing, cancelled, pending, failed };
}

/** Decide and reserve one intent's exit inside the flatten transaction. */
async function reserve(ctx: EngineContext, tx: Tx, intent: IntentRecord, actor: Actor, why: string): Promise<Plan> {
  const now = ctx.clock.now();
  if (intent.state === 'APPROVED') {
    // approved, not yet submitted (e.g. waiting for the broker): it must never go out now
    await transition(ctx, tx, intent, 'CANCELLED', `${why} by ${actor.name} before submission`, {}, actor);
    return { intent, kind: 'cancelled-before-submit', cancels: [], waitingForId: [] };
  }
  const orders = await tx.orders.listByIntent(intent.id);
  const already = isExitReserved(orders);
  if (!already) {
    const exit = orders.find((o) => o.role === 'EXIT');
    // one EXIT row per intent; a dead earlier exit is reused, its quantity stays cumulative
    if (!exit) await tx.orders.insert({ id: `ord_${ctx.random.id(12)}`, intentId: intent.id, role: 'EXIT', brokerOrderId: null, status: 'RESERVED', quantity: 0, filledQty: 0, avgFillPrice: null, createdAt: now, updatedAt: now });
    else await tx.orders.update(intent.id, 'EXIT', { status: 'RESERVED', brokerOrderId: null, updatedAt: now });
    tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: now, payload: { role: 'EXIT', event: 'RESERVED', detail: `${why} by ${actor.name}` } });
  }
  const cancels: Plan['cancels'] = [];
  const waitingForId: FlattenLeg[] = [];
  for (const role of LEGS) {
    const o = orders.find((x) => x.role === role);
    if (!o || isFinalOrder(o.status)) continue;
    if (o.brokerOrderId) {
      // claimed here, in the deciding transaction, so a concurrent follower never asks twice
      tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: now, payload: { role, event: 'CANCEL_REQUESTED', brokerOrderId: o.brokerOrderId, detail: `${why} by ${actor.name}` } });
      cancels.push({ role, brokerOrderId: o.brokerOrderId });
    } else waitingForId.push(role);
  }
  return { intent, kind: already ? 'already-closing' : 'reserved', cancels, waitingForId };
}

/** Send one cancel whose CANCEL_REQUESTED bead is already written. Returns why it could not, or null. */
async function requestCancel(ctx: EngineContext, intentId: string, role: FlattenLeg, brokerOrderId: string): Promise<{ message: string; retry: boolean } | null> {
  try {
    await ctx.broker.cancel(brokerOrderId);
    return null;
  } catch (e) {
    const err = e as Error;
    // already final at the broker: its status event settles the row; nothing to do
    if (e instanceof BrokerRefusedError && e.code === 'NOT_CANCELLABLE') return null;
    await ctx.store.tx(async (tx) => {
      tx.beads.append({ type: 'ORDER', intentId, ts: ctx.clock.now(), payload: { role, event: 'CANCEL_FAILED', brokerOrderId, detail: err.message } });
    });
    return { message: err.message, retry: e instanceof BrokerUnavailableError };
  }
}

/** A leg without a broker id: ask the broker by orderRef; a reported order gets its id (and so its cancel). */
async function discoverAtBroker(ctx: EngineContext, intentId: string): Promise<void> {
  if (!ctx.broker.health().canSubmit) return;
  try {
    const report = await ctx.broker.findByOrderRef(intentId);
    for (const o of report.orders) {
      const status = o.status === 'FILLED' ? 'WORKING' : o.status;
      await onBrokerEvent(ctx, { kind: 'orderStatus', orderRef: o.orderRef, role: o.role, brokerOrderId: o.brokerOrderId, status, filledQty: o.filledQty, ...(o.held && status === 'WORKING' ? { held: true } : {}) });
    }
    for (const fill of report.fills) await onBrokerEvent(ctx, { kind: 'fill', fill });
  } catch (e) {
    ctx.logger.warn({ intentId, err: (e as Error).message }, 'flatten: could not look the order up at the broker');
  }
}

/**
 * Called after a placement recorded broker ids and after every broker event of an intent whose
 * exit is reserved: cancel legs that got an id since, then move the exit on.
 */
export async function cancelOnceKnown(ctx: EngineContext, intentId: string, opts: { readonly again?: boolean } = {}): Promise<void> {
  const todo = await ctx.store.tx(async (tx) => {
    const orders = await tx.orders.listByIntent(intentId);
    if (!isExitReserved(orders)) return null;
    // a cancel that failed (the broker was unreachable) is asked again: found by the simulator, a
    // flatten during an outage otherwise waited forever for legs nobody cancelled (INV-FLATTEN-DEADLINE-1)
    const lastAsk = new Map<string | null | undefined, string | undefined>();
    for (const p of orderBeads(await tx.beads.listByIntent(intentId))) if (p.event === 'CANCEL_REQUESTED' || p.event === 'CANCEL_FAILED') lastAsk.set(p.brokerOrderId, p.event);
    // `again` (a new broker session): every leg still live is asked again — a request recorded by a
    // process that died before sending it never reached the broker (found by the simulator)
    const asked = opts.again ? new Set<string | null | undefined>() : new Set([...lastAsk].filter(([, e]) => e === 'CANCEL_REQUESTED').map(([id]) => id));
    const claim = LEGS.map((role) => orders.find((o) => o.role === role)).filter((o): o is OrderRecord => !!o && !!o.brokerOrderId && !isFinalOrder(o.status) && !asked.has(o.brokerOrderId));
    const detail = opts.again ? 'flatten: asked again (a new broker session cannot know whether an earlier request left)' : 'flatten: broker id now known';
    for (const o of claim) tx.beads.append({ type: 'ORDER', intentId, ts: ctx.clock.now(), payload: { role: o.role, event: 'CANCEL_REQUESTED', brokerOrderId: o.brokerOrderId, detail } });
    return claim;
  });
  if (todo === null) return;
  for (const o of todo) await requestCancel(ctx, intentId, o.role as FlattenLeg, o.brokerOrderId!);
  await advanceExit(ctx, intentId);
}

export type ExitStep = 'none' | 'waiting' | 'not-needed' | 'sent' | 'failed' | 'unknown';

/** RESERVED → send the market exit once every other leg is dead; its size is what is open then. */
export async function advanceExit(ctx: EngineContext, intentId: string): Promise<ExitStep> {
  const step = await ctx.store.tx(async (tx) => {
    const now = ctx.clock.now();
    const intent = await tx.intents.get(intentId);
    const orders = await tx.orders.listByIntent(intentId);
    const exit = orders.find((o) => o.role === 'EXIT');
    if (!intent || exit?.status !== 'RESERVED') return { kind: 'none' } as const;
    if (orders.some((o) => o.role !== 'EXIT' && !isFinalOrder(o.status) && o.status !== 'RESERVED')) return { kind: 'waiting' } as const;
    const open = openAtBroker(intent, orders);
    const reason = await reservationReason(tx, intentId);
    if (open === 0) {
      await tx.orders.update(intentId, 'EXIT', { status: 'CANCELLED', quantity: exit.filledQty, updatedAt: now });
      tx.beads.append({ type: 'ORDER', intentId, ts: now, payload: { role: 'EXIT', event: 'NOT_NEEDED', detail: `${reason}: nothing open at the broker (entry filled ${Math.max(intent.filledQty, 0)}, exited ${intent.exitQty})` } });
      return { kind: 'not-needed' } as const;
    }
    // a reversed position (exits beyond the entry) is bought/sold back on the entry's side
    const qty = Math.abs(open);
    await tx.orders.update(intentId, 'EXIT', { status: 'PENDING', quantity: exit.filledQty + qty, updatedAt: now });
    tx.beads.append({ type: 'ORDER', intentId, ts: now, payload: { role: 'EXIT', event: 'PLACING', detail: `${reason}: market ${open > 0 ? 'exit' : 'buy-back of the over-exit'} of ${qty}` } });
    return { kind: 'send', intent, qty, reversed: open < 0, reason } as const;
  });
  if (step.kind !== 'send') return step.kind;
  const { intent, qty, reversed } = step;
  const exitSide = intent.side === 'BUY' ? 'SELL' : 'BUY';
  try {
    const leg = await ctx.broker.placeOrder({ orderRef: intent.id, role: 'EXIT', instrument: approvedInstrument(intent), side: reversed ? intent.side : exitSide, quantity: qty, type: 'MKT' });
    await ctx.store.tx(async (tx) => {
      const exit = (await tx.orders.listByIntent(intent.id)).find((o) => o.role === 'EXIT');
      if (exit && !exit.brokerOrderId) await tx.orders.update(intent.id, 'EXIT', { brokerOrderId: leg.brokerOrderId, updatedAt: ctx.clock.now() });
      tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: ctx.clock.now(), payload: { role: 'EXIT', event: 'PLACED', brokerOrderId: leg.brokerOrderId } });
    });
    return 'sent';
  } catch (e) {
    const err = e as Error;
    const known = e instanceof BrokerUnavailableError || e instanceof BrokerRefusedError;
    await ctx.store.tx(async (tx) => {
      const now = ctx.clock.now();
      tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: now, payload: { role: 'EXIT', event: 'PLACE_FAILED', detail: known ? err.message : `unknown outcome, reconciling: ${err.message}` } });
      if (!known) return; // may have reached the broker: never re-send; reconciliation finds it by orderRef
      // nothing was sent: back to RESERVED (a reconnect, the deadline watch or a new flatten retries)
      const exit = (await tx.orders.listByIntent(intent.id)).find((o) => o.role === 'EXIT');
      if (exit) await tx.orders.update(intent.id, 'EXIT', { status: 'RESERVED', quantity: exit.filledQty, updatedAt: now });
      tx.alerts.enqueue({ type: 'FLATTEN_FAILED', at: now, payload: { summary: `Market exit of ${qty} ${intent.instrument.symbol} NOT sent: ${err.message}. The position is still open; it is retried when the broker is back — check the broker now.`, intentId: intent.id, instrumentKey: intent.instrumentKey } });
    });
    ctx.notify();
    return known ? 'failed' : 'unknown';
  }
}

type OrderBeadPayload = { role?: string; event?: string; brokerOrderId?: string | null; detail?: string };

function orderBeads(beads: readonly StoredBead[]): OrderBeadPayload[] {
  return beads.filter((b) => b.type === 'ORDER').map((b) => JSON.parse(b.payload) as OrderBeadPayload);
}

/** Who asked for the exit and why ("flatten deadline 15:55 by Phoenix"), from its RESERVED bead. */
async function reservationReason(tx: Tx, intentId: string): Promise<string> {
  const reserved = orderBeads(await tx.beads.listByIntent(intentId)).filter((p) => p.role === 'EXIT' && p.event === 'RESERVED');
  return reserved.at(-1)?.detail ?? 'flatten';
}

/** Every reserved exit still waiting, when a broker session is (re)established: its live legs are asked to cancel again. */
export async function continueFlattens(ctx: EngineContext): Promise<void> {
  const ids = await ctx.store.tx(async (tx) => {
    const out: string[] = [];
    for (const i of await tx.intents.listByState(AT_BROKER)) if ((await tx.orders.listByIntent(i.id)).find((o) => o.role === 'EXIT')?.status === 'RESERVED') out.push(i.id);
    return out;
  });
  for (const id of ids) {
    await discoverAtBroker(ctx, id);
    await cancelOnceKnown(ctx, id, { again: true });
  }
}

/** Honest lines for the flatten answer: what the broker has not confirmed yet. */
async function stillPending(ctx: EngineContext, plans: readonly Plan[]): Promise<FlattenIssue[]> {
  return ctx.store.tx(async (tx) => {
    const lines: FlattenIssue[] = [];
    for (const p of plans) {
      if (p.kind === 'cancelled-before-submit') continue;
      const orders = await tx.orders.listByIntent(p.intent.id);
      const live = orders.filter((o) => o.role !== 'EXIT' && !isFinalOrder(o.status));
      const noId = live.filter((o) => !o.brokerOrderId).map((o) => o.role as FlattenLeg);
      const waiting = live.filter((o) => o.brokerOrderId).map((o) => o.role as FlattenLeg);
      const exit = orders.find((o) => o.role === 'EXIT');
      const subject = flattenSubject(p.intent);
      if (noId.length) lines.push({ ...subject, problem: 'NO_BROKER_ID', roles: noId });
      if (waiting.length) lines.push({ ...subject, problem: 'AWAITING_CANCEL', roles: waiting });
      else if (exit?.status === 'PENDING' || exit?.status === 'WORKING') lines.push({ ...subject, problem: 'EXIT_WORKING', qty: exit.quantity - exit.filledQty });
      else if (exit?.status === 'RESERVED' && !noId.length) lines.push({ ...subject, problem: 'EXIT_NOT_SENT' });
    }
    return lines;
  });
}


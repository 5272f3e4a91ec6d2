/**
 * Execution gate — the broker layer's door (SPEC 5, 6; INV-T2-GATE-1, INV-T2-TOKEN-1,
 * INV-IDEMPOTENT-ORDER-1). Nothing reaches a BrokerPort except through `submitWithToken`:
 *   1. one transaction: the token is checked (exists, this intent, unused, unexpired, same
 *      evidence hash), the SUBMIT gates run, the token is consumed by compare-and-set, the
 *      order rows are written (unique per intent and leg), APPROVED → SUBMITTED;
 *   2. only then is the order sent, carrying orderRef = intentId and the permit.
 * An unknown outcome (timeout, lost connection after send) is not a rejection: the intent
 * stays SUBMITTED and the stall detector raises it after 60 s. Nothing is ever re-sent.
 */
import { BrokerRefusedError, BrokerUnavailableError, LAST_LOOK_CODES, type BracketRequest, type SubmitPermit } from './broker.port.js';
import { evaluateGates, transition, type EngineContext } from './context.js';
import type { IntentRecord, OrderRecord } from './domain.js';
import { evidenceHash } from './evidence.js';
import { cancelOnceKnown } from './flatten.usecase.js';
import { lastLook } from './last-look.js';
import { orderFromApproved, storedFieldsMismatch } from './order-from-evidence.js';
import { refusals } from './risk.gates.js';
import { DuplicateOrderError, type Tx } from './store.port.js';

export type SubmitOutcome =
  | { readonly kind: 'submitted'; readonly intentId: string }
  | { readonly kind: 'waiting'; readonly reason: string }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'cancelled'; readonly reason: string }
  | { readonly kind: 'rejected'; readonly reason: string }
  | { readonly kind: 'unknown'; readonly reason: string };

type Prepared = { kind: 'send'; intent: IntentRecord; request: BracketRequest; permit: SubmitPermit } | Exclude<SubmitOutcome, { kind: 'submitted' }>;

export async function submitWithToken(ctx: EngineContext, intentId: string, tokenId: string | null): Promise<SubmitOutcome> {
  let prepared: Prepared;
  try {
    prepared = await ctx.store.tx((tx) => prepare(ctx, tx, intentId, tokenId));
  } catch (e) {
    if (e instanceof DuplicateOrderError) {
      await ctx.store.tx(async (tx) => rejectToken(ctx, tx, intentId, tokenId, e.message));
      return { kind: 'refused', reason: e.message };
    }
    throw e;
  }
  ctx.notify();
  if (prepared.kind !== 'send') return prepared;
  return send(ctx, prepared.intent, prepared.request, prepared.permit);
}

async function rejectToken(ctx: EngineContext, tx: Tx, intentId: string | null, tokenId: string | null, reason: string): Promise<Prepared> {
  tx.beads.append({ type: 'T2_TOKEN', intentId, ts: ctx.clock.now(), payload: { event: 'REJECTED', tokenId, purpose: 'TRADE', reason } });
  return { kind: 'refused', reason };
}

async function prepare(ctx: EngineContext, tx: Tx, intentId: string, tokenId: string | null): Promise<Prepared> {
  const now = ctx.clock.now();
  const intent = await tx.intents.get(intentId);
  if (!intent) return rejectToken(ctx, tx, null, tokenId, `unknown intent ${intentId}`);
  if (!tokenId) return rejectToken(ctx, tx, intent.id, null, 'no approval token: orders need a human approval');
  const token = await tx.tokens.get(tokenId);
  if (!token) return rejectToken(ctx, tx, intent.id, tokenId, 'unknown token');
  if (token.purpose !== 'TRADE') return rejectToken(ctx, tx, intent.id, tokenId, 'token was not issued for a trade');
  if (token.intentId !== intent.id) return rejectToken(ctx, tx, intent.id, tokenId, `token belongs to another intent (${token.intentId})`);
  if (token.usedAt !== null) return rejectToken(ctx, tx, intent.id, tokenId, 'token already used (replay)');
  if (intent.state !== 'APPROVED') return rejectToken(ctx, tx, intent.id, tokenId, `intent is ${intent.state}, not APPROVED`);
  if (token.expiredAt !== null || now >= token.expiresAt) {
    await expireToken(ctx, tx, intent, token.id);
    return { kind: 'refused', reason: 'token expired' };
  }
  // Recompute rather than trust the stored column: what was approved must still be what is sent.
  if (evidenceHash(intent.payload) !== token.evidenceHash || intent.evidenceHash !== token.evidenceHash) {
    return rejectToken(ctx, tx, intent.id, tokenId, 'evidence changed since approval');
  }
  // INV-EVIDENCE-ORDER-1: the order is built from the approved, hashed payload, never from the
  // table's columns; columns that disagree with it mean the database was changed behind
  // Phoenix's back, so nothing is sent and a human is told.
  const mismatch = storedFieldsMismatch(intent);
  if (mismatch) {
    const why = `stored order fields differ from the approved evidence (${mismatch}): refusing to send`;
    tx.alerts.enqueue({ type: 'EVIDENCE_MISMATCH', at: now, payload: { summary: `${intent.payload.side} ${intent.payload.quantity} ${intent.payload.instrument.symbol}: ${why}. Check the database and the audit log.`, intentId: intent.id, instrumentKey: intent.instrumentKey } });
    return rejectToken(ctx, tx, intent.id, tokenId, why);
  }
  // Promotion bypass defence (SPEC 11, issue 7): a SHADOW strategy never reaches the broker,
  // whatever approval is presented. Refused when the intent was recorded as shadow or its
  // strategy is SHADOW right now (demoted after approval); unregistered strategies are LIVE,
  // as at intake. The intent is cancelled so it is not retried.
  if (intent.shadow || (await tx.strategies.get(intent.strategy))?.stage === 'SHADOW') {
    const why = `strategy ${intent.strategy} is SHADOW: shadow strategies never reach the broker`;
    tx.beads.append({ type: 'T2_TOKEN', intentId: intent.id, ts: now, payload: { event: 'REJECTED', tokenId, purpose: 'TRADE', reason: why } });
    await transition(ctx, tx, intent, 'CANCELLED', why);
    return { kind: 'refused', reason: why };
  }
  const gates = await evaluateGates(ctx, tx, intent, 'SUBMIT');
  const denied = refusals(gates);
  if (denied.length) {
    const codes = denied.map((d) => d.code).join(', ');
    tx.beads.append({ type: 'T2_TOKEN', intentId: intent.id, ts: now, payload: { event: 'REJECTED', tokenId, purpose: 'TRADE', reason: `gate re-check failed: ${codes}` } });
    await transition(ctx, tx, intent, 'CANCELLED', `blocked by gate before submission: ${codes}`);
    return { kind: 'cancelled', reason: denied.map((d) => d.message).join('; ') };
  }
  const wait = gates.denials.find((d) => d.wait);
  if (wait) return { kind: 'waiting', reason: wait.message };
  if (!(await tx.tokens.consume(token.id, intent.id, token.evidenceHash, now))) {
    return rejectToken(ctx, tx, intent.id, tokenId, 'token could not be consumed (used concurrently or expired)');
  }
  for (const role of ['ENTRY', 'STOP', 'TARGET'] as const) {
    const order: OrderRecord = { id: `ord_${ctx.random.id(12)}`, intentId: intent.id, role, brokerOrderId: null, status: 'PENDING', quantity: intent.quantity, filledQty: 0, avgFillPrice: null, createdAt: now, updatedAt: now };
    await tx.orders.insert(order);
  }
  tx.beads.append({ type: 'T2_TOKEN', intentId: intent.id, ts: now, payload: { event: 'USED', tokenId: token.id, purpose: 'TRADE' } });
  const submitted = await transition(ctx, tx, intent, 'SUBMITTED', 'order accepted by the broker layer (token used)', { submittedAt: now });
  tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: now, payload: { role: 'ENTRY', event: 'PLACING', detail: `bracket ${intent.orderType} via ${ctx.broker.name}` } });
  const permit: SubmitPermit = { tokenId: token.id, intentId: intent.id, evidenceHash: token.evidenceHash, usedAt: now, beforeEntryLeaves: () => lastLook(ctx, intent.id) };
  return { kind: 'send', intent: submitted, request: orderFromApproved(intent), permit };
}

export async function expireToken(ctx: EngineContext, tx: Tx, intent: IntentRecord, tokenId: string): Promise<void> {
  const now = ctx.clock.now();
  if (!(await tx.tokens.markExpired(tokenId, now))) return;
  tx.beads.append({ type: 'T2_TOKEN', intentId: intent.id, ts: now, payload: { event: 'EXPIRED', tokenId, purpose: 'TRADE', reason: 'not used within 5 minutes' } });
  if (intent.state === 'APPROVED') await transition(ctx, tx, intent, 'EXPIRED', 'token expired before submission');
}

/** The bracket an intent would send (tests; the execution gate uses the same function). */
export const bracketRequest = orderFromApproved;

async function send(ctx: EngineContext, intent: IntentRecord, request: BracketRequest, permit: SubmitPermit): Promise<SubmitOutcome> {
  const log = ctx.logger.child({ intentId: intent.id });
  try {
    const legs = await ctx.broker.placeBracket(request, permit);
    await ctx.store.tx(async (tx) => {
      const now = ctx.clock.now();
      const known = await tx.orders.listByIntent(intent.id);
      for (const leg of legs) {
        const row = known.find((o) => o.role === leg.role);
        // Events may already have advanced the row; only fill in the broker id.
        if (row && !row.brokerOrderId) await tx.orders.update(intent.id, leg.role, { brokerOrderId: leg.brokerOrderId, updatedAt: now });
        tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: now, payload: { role: leg.role, event: 'PLACED', brokerOrderId: leg.brokerOrderId } });
      }
    });
    log.info({ legs }, 'order placed');
    // a flatten that came while the bracket was in flight: cancel what now has a broker id
    await cancelOnceKnown(ctx, intent.id);
    return { kind: 'submitted', intentId: intent.id };
  } catch (e) {
    const err = e as Error;
    if (e instanceof BrokerRefusedError && LAST_LOOK_CODES.includes(e.code)) {
      // the last look refused and already recorded why (intent CANCELLED, beads, alert)
      log.warn({ code: e.code }, err.message);
      return { kind: 'cancelled', reason: err.message };
    }
    // BrokerRefusedError / BrokerUnavailableError from placeBracket mean nothing was sent (port
    // contract): the order never reached the broker
    if (e instanceof BrokerRefusedError || e instanceof BrokerUnavailableError) {
      const refused = e instanceof BrokerRefusedError;
      const reason = `${refused ? `broker refused (${e.code})` : 'broker unavailable, nothing sent'}: ${err.message}`;
      await ctx.store.tx(async (tx) => {
        const now = ctx.clock.now();
        const current = await tx.intents.get(intent.id);
        tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: now, payload: { role: 'ENTRY', event: 'PLACE_FAILED', detail: reason } });
        for (const role of ['ENTRY', 'STOP', 'TARGET'] as const) await tx.orders.update(intent.id, role, { status: refused ? 'REJECTED' : 'CANCELLED', updatedAt: now });
        // nothing reached the broker: not a trade (trades per day counts submittedAt, MONEY-9)
        if (current?.state === 'SUBMITTED') await transition(ctx, tx, current, refused ? 'REJECTED' : 'CANCELLED', reason, { submittedAt: null });
        const mismatch = refused && e.code === 'ACCOUNT_MODE_MISMATCH';
        tx.alerts.enqueue({ type: mismatch ? 'ACCOUNT_MODE_MISMATCH' : 'ORDER_REJECTED', at: now, payload: { summary: `${intent.side} ${intent.quantity} ${intent.instrument.symbol}: ${reason}. Not retried.`, intentId: intent.id, instrumentKey: intent.instrumentKey } });
      });
      ctx.notify();
      log.warn({ err: err.message }, 'order not placed');
      return { kind: refused ? 'rejected' : 'cancelled', reason };
    }
    // Unknown outcome: the order may have reached the broker. Never re-send; let the stall
    // detector and reconciliation (by orderRef) settle it.
    await ctx.store.tx(async (tx) => {
      tx.beads.append({ type: 'ORDER', intentId: intent.id, ts: ctx.clock.now(), payload: { role: 'ENTRY', event: 'PLACE_FAILED', detail: `unknown outcome, reconciling: ${err.message}` } });
    });
    log.error({ err: err.message }, 'order outcome unknown');
    return { kind: 'unknown', reason: `unconfirmed, reconciling: ${err.message}` };
  }
}

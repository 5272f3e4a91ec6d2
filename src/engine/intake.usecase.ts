/**
 * Intake (SPEC 3): validate, dedupe on signalId, record, run the INTAKE gates, and either
 * open an evidence card (PROPOSED) or cancel with the denials and a blocked notice.
 * HTTP, the CLI and the demo generator all come through here.
 */
import type { Actor, CardRecord, IntentRecord, IntentState } from './domain.js';
import { instrumentKey } from './domain.js';
import { evidenceHash } from './evidence.js';
import { evaluateGates, transition, type EngineContext } from './context.js';
import type { ContractLookup } from './contract-facts.js';
import { lookupContract, rememberContract } from './contract-lookup.js';
import { parseIntent, type IntentInput, type ValidationIssue } from './intent.schema.js';
import { refusals, type Denial } from './risk.gates.js';
import type { Tx } from './store.port.js';

export type IntakeResult =
  | { readonly kind: 'invalid'; readonly issues: readonly ValidationIssue[] }
  | { readonly kind: 'duplicate'; readonly intentId: string; readonly state: IntentState }
  | { readonly kind: 'accepted'; readonly intentId: string; readonly state: IntentState; readonly denials: readonly Pick<Denial, 'gate' | 'code' | 'message'>[]; readonly shadow: boolean };

/** Where an intent came from (recorded on its INTENT bead). */
export type IntakeSource = Actor['via'] | 'demo' | 'tradingview';

export async function submitIntent(ctx: EngineContext, raw: unknown, source: IntakeSource): Promise<IntakeResult> {
  const parsed = parseIntent(raw);
  if (!parsed.ok) return { kind: 'invalid', issues: parsed.issues };
  const input = parsed.value;
  // tick size and multiplier come from the contract details (MONEY-9/10), asked before the
  // transaction: a broker round trip never holds the database
  const contract = await lookupContract(ctx, { ...input.instrument, multiplier: input.instrument.multiplier ?? 1 });
  const result = await ctx.store.tx(async (tx) => {
    const existing = await tx.intents.getBySignalId(input.signalId);
    if (existing) return { kind: 'duplicate', intentId: existing.id, state: existing.state } as const;
    return accept(ctx, tx, input, source, contract);
  });
  if (result.kind === 'accepted') ctx.notify();
  return result;
}

async function accept(ctx: EngineContext, tx: Tx, input: IntentInput, source: string, contract: ContractLookup): Promise<IntakeResult> {
  const now = ctx.clock.now();
  const ttlSec = input.ttlSec ?? ctx.constitution.approval.defaultCardTtlSec;
  const stage = (await tx.strategies.get(input.strategy))?.stage ?? 'LIVE';
  const shadow = stage === 'SHADOW';
  const instrument = { ...input.instrument, multiplier: input.instrument.multiplier ?? 1 };
  let intent: IntentRecord = {
    id: `int_${ctx.random.id(14)}`,
    signalId: input.signalId,
    strategy: input.strategy,
    shadow,
    payload: input,
    evidenceHash: evidenceHash(input),
    state: 'PROPOSED',
    stateReason: 'received',
    instrument,
    instrumentKey: instrumentKey(instrument),
    side: input.side,
    orderType: input.orderType,
    quantity: input.quantity,
    entryPrice: input.entryPrice ?? null,
    stopLoss: input.stopLoss,
    takeProfit: input.takeProfit,
    stateAsOf: Date.parse(input.stateAsOf),
    ttlSec,
    regime: input.regime ?? null,
    cardExpiresAt: now + ttlSec * 1000,
    filledQty: 0,
    avgFillPrice: null,
    exitQty: 0,
    exitAvgPrice: null,
    commissionCents: 0,
    realizedPnlCents: null,
    approvedBy: null,
    approvedAt: null,
    submittedAt: null,
    ackedAt: null,
    closedAt: null,
    closedDay: null,
    createdAt: now,
    updatedAt: now,
  };
  await tx.intents.insert(intent);
  await rememberContract(tx, intent.instrumentKey, contract, now);
  const gates = await evaluateGates(ctx, tx, intent, 'INTAKE', contract);
  const denied = refusals(gates);
  const outcome = shadow ? 'SHADOW' : denied.length ? 'CANCELLED' : 'PROPOSED';
  tx.beads.append({
    type: 'INTENT',
    intentId: intent.id,
    ts: now,
    payload: { signalId: intent.signalId, strategy: intent.strategy, instrumentKey: intent.instrumentKey, side: intent.side, quantity: intent.quantity, orderType: intent.orderType, evidenceHash: intent.evidenceHash, source, shadow, outcome },
  });
  if (shadow) {
    // Shadow strategies are evaluated and recorded, never carded (SPEC 11).
    intent = await transition(ctx, tx, intent, 'CANCELLED', denied.length ? `shadow: would have been blocked (${denied.map((d) => d.code).join(', ')})` : 'shadow: would have been proposed');
  } else if (denied.length) {
    intent = await transition(ctx, tx, intent, 'CANCELLED', `blocked by gate: ${denied.map((d) => d.code).join(', ')}`);
    tx.alerts.enqueue({
      type: 'INTENT_BLOCKED',
      at: now,
      payload: {
        summary: `${intent.side} ${intent.quantity} ${intent.instrument.symbol} (${intent.strategy}) blocked: ${denied.map((d) => d.message).join('; ')}`,
        intentId: intent.id,
        instrumentKey: intent.instrumentKey,
        facts: { code: denied[0]?.code ?? 'UNKNOWN', signal: intent.signalId },
      },
    });
  } else {
    const card: CardRecord = {
      id: ctx.random.id(10),
      kind: 'TRADE',
      subjectId: intent.id,
      chatId: ctx.chatId,
      messageId: null,
      status: 'OPEN',
      version: 1,
      renderedVersion: 0,
      expiresAt: intent.cardExpiresAt,
      decidedBy: null,
      decidedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    await tx.cards.insert(card);
    tx.beads.append({ type: 'CARD', intentId: intent.id, ts: now, payload: { cardId: card.id, kind: 'TRADE', event: 'CREATED' } });
  }
  return {
    kind: 'accepted',
    intentId: intent.id,
    state: intent.state,
    shadow,
    denials: denied.map((d) => ({ gate: d.gate, code: d.code, message: d.message })),
  };
}

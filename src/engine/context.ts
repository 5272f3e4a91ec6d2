/**
 * What every use case shares: the ports, the configuration, and the few helpers that keep
 * the invariants in one place — a lifecycle transition always writes its POSITION bead and
 * marks the card for re-render; a gate evaluation always writes its GATE bead and, when the
 * market state is stale, sets the temporary kill flag.
 */
import type { AccountSummary, BrokerPort } from './broker.port.js';
import type { Constitution } from './constitution.js';
import type { ContractLookup } from './contract-facts.js';
import { withoutBroker } from './contract-lookup.js';
import type { Actor, IntentPatch, IntentRecord, IntentState, Mode } from './domain.js';
import { ConcurrentChangeError } from './errors.js';
import type { GatewayDay } from './gateway-day.js';
import { assertTransition } from './lifecycle.fsm.js';
import type { Clock, Logger, Random } from './ports.js';
import { runGates, type DayStats, type GateResult, type GateStage } from './risk.gates.js';
import { localTime, tradingDayOf } from './session.calendar.js';
import type { Store, Tx } from './store.port.js';
import { clockTime, isoUtc } from './people-time.js';

export interface EngineConfig {
  readonly constitution: Constitution;
  readonly mode: Mode;
  /** IBKR_ALLOW_LIVE as read at start-up (never re-read at run time) */
  readonly allowLive: boolean;
  /** where cards and alerts go */
  readonly chatId: string;
  /** IB Gateway's day (restart window, weekly login), when the broker is IBKR */
  readonly gateway?: GatewayDay | null;
}

export interface EngineDeps extends EngineConfig {
  readonly store: Store;
  readonly broker: BrokerPort;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
}

export interface EngineContext extends EngineDeps {
  /** last account summary seen from the broker (min-capital and account gates) */
  lastKnownAccount: AccountSummary | null;
  /** called after commits that changed cards or alerts, so senders wake up */
  notify(): void;
  /** called after fills, rejects, cancels and reconnects: reconciliation hook */
  reconcileSoon(reason: ReconcileReason): void;
  /** resolves once every broker event received so far has been applied (reconciliation confirms after it) */
  brokerEventsApplied?(): Promise<void>;
}

/**
 * Why the engine asks for a reconciliation: an engine event listeners match by value (the service
 * retries waiting submissions on `brokerRestored`). The text is what the reconcile bead says after "after".
 */
export const RECONCILE_REASON = {
  fill: 'fill',
  rejected: 'rejected',
  cancelled: 'cancelled',
  brokerRestored: 'broker connection restored',
} as const;
export type ReconcileReason = (typeof RECONCILE_REASON)[keyof typeof RECONCILE_REASON];

export const actorRef = (a: Actor) => ({ id: a.id, name: a.name, via: a.via });

/** Apply one lifecycle transition with its bead; throws (rolling back) on an invalid pair or a lost race. */
export async function transition(
  ctx: EngineContext,
  tx: Tx,
  intent: IntentRecord,
  to: IntentState,
  reason: string,
  patch: IntentPatch = {},
  actor?: Actor,
): Promise<IntentRecord> {
  assertTransition(intent.state, to);
  const now = ctx.clock.now();
  const full = { ...patch, state: to, stateReason: reason, updatedAt: now };
  if (!(await tx.intents.transition(intent.id, intent.state, full))) throw new ConcurrentChangeError(`intent ${intent.id}`);
  const next = { ...intent, ...full } as IntentRecord;
  tx.beads.append({
    type: 'POSITION',
    intentId: intent.id,
    ts: now,
    payload: {
      from: intent.state,
      to,
      reason,
      ...(actor ? { actor: actorRef(actor) } : {}),
      ...(next.filledQty ? { filledQty: next.filledQty, avgFillPrice: next.avgFillPrice } : {}),
      ...(next.realizedPnlCents !== null && to === 'CLOSED' ? { realizedPnlCents: next.realizedPnlCents } : {}),
    },
  });
  const card = await tx.cards.bySubject(intent.id, 'TRADE');
  if (card) await tx.cards.touch(card.id, now);
  return next;
}

export async function dayStats(ctx: EngineContext, tx: Tx, now: number): Promise<DayStats> {
  const c = ctx.constitution;
  const day = tradingDayOf(now, c);
  const pnl = await tx.intents.closedPnlOn(day);
  let consecutiveLosses = 0;
  for (let i = pnl.length - 1; i >= 0 && (pnl[i] ?? 0) < 0; i--) consecutiveLosses++;
  const t = localTime(now, c.session.timeZone);
  const dayStart = now - t.minutes * 60_000 - (now % 60_000);
  return {
    realizedPnlCents: pnl.reduce((a, b) => a + b, 0),
    consecutiveLosses,
    trades: await tx.intents.countSubmittedBetween(dayStart, now + 1),
  };
}

/**
 * Run the gates for one stage, record the GATE bead, and apply the stale-state kill. `contract`:
 * the lookup made just before this transaction (intake: contract-lookup.ts); without one, the
 * copy stored at the last qualification, else the rule table.
 */
export async function evaluateGates(ctx: EngineContext, tx: Tx, intent: IntentRecord, stage: GateStage, contract?: ContractLookup): Promise<GateResult> {
  const now = ctx.clock.now();
  const facts = contract ?? (await contractFromStore(tx, intent));
  const broker = ctx.broker.health();
  if (broker.account) ctx.lastKnownAccount = broker.account;
  const today = await dayStats(ctx, tx, now);
  const activeKills = await tx.kills.active(now);
  const openQtyOthers = await tx.intents.openQuantity(intent.instrumentKey, intent.id);
  const result = runGates({
    stage,
    now,
    intent: {
      instrumentKey: intent.instrumentKey,
      symbol: intent.instrument.symbol,
      side: intent.side,
      quantity: intent.quantity,
      multiplier: intent.instrument.multiplier,
      orderType: intent.orderType,
      entryPrice: intent.entryPrice,
      stopLoss: intent.stopLoss,
      takeProfit: intent.takeProfit,
      dvs: intent.payload.evidence.dvs,
      eqs: intent.payload.evidence.eqs,
      stateAsOf: intent.stateAsOf,
      regime: intent.regime,
    },
    constitution: ctx.constitution,
    mode: ctx.mode,
    allowLive: ctx.allowLive,
    activeKills,
    today,
    openQtyOthers,
    broker,
    lastKnownAccount: ctx.lastKnownAccount,
    contract: facts,
    gateway: ctx.gateway ?? null,
  });
  tx.beads.append({
    type: 'GATE',
    intentId: intent.id,
    ts: now,
    payload: {
      stage,
      passed: [...result.passed],
      denials: result.denials.map((d) => ({ gate: d.gate, code: d.code, message: d.message, ...(d.wait ? { wait: true } : {}) })),
      inputs: {
        stateAgeSec: Math.floor((now - intent.stateAsOf) / 1000),
        activeKills: activeKills.map((k) => k.id),
        today,
        openQtyOthers,
        broker: broker.state,
        account: (broker.account ?? ctx.lastKnownAccount)?.accountId ?? null,
        mode: ctx.mode,
        contract: facts.ok
          ? { source: facts.facts.source, conId: facts.facts.conId, minTick: facts.facts.minTick, multiplier: facts.facts.multiplier, ...(facts.facts.localSymbol ? { localSymbol: facts.facts.localSymbol } : {}) }
          : { unknown: facts.reason },
      },
    },
  });
  if (result.denials.some((d) => d.code === 'STATE_CONFLICT')) await setStaleKill(ctx, tx, intent, now, activeKills.some((k) => k.kind === 'STALE'));
  // Account vs mode (SPEC 4): a mismatch is refused AND alerted at every stage that checks it.
  const mismatch = result.denials.find((d) => d.code === 'ACCOUNT_MODE_MISMATCH');
  if (mismatch) {
    tx.alerts.enqueue({ type: 'ACCOUNT_MODE_MISMATCH', at: now, payload: { summary: `${intent.side} ${intent.quantity} ${intent.instrument.symbol} refused at ${stage.toLowerCase()}: ${mismatch.message}`, intentId: intent.id, instrumentKey: intent.instrumentKey } });
  }
  return result;
}

async function contractFromStore(tx: Tx, intent: IntentRecord): Promise<ContractLookup> {
  const facts = await withoutBroker(tx, intent.instrument, intent.instrumentKey);
  return facts ? { ok: true, facts } : { ok: false, reason: `contract details of ${intent.instrumentKey} were never stored` };
}

async function setStaleKill(ctx: EngineContext, tx: Tx, intent: IntentRecord, now: number, alreadyActive: boolean): Promise<void> {
  if (alreadyActive) return;
  const minutes = ctx.constitution.staleState.killMinutes;
  const flag = {
    id: `kill_${ctx.random.id(10)}`,
    kind: 'STALE' as const,
    reason: `stale market state on ${intent.signalId}`,
    setBy: 'system',
    setAt: now,
    expiresAt: now + minutes * 60_000,
    clearedAt: null,
    clearedBy: null,
  };
  await tx.kills.insert(flag);
  tx.beads.append({ type: 'KILL_FLAG', intentId: intent.id, ts: now, payload: { action: 'SET', flagId: flag.id, kind: 'STALE', reason: flag.reason, expiresAt: isoUtc(flag.expiresAt) } });
  tx.alerts.enqueue({ type: 'STATE_CONFLICT', at: now, payload: { summary: `Stale market state on ${intent.instrument.symbol}: entries paused for ${minutes} min`, intentId: intent.id, facts: { signal: intent.signalId, until: clockTime(flag.expiresAt, ctx.constitution.session.timeZone) } } });
}

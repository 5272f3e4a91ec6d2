/**
 * Engine facade: THE door into the engine for every transport (bot, HTTP, CLI, jobs, demo,
 * simulator). Reads return typed read models; commands return typed outcomes (unions with
 * `kind` / `ok`) that the transports render. The context the use cases share stays private.
 * Pure: all I/O through the ports in EngineDeps; time from the injected Clock.
 *
 *   submitIntent(raw, source)          intake → PROPOSED (card) or CANCELLED (denials)
 *   decide(cardId, APPROVE|PASS, who)  T2 approval; APPROVE issues the token and submits
 *   submitWithToken(intentId, token)   the broker layer's door (tests call it directly)
 *   onBrokerEvent(event)               acks, fills, rejects, cancels, connection changes
 *   halt / resume / flatten            kill switch and exits; confirmations for the risky ones
 *   expireDue / detectStalls / retryWaiting / lapseKillFlags   sweeps for the jobs
 *   recoverFromBroker()                restart safety before anything new is sent
 *   reconcileNow(reason)               one reconciliation (rate limited), its drifts recorded
 *   status() / health() / info         snapshots for /status, `phoenix status`, /healthz
 *   cards · drift · promotions · jobs · audit   sub-facades (src/engine/facade/)
 *
 * Ports the transports may use directly: `clock` (countdowns, deadlines), `random` (job ids),
 * `logger`. Everything a transport may import from the engine is in src/engine/index.ts.
 */
import type { BrokerEvent, BrokerHealth } from './broker.port.js';
import { decideTradeCard, type Decision } from './approval.usecase.js';
import type { SnoozeOffer } from './alert-outbox.port.js';
import { snoozeAlertTypes, type SnoozeOutcome } from './alert-snooze.usecase.js';
import { onBrokerEvent } from './broker-events.usecase.js';
import { answerConfirmation, requestConfirmation, type ConfirmKind } from './confirm.usecase.js';
import type { Constitution } from './constitution.js';
import type { EngineContext, EngineDeps, ReconcileReason } from './context.js';
import type { Actor, IntentRecord, Mode } from './domain.js';
import { submitWithToken } from './execution.js';
import { AuditFacade } from './facade/audit.facade.js';
import { CardsFacade } from './facade/cards.facade.js';
import { DriftFacade } from './facade/drift.facade.js';
import { registerInternals } from './facade/internals.js';
import { JobsFacade } from './facade/jobs.facade.js';
import { PromotionsFacade } from './facade/promotions.facade.js';
import { submitIntent, type IntakeSource } from './intake.usecase.js';
import { flatten, halt, lapseKillFlags, resume } from './kill.usecase.js';
import type { Clock, Logger, Random } from './ports.js';
import { listPositions, listWorkingOrders, recordAccessDenied, type AccessDenial, type WorkingOrderRow } from './queries.usecase.js';
import { nextReconcileAllowedAt, reconcileNow, type ReconcileResult, type ReconcileScope } from './reconcile.usecase.js';
import { requestReconnect } from './reconnect.usecase.js';
import { cancelStalledConfirmed, resolveStalledChecked } from './stalled.usecase.js';
import { detectUnprotected, reprotect } from './protection.usecase.js';
import { recoverFromBroker } from './recovery.usecase.js';
import { healthSnapshot, statusSnapshot } from './status.usecase.js';
import { detectStalls, expireDue, retryWaitingSubmissions } from './sweepers.usecase.js';

export type { EngineDeps, ReconcileReason } from './context.js';
export { RECONCILE_REASON } from './context.js';

/** What the engine runs with, for banners, renderers and the sandbox guard (fixed at start-up). */
export interface EngineInfo {
  readonly mode: Mode;
  /** where cards and alerts go */
  readonly chatId: string;
  /** the constitution's time zone: every time shown to a person is in it */
  readonly timeZone: string;
  readonly constitution: Constitution;
  /** the broker adapter's name ('sim', 'ibkr', …) */
  readonly brokerName: string;
}

export class Engine {
  readonly #ctx: EngineContext;
  /** the injected Clock (engine time: the wall clock in production, a FakeClock in tests) */
  readonly clock: Clock;
  /** the injected Random (ids for records outside the engine, e.g. job runs) */
  readonly random: Random;
  readonly logger: Logger;
  readonly info: EngineInfo;
  readonly cards: CardsFacade;
  readonly drift: DriftFacade;
  readonly promotions: PromotionsFacade;
  readonly jobs: JobsFacade;
  readonly audit: AuditFacade;
  private readonly listeners = new Set<() => void>();
  private readonly reconcileListeners = new Set<(reason: ReconcileReason) => void>();
  private unsubscribeBroker: (() => void) | null = null;

  constructor(deps: EngineDeps) {
    const ctx: EngineContext = {
      ...deps,
      lastKnownAccount: null,
      notify: () => this.listeners.forEach((l) => l()),
      reconcileSoon: (reason) => this.reconcileListeners.forEach((l) => l(reason)),
      brokerEventsApplied: () => this.pendingEvents(),
    };
    this.#ctx = ctx;
    registerInternals(this, ctx);
    this.clock = deps.clock;
    this.random = deps.random;
    this.logger = deps.logger;
    this.info = Object.freeze({ mode: deps.mode, chatId: deps.chatId, timeZone: deps.constitution.session.timeZone, constitution: deps.constitution, brokerName: deps.broker.name });
    this.cards = new CardsFacade(ctx);
    this.drift = new DriftFacade(ctx);
    this.promotions = new PromotionsFacade(ctx);
    this.jobs = new JobsFacade(ctx);
    this.audit = new AuditFacade(ctx);
  }

  /** Start listening to the broker. Events are applied one at a time, in order. */
  attachBroker(): void {
    let chain = Promise.resolve();
    this.unsubscribeBroker = this.#ctx.broker.onEvent((e) => {
      chain = chain.then(() => this.onBrokerEvent(e)).catch((err: Error) => this.#ctx.logger.error({ err: err.message, event: e.kind }, 'broker event failed'));
    });
    this.pendingEvents = () => chain;
  }

  /** Resolves when every broker event received so far has been applied. */
  pendingEvents: () => Promise<void> = () => Promise.resolve();

  detach(): void {
    this.unsubscribeBroker?.();
    this.unsubscribeBroker = null;
  }

  /** Cards or alerts changed: senders should look. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onReconcileNeeded(listener: (reason: ReconcileReason) => void): () => void {
    this.reconcileListeners.add(listener);
    return () => this.reconcileListeners.delete(listener);
  }

  submitIntent(raw: unknown, source: IntakeSource = 'http') {
    return submitIntent(this.#ctx, raw, source);
  }
  decide(cardId: string, decision: Decision, actor: Actor) {
    return decideTradeCard(this.#ctx, cardId, decision, actor);
  }
  submitWithToken(intentId: string, tokenId: string | null) {
    return submitWithToken(this.#ctx, intentId, tokenId);
  }
  onBrokerEvent(e: BrokerEvent) {
    return onBrokerEvent(this.#ctx, e);
  }
  halt(actor: Actor, reason: string) {
    return halt(this.#ctx, actor, reason);
  }
  resume(actor: Actor) {
    return resume(this.#ctx, actor);
  }
  flatten(actor: Actor, why?: string) {
    return flatten(this.#ctx, actor, why);
  }
  /** A human cancels a STALLED entry; only what the broker confirms moves the state. */
  cancelStalled(intentId: string, actor: Actor) {
    return cancelStalledConfirmed(this.#ctx, intentId, actor);
  }
  /** SAFE-13: a STALLED entry the broker cannot answer for, resolved by an admin who checked it there. */
  resolveStalled(intentId: string, actor: Actor, note: string) {
    return resolveStalledChecked(this.#ctx, intentId, actor, note);
  }
  /** MONEY-1: a new stop for what is open of an unprotected position (approver+; the bot confirms first). */
  reprotect(intentId: string, actor: Actor) {
    return reprotect(this.#ctx, intentId, actor);
  }
  /** MONEY-1: flatten one position (approver+ for an unprotected one; the bot confirms first). */
  flattenOne(intentId: string, actor: Actor) {
    return flatten(this.#ctx, actor, `close ${intentId}`, { only: (i) => i.id === intentId, approverMay: true });
  }
  detectUnprotected() {
    return detectUnprotected(this.#ctx);
  }
  requestConfirmation(kind: ConfirmKind, actor: Actor, intentId?: string) {
    return requestConfirmation(this.#ctx, kind, actor, intentId);
  }
  answerConfirmation(cardId: string, confirmed: boolean, actor: Actor) {
    return answerConfirmation(this.#ctx, cardId, confirmed, actor);
  }
  expireDue() {
    return expireDue(this.#ctx);
  }
  detectStalls() {
    return detectStalls(this.#ctx);
  }
  retryWaiting() {
    return retryWaitingSubmissions(this.#ctx);
  }
  lapseKillFlags() {
    return lapseKillFlags(this.#ctx);
  }
  recoverFromBroker() {
    return recoverFromBroker(this.#ctx);
  }
  status() {
    return statusSnapshot(this.#ctx);
  }
  health() {
    return healthSnapshot(this.#ctx);
  }

  /** engine time, ms since the epoch */
  now(): number {
    return this.#ctx.clock.now();
  }
  /** the broker connection as the engine sees it now, with the adapter's name */
  brokerHealth(): BrokerHealth & { readonly name: string } {
    return { ...this.#ctx.broker.health(), name: this.#ctx.broker.name };
  }
  /** one reconciliation now (refused as RATE_LIMITED inside the engine's spacing); drifts recorded */
  reconcileNow(reason: string, opts: { readonly scope?: ReconcileScope } = {}): Promise<ReconcileResult> {
    return reconcileNow(this.#ctx, reason, opts);
  }
  /** the earliest time the next reconciliation may run (≤ 12 per minute) */
  nextReconcileAllowedAt(): number {
    return nextReconcileAllowedAt(this.#ctx);
  }
  /** admin: ask the running service to reconnect the broker (works from any process) */
  requestReconnect(actor: Actor) {
    return requestReconnect(this.#ctx, actor);
  }
  /** what an alert message's "snooze 1 h" button offered (its chat, severity, alert types); null for an unknown message */
  alertSnoozeOffer(messageId: string): Promise<SnoozeOffer | null> {
    return this.#ctx.store.tx((tx) => tx.alertOutbox.snoozeOffer(messageId));
  }
  /** approver+: snooze these alert types for an hour (the tapped digest message names them) */
  snoozeAlerts(types: readonly string[], actor: Actor, messageId: string): Promise<SnoozeOutcome> {
    return snoozeAlertTypes(this.#ctx, types, actor, messageId);
  }
  /** audit a refusal that happened before any use case was reached (ACCESS_DENIED bead) */
  recordAccessDenied(d: AccessDenial): Promise<void> {
    return recordAccessDenied(this.#ctx, d);
  }
  /** open positions, Phoenix's view */
  listPositions(): Promise<IntentRecord[]> {
    return listPositions(this.#ctx);
  }
  listWorkingOrders(): Promise<WorkingOrderRow[]> {
    return listWorkingOrders(this.#ctx);
  }
}

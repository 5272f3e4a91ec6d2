/**
 * Engine facade: the small, documented surface the bot, the HTTP intake, the CLI and the
 * jobs call. Pure: all I/O through the ports in EngineDeps; time from the injected Clock.
 *
 *   submitIntent(raw, source)          intake → PROPOSED (card) or CANCELLED (denials)
 *   decide(cardId, APPROVE|PASS, who)  T2 approval; APPROVE issues the token and submits
 *   submitWithToken(intentId, token)   the broker layer's door (tests call it directly)
 *   onBrokerEvent(event)               acks, fills, rejects, cancels, connection changes
 *   halt / resume / flatten            kill switch and exits; confirmations for the risky ones
 *   expireDue / detectStalls / retryWaiting / lapseKillFlags   sweeps for the jobs
 *   recoverFromBroker()                restart safety before anything new is sent
 *   status()                           snapshot for /status and `phoenix status`
 */
import type { BrokerEvent } from './broker.port.js';
import { decideTradeCard, type Decision } from './approval.usecase.js';
import { onBrokerEvent } from './broker-events.usecase.js';
import { answerConfirmation, requestConfirmation, type ConfirmKind } from './confirm.usecase.js';
import type { EngineContext, EngineDeps, ReconcileReason } from './context.js';
import type { Actor } from './domain.js';
import { submitWithToken } from './execution.js';
import { submitIntent, type IntakeSource } from './intake.usecase.js';
import { flatten, halt, lapseKillFlags, resume } from './kill.usecase.js';
import { cancelStalledConfirmed, resolveStalledChecked } from './stalled.usecase.js';
import { detectUnprotected, reprotect } from './protection.usecase.js';
import { recoverFromBroker } from './recovery.usecase.js';
import { healthSnapshot, statusSnapshot } from './status.usecase.js';
import { detectStalls, expireDue, retryWaitingSubmissions } from './sweepers.usecase.js';

export type { EngineDeps, ReconcileReason } from './context.js';
export { RECONCILE_REASON } from './context.js';

export class Engine {
  readonly ctx: EngineContext;
  private readonly listeners = new Set<() => void>();
  private readonly reconcileListeners = new Set<(reason: ReconcileReason) => void>();
  private unsubscribeBroker: (() => void) | null = null;

  constructor(deps: EngineDeps) {
    this.ctx = {
      ...deps,
      lastKnownAccount: null,
      notify: () => this.listeners.forEach((l) => l()),
      reconcileSoon: (reason) => this.reconcileListeners.forEach((l) => l(reason)),
      brokerEventsApplied: () => this.pendingEvents(),
    };
  }

  /** Start listening to the broker. Events are applied one at a time, in order. */
  attachBroker(): void {
    let chain = Promise.resolve();
    this.unsubscribeBroker = this.ctx.broker.onEvent((e) => {
      chain = chain.then(() => this.onBrokerEvent(e)).catch((err: Error) => this.ctx.logger.error({ err: err.message, event: e.kind }, 'broker event failed'));
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
    return submitIntent(this.ctx, raw, source);
  }
  decide(cardId: string, decision: Decision, actor: Actor) {
    return decideTradeCard(this.ctx, cardId, decision, actor);
  }
  submitWithToken(intentId: string, tokenId: string | null) {
    return submitWithToken(this.ctx, intentId, tokenId);
  }
  onBrokerEvent(e: BrokerEvent) {
    return onBrokerEvent(this.ctx, e);
  }
  halt(actor: Actor, reason: string) {
    return halt(this.ctx, actor, reason);
  }
  resume(actor: Actor) {
    return resume(this.ctx, actor);
  }
  flatten(actor: Actor, why?: string) {
    return flatten(this.ctx, actor, why);
  }
  /** A human cancels a STALLED entry; only what the broker confirms moves the state. */
  cancelStalled(intentId: string, actor: Actor) {
    return cancelStalledConfirmed(this.ctx, intentId, actor);
  }
  /** SAFE-13: a STALLED entry the broker cannot answer for, resolved by an admin who checked it there. */
  resolveStalled(intentId: string, actor: Actor, note: string) {
    return resolveStalledChecked(this.ctx, intentId, actor, note);
  }
  /** MONEY-1: a new stop for what is open of an unprotected position (approver+; the bot confirms first). */
  reprotect(intentId: string, actor: Actor) {
    return reprotect(this.ctx, intentId, actor);
  }
  /** MONEY-1: flatten one position (approver+ for an unprotected one; the bot confirms first). */
  flattenOne(intentId: string, actor: Actor) {
    return flatten(this.ctx, actor, `close ${intentId}`, { only: (i) => i.id === intentId, approverMay: true });
  }
  detectUnprotected() {
    return detectUnprotected(this.ctx);
  }
  requestConfirmation(kind: ConfirmKind, actor: Actor, intentId?: string) {
    return requestConfirmation(this.ctx, kind, actor, intentId);
  }
  answerConfirmation(cardId: string, confirmed: boolean, actor: Actor) {
    return answerConfirmation(this.ctx, cardId, confirmed, actor);
  }
  expireDue() {
    return expireDue(this.ctx);
  }
  detectStalls() {
    return detectStalls(this.ctx);
  }
  retryWaiting() {
    return retryWaitingSubmissions(this.ctx);
  }
  lapseKillFlags() {
    return lapseKillFlags(this.ctx);
  }
  recoverFromBroker() {
    return recoverFromBroker(this.ctx);
  }
  status() {
    return statusSnapshot(this.ctx);
  }
  health() {
    return healthSnapshot(this.ctx);
  }
}

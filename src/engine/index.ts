/**
 * THE public API of the engine: the only module a file outside src/engine may import from
 * (scripts/lint-engine.mjs enforces it). What is here, deliberately:
 *
 *   1. the facade — `Engine`, its sub-facades' read models and typed outcomes;
 *   2. the ports adapters implement — Clock/Random/Logger, BrokerPort, Store (+ its records);
 *   3. domain types and the tables transports render from (alert types, bead types, states);
 *   4. pure value helpers transports legitimately need — people-time formatters, schemas,
 *      constitution loading, kv key declarations, audit-chain and anchor helpers (the CLI
 *      verifies without a service), calendar and gateway-day parsing, contract tick maths.
 *
 * Not here: use-case functions that take the engine context (call the facade instead), the
 * context itself, and src/engine/testing.ts (tests only).
 */

// Evaluated first, as before the one door: session-jobs.usecase → flatten.usecase ↔
// broker-events.usecase import each other, and the order the cycle is entered decides which
// modules a test's `vi.doMock('…/flatten.usecase.js')` reaches (test/sim/power.test.ts swaps
// flatten there and needs the deadline jobs and the confirmations to call the swap).
export { addDays, dayStartMs, isMarketHours } from './session-jobs.usecase.js';

// === 1. The facade
export { Engine, RECONCILE_REASON, type EngineDeps, type EngineInfo, type ReconcileReason } from './engine.js';
export type { CardsFacade } from './facade/cards.facade.js';
export type { DriftFacade } from './facade/drift.facade.js';
export type { PromotionsFacade } from './facade/promotions.facade.js';
export type { JobsFacade } from './facade/jobs.facade.js';
export type { AuditFacade } from './facade/audit.facade.js';
// read models and outcomes
export { notAllowed, type NotAllowed } from './outcome.js';
export type { Decision, DecisionOutcome } from './approval.usecase.js';
export type { ConfirmKind, ConfirmOutcome, ConfirmRequest, ConfirmedAction } from './confirm.usecase.js';
export type { DriftOutcome, DriftResolution, UnresolvedDrift } from './drift.usecase.js';
export { DRIFT_RESOLUTIONS } from './drift.usecase.js';
export type { SubmitOutcome } from './execution.js';
export type { FlattenIssue, FlattenLeg, FlattenProblem, FlattenReport, FlattenSubject } from './flatten.report.js';
export type { GatewayDayOutcome } from './gateway-day.usecase.js';
export type { HeartbeatOptions, HeartbeatResult, MissedCheck } from './heartbeat.usecase.js';
export type { IntakeResult, IntakeSource } from './intake.usecase.js';
export type { KillOutcome } from './kill.usecase.js';
export type { MissingItem, PromotionBundle, PromotionCardView, PromotionDecision, PromotionDecisionOutcome, PromotionDecisionRecord, PromotionRequestOutcome } from './promotion.usecase.js';
export type { ReprotectOutcome } from './protection.usecase.js';
export type {
  AccessDenial,
  BrokerNow,
  CardLimits,
  CardView,
  ConfirmCardView,
  DriftCardView,
  OtherCardView,
  PendingRow,
  PromotionView,
  TradeCardView,
  WorkingOrderRow,
} from './queries.usecase.js';
export type { ReconcileResult, ReconcileScope } from './reconcile.usecase.js';
export type { ReconnectOutcome, ReconnectRequestOutcome } from './reconnect.usecase.js';
export type { RecoveryReport } from './recovery.usecase.js';
export type { CatchUpOutcome, DailyResetOutcome, DailySummary, DeadlineOutcome } from './session-jobs.usecase.js';
export type { StalledCancelOutcome, StalledResolveOutcome } from './stalled.usecase.js';
export type { Stage, StrategyOutcome, StrategyView } from './strategy.usecase.js';
export type { HealthSnapshot, StatusSnapshot } from './status.usecase.js';
export type { AnchorInput, VerifyReport } from './audit.usecase.js';
export type { SnoozeOutcome } from './alert-snooze.usecase.js';

// === 2. Ports (adapters implement them; the composition root injects them)
export * from './ports.js';
export * from './broker.port.js';
export * from './store.port.js';
export * from './alert-outbox.port.js';

// === 3. Domain types and tables
export * from './domain.js';
export * from './errors.js';
export * from './alerts.table.js';
export * from './beads.js';
export * from './kv.keys.js';
export { HOLDING, IN_FLIGHT, canTransition, type IntentState } from './lifecycle.fsm.js';

// === 4. Pure value helpers
export * from './people-time.js';
export * from './constitution.js';
export { FIX_MARK, timeOrNull } from './constitution.fields.js';
export * from './intent.schema.js';
export * from './audit.anchor.js';
/** takes a Store port, not the engine: `phoenix audit verify` and the benchmarks check a database without a service */
export { verifyAudit } from './audit.usecase.js';
export { activeSnoozes, parseSnoozes, type Snooze } from './alert-snooze.usecase.js';
export { canonicalJson, sha256Hex } from './canonical.js';
export { didYouMean } from './did-you-mean.js';
export { evidenceHash, rewardMultiple, riskCents } from './evidence.js';
export { isOnTick, knownContract, snapToTick } from './contract-facts.js';
export { instrumentId } from './instrument.js';
export { HEARTBEAT_INTERVAL_MS, HEARTBEAT_JITTER_MS, heartbeatGap, type JobHealth } from './heartbeat.js';
export { WAITING_FOR_LOGIN_TEXT, inRestartWindow, parseRestartWindow, parseWeeklyLogin, windowContains, windowLabel, type GatewayDay } from './gateway-day.js';
export { localTime, toMinutes } from './session.calendar.js';
/** the pure reconciliation diff (local vs broker snapshot); the benchmark measures it alone */
export { contractKey, reconcile, type BrokerSnapshot, type LocalSnapshot } from './reconcile.js';

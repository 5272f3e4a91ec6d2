/**
 * The one alert-type table (SPEC 9): severity, how alerts group, how long a group waits
 * before its first message, how often it may speak again, when an unchanged repeat may be
 * sent, and the runbook that tells a human what to do. Alerts are enqueued in the same
 * transaction as the event that caused them; the alert pipeline (src/alerts) reads this
 * table to aggregate and deliver them.
 */

import type { GateCode } from './risk.gates.js';

export type Severity = 'INFO' | 'WARNING' | 'CRITICAL';

export interface AlertPayload {
  /** one line a trader reads on a lock screen */
  readonly summary: string;
  readonly intentId?: string;
  readonly instrumentKey?: string;
  /** short key/value facts shown under the summary */
  readonly facts?: Readonly<Record<string, string | number>>;
}

/** `Ref`: the names inhibitedBy/resolvedBy may use; the table's own type names once it is built. */
export interface AlertTypeDef<Ref extends string = AlertType> {
  readonly severity: Severity;
  readonly title: string;
  readonly runbook: string;
  /**
   * A more specific runbook for one alert (e.g. a blocked intent's gate); default `runbook`.
   * Must be constant within a group (it reads a field the group key is built from).
   */
  readonly runbookOf?: (p: AlertPayload) => string;
  /** alerts with the same group key inside a window fold into one digest */
  readonly groupBy: (p: AlertPayload) => string;
  /** wait before the first message of a new group (CRITICAL: 0) */
  readonly groupWaitMs: number;
  /** minimum time between messages of the same group */
  readonly groupIntervalMs: number;
  /** an unchanged group is repeated at most this often */
  readonly repeatIntervalMs: number;
  /** while an alert of one of these types is active, fold this type into it */
  readonly inhibitedBy?: readonly Ref[];
  /** alert types that end the condition this type reports (an inhibitor stops being active) */
  readonly resolvedBy?: readonly Ref[];
  /**
   * How one alert reads inside a digest (one line, plain text; the renderer escapes it).
   * Alerts whose line is identical are "the same thing again" (repeat suppression, counts).
   * Default: the payload summary.
   */
  readonly line?: (p: AlertPayload) => string;
  /** Extra plain-text lines when a message carries exactly one alert. Default: the facts. */
  readonly details?: (p: AlertPayload) => readonly string[];
}

/** An inhibitor without a resolving alert stops folding other alerts after this long. */
export const INHIBIT_MAX_MS = 60 * 60 * 1000;

/**
 * Repeat suppression (SPEC 9): a group whose pending alerts all read like the ones it last
 * sent is "unchanged" and waits for its repeat interval, unless at least this many repeats
 * piled up (volume is news), or the storm went quiet for one group interval (final tally).
 */
export const REPEAT_VOLUME_NEWS = 10;

/**
 * THE runbook of each gate code (SPEC 4, 9): a blocked notice links the runbook of the gate that
 * blocked it (INTENT_BLOCKED groups by the first denial's code, so each group links one). Every
 * code of the gate registry (risk.gates.ts) has a row: the type makes a new code without one a
 * compile error.
 */
export const GATE_RUNBOOKS: Readonly<Record<GateCode, string>> = {
  KILL_ACTIVE: 'RB-005',
  STATE_CONFLICT: 'RB-018',
  MODE_OBSERVE: 'RB-011',
  ACCOUNT_MODE_MISMATCH: 'RB-011',
  DAILY_LOSS_CAP: 'RB-019',
  CONSECUTIVE_LOSSES: 'RB-020',
  TRADES_PER_DAY: 'RB-021',
  POSITION_LIMIT: 'RB-022',
  RISK_PER_TRADE: 'RB-023',
  RISK_UNDEFINED: 'RB-023',
  ORDER_NOTIONAL: 'RB-016',
  MIN_CAPITAL: 'RB-024',
  QUALITY: 'RB-025',
  SESSION_CLOSED: 'RB-026',
  BROKER_NOT_READY: 'RB-001',
  CONTRACT_UNKNOWN: 'RB-027',
  PRICE_OFF_TICK: 'RB-027',
  MULTIPLIER_MISMATCH: 'RB-027',
  GATEWAY_RESTART_WINDOW: 'RB-007',
  GATEWAY_LOGIN: 'RB-007',
};

/** The runbook of one gate code; a code this table does not know (an old outbox row) gets the kill-flag runbook. */
export const gateRunbook = (code: string): string => (Object.hasOwn(GATE_RUNBOOKS, code) ? GATE_RUNBOOKS[code as GateCode] : 'RB-005');

const S = 1000;
const M = 60 * S;
const byType = () => '';
const byInstrument = (p: AlertPayload) => p.instrumentKey ?? '';

export const ALERT_TYPES = {
  HALT: { severity: 'CRITICAL', title: 'Trading halted', runbook: 'RB-004', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 0, repeatIntervalMs: 0 },
  KILL_FLAG_SET: { severity: 'WARNING', title: 'Kill flag set', runbook: 'RB-005', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 30 * S, repeatIntervalMs: 30 * M },
  KILL_FLAG_CLEARED: { severity: 'INFO', title: 'Kill flag lifted', runbook: 'RB-005', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 30 * S, repeatIntervalMs: 30 * M },
  STATE_CONFLICT: { severity: 'WARNING', title: 'Stale market state', runbook: 'RB-018', groupBy: byType, groupWaitMs: 5 * S, groupIntervalMs: 60 * S, repeatIntervalMs: 30 * M },
  INTENT_BLOCKED: { severity: 'INFO', title: 'Intent blocked by a gate', runbook: 'RB-005', runbookOf: (p) => gateRunbook(p.facts?.code?.toString() ?? ''), groupBy: (p) => p.facts?.code?.toString() ?? '', groupWaitMs: 10 * S, groupIntervalMs: 60 * S, repeatIntervalMs: 60 * M },
  ORDER_REJECTED: { severity: 'WARNING', title: 'Order rejected by broker', runbook: 'RB-010', groupBy: byType, groupWaitMs: 5 * S, groupIntervalMs: 60 * S, repeatIntervalMs: 60 * M },
  POSITION_STALLED: { severity: 'CRITICAL', title: 'Order stalled (no broker acknowledgement)', runbook: 'RB-003', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 60 * S, repeatIntervalMs: 30 * M, inhibitedBy: ['IBKR_DISCONNECTED', 'IBKR_ESCALATION'] },
  RECONCILIATION_DRIFT: { severity: 'CRITICAL', title: 'Reconciliation drift', runbook: 'RB-002', groupBy: byInstrument, groupWaitMs: 0, groupIntervalMs: 60 * S, repeatIntervalMs: 30 * M },
  DRIFT_ESCALATION: { severity: 'CRITICAL', title: 'Drift unresolved for 15 minutes', runbook: 'RB-002', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 60 * S, repeatIntervalMs: 30 * M },
  IBKR_DISCONNECTED: { severity: 'CRITICAL', title: 'Broker connection lost', runbook: 'RB-001', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 30 * S, repeatIntervalMs: 15 * M, resolvedBy: ['IBKR_RESTORED'] },
  IBKR_RESTORED: { severity: 'INFO', title: 'Broker connection restored', runbook: 'RB-001', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 30 * S, repeatIntervalMs: 15 * M },
  IBKR_ESCALATION: { severity: 'CRITICAL', title: 'Broker reconnect failed 3 times: human needed', runbook: 'RB-001', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 0, repeatIntervalMs: 15 * M, resolvedBy: ['IBKR_RESTORED'] },
  // IB Gateway's day (SPEC 17): the expected drop inside the restart window is INFO; a drop
  // outside it stays IBKR_DISCONNECTED (CRITICAL), and one that outlasts the window becomes it
  GATEWAY_RESTART: { severity: 'INFO', title: 'Gateway daily restart (expected)', runbook: 'RB-007', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 60 * S, repeatIntervalMs: 60 * M, resolvedBy: ['IBKR_RESTORED'] },
  GATEWAY_LOGIN_NEEDED: { severity: 'CRITICAL', title: 'IB Gateway waiting for login (2FA)', runbook: 'RB-007', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 60 * S, repeatIntervalMs: 30 * M, resolvedBy: ['IBKR_RESTORED'] },
  GATEWAY_LOGIN_REMINDER: { severity: 'WARNING', title: 'Weekly IB Gateway login (2FA) due soon', runbook: 'RB-007', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 60 * S, repeatIntervalMs: 60 * M },
  ACCOUNT_MODE_MISMATCH: { severity: 'CRITICAL', title: 'Account does not match the trading mode', runbook: 'RB-011', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 60 * S, repeatIntervalMs: 15 * M },
  PACING_VIOLATION: { severity: 'WARNING', title: 'IBKR pacing violation (error 100)', runbook: 'RB-008', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 60 * S, repeatIntervalMs: 30 * M },
  HEARTBEAT_MISSED: { severity: 'CRITICAL', title: 'Heartbeat missed (process was down)', runbook: 'RB-009', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 60 * S, repeatIntervalMs: 15 * M },
  HEARTBEAT_DEGRADED: { severity: 'WARNING', title: 'Health degraded', runbook: 'RB-009', groupBy: byType, groupWaitMs: 10 * S, groupIntervalMs: 5 * M, repeatIntervalMs: 30 * M },
  TELEGRAM_DOWN: { severity: 'WARNING', title: 'Telegram delivery failing', runbook: 'RB-006', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 5 * M, repeatIntervalMs: 30 * M, resolvedBy: ['TELEGRAM_RESTORED'] },
  TELEGRAM_RESTORED: { severity: 'INFO', title: 'Telegram delivery restored', runbook: 'RB-006', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 60 * S, repeatIntervalMs: 30 * M },
  FLATTEN: { severity: 'WARNING', title: 'Flatten', runbook: 'RB-004', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 0, repeatIntervalMs: 0 },
  POSITION_UNPROTECTED: { severity: 'CRITICAL', title: 'Position open without a working stop', runbook: 'RB-013', groupBy: byInstrument, groupWaitMs: 0, groupIntervalMs: 30 * S, repeatIntervalMs: 15 * M },
  LATE_FILL: { severity: 'CRITICAL', title: 'Fill for a position Phoenix had as closed or cancelled', runbook: 'RB-014', groupBy: byInstrument, groupWaitMs: 0, groupIntervalMs: 30 * S, repeatIntervalMs: 15 * M },
  OVER_EXIT: { severity: 'CRITICAL', title: 'Exits exceeded the position: the account is reversed', runbook: 'RB-014', groupBy: byInstrument, groupWaitMs: 0, groupIntervalMs: 30 * S, repeatIntervalMs: 15 * M },
  ORDER_HELD: { severity: 'WARNING', title: 'Order held by the broker', runbook: 'RB-015', groupBy: byInstrument, groupWaitMs: 0, groupIntervalMs: 60 * S, repeatIntervalMs: 30 * M },
  FLATTEN_FAILED: { severity: 'CRITICAL', title: 'Flatten exit NOT sent: position still open', runbook: 'RB-004', groupBy: byInstrument, groupWaitMs: 0, groupIntervalMs: 30 * S, repeatIntervalMs: 15 * M },
  FLATTEN_DEADLINE_MISSED: { severity: 'CRITICAL', title: 'Flatten deadline passed with positions open', runbook: 'RB-004', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 60 * S, repeatIntervalMs: 30 * M },
  ENTRY_STOPPED: { severity: 'WARNING', title: 'Entry stopped before it left Phoenix', runbook: 'RB-004', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 30 * S, repeatIntervalMs: 30 * M },
  EVIDENCE_MISMATCH: { severity: 'CRITICAL', title: 'Stored order differs from the approved evidence', runbook: 'RB-012', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 60 * S, repeatIntervalMs: 30 * M },
  AUDIT_ANCHOR_MISMATCH: { severity: 'CRITICAL', title: 'Audit log does not match its anchor', runbook: 'RB-017', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 60 * S, repeatIntervalMs: 60 * M },
  AUDIT_ANCHOR_JOURNAL: { severity: 'WARNING', title: 'Audit anchor journal missing or unusable', runbook: 'RB-017', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 60 * S, repeatIntervalMs: 60 * M },
  DAILY_SUMMARY: { severity: 'INFO', title: 'Daily summary', runbook: 'RB-005', groupBy: byType, groupWaitMs: 0, groupIntervalMs: 0, repeatIntervalMs: 0 },
} as const satisfies Record<string, AlertTypeDef<string>>;

export type AlertType = keyof typeof ALERT_TYPES;
/** The table seen through its typed rows: this assignment fails to compile when an inhibitedBy/resolvedBy names no alert type. */
const TYPED: Readonly<Record<AlertType, AlertTypeDef>> = ALERT_TYPES;
export const ALERT_TYPE_NAMES = Object.keys(ALERT_TYPES) as AlertType[];

export function alertDef(type: AlertType): AlertTypeDef {
  return TYPED[type];
}

/** The runbook one alert links (its type's, or a more specific one for this payload). */
export function alertRunbook(type: AlertType, p: AlertPayload): string {
  const def: AlertTypeDef = alertDef(type);
  return def.runbookOf ? def.runbookOf(p) : def.runbook;
}

/** What the engine asks the store to put in the outbox. */
export interface AlertDraft {
  readonly type: AlertType;
  readonly payload: AlertPayload;
  readonly at: number;
}

export function groupKeyOf(d: AlertDraft): string {
  const k = alertDef(d.type).groupBy(d.payload);
  return k ? `${d.type}:${k}` : d.type;
}

/** The one line an alert contributes to a digest (plain text). */
export function alertLine(type: AlertType, p: AlertPayload): string {
  const def = alertDef(type);
  return def.line ? def.line(p) : p.summary;
}

/** Extra lines shown when a message carries exactly this one alert (plain text). */
export function alertDetails(type: AlertType, p: AlertPayload): readonly string[] {
  const def = alertDef(type);
  if (def.details) return def.details(p);
  const lines = Object.entries(p.facts ?? {}).map(([k, v]) => `${k}: ${v}`);
  if (p.intentId) lines.push(`intent: ${p.intentId}`);
  return lines;
}

// === Notification levels (SPEC 9)

/**
 * Per alert type, from config/alerts.yaml: `on` (default: INFO silent, WARNING/CRITICAL with
 * sound), `silent` (delivered without sound), `off` (kept in the outbox as SUPPRESSED and
 * counted, never sent). CRITICAL types are always `on`: they need a human now.
 */
export type NotificationMode = 'on' | 'silent' | 'off';
export const NOTIFICATION_MODES: readonly NotificationMode[] = ['on', 'silent', 'off'];
export type AlertLevels = Readonly<Partial<Record<AlertType, NotificationMode>>>;

/** Why `mode` is not allowed for `type` (null when it is). */
export function levelRefusal(type: AlertType, mode: NotificationMode): string | null {
  if (mode === 'on' || alertDef(type).severity !== 'CRITICAL') return null;
  return `${type} is CRITICAL and cannot be turned ${mode}: CRITICAL alerts always go out with sound, because they need a human now (see its runbook ${alertDef(type).runbook})`;
}

export const modeOf = (levels: AlertLevels | undefined, type: AlertType): NotificationMode => levels?.[type] ?? 'on';

/** How long one tap on "snooze 1 h" keeps a type quiet. */
export const SNOOZE_MS = 60 * 60 * 1000;

/** Only WARNING types may be snoozed: INFO is silent anyway, CRITICAL never. */
export const isSnoozable = (type: AlertType): boolean => alertDef(type).severity === 'WARNING';

export function isAlertType(type: string): type is AlertType {
  return Object.prototype.hasOwnProperty.call(ALERT_TYPES, type);
}

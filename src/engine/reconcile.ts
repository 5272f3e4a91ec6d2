/**
 * Reconciliation diff (SPEC 8) — PURE: Phoenix's view of its positions and orders against
 * the broker's positions, open orders and executions. No I/O, no clock, no randomness; the
 * use case (reconcile.usecase.ts) fetches both sides, calls `reconcile`, and records drifts.
 *
 * Entry points: `reconcile(local, broker, tolerance, scope)`, `contractKey(instrument)`.
 *
 * Invariants checked (each broken one becomes a Discrepancy; nothing is ever corrected):
 *   1. per contract, Phoenix's net open quantity equals the broker's position
 *      (one side flat → POSITION_COUNT, both open but different → POSITION_SIZE; CRITICAL);
 *   2. every order Phoenix believes is working is working at the broker, and every working
 *      broker order is one Phoenix knows as working, for an intent that is not finished
 *      (ORDER_STATUS);
 *   3. each order's filled quantity (the partial-fill ratio) matches the broker's
 *      (ORDER_STATUS, CRITICAL when exposure differs);
 *   4. entry average price and realised P&L agree with the broker's executions within the
 *      tolerance (PNL, WARNING). Compared only when the executions cover every fill
 *      (brokers report executions of the current day only);
 *   5. every open position has a stop working at the broker that covers it (ORDER_STATUS,
 *      CRITICAL; reconcile.protection.ts) — also when both sides agree the stop is gone.
 * Executions are counted once per IBKR execution base (a correction replaces what it corrects).
 * An order still being placed (no broker id yet, nothing at the broker) is not a drift: the
 * stall detector owns "no acknowledgement". Fingerprints are deterministic hashes of the
 * logical mismatch (type, subject, both sides' compared values): the same mismatch seen
 * again has the same fingerprint and is not a new drift; input order does not matter.
 */
import type { BrokerFill, BrokerOrder, BrokerPosition, Instrument } from './broker.port.js';
import { canonicalJson, sha256Hex } from './canonical.js';
import type { IntentRecord, OrderRecord } from './domain.js';
import { latestPerBase } from './exec-id.js';
import { instrumentId } from './instrument.js';
import { realizedPnlCents } from './pnl.js';
import { protectionDiff } from './reconcile.protection.js';
import { usd } from './people-time.js';
import { TERMINAL_STATES, isIn } from './lifecycle.fsm.js';

export type DriftType = 'POSITION_COUNT' | 'POSITION_SIZE' | 'PNL' | 'ORDER_STATUS';
export type DriftSeverity = 'WARNING' | 'CRITICAL';
/** `positions`: invariant 1 only (cheap; one broker call); `full`: all four. */
export type ReconcileScope = 'full' | 'positions';

export type LocalIntent = Pick<
  IntentRecord,
  'id' | 'instrument' | 'instrumentKey' | 'side' | 'state' | 'quantity' | 'filledQty' | 'exitQty' | 'avgFillPrice' | 'exitAvgPrice' | 'commissionCents' | 'realizedPnlCents'
>;
export type LocalOrder = Pick<OrderRecord, 'intentId' | 'role' | 'brokerOrderId' | 'status' | 'quantity' | 'filledQty'>;

/** Phoenix's side: intents that hold (or held today) exposure, and their order rows. */
export interface LocalSnapshot {
  readonly intents: readonly LocalIntent[];
  readonly orders: readonly LocalOrder[];
}

/** The broker's side, as reported by BrokerPort (openOrders/executions may be empty for scope `positions`). */
export interface BrokerSnapshot {
  readonly positions: readonly BrokerPosition[];
  readonly openOrders: readonly BrokerOrder[];
  readonly executions: readonly BrokerFill[];
}

export interface Tolerance {
  /** P&L / cost-basis difference allowed, integer cents */
  readonly pnlCents: number;
}

export interface Discrepancy {
  readonly type: DriftType;
  readonly severity: DriftSeverity;
  /** what it is about: a contract key, or `intentId:ROLE` for an order, or an intent id */
  readonly subject: string;
  /** Phoenix's instrument key when known (alert grouping, /drift) */
  readonly instrumentKey: string | null;
  readonly intentId: string | null;
  /** one line for a human */
  readonly summary: string;
  readonly local: Readonly<Record<string, unknown>> | null;
  readonly broker: Readonly<Record<string, unknown>> | null;
  readonly fingerprint: string;
}

export interface ReconcileDiff {
  readonly discrepancies: readonly Discrepancy[];
  /** what was compared (for the run record) */
  readonly compared: { readonly contracts: number; readonly orders: number; readonly intents: number };
}

const EPS = 1e-9;
const OPEN = new Set(['PENDING', 'WORKING', 'HELD']);

/** Contract identity shared by both sides: THE instrument identity (instrument.ts). */
export function contractKey(i: Instrument): string {
  return instrumentId(i);
}

const sign = (side: string) => (side === 'BUY' ? 1 : -1);
const round = (x: number, digits = 6) => Math.round(x * 10 ** digits) / 10 ** digits;

function fingerprint(type: DriftType, subject: string, local: unknown, broker: unknown): string {
  return `${type}:${subject}:${sha256Hex(canonicalJson({ local, broker })).slice(0, 16)}`;
}

/** Compare both sides. Pure and total: never throws on odd input, never mutates it. */
export function reconcile(local: LocalSnapshot, reported: BrokerSnapshot, tolerance: Tolerance, scope: ReconcileScope = 'full'): ReconcileDiff {
  const out: Discrepancy[] = [];
  const broker = { ...reported, executions: latestPerBase(reported.executions) };
  const contracts = positionsDiff(local, broker, out);
  let orders = 0;
  if (scope === 'full') {
    orders = ordersDiff(local, broker, out);
    pnlDiff(local, broker, tolerance, out);
    protectionDiff(local, broker.openOrders, out);
  }
  out.sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0));
  return { discrepancies: out, compared: { contracts, orders, intents: local.intents.length } };
}

// === 1. positions per contract

function positionsDiff(local: LocalSnapshot, broker: BrokerSnapshot, out: Discrepancy[]): number {
  const mine = new Map<string, { qty: number; instrumentKey: string; symbol: string; intents: LocalIntent[] }>();
  for (const i of local.intents) {
    const open = i.filledQty - i.exitQty;
    if (Math.abs(open) <= EPS) continue;
    const key = contractKey(i.instrument);
    const e = mine.get(key) ?? { qty: 0, instrumentKey: i.instrumentKey, symbol: i.instrument.symbol, intents: [] };
    e.qty += sign(i.side) * open;
    e.intents.push(i);
    mine.set(key, e);
  }
  const theirs = new Map<string, { qty: number; avgCost: number; symbol: string }>();
  for (const p of broker.positions) {
    const key = contractKey(p.instrument);
    const e = theirs.get(key) ?? { qty: 0, avgCost: p.avgCost, symbol: p.instrument.symbol };
    e.qty += p.quantity;
    theirs.set(key, e);
  }
  const keys = new Set([...mine.keys(), ...theirs.keys()]);
  const localCount = mine.size;
  let brokerCount = 0;
  for (const x of theirs.values()) if (Math.abs(x.qty) > EPS) brokerCount++;
  for (const key of keys) {
    const l = mine.get(key);
    const b = theirs.get(key);
    const lq = round(l?.qty ?? 0);
    const bq = round(b?.qty ?? 0);
    if (Math.abs(lq - bq) <= EPS) continue;
    const type: DriftType = lq === 0 || bq === 0 ? 'POSITION_COUNT' : 'POSITION_SIZE';
    const intents = (l?.intents ?? []).map((i) => ({
      intentId: i.id,
      side: i.side,
      state: i.state,
      requestedQty: i.quantity,
      filledQty: i.filledQty,
      exitQty: i.exitQty,
      partialFillRatio: i.quantity ? round(i.filledQty / i.quantity, 4) : 0,
    }));
    // With exactly one position behind the contract, say what fill ratio the broker implies.
    const only = l && l.intents.length === 1 ? l.intents[0] : undefined;
    const implied = only && only.exitQty === 0 && only.quantity ? round((sign(only.side) * bq) / only.quantity, 4) : undefined;
    const symbol = l?.symbol ?? b?.symbol ?? key;
    const localState = { contract: key, quantity: lq, positions: localCount, intents };
    const brokerState = { contract: key, quantity: bq, positions: brokerCount, ...(b ? { avgCost: b.avgCost } : {}), ...(implied !== undefined ? { impliedPartialFillRatio: implied } : {}) };
    const what = type === 'POSITION_COUNT' ? (lq === 0 ? 'broker holds a position Phoenix does not know' : 'Phoenix holds a position the broker does not report') : 'position sizes differ';
    out.push({
      type,
      severity: 'CRITICAL',
      subject: key,
      instrumentKey: l?.instrumentKey ?? null,
      intentId: only?.id ?? null,
      summary: `${symbol}: ${what} (Phoenix ${lq}, broker ${bq})`,
      local: localState,
      broker: brokerState,
      fingerprint: fingerprint(type, key, { quantity: lq }, { quantity: bq }),
    });
  }
  return keys.size;
}

// === 2 + 3. order status and filled quantity

interface ExecSum {
  qty: number;
  notional: number;
  commissionCents: number;
}

function execsByOrder(executions: readonly BrokerFill[]): Map<string, ExecSum> {
  const m = new Map<string, ExecSum>();
  for (const f of executions) {
    const key = `${f.orderRef}:${f.role}`;
    const e = m.get(key) ?? { qty: 0, notional: 0, commissionCents: 0 };
    e.qty += f.quantity;
    e.notional += f.quantity * f.price;
    e.commissionCents += Math.round(f.commission * 100);
    m.set(key, e);
  }
  return m;
}

function ordersDiff(local: LocalSnapshot, broker: BrokerSnapshot, out: Discrepancy[]): number {
  const intents = new Map(local.intents.map((i) => [i.id, i]));
  const brokerOpen = new Map<string, BrokerOrder>();
  for (const o of broker.openOrders) if (OPEN.has(o.status)) brokerOpen.set(`${o.orderRef}:${o.role}`, o);
  const execs = execsByOrder(broker.executions);
  const seen = new Set<string>();
  for (const l of local.orders) {
    const subject = `${l.intentId}:${l.role}`;
    seen.add(subject);
    const b = brokerOpen.get(subject);
    const ex = execs.get(subject);
    const localOpen = OPEN.has(l.status);
    if (l.status === 'UNKNOWN') continue;
    // Broker's filled quantity: an open order says it; otherwise the executions (today's only).
    const brokerFilled = b ? b.filledQty : ex ? ex.qty : null;
    const brokerStatus = b ? b.status : ex && ex.qty + EPS >= l.quantity ? 'FILLED' : ex ? 'NOT_WORKING (partly filled)' : 'NOT_WORKING';
    const intent = intents.get(l.intentId);
    // An order working at the broker for an intent Phoenix considers finished is live exposure.
    const intentFinal = intent !== undefined && isIn(TERMINAL_STATES, intent.state);
    let statusDiff = false;
    if (localOpen && !b) {
      // Still being placed (no broker id, nothing at the broker): the stall detector's business.
      if (l.brokerOrderId === null && !ex) continue;
      statusDiff = true;
    } else if (b && (!localOpen || intentFinal)) statusDiff = true;
    const fillDiff = brokerFilled !== null && Math.abs(brokerFilled - l.filledQty) > EPS && (b !== undefined || brokerFilled > l.filledQty);
    if (!statusDiff && !fillDiff) continue;
    const moreFilledAtBroker = brokerFilled !== null && brokerFilled > l.filledQty + EPS;
    const critical = moreFilledAtBroker || (fillDiff && l.role !== 'TARGET') || (statusDiff && (l.role === 'STOP' || (b !== undefined && intentFinal) || (!localOpen && (l.role === 'ENTRY' || l.role === 'EXIT'))));
    const localState = { orderRef: l.intentId, intentState: intent?.state ?? null, role: l.role, brokerOrderId: l.brokerOrderId, status: l.status, quantity: l.quantity, filledQty: l.filledQty, partialFillRatio: l.quantity ? round(l.filledQty / l.quantity, 4) : 0 };
    const brokerState = {
      orderRef: l.intentId,
      role: l.role,
      brokerOrderId: b?.brokerOrderId ?? l.brokerOrderId,
      status: brokerStatus,
      quantity: b?.quantity ?? l.quantity,
      filledQty: brokerFilled,
      partialFillRatio: brokerFilled !== null && l.quantity ? round(brokerFilled / l.quantity, 4) : null,
    };
    const symbol = intent?.instrument.symbol ?? '';
    const parts = [statusDiff ? `Phoenix ${l.status}${intentFinal ? ` (intent ${intent?.state})` : ''}, broker ${brokerStatus}` : '', fillDiff ? `filled Phoenix ${l.filledQty}, broker ${brokerFilled}` : ''].filter(Boolean);
    out.push({
      type: 'ORDER_STATUS',
      severity: critical ? 'CRITICAL' : 'WARNING',
      subject,
      instrumentKey: intent?.instrumentKey ?? null,
      intentId: l.intentId,
      summary: `${symbol ? `${symbol} ` : ''}${l.role} order of ${l.intentId}: ${parts.join('; ')}`,
      local: localState,
      broker: brokerState,
      fingerprint: fingerprint('ORDER_STATUS', subject, { open: localOpen && !intentFinal, filledQty: round(l.filledQty) }, { open: b !== undefined, filledQty: brokerFilled === null ? null : round(brokerFilled) }),
    });
  }
  for (const [subject, b] of brokerOpen) {
    if (seen.has(subject)) continue;
    const intent = intents.get(b.orderRef);
    const known = intent !== undefined;
    out.push({
      type: 'ORDER_STATUS',
      severity: b.role === 'ENTRY' || b.role === 'EXIT' ? 'CRITICAL' : 'WARNING',
      subject,
      instrumentKey: intent?.instrumentKey ?? null,
      intentId: known ? b.orderRef : null,
      summary: `${b.instrument.symbol} ${b.side} ${b.quantity} (${b.role}, ref ${b.orderRef || 'none'}) is working at the broker but ${known ? 'Phoenix has no such order' : 'unknown to Phoenix'}`,
      local: null,
      broker: { orderRef: b.orderRef, role: b.role, brokerOrderId: b.brokerOrderId, status: b.status, side: b.side, quantity: b.quantity, filledQty: b.filledQty, contract: contractKey(b.instrument) },
      fingerprint: fingerprint('ORDER_STATUS', subject, null, { open: true, brokerOrderId: b.brokerOrderId }),
    });
  }
  return local.orders.length + brokerOpen.size;
}

// === 4. entry price and realised P&L

function pnlDiff(local: LocalSnapshot, broker: BrokerSnapshot, tol: Tolerance, out: Discrepancy[]): void {
  const byRef = new Map<string, { entry: ExecSum; exit: ExecSum }>();
  for (const f of broker.executions) {
    const e = byRef.get(f.orderRef) ?? { entry: { qty: 0, notional: 0, commissionCents: 0 }, exit: { qty: 0, notional: 0, commissionCents: 0 } };
    const side = f.role === 'ENTRY' ? e.entry : e.exit;
    side.qty += f.quantity;
    side.notional += f.quantity * f.price;
    side.commissionCents += Math.round(f.commission * 100);
    byRef.set(f.orderRef, e);
  }
  for (const i of local.intents) {
    const e = byRef.get(i.id);
    if (!e || i.filledQty <= EPS || i.avgFillPrice === null) continue;
    if (Math.abs(e.entry.qty - i.filledQty) > EPS) continue; // executions do not cover every entry fill
    const mult = i.instrument.multiplier;
    const brokerEntry = e.entry.notional / e.entry.qty;
    const entryDiffCents = Math.round(Math.abs(brokerEntry - i.avgFillPrice) * i.filledQty * mult * 100);
    let localPnl: number | null = null;
    let brokerPnl: number | null = null;
    if (i.realizedPnlCents !== null && i.exitQty > EPS && Math.abs(e.exit.qty - i.exitQty) <= EPS) {
      localPnl = i.realizedPnlCents;
      brokerPnl = realizedPnlCents(i.side, brokerEntry, e.exit.notional / e.exit.qty, i.filledQty, mult, e.entry.commissionCents + e.exit.commissionCents);
    }
    const pnlDelta = localPnl !== null && brokerPnl !== null ? Math.abs(localPnl - brokerPnl) : 0;
    if (entryDiffCents <= tol.pnlCents && pnlDelta <= tol.pnlCents) continue;
    const localState = { avgFillPrice: round(i.avgFillPrice), filledQty: i.filledQty, realizedPnlCents: localPnl };
    const brokerState = { avgFillPrice: round(brokerEntry), filledQty: e.entry.qty, realizedPnlCents: brokerPnl, toleranceCents: tol.pnlCents };
    const what = pnlDelta > tol.pnlCents ? `realised P&L Phoenix ${usd(localPnl ?? 0)}, broker ${usd(brokerPnl ?? 0)}` : `entry price Phoenix ${round(i.avgFillPrice, 4)}, broker ${round(brokerEntry, 4)} (${usd(entryDiffCents)} on the position)`;
    out.push({
      type: 'PNL',
      severity: 'WARNING',
      subject: i.id,
      instrumentKey: i.instrumentKey,
      intentId: i.id,
      summary: `${i.instrument.symbol} ${i.id}: ${what}`,
      local: localState,
      broker: brokerState,
      fingerprint: fingerprint('PNL', i.id, { avgFillPrice: round(i.avgFillPrice, 4), realizedPnlCents: localPnl }, { avgFillPrice: round(brokerEntry, 4), realizedPnlCents: brokerPnl }),
    });
  }
}

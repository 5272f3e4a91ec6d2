/**
 * Reconciliation use case (SPEC 8): fetch the broker's positions, open orders and
 * executions, read Phoenix's side, diff them with the pure `reconcile`, and record every NEW
 * discrepancy (fingerprint not already unresolved) as a Drift row + RECONCILIATION_DRIFT
 * bead + RECONCILIATION_DRIFT alert, all in one transaction.
 *
 * Entry points: `reconcileNow(ctx, reason, { scope })`, `nextReconcileAllowedAt(ctx)`.
 * Invariants:
 * - INV-RECONCILE-READONLY-1: it never changes intents, orders, fills or anything at the
 *   broker; it only reads them and writes drifts, beads, alerts and `reconcile.*` kv keys.
 *   A human resolves drifts (drift.usecase.ts).
 * - at most one run at a time and at most 12 starts per minute per process (runs start at
 *   least RECONCILE_MIN_SPACING_MS apart); callers inside that window get the last result
 *   back with `ran: false` (the jobs' ReconcileCoordinator waits instead, so no trigger is
 *   lost).
 * - a discrepancy is recorded only when a second read of both sides, right after the first,
 *   shows it again: a fill landing between the two reads is not a drift.
 * - a drift a human resolved as ACKNOWLEDGED is not raised again while the same mismatch
 *   persists (kv `reconcile.acknowledged`); once a run no longer sees it, it is forgotten and
 *   a recurrence is a new drift. PHOENIX_/BROKER_CORRECTED drifts that persist are raised
 *   again at the next run: the correction did not take.
 */
import { BrokerUnavailableError, type BrokerPosition, type ConnectionState } from './broker.port.js';
import type { EngineContext } from './context.js';
import type { IntentRecord, OrderRecord } from './domain.js';
import { reconcile, type BrokerSnapshot, type Discrepancy, type LocalSnapshot, type ReconcileScope } from './reconcile.js';
import { tradingDayOf } from './session.calendar.js';
import type { DriftRecord, Tx } from './store.port.js';
import { BEFORE_BROKER, OPEN_STATES, isIn } from './lifecycle.fsm.js';
import { KV } from './kv.keys.js';

export type { ReconcileScope } from './reconcile.js';

/** 12 runs per minute at most (SPEC 8). */
export const RECONCILE_MIN_SPACING_MS = 5_000;

/** What every reconciliation answer carries (a skipped one: the last run's findings, or none). */
interface ReconcileFacts {
  /** when a new run may start (rate limit) */
  readonly nextAllowedAt: number;
  readonly at: number;
  readonly reason: string;
  readonly scope: ReconcileScope;
  /** every mismatch seen (new and already known) */
  readonly discrepancies: readonly Discrepancy[];
  /** drifts recorded by this run */
  readonly newDrifts: readonly DriftRecord[];
  /** unresolved drifts after this run */
  readonly unresolved: number;
  /** positions in other accounts of the same login: context, never compared (INV-ACCOUNT-SCOPE-1) */
  readonly otherAccounts?: readonly BrokerPosition[];
}

/**
 * A reconciliation's answer, as data (src/present/reconcile.text.ts words it for /drift "check
 * now"). `ran` false: nothing was fetched, and `skipped` says why —
 * RATE_LIMITED: the run that holds the limit started at `lastStartedAt` (this call asked at
 *   `askedAt`, epoch ms); its result is `lastRun` (null: none finished yet), and the facts are its;
 * BROKER_DOWN: the broker was not READY (`brokerState`) or a read failed (`detail`, the broker's error).
 */
export type ReconcileResult = ReconcileFacts &
  (
    | { readonly ran: true; readonly skipped?: undefined }
    | { readonly ran: false; readonly skipped: 'RATE_LIMITED'; readonly askedAt: number; readonly lastStartedAt: number; readonly lastRun: ReconcileResult | null }
    | { readonly ran: false; readonly skipped: 'BROKER_DOWN'; readonly brokerState: ConnectionState; readonly detail: string | null }
  );

interface RunState {
  lastStartAt: number | null;
  inFlight: Promise<ReconcileResult> | null;
  last: ReconcileResult | null;
}
const runs = new WeakMap<EngineContext, RunState>();
function stateOf(ctx: EngineContext): RunState {
  let s = runs.get(ctx);
  if (!s) runs.set(ctx, (s = { lastStartAt: null, inFlight: null, last: null }));
  return s;
}

/** Earliest time a new reconciliation may start in this process (rate limit). */
export function nextReconcileAllowedAt(ctx: EngineContext): number {
  const s = stateOf(ctx);
  return s.lastStartAt === null ? ctx.clock.now() : Math.max(ctx.clock.now(), s.lastStartAt + RECONCILE_MIN_SPACING_MS);
}

/**
 * Reconcile now (on demand, on fills/rejects/cancels via the jobs' coordinator, periodically).
 * `scope: 'positions'` compares positions only (the cheap 30-s watch); default `full`.
 * A call while a run is in flight waits for it and returns its result.
 */
export async function reconcileNow(ctx: EngineContext, reason: string, opts: { readonly scope?: ReconcileScope } = {}): Promise<ReconcileResult> {
  const s = stateOf(ctx);
  if (s.inFlight) return s.inFlight;
  const scope = opts.scope ?? 'full';
  const now = ctx.clock.now();
  if (s.lastStartAt !== null && now - s.lastStartAt < RECONCILE_MIN_SPACING_MS) {
    const nextAllowedAt = s.lastStartAt + RECONCILE_MIN_SPACING_MS;
    const facts: ReconcileFacts = s.last ?? emptyFacts(now, reason, scope, nextAllowedAt);
    return { ...facts, ran: false, skipped: 'RATE_LIMITED', askedAt: now, lastStartedAt: s.lastStartAt, lastRun: s.last, nextAllowedAt, reason, newDrifts: [] };
  }
  const health = ctx.broker.health();
  if (health.state !== 'READY') {
    return { ...emptyFacts(now, reason, scope, now), ran: false, skipped: 'BROKER_DOWN', brokerState: health.state, detail: null };
  }
  s.lastStartAt = now;
  const run = runOnce(ctx, reason, scope, now).finally(() => {
    s.inFlight = null;
  });
  s.inFlight = run;
  const result = await run;
  if (result.ran) s.last = result;
  return result;
}

function emptyFacts(now: number, reason: string, scope: ReconcileScope, nextAllowedAt: number): ReconcileFacts {
  return { nextAllowedAt, at: now, reason, scope, discrepancies: [], newDrifts: [], unresolved: 0 };
}

async function runOnce(ctx: EngineContext, reason: string, scope: ReconcileScope, startedAt: number): Promise<ReconcileResult> {
  const tolerance = { pnlCents: Math.round(ctx.constitution.reconciliation.pnlToleranceUsd * 100) };
  let first: readonly Discrepancy[];
  let confirmed: readonly Discrepancy[] = [];
  let others: readonly BrokerPosition[] = [];
  try {
    const broker1 = await brokerSnapshot(ctx, scope);
    others = broker1.otherAccounts;
    first = reconcile(await localSnapshot(ctx, broker1), broker1, tolerance, scope).discrepancies;
    // known: unresolved drifts and acknowledged mismatches — unless the mismatch was gone at the
    // last look that covered it and is back now (a new occurrence: alerted again, INV-RECONCILE-ALERT-1)
    const known = await ctx.store.tx(async (tx) => {
      const back = recurred(await lastLook(tx), first, scope);
      return new Set([...(await tx.drifts.unresolved()).map((d) => d.fingerprint).filter((fp) => !back.has(fp)), ...(await acknowledged(tx))]);
    });
    const candidates = first.filter((d) => !known.has(d.fingerprint));
    if (candidates.length) {
      const broker = await brokerSnapshot(ctx, scope);
      // a fill the broker's positions already show may be received and not yet applied: confirm
      // against Phoenix as it is once the events received so far are in, and only if the broker
      // did not move meanwhile (then the next run looks again) (INV-ACCOUNT-SCOPE-1)
      await eventsApplied(ctx);
      const local = await localSnapshot(ctx, broker);
      const still = brokerState(await brokerSnapshot(ctx, scope)) === brokerState(broker);
      const again = new Set(still ? reconcile(local, broker, tolerance, scope).discrepancies.map((d) => d.fingerprint) : []);
      confirmed = candidates.filter((d) => again.has(d.fingerprint));
    }
  } catch (e) {
    if (e instanceof BrokerUnavailableError) {
      return { ...emptyFacts(startedAt, reason, scope, startedAt + RECONCILE_MIN_SPACING_MS), ran: false, skipped: 'BROKER_DOWN', brokerState: ctx.broker.health().state, detail: e.message };
    }
    throw e;
  }
  const now = ctx.clock.now();
  const { newDrifts, unresolved } = await ctx.store.tx(async (tx) => {
    const open = await tx.drifts.unresolved();
    // Acknowledged mismatches stay quiet while they persist; once gone, they are forgotten.
    const present = new Set(first.map((d) => d.fingerprint));
    const acks = (await acknowledged(tx)).filter((fp) => present.has(fp) || !coveredBy(fp, scope));
    await tx.kv.set(KV.reconcileAcknowledged, JSON.stringify(acks), now);
    const back = recurred(await lastLook(tx), first, scope);
    const known = new Set([...open.map((d) => d.fingerprint).filter((fp) => !back.has(fp)), ...acks]);
    const recorded: DriftRecord[] = [];
    for (const d of confirmed) {
      if (known.has(d.fingerprint)) continue;
      known.add(d.fingerprint);
      const again = open.find((o) => o.fingerprint === d.fingerprint);
      if (again) {
        // the same mismatch as an unresolved drift, gone meanwhile and back: one drift, a new occurrence
        tx.beads.append({ type: 'RECONCILIATION_DRIFT', intentId: d.intentId, ts: now, payload: { driftId: again.id, driftType: d.type, severity: d.severity, local: d.local, broker: d.broker, instrumentKey: d.instrumentKey, recurred: true } });
        tx.alerts.enqueue({
          type: 'RECONCILIATION_DRIFT',
          at: now,
          payload: {
            summary: `${d.severity} drift ${d.type} again: ${d.summary}. It had gone away; it is back. Phoenix changed nothing; resolve it with /drift ${again.id} after checking IBKR.`,
            ...(d.intentId ? { intentId: d.intentId } : {}),
            ...(d.instrumentKey ? { instrumentKey: d.instrumentKey } : {}),
            facts: { drift: again.id, type: d.type, severity: d.severity, found: reason, occurrence: 'again' },
          },
        });
        recorded.push(again);
        continue;
      }
      const drift: DriftRecord = { id: `drf_${ctx.random.id(10)}`, type: d.type, severity: d.severity, instrumentKey: d.instrumentKey, local: d.local, broker: d.broker, fingerprint: d.fingerprint, detectedAt: now, escalatedAt: null, resolvedAt: null, resolution: null, resolvedBy: null, note: null };
      await tx.drifts.insert(drift);
      tx.beads.append({ type: 'RECONCILIATION_DRIFT', intentId: d.intentId, ts: now, payload: { driftId: drift.id, driftType: d.type, severity: d.severity, local: d.local, broker: d.broker, instrumentKey: d.instrumentKey } });
      tx.alerts.enqueue({
        type: 'RECONCILIATION_DRIFT',
        at: now,
        payload: {
          summary: `${d.severity} drift ${d.type}: ${d.summary}. Phoenix changed nothing; resolve it with /drift ${drift.id} after checking IBKR.`,
          ...(d.intentId ? { intentId: d.intentId } : {}),
          ...(d.instrumentKey ? { instrumentKey: d.instrumentKey } : {}),
          facts: { drift: drift.id, type: d.type, severity: d.severity, found: reason },
        },
      });
      recorded.push(drift);
    }
    await tx.kv.set(KV.reconcileLastRunAt, String(now), now);
    await tx.kv.set(KV.reconcileLast, JSON.stringify({ at: now, scope, reason, fingerprints: first.map((d) => d.fingerprint) }), now);
    return { newDrifts: recorded, unresolved: open.length + recorded.length };
  });
  if (newDrifts.length) ctx.notify();
  ctx.logger.info({ reason, scope, discrepancies: first.length, newDrifts: newDrifts.length }, 'reconciliation');
  return { ran: true, nextAllowedAt: startedAt + RECONCILE_MIN_SPACING_MS, at: now, reason, scope, discrepancies: first, newDrifts, unresolved, otherAccounts: others };
}

/** The last run's scope and the mismatches it saw (kv `KV.reconcileLast`). */
async function lastLook(tx: Tx): Promise<{ scope: ReconcileScope; fingerprints: string[] } | null> {
  try {
    const v = await tx.kv.get(KV.reconcileLast);
    const p = v ? (JSON.parse(v) as { scope?: ReconcileScope; fingerprints?: string[] }) : null;
    return p?.scope && Array.isArray(p.fingerprints) ? { scope: p.scope, fingerprints: p.fingerprints } : null;
  } catch {
    return null;
  }
}

/** Mismatches seen now that the last look covered and did not see: gone, and back. */
function recurred(last: { scope: ReconcileScope; fingerprints: string[] } | null, now: readonly Discrepancy[], scope: ReconcileScope): Set<string> {
  if (!last) return new Set();
  const seen = new Set(last.fingerprints);
  return new Set(now.map((d) => d.fingerprint).filter((fp) => !seen.has(fp) && coveredBy(fp, last.scope) && coveredBy(fp, scope)));
}

/** What a confirmation needs the broker to still say: positions, working orders, executions. */
function brokerState(b: BrokerSnapshot): string {
  const pos = b.positions.map((p) => `${p.account}|${p.instrument.symbol}|${p.instrument.contractMonth ?? ''}|${p.quantity}`).sort();
  const orders = b.openOrders.map((o) => `${o.brokerOrderId}|${o.status}|${o.filledQty}|${o.quantity}`).sort();
  return JSON.stringify([pos, orders, b.executions.length]);
}

/** Wait (a little, at most) until the broker events received so far are applied. */
async function eventsApplied(ctx: EngineContext): Promise<void> {
  const applied = ctx.brokerEventsApplied?.();
  if (!applied) return;
  let cancel: (() => void) | undefined;
  const waited = new Promise<void>((resolve) => {
    cancel = ctx.clock.schedule(EVENTS_WAIT_MS, resolve);
  });
  await Promise.race([applied.catch(() => {}), waited]);
  cancel?.();
}

/**
 * How long a confirmation waits for received broker events: their follow-ups (cancels, resizes)
 * go to the broker in line, seconds each on IBKR; a stuck one must not stop reconciliation.
 */
const EVENTS_WAIT_MS = 10_000;

/** kv key: fingerprints of drifts resolved as ACKNOWLEDGED whose mismatch still persists. */

async function acknowledged(tx: Tx): Promise<string[]> {
  try {
    const v = await tx.kv.get(KV.reconcileAcknowledged);
    return v ? (JSON.parse(v) as string[]) : [];
  } catch {
    return [];
  }
}

/** Whether a run of `scope` compares what fingerprint `fp` is about (positions are in both scopes). */
function coveredBy(fp: string, scope: ReconcileScope): boolean {
  return scope === 'full' || fp.startsWith('POSITION_');
}

/**
 * INV-ACCOUNT-SCOPE-1: only Phoenix's own account is compared. A login that manages several
 * accounts reports their positions too; they are context for the human, never netted.
 */
function phoenixAccount(ctx: EngineContext): string | null {
  return ctx.broker.health().account?.accountId ?? ctx.lastKnownAccount?.accountId ?? null;
}

async function brokerSnapshot(ctx: EngineContext, scope: ReconcileScope): Promise<BrokerSnapshot & { readonly otherAccounts: readonly BrokerPosition[] }> {
  const mine = phoenixAccount(ctx);
  const own = (account: string | undefined) => mine === null || !account || account === mine;
  const all = await ctx.broker.positions();
  const positions = all.filter((p) => own(p.account));
  const otherAccounts = all.filter((p) => !own(p.account));
  if (scope === 'positions') return { positions, openOrders: [], executions: [], otherAccounts };
  const [openOrders, executions] = [await ctx.broker.openOrders(), (await ctx.broker.executions()).filter((f) => own(f.account))];
  return { positions, openOrders, executions, otherAccounts };
}

/** Open intents, intents closed today, and any intent the broker's orders/executions name. */
async function localSnapshot(ctx: EngineContext, broker: BrokerSnapshot): Promise<LocalSnapshot> {
  const today = tradingDayOf(ctx.clock.now(), ctx.constitution);
  return ctx.store.tx(async (tx) => {
    const intents = new Map<string, IntentRecord>();
    for (const i of await tx.intents.listByState(OPEN_STATES, 100_000)) intents.set(i.id, i);
    for (const i of await tx.intents.listClosedOn(today)) intents.set(i.id, i);
    const refs = new Set([...broker.openOrders.map((o) => o.orderRef), ...broker.executions.map((f) => f.orderRef)]);
    for (const ref of refs) {
      if (!ref || intents.has(ref)) continue;
      const i = await tx.intents.get(ref);
      if (i) intents.set(i.id, i);
    }
    const orders: OrderRecord[] = [];
    for (const i of intents.values()) {
      if (isIn(BEFORE_BROKER, i.state)) continue;
      orders.push(...(await tx.orders.listByIntent(i.id)));
    }
    return { intents: [...intents.values()], orders };
  });
}

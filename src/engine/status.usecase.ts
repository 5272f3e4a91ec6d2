/**
 * Status snapshot (SPEC 12 /status, `phoenix status`): plain data any transport renders.
 */
import { activeSnoozes, parseSnoozes, type Snooze } from './alert-snooze.usecase.js';
import type { BrokerHealth } from './broker.port.js';
import { dayStats, type EngineContext } from './context.js';
import type { IntentRecord, KillFlag, Mode } from './domain.js';
import type { DriftRecord } from './store.port.js';
import { isExitReserved, openAtBroker } from './flatten.usecase.js';
import { currentHold } from './gateway-day.usecase.js';
import { stopWorks } from './protection.usecase.js';
import { AWAITING_DECISION, HOLDING, OPEN_STATES, isIn } from './lifecycle.fsm.js';
import { KV } from './kv.keys.js';

export interface StatusSnapshot {
  readonly at: number;
  readonly mode: Mode;
  readonly demo: boolean;
  readonly constitution: string;
  readonly broker: BrokerHealth & { readonly name: string };
  /** why new entries are held right now (IB Gateway restart window / waiting for its login), or null */
  readonly entryHold?: string | null;
  readonly kills: readonly KillFlag[];
  readonly open: readonly IntentRecord[];
  readonly pending: readonly IntentRecord[];
  readonly today: { readonly realizedPnlCents: number; readonly consecutiveLosses: number; readonly trades: number };
  readonly lastHeartbeat: { readonly at: number; readonly status: string } | null;
  readonly lastReconciliation: number | null;
  readonly outbox: { readonly backlog: number; readonly lastSentAt: number | null; readonly lastError: string | null };
  readonly unresolvedDrifts: readonly DriftRecord[];
  /** open positions without a working stop at the broker (MONEY-1, INV-PROTECTED-1) */
  readonly unprotected: readonly { readonly intentId: string; readonly open: number; readonly stop: string }[];
  /** alert types snoozed right now ("snooze 1 h": delivered without sound), who and until when */
  readonly snoozes?: readonly Snooze[];
}

export interface HealthSnapshot {
  readonly mode: Mode;
  readonly demo: boolean;
  readonly broker: BrokerHealth['state'];
  readonly killActive: boolean;
  readonly lastHeartbeat: { readonly at: number; readonly status: string } | null;
  readonly outboxBacklog: number;
}

/** What /healthz needs, in a few indexed queries (status() lists whole intents). */
export async function healthSnapshot(ctx: EngineContext): Promise<HealthSnapshot> {
  const now = ctx.clock.now();
  return ctx.store.tx(async (tx) => {
    const hb = await tx.beads.latestOfType('HEARTBEAT');
    return {
      mode: ctx.mode,
      demo: ctx.constitution.demo,
      broker: ctx.broker.health().state,
      killActive: (await tx.kills.active(now)).length > 0,
      lastHeartbeat: hb ? { at: hb.ts, status: (JSON.parse(hb.payload) as { status: string }).status } : null,
      outboxBacklog: await tx.alerts.backlog(),
    };
  });
}

export async function statusSnapshot(ctx: EngineContext): Promise<StatusSnapshot> {
  const now = ctx.clock.now();
  return ctx.store.tx(async (tx) => {
    const hb = await tx.beads.latestOfType('HEARTBEAT');
    const lastRecon = await tx.kv.get(KV.reconcileLastRunAt);
    const lastSent = await tx.kv.get(KV.telegramLastSentAt);
    const open = await tx.intents.listByState(OPEN_STATES);
    const unprotected: { intentId: string; open: number; stop: string }[] = [];
    for (const i of open.filter((x) => isIn(HOLDING, x.state))) {
      const orders = await tx.orders.listByIntent(i.id);
      const q = openAtBroker(i, orders);
      if (q !== 0 && !isExitReserved(orders) && !(q > 0 && stopWorks(orders))) unprotected.push({ intentId: i.id, open: q, stop: orders.find((o) => o.role === 'STOP')?.status ?? 'none' });
    }
    return {
      at: now,
      mode: ctx.mode,
      demo: ctx.constitution.demo,
      constitution: ctx.constitution.name,
      broker: { ...ctx.broker.health(), name: ctx.broker.name },
      entryHold: currentHold(ctx),
      kills: await tx.kills.active(now),
      open,
      pending: await tx.intents.listByState(AWAITING_DECISION),
      today: await dayStats(ctx, tx, now),
      lastHeartbeat: hb ? { at: hb.ts, status: (JSON.parse(hb.payload) as { status: string }).status } : null,
      lastReconciliation: lastRecon ? Number(lastRecon) : null,
      outbox: { backlog: await tx.alerts.backlog(), lastSentAt: lastSent ? Number(lastSent) : null, lastError: await tx.kv.get(KV.telegramLastError) },
      unresolvedDrifts: await tx.drifts.unresolved(),
      unprotected,
      snoozes: activeSnoozes(parseSnoozes(await tx.kv.get(KV.alertSnooze)), now),
    };
  });
}

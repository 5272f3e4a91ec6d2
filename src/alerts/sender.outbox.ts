/**
 * The alert sender's persistence, through the Store port (`tx.alertOutbox` and the typed kv):
 * one `store.tx` per step, so every step is atomic and serialised with the engine's own
 * transactions on every adapter. Which rows change how is src/engine/alert-outbox.port.ts.
 */
import { randomBytes } from 'node:crypto';
import { activeSnoozes, KV, parseSnoozes, type AlertType, type NewOutboxMessage, type OutboxMessage, type Snooze, type Store } from '../engine/index.js';
import type { GroupMemory, PendingAlert, Raised } from './aggregate.js';

export const newMessageId = (): string => `am_${randomBytes(6).toString('base64url')}`;

export class AlertCountMismatch extends Error {
  constructor(expected: number, got: number) {
    super(`alert outbox: planned ${expected} alerts, ${got} were still unassigned: state reloaded`);
    this.name = 'AlertCountMismatch';
  }
}

/** What a previous process left for the sender. */
export interface SenderState {
  /** messages that were SENDING at shutdown, now re-queued (they may have reached Telegram) */
  readonly requeued: number;
  /** when the last messages to the chat were delivered (pacing across a restart) */
  readonly recentSends: readonly number[];
  readonly lastRaised: Map<AlertType, Raised>;
  readonly memory: Map<string, GroupMemory>;
  readonly failingSince: number | null;
  readonly down: boolean;
}

export function loadSenderState(store: Store, o: { chatId: string; now: number; recentLimit: number; trackTypes: readonly AlertType[] }): Promise<SenderState> {
  return store.tx(async (tx) => {
    const requeued = await tx.alertOutbox.requeueInFlight(o.now);
    const recentSends = await tx.alertOutbox.recentSends(o.chatId, o.recentLimit);
    const lastRaised = await tx.alertOutbox.latestOfTypes(o.trackTypes);
    const mem = await tx.kv.get(KV.alertGroups);
    let memory = new Map<string, GroupMemory>();
    if (mem) {
      try {
        memory = new Map(Object.entries(JSON.parse(mem) as Record<string, GroupMemory>));
      } catch {
        memory = new Map();
      }
    }
    const since = await tx.kv.get(KV.telegramFailingSince);
    const down = (await tx.kv.get(KV.telegramDown)) !== null;
    return { requeued, recentSends, lastRaised, memory, failingSince: since ? Number(since) : null, down };
  });
}

/**
 * One page of new alerts after the cursor. Those `isOff` picks (types configured off) are
 * marked SUPPRESSED in the same transaction: kept and counted, never folded, never backlog.
 */
export function readPending(store: Store, cursor: number, limit: number, isOff: (a: PendingAlert) => boolean): Promise<{ page: PendingAlert[]; off: Map<AlertType, string[]> }> {
  return store.tx(async (tx) => {
    const page = await tx.alertOutbox.pendingAfter(cursor, limit);
    const off = new Map<AlertType, string[]>();
    for (const a of page) if (isOff(a)) off.set(a.type, [...(off.get(a.type) ?? []), a.id]);
    if (off.size) await tx.alertOutbox.suppress([...off.values()].flat());
    return { page, off };
  });
}

/** Undelivered messages, and the snoozes running at `now` ("snooze 1 h", src/engine/alert-snooze.usecase.ts). */
export function unsentAndSnoozes(store: Store, now: number): Promise<{ unsent: OutboxMessage[]; snoozes: Snooze[] }> {
  return store.tx(async (tx) => ({ unsent: await tx.alertOutbox.unsent(), snoozes: activeSnoozes(parseSnoozes(await tx.kv.get(KV.alertSnooze)), now) }));
}

export const unsentMessages = (store: Store): Promise<OutboxMessage[]> => store.tx((tx) => tx.alertOutbox.unsent());

/**
 * Create message M and fold the planned alerts into it, atomically, with the groups' new
 * memory: exactly the pending, unassigned alerts of its groups up to the ingestion cursor. A
 * different count means the in-memory view is stale: throw, roll back, reload.
 */
export function composeMessage(store: Store, m: NewOutboxMessage, cursor: number, memory: Readonly<Record<string, GroupMemory>>): Promise<void> {
  return store.tx(async (tx) => {
    const assigned = await tx.alertOutbox.compose(m, cursor);
    if (assigned !== m.alertCount) throw new AlertCountMismatch(m.alertCount, assigned);
    await tx.kv.set(KV.alertGroups, JSON.stringify(memory), m.at);
  });
}

export const markSending = (store: Store, id: string): Promise<void> => store.tx((tx) => tx.alertOutbox.markSending(id));

/** Delivered: the message and its alerts SENT, Telegram healthy again (`telegram.*` keys). Returns the alerts delivered. */
export function markSent(store: Store, id: string, telegramMessageId: number, now: number): Promise<number> {
  return store.tx(async (tx) => {
    const alerts = await tx.alertOutbox.markSent(id, telegramMessageId, now);
    await tx.kv.set(KV.telegramLastSentAt, String(now), now);
    await tx.kv.delete(KV.telegramLastError);
    await tx.kv.delete(KV.telegramFailingSince);
    return alerts;
  });
}

/** A failed attempt: the message retried later (its text replaced by `fallback` when given), the failure recorded for /status. */
export function recordFailure(store: Store, f: { message: { id: string; retryAt: number; error: string; fallback: string | null } | null; summary: string; failingSince: number | null; at: number }): Promise<void> {
  return store.tx(async (tx) => {
    if (f.message) await tx.alertOutbox.markRetry(f.message.id, f.message.retryAt, f.message.error);
    if (f.message?.fallback) await tx.alertOutbox.replaceText(f.message.id, f.message.fallback);
    await tx.kv.set(KV.telegramLastError, f.summary, f.at);
    await tx.kv.set(KV.telegramFailingSince, String(f.failingSince), f.at);
  });
}

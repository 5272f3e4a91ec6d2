/**
 * The alert sender's persistence: the Alert and AlertMessage tables and a few SystemState
 * keys, through plain SQL so it runs on every store adapter:
 *
 * - better-sqlite3 store (`store.db.prepare`): statements run inside `store.tx`, i.e. under
 *   the store's own mutex and BEGIN IMMEDIATE, so they never interleave with an engine
 *   transaction on the shared connection;
 * - Prisma store (`store.db.$transaction`): an interactive Prisma transaction;
 * - PostgreSQL store (`store.outboxDb()`): a transaction under the desk's write lock.
 *
 * Row lifecycle (Alert.status stays PENDING until its message is delivered, so the store's
 * `backlog()` and /status count every undelivered alert):
 *   Alert        PENDING, messageId NULL   → waiting to be folded into a message
 *                PENDING, messageId = M    → folded into message M (once, atomically)
 *                SENT                      → M was delivered
 *                SUPPRESSED                → its type is configured off (config/alerts.yaml): kept, never sent
 *   AlertMessage QUEUED → SENDING → SENT   (SENDING found at start-up = ambiguous: re-queued)
 */
import { randomBytes } from 'node:crypto';
import { isAlertType, type AlertPayload, type AlertType, type Severity } from '../engine/alerts.table.js';
import { activeSnoozes, parseSnoozes, type Snooze } from '../engine/alert-snooze.usecase.js';
import { KV, type KvKey } from '../engine/kv.keys.js';
import type { Store } from '../engine/store.port.js';
/** the SQLite row time format, one definition (this file's raw SQL goes away with issue 15's alert repository) */
import { iso } from '../store/sqlite.rows.js';
import type { GroupMemory, PendingAlert, Raised } from './aggregate.js';

type Row = Record<string, unknown>;

export interface SqlExec {
  all(sql: string, ...params: unknown[]): Promise<Row[]>;
  /** returns the number of changed rows */
  run(sql: string, ...params: unknown[]): Promise<number>;
}

export interface OutboxDb {
  /** run `fn` atomically, serialised with the engine's own transactions */
  tx<T>(fn: (sql: SqlExec) => Promise<T>): Promise<T>;
}

interface BetterSqliteLike {
  prepare(sql: string): { all(...p: unknown[]): unknown[]; run(...p: unknown[]): { changes: number } };
}
interface PrismaLike {
  $transaction<T>(fn: (c: PrismaTxLike) => Promise<T>, opts?: { timeout?: number; maxWait?: number }): Promise<T>;
}
interface PrismaTxLike {
  $queryRawUnsafe<T = unknown>(sql: string, ...p: unknown[]): Promise<T>;
  $executeRawUnsafe(sql: string, ...p: unknown[]): Promise<number>;
}

/**
 * The outbox DB for the store: a store that brings its own (PostgreSQL, src/store/pg.store.ts:
 * `?` placeholders become `$n`, under the desk's write lock), else duck-typed on `store.db`.
 * The statements below are portable: identifiers that are not all lower case are quoted, and
 * `rowid` is SQLite's implicit one or PostgreSQL's explicit Alert.rowid (same order).
 */
export function outboxDbFor(store: Store): OutboxDb {
  const own = (store as unknown as { outboxDb?: () => OutboxDb }).outboxDb;
  if (typeof own === 'function') return own.call(store);
  const db = (store as unknown as { db?: unknown }).db;
  if (db && typeof (db as BetterSqliteLike).prepare === 'function') {
    const sqlite = db as BetterSqliteLike;
    const cache = new Map<string, ReturnType<BetterSqliteLike['prepare']>>();
    const st = (sql: string) => {
      let s = cache.get(sql);
      if (!s) {
        s = sqlite.prepare(sql);
        cache.set(sql, s);
      }
      return s;
    };
    const exec: SqlExec = {
      all: async (sql, ...p) => st(sql).all(...p) as Row[],
      run: async (sql, ...p) => st(sql).run(...p).changes,
    };
    return { tx: (fn) => store.tx(() => fn(exec)) };
  }
  if (db && typeof (db as PrismaLike).$transaction === 'function') {
    const prisma = db as PrismaLike;
    return {
      tx: (fn) =>
        prisma.$transaction(
          (c) =>
            fn({
              all: (sql, ...p) => c.$queryRawUnsafe<Row[]>(sql, ...p),
              run: (sql, ...p) => c.$executeRawUnsafe(sql, ...p),
            }),
          { timeout: 30_000, maxWait: 30_000 },
        ),
    };
  }
  throw new Error('alert outbox: store exposes neither a better-sqlite3 nor a Prisma `db`');
}

export const toMs = (v: unknown): number => (v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : Number(v));
export const newMessageId = (): string => `am_${randomBytes(6).toString('base64url')}`;

export interface MessageRow {
  readonly id: string;
  readonly chatId: string;
  readonly severity: Severity;
  readonly text: string;
  readonly alertCount: number;
  readonly status: 'QUEUED' | 'SENDING';
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly createdAt: number;
  /** delivered without sound */
  readonly silent: boolean;
  /** alert types its "snooze 1 h" button snoozes (empty: no button) */
  readonly snoozeTypes: readonly string[];
}

export interface NewMessage {
  readonly id: string;
  readonly chatId: string;
  readonly severity: Severity;
  readonly groupKeys: readonly string[];
  readonly text: string;
  readonly alertCount: number;
  readonly at: number;
  readonly silent?: boolean;
  readonly snoozeTypes?: readonly string[];
}

export class AlertCountMismatch extends Error {
  constructor(expected: number, got: number) {
    super(`alert outbox: planned ${expected} alerts, ${got} were still unassigned: state reloaded`);
    this.name = 'AlertCountMismatch';
  }
}

// Unknown types can only come from rows written by an older version whose type was renamed;
// they are shown (with their original type in the line) instead of being stuck forever.
const FALLBACK_TYPE: AlertType = 'HEARTBEAT_DEGRADED';

function pendingFromRow(r: Row): PendingAlert {
  const rawType = String(r.type);
  let payload: AlertPayload;
  try {
    payload = JSON.parse(String(r.payload)) as AlertPayload;
    if (typeof payload.summary !== 'string') payload = { ...payload, summary: String(payload.summary ?? '') };
  } catch {
    payload = { summary: String(r.payload).slice(0, 500) };
  }
  const known = isAlertType(rawType);
  return {
    rid: Number(r.rid),
    id: String(r.id),
    type: known ? rawType : FALLBACK_TYPE,
    severity: (['INFO', 'WARNING', 'CRITICAL'].includes(String(r.severity)) ? r.severity : 'WARNING') as Severity,
    groupKey: String(r.groupKey),
    at: toMs(r.createdAt),
    payload: known ? payload : { ...payload, summary: `[${rawType}] ${payload.summary}` },
  };
}

export const outboxSql = {
  async pendingAfter(sql: SqlExec, afterRid: number, limit: number): Promise<PendingAlert[]> {
    const rows = await sql.all(
      `SELECT rowid AS rid, id, type, severity, "groupKey", payload, "createdAt" FROM "Alert" WHERE rowid > ? AND status = 'PENDING' AND "messageId" IS NULL ORDER BY rowid LIMIT ?`,
      afterRid,
      limit,
    );
    return rows.map(pendingFromRow);
  },

  /** The newest alert of each type (inhibition state at start-up). */
  async latestOfTypes(sql: SqlExec, types: readonly AlertType[]): Promise<Map<AlertType, Raised>> {
    const out = new Map<AlertType, Raised>();
    for (const t of types) {
      const r = (await sql.all(`SELECT "groupKey", "createdAt" FROM "Alert" WHERE type = ? ORDER BY rowid DESC LIMIT 1`, t))[0];
      if (r) out.set(t, { at: toMs(r.createdAt), groupKey: String(r.groupKey) });
    }
    return out;
  },

  /**
   * Create message M and fold the planned alerts into it, atomically: exactly the pending,
   * unassigned alerts of `groupKeys` up to the ingestion cursor. A different count means the
   * in-memory view is stale: throw, roll back, reload.
   */
  async compose(sql: SqlExec, m: NewMessage, cursor: number, memory: Readonly<Record<string, GroupMemory>>): Promise<void> {
    await sql.run(
      `INSERT INTO "AlertMessage"(id, "chatId", severity, "groupKey", text, "alertCount", status, attempts, "nextAttemptAt", "createdAt", silent, "snoozeTypes") VALUES (?, ?, ?, ?, ?, ?, 'QUEUED', 0, ?, ?, ?, ?)`,
      m.id,
      m.chatId,
      m.severity,
      m.groupKeys.join(','),
      m.text,
      m.alertCount,
      iso(m.at),
      iso(m.at),
      m.silent ? 1 : 0,
      m.snoozeTypes?.length ? m.snoozeTypes.join(',') : null,
    );
    let assigned = 0;
    for (let i = 0; i < m.groupKeys.length; i += 200) {
      const keys = m.groupKeys.slice(i, i + 200);
      assigned += await sql.run(
        `UPDATE "Alert" SET "messageId" = ? WHERE status = 'PENDING' AND "messageId" IS NULL AND rowid <= ? AND "groupKey" IN (${keys.map(() => '?').join(',')})`,
        m.id,
        cursor,
        ...keys,
      );
    }
    if (assigned !== m.alertCount) throw new AlertCountMismatch(m.alertCount, assigned);
    await kvSet(sql, KV.alertGroups, JSON.stringify(memory), m.at);
  },

  async unsent(sql: SqlExec): Promise<MessageRow[]> {
    const rows = await sql.all(
      `SELECT id, "chatId", severity, text, "alertCount", status, attempts, "nextAttemptAt", "createdAt", silent, "snoozeTypes" FROM "AlertMessage" WHERE status IN ('QUEUED', 'SENDING') ORDER BY "createdAt", id`,
    );
    return rows.map((r) => ({
      silent: r.silent === true || Number(r.silent) === 1,
      snoozeTypes: r.snoozeTypes ? String(r.snoozeTypes).split(',').filter(Boolean) : [],
      id: String(r.id),
      chatId: String(r.chatId),
      severity: r.severity as Severity,
      text: String(r.text),
      alertCount: Number(r.alertCount),
      status: r.status as 'QUEUED' | 'SENDING',
      attempts: Number(r.attempts),
      nextAttemptAt: toMs(r.nextAttemptAt),
      createdAt: toMs(r.createdAt),
    }));
  },

  /** Alerts of types configured off: kept in the outbox, never delivered, not backlog. */
  async suppress(sql: SqlExec, ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      await sql.run(`UPDATE "Alert" SET status = 'SUPPRESSED' WHERE status = 'PENDING' AND "messageId" IS NULL AND id IN (${part.map(() => '?').join(',')})`, ...part);
    }
  },

  /** Snoozes running at `now` ("snooze 1 h", src/engine/alert-snooze.usecase.ts). */
  async snoozes(sql: SqlExec, now: number): Promise<Snooze[]> {
    return activeSnoozes(parseSnoozes(await kvGet(sql, KV.alertSnooze)), now);
  },

  /** The message a snooze button names (its chat, severity and the types it offered). */
  async messageForSnooze(sql: SqlExec, id: string): Promise<{ chatId: string; severity: Severity; snoozeTypes: string[] } | null> {
    const r = (await sql.all(`SELECT "chatId", severity, "snoozeTypes" FROM "AlertMessage" WHERE id = ?`, id))[0];
    if (!r) return null;
    return { chatId: String(r.chatId), severity: r.severity as Severity, snoozeTypes: r.snoozeTypes ? String(r.snoozeTypes).split(',').filter(Boolean) : [] };
  },

  /** Start-up: a message left SENDING was in flight when the process stopped. */
  async requeueInFlight(sql: SqlExec, now: number): Promise<number> {
    return sql.run(`UPDATE "AlertMessage" SET status = 'QUEUED', "nextAttemptAt" = ?, "lastError" = 'in flight at shutdown (ambiguous)' WHERE status = 'SENDING'`, iso(now));
  },

  async markSending(sql: SqlExec, id: string): Promise<void> {
    await sql.run(`UPDATE "AlertMessage" SET status = 'SENDING', attempts = attempts + 1 WHERE id = ? AND status = 'QUEUED'`, id);
  },

  async markSent(sql: SqlExec, id: string, telegramMessageId: number, now: number): Promise<number> {
    await sql.run(`UPDATE "AlertMessage" SET status = 'SENT', "sentAt" = ?, "telegramMessageId" = ?, "lastError" = NULL WHERE id = ?`, iso(now), telegramMessageId, id);
    const alerts = await sql.run(`UPDATE "Alert" SET status = 'SENT', "sentAt" = ? WHERE "messageId" = ? AND status = 'PENDING'`, iso(now), id);
    await kvSet(sql, KV.telegramLastSentAt, String(now), now);
    await sql.run(`DELETE FROM "SystemState" WHERE key IN (?, ?)`, KV.telegramLastError, KV.telegramFailingSince);
    return alerts;
  },

  async markRetry(sql: SqlExec, id: string, nextAttemptAt: number, error: string): Promise<void> {
    await sql.run(`UPDATE "AlertMessage" SET status = 'QUEUED', "nextAttemptAt" = ?, "lastError" = ? WHERE id = ?`, iso(nextAttemptAt), error.slice(0, 500), id);
  },

  /** Replace a message's text (Telegram refused it as malformed/too long: safe fallback). */
  async replaceText(sql: SqlExec, id: string, text: string): Promise<void> {
    await sql.run(`UPDATE "AlertMessage" SET text = ? WHERE id = ?`, text, id);
  },

  /** When the last few messages to `chatId` were delivered (pacing across a restart). */
  async recentSends(sql: SqlExec, chatId: string, limit: number): Promise<number[]> {
    const rows = await sql.all(`SELECT "sentAt" FROM "AlertMessage" WHERE "chatId" = ? AND status = 'SENT' AND "sentAt" IS NOT NULL ORDER BY "sentAt" DESC LIMIT ?`, chatId, limit);
    return rows.map((r) => toMs(r.sentAt)).filter((t) => Number.isFinite(t));
  },

  kvGet,
  kvSet,
  async kvDelete(sql: SqlExec, key: KvKey): Promise<void> {
    await sql.run(`DELETE FROM "SystemState" WHERE key = ?`, key);
  },
};

async function kvGet(sql: SqlExec, key: KvKey): Promise<string | null> {
  const r = (await sql.all(`SELECT value FROM "SystemState" WHERE key = ?`, key))[0];
  return r ? String(r.value) : null;
}

async function kvSet(sql: SqlExec, key: KvKey, value: string, now: number): Promise<void> {
  await sql.run(
    `INSERT INTO "SystemState"(key, value, "updatedAt") VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, "updatedAt" = excluded."updatedAt"`,
    key,
    value,
    iso(now),
  );
}

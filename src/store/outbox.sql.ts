/**
 * The alert outbox repository (src/engine/alert-outbox.port.ts) for all three adapters: one set
 * of portable statements run through the adapter's own connection inside its transaction.
 * Portable: identifiers that are not all lower case are quoted, placeholders are `?` (the
 * PostgreSQL adapter numbers them), and `rowid` is SQLite's implicit one or PostgreSQL's
 * explicit Alert.rowid (insertion order = commit order under the desk's write lock).
 */
import { isAlertType, type AlertOutboxRepo, type AlertPayload, type AlertType, type OutboxAlert, type OutboxMessage, type Severity } from '../engine/index.js';
import { iso, type Row } from './sqlite.rows.js';

/** How an adapter runs one statement on its transaction's connection. */
export interface SqlExec {
  all(sql: string, ...params: unknown[]): Promise<Row[]>;
  /** returns the number of changed rows */
  run(sql: string, ...params: unknown[]): Promise<number>;
}

const toMs = (v: unknown): number => (v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : Number(v));
const list = (v: unknown): string[] => (v ? String(v).split(',').filter(Boolean) : []);
const severityOf = (v: unknown): Severity => (['INFO', 'WARNING', 'CRITICAL'].includes(String(v)) ? (v as Severity) : 'WARNING');

// Unknown types can only come from rows written by an older version whose type was renamed;
// they are shown (with their original type in the line) instead of being stuck forever.
const FALLBACK_TYPE: AlertType = 'HEARTBEAT_DEGRADED';

export function outboxAlertFromRow(r: Row): OutboxAlert {
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
    severity: severityOf(r.severity),
    groupKey: String(r.groupKey),
    at: toMs(r.createdAt),
    payload: known ? payload : { ...payload, summary: `[${rawType}] ${payload.summary}` },
  };
}

function messageFromRow(r: Row): OutboxMessage {
  return {
    id: String(r.id),
    chatId: String(r.chatId),
    severity: r.severity as Severity,
    text: String(r.text),
    alertCount: Number(r.alertCount),
    status: r.status as OutboxMessage['status'],
    attempts: Number(r.attempts),
    nextAttemptAt: toMs(r.nextAttemptAt),
    createdAt: toMs(r.createdAt),
    silent: r.silent === true || Number(r.silent) === 1,
    snoozeTypes: list(r.snoozeTypes),
  };
}

const marks = (n: number) => Array.from({ length: n }, () => '?').join(',');

export function outboxRepo(sql: SqlExec): AlertOutboxRepo {
  const count = async (q: string) => Number((await sql.all(q))[0]?.n ?? 0);
  return {
    async pendingAfter(afterRid, limit) {
      const rows = await sql.all(
        `SELECT rowid AS rid, id, type, severity, "groupKey", payload, "createdAt" FROM "Alert" WHERE rowid > ? AND status = 'PENDING' AND "messageId" IS NULL ORDER BY rowid LIMIT ?`,
        afterRid,
        limit,
      );
      return rows.map(outboxAlertFromRow);
    },

    async latestOfTypes(types) {
      const out = new Map<AlertType, { at: number; groupKey: string }>();
      for (const t of types) {
        const r = (await sql.all(`SELECT "groupKey", "createdAt" FROM "Alert" WHERE type = ? ORDER BY rowid DESC LIMIT 1`, t))[0];
        if (r) out.set(t, { at: toMs(r.createdAt), groupKey: String(r.groupKey) });
      }
      return out;
    },

    async compose(m, cursor) {
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
        assigned += await sql.run(`UPDATE "Alert" SET "messageId" = ? WHERE status = 'PENDING' AND "messageId" IS NULL AND rowid <= ? AND "groupKey" IN (${marks(keys.length)})`, m.id, cursor, ...keys);
      }
      return assigned;
    },

    async suppress(ids) {
      for (let i = 0; i < ids.length; i += 500) {
        const part = ids.slice(i, i + 500);
        await sql.run(`UPDATE "Alert" SET status = 'SUPPRESSED' WHERE status = 'PENDING' AND "messageId" IS NULL AND id IN (${marks(part.length)})`, ...part);
      }
    },

    async unsent() {
      const rows = await sql.all(
        `SELECT id, "chatId", severity, text, "alertCount", status, attempts, "nextAttemptAt", "createdAt", silent, "snoozeTypes" FROM "AlertMessage" WHERE status IN ('QUEUED', 'SENDING') ORDER BY "createdAt", id`,
      );
      return rows.map(messageFromRow);
    },

    async snoozeOffer(id) {
      const r = (await sql.all(`SELECT "chatId", severity, "snoozeTypes" FROM "AlertMessage" WHERE id = ?`, id))[0];
      return r ? { chatId: String(r.chatId), severity: r.severity as Severity, snoozeTypes: list(r.snoozeTypes) } : null;
    },

    requeueInFlight: (now) => sql.run(`UPDATE "AlertMessage" SET status = 'QUEUED', "nextAttemptAt" = ?, "lastError" = 'in flight at shutdown (ambiguous)' WHERE status = 'SENDING'`, iso(now)),

    async markSending(id) {
      await sql.run(`UPDATE "AlertMessage" SET status = 'SENDING', attempts = attempts + 1 WHERE id = ? AND status = 'QUEUED'`, id);
    },

    async markSent(id, telegramMessageId, now) {
      await sql.run(`UPDATE "AlertMessage" SET status = 'SENT', "sentAt" = ?, "telegramMessageId" = ?, "lastError" = NULL WHERE id = ?`, iso(now), telegramMessageId, id);
      return sql.run(`UPDATE "Alert" SET status = 'SENT', "sentAt" = ? WHERE "messageId" = ? AND status = 'PENDING'`, iso(now), id);
    },

    async markRetry(id, nextAttemptAt, error) {
      await sql.run(`UPDATE "AlertMessage" SET status = 'QUEUED', "nextAttemptAt" = ?, "lastError" = ? WHERE id = ?`, iso(nextAttemptAt), error.slice(0, 500), id);
    },

    async replaceText(id, text) {
      await sql.run(`UPDATE "AlertMessage" SET text = ? WHERE id = ?`, text, id);
    },

    async recentSends(chatId, limit) {
      const rows = await sql.all(`SELECT "sentAt" FROM "AlertMessage" WHERE "chatId" = ? AND status = 'SENT' AND "sentAt" IS NOT NULL ORDER BY "sentAt" DESC LIMIT ?`, chatId, limit);
      return rows.map((r) => toMs(r.sentAt)).filter((t) => Number.isFinite(t));
    },

    async counts() {
      return {
        alerts: await count(`SELECT COUNT(*) AS n FROM "Alert"`),
        sentInMessages: await count(`SELECT COUNT(*) AS n FROM "Alert" WHERE status = 'SENT' AND "messageId" IS NOT NULL`),
        unassigned: await count(`SELECT COUNT(*) AS n FROM "Alert" WHERE "messageId" IS NULL`),
        undeliveredMessages: await count(`SELECT COUNT(*) AS n FROM "AlertMessage" WHERE status <> 'SENT'`),
        deliveredAlertCount: await count(`SELECT COALESCE(SUM("alertCount"), 0) AS n FROM "AlertMessage" WHERE status = 'SENT'`),
      };
    },
  };
}

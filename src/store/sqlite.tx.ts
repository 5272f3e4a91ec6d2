/**
 * The Store's repositories on the native SQLite connection (sqlite.store.ts runs them inside
 * its transactions). Built once per store: the unit's bead and alert buffers are added per
 * transaction by the store (`makeTx`), everything else is shared.
 */
import type Database from 'better-sqlite3';
import { DuplicateOrderError, OPEN_STATES, type Tx } from '../engine/index.js';
import { outboxRepo } from './outbox.sql.js';
import * as sb from './sim-book.rows.js';
import { SIM_BOOK_ID } from './sim-book.rows.js';
import * as r from './sqlite.rows.js';

/** What the repositories need of the store: cached statements and two row helpers. */
export interface SqliteStatements {
  q(sql: string): Database.Statement;
  insert(table: string, row: r.Row): void;
  updateWhere(table: string, set: r.Row, where: string, params: unknown[]): number;
}

/** Everything of a Tx but its buffers (the store's makeTx adds them). */
export function sqliteRepos(s: SqliteStatements): Tx {
  const noUnit = () => {
    throw new Error('a Tx is used through makeTx');
  };
  const q = (sql: string) => s.q(sql);
  const all = (sql: string, ...p: unknown[]) => q(sql).all(...p) as r.Row[];
  const one = (sql: string, ...p: unknown[]) => q(sql).get(...p) as r.Row | undefined;
  const openStates = OPEN_STATES.map((st) => `'${st}'`).join(',');
  return {
    intents: {
      get: async (id) => {
        const row = one(`SELECT * FROM "Intent" WHERE id = ?`, id);
        return row ? r.intentFromRow(row) : null;
      },
      getBySignalId: async (signalId) => {
        const row = one(`SELECT * FROM "Intent" WHERE signalId = ?`, signalId);
        return row ? r.intentFromRow(row) : null;
      },
      listByStrategy: async (strategy, since, limit = 10_000) =>
        all(`SELECT * FROM "Intent" WHERE strategy = ? AND createdAt >= ? ORDER BY createdAt ASC, rowid ASC LIMIT ?`, strategy, r.iso(since), limit).map(r.intentFromRow),
      insert: async (rec) => s.insert('Intent', r.intentColumns(rec)),
      transition: async (id, from, patch) => s.updateWhere('Intent', r.intentColumns(patch), 'id = ? AND state = ?', [id, from]) === 1,
      update: async (id, patch) => void s.updateWhere('Intent', r.intentColumns(patch), 'id = ?', [id]),
      listByState: async (states, limit = 1000) =>
        all(`SELECT * FROM "Intent" WHERE state IN (${states.map(() => '?').join(',')}) ORDER BY createdAt ASC LIMIT ?`, ...states, limit).map(r.intentFromRow),
      openQuantity: async (instrumentKey, exclude) => {
        const row = one(
          `SELECT COALESCE(SUM(CASE WHEN state IN ('FILLED','MANAGED') THEN MAX(filledQty - exitQty, 0) ELSE quantity END), 0) AS q FROM "Intent" WHERE instrumentKey = ? AND state IN (${openStates}) AND id <> ?`,
          instrumentKey,
          exclude,
        );
        return Number(row?.q ?? 0);
      },
      closedPnlOn: async (day) => all(`SELECT realizedPnlCents AS p FROM "Intent" WHERE closedDay = ? AND realizedPnlCents IS NOT NULL ORDER BY closedAt ASC`, day).map((x) => Number(x.p)),
      countSubmittedBetween: async (from, to) => Number(one(`SELECT COUNT(*) AS c FROM "Intent" WHERE submittedAt >= ? AND submittedAt < ?`, r.iso(from), r.iso(to))?.c ?? 0),
      listRecent: async (limit) => all(`SELECT * FROM "Intent" ORDER BY createdAt DESC LIMIT ?`, limit).map(r.intentFromRow),
      listClosedOn: async (day) => all(`SELECT * FROM "Intent" WHERE closedDay = ? ORDER BY closedAt ASC`, day).map(r.intentFromRow),
      listCreatedBetween: async (from, to, limit = 10_000) =>
        all(`SELECT * FROM "Intent" WHERE createdAt >= ? AND createdAt < ? ORDER BY createdAt ASC LIMIT ?`, r.iso(from), r.iso(to), limit).map(r.intentFromRow),
    },
    tokens: {
      insert: async (t) => s.insert('ApprovalToken', { ...t, issuedAt: r.iso(t.issuedAt), expiresAt: r.iso(t.expiresAt), usedAt: r.isoOrNull(t.usedAt), expiredAt: r.isoOrNull(t.expiredAt) }),
      get: async (id) => {
        const row = one(`SELECT * FROM "ApprovalToken" WHERE id = ?`, id);
        return row ? r.tokenFromRow(row) : null;
      },
      latestForIntent: async (intentId) => {
        const row = one(`SELECT * FROM "ApprovalToken" WHERE intentId = ? ORDER BY issuedAt DESC LIMIT 1`, intentId);
        return row ? r.tokenFromRow(row) : null;
      },
      consume: async (id, intentId, evidenceHash, now) =>
        q(`UPDATE "ApprovalToken" SET usedAt = ? WHERE id = ? AND intentId = ? AND evidenceHash = ? AND usedAt IS NULL AND expiredAt IS NULL AND expiresAt > ?`).run(r.iso(now), id, intentId, evidenceHash, r.iso(now)).changes === 1,
      listExpired: async (now, limit) => all(`SELECT * FROM "ApprovalToken" WHERE usedAt IS NULL AND expiredAt IS NULL AND expiresAt <= ? LIMIT ?`, r.iso(now), limit).map(r.tokenFromRow),
      markExpired: async (id, now) => q(`UPDATE "ApprovalToken" SET expiredAt = ? WHERE id = ? AND usedAt IS NULL AND expiredAt IS NULL`).run(r.iso(now), id).changes === 1,
    },
    orders: {
      insert: async (o) => {
        try {
          s.insert('BrokerOrder', { ...o, createdAt: r.iso(o.createdAt), updatedAt: r.iso(o.updatedAt) });
        } catch (e) {
          if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new DuplicateOrderError(o.intentId, o.role);
          throw e;
        }
      },
      listByIntent: async (intentId) => all(`SELECT * FROM "BrokerOrder" WHERE intentId = ? ORDER BY createdAt ASC, rowid ASC`, intentId).map(r.orderFromRow),
      update: async (intentId, role, patch) => {
        const set: r.Row = { ...patch };
        if (patch.updatedAt !== undefined) set.updatedAt = r.iso(patch.updatedAt);
        s.updateWhere('BrokerOrder', set, 'intentId = ? AND role = ?', [intentId, role]);
      },
      listWorking: async () => all(`SELECT * FROM "BrokerOrder" WHERE status IN ('PENDING','WORKING','HELD')`).map(r.orderFromRow),
    },
    fills: {
      insertIfNew: async (f) => q(`INSERT OR IGNORE INTO "Fill"(execId, intentId, role, side, quantity, price, commission, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(f.execId, f.intentId, f.role, f.side, f.quantity, f.price, f.commission, r.iso(f.time)).changes === 1,
      listByIntent: async (intentId) => all(`SELECT * FROM "Fill" WHERE intentId = ? ORDER BY time ASC`, intentId).map(r.fillFromRow),
      setCommission: async (execId, commission) => q(`UPDATE "Fill" SET commission = ? WHERE execId = ? AND commission <> ?`).run(commission, execId, commission).changes === 1,
    },
    beads: {
      append: noUnit,
      listByIntent: async (intentId) => all(`SELECT * FROM "Bead" WHERE intentId = ? ORDER BY seq ASC`, intentId).map(r.beadFromRow),
      page: async (afterSeq, limit, sinceTs) =>
        (sinceTs === undefined
          ? all(`SELECT * FROM "Bead" WHERE seq > ? ORDER BY seq ASC LIMIT ?`, afterSeq, limit)
          : all(`SELECT * FROM "Bead" WHERE seq > ? AND ts >= ? ORDER BY seq ASC LIMIT ?`, afterSeq, r.iso(sinceTs), limit)
        ).map(r.beadFromRow),
      count: async () => Number(one(`SELECT COUNT(*) AS c FROM "Bead"`)?.c ?? 0),
      head: async () => {
        const row = one(`SELECT * FROM "Bead" ORDER BY seq DESC LIMIT 1`);
        return row ? r.beadFromRow(row) : null;
      },
      bySeq: async (seq) => {
        const row = one(`SELECT * FROM "Bead" WHERE seq = ?`, seq);
        return row ? r.beadFromRow(row) : null;
      },
      latestOfType: async (type) => {
        const row = one(`SELECT * FROM "Bead" WHERE type = ? ORDER BY seq DESC LIMIT 1`, type);
        return row ? r.beadFromRow(row) : null;
      },
      existsBetween: async (from, to) => one(`SELECT 1 AS x FROM "Bead" WHERE ts >= ? AND ts < ? LIMIT 1`, r.iso(from), r.iso(to)) !== undefined,
    },
    kills: {
      active: async (now) => all(`SELECT * FROM "KillFlag" WHERE clearedAt IS NULL AND (expiresAt IS NULL OR expiresAt > ?) ORDER BY setAt ASC`, r.iso(now)).map(r.killFromRow),
      insert: async (k) => s.insert('KillFlag', { ...k, setAt: r.iso(k.setAt), expiresAt: r.isoOrNull(k.expiresAt), clearedAt: r.isoOrNull(k.clearedAt) }),
      clear: async (id, by, now) => q(`UPDATE "KillFlag" SET clearedAt = ?, clearedBy = ? WHERE id = ? AND clearedAt IS NULL`).run(r.iso(now), by, id).changes === 1,
      listLapsed: async (now) => all(`SELECT * FROM "KillFlag" WHERE clearedAt IS NULL AND expiresAt <= ?`, r.iso(now)).map(r.killFromRow),
    },
    cards: {
      insert: async (c) => s.insert('Card', { ...c, expiresAt: r.iso(c.expiresAt), decidedAt: r.isoOrNull(c.decidedAt), createdAt: r.iso(c.createdAt), updatedAt: r.iso(c.updatedAt) }),
      get: async (id) => {
        const row = one(`SELECT * FROM "Card" WHERE id = ?`, id);
        return row ? r.cardFromRow(row) : null;
      },
      bySubject: async (subjectId, kind) => {
        const row = kind
          ? one(`SELECT * FROM "Card" WHERE subjectId = ? AND kind = ? ORDER BY createdAt DESC LIMIT 1`, subjectId, kind)
          : one(`SELECT * FROM "Card" WHERE subjectId = ? ORDER BY createdAt DESC LIMIT 1`, subjectId);
        return row ? r.cardFromRow(row) : null;
      },
      update: async (id, patch) => {
        const set: r.Row = { ...patch };
        for (const k of ["expiresAt", "decidedAt", "updatedAt"] as const) if (k in patch) set[k] = r.isoOrNull((patch as Record<string, number | null>)[k]);
        s.updateWhere('Card', set, 'id = ?', [id]);
      },
      touch: async (id, now) => void q(`UPDATE "Card" SET version = version + 1, updatedAt = ? WHERE id = ?`).run(r.iso(now), id),
      listDirty: async (limit) => all(`SELECT * FROM "Card" WHERE version > renderedVersion ORDER BY updatedAt ASC LIMIT ?`, limit).map(r.cardFromRow),
      markRendered: async (id, version, messageId) => {
        if (messageId !== null) q(`UPDATE "Card" SET renderedVersion = ?, messageId = ? WHERE id = ? AND renderedVersion < ?`).run(version, messageId, id, version);
        else q(`UPDATE "Card" SET renderedVersion = ? WHERE id = ? AND renderedVersion < ?`).run(version, id, version);
      },
      listOpenExpiring: async (now, limit) => all(`SELECT * FROM "Card" WHERE status = 'OPEN' AND expiresAt <= ? LIMIT ?`, r.iso(now), limit).map(r.cardFromRow),
      listOpen: async (kind) => (kind ? all(`SELECT * FROM "Card" WHERE status = 'OPEN' AND kind = ? ORDER BY createdAt ASC`, kind) : all(`SELECT * FROM "Card" WHERE status = 'OPEN' ORDER BY createdAt ASC`)).map(r.cardFromRow),
    },
    alerts: {
      enqueue: noUnit,
      backlog: async () => Number(one(`SELECT COUNT(*) AS c FROM "Alert" WHERE status = 'PENDING'`)?.c ?? 0),
    },
    alertOutbox: outboxRepo({ all: async (sql, ...p) => all(sql, ...p), run: async (sql, ...p) => q(sql).run(...p).changes }),
    drifts: {
      insert: async (d) => s.insert('Drift', { ...d, local: JSON.stringify(d.local), broker: JSON.stringify(d.broker), detectedAt: r.iso(d.detectedAt), escalatedAt: r.isoOrNull(d.escalatedAt), resolvedAt: r.isoOrNull(d.resolvedAt) }),
      get: async (id) => {
        const row = one(`SELECT * FROM "Drift" WHERE id = ?`, id);
        return row ? r.driftFromRow(row) : null;
      },
      unresolved: async () => all(`SELECT * FROM "Drift" WHERE resolvedAt IS NULL ORDER BY detectedAt ASC`).map(r.driftFromRow),
      resolve: async (id, resolution, by, note, now) => q(`UPDATE "Drift" SET resolution = ?, resolvedBy = ?, note = ?, resolvedAt = ? WHERE id = ? AND resolvedAt IS NULL`).run(resolution, by, note, r.iso(now), id).changes === 1,
      markEscalated: async (id, now) => q(`UPDATE "Drift" SET escalatedAt = ? WHERE id = ? AND escalatedAt IS NULL`).run(r.iso(now), id).changes === 1,
    },
    strategies: {
      get: async (name) => {
        const row = one(`SELECT * FROM "Strategy" WHERE name = ?`, name);
        return row ? r.strategyFromRow(row) : null;
      },
      upsert: async (s) => void q(`INSERT INTO "Strategy"(name, stage, since, changedBy) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET stage = excluded.stage, since = excluded.since, changedBy = excluded.changedBy`).run(s.name, s.stage, r.iso(s.since), s.changedBy),
      list: async () => all(`SELECT * FROM "Strategy" ORDER BY name ASC`).map(r.strategyFromRow),
    },
    promotions: {
      get: async (id) => {
        const row = one(`SELECT * FROM "PromotionRequest" WHERE id = ?`, id);
        return row ? r.promotionFromRow(row) : null;
      },
      save: async (p, now) => {
        const cols = r.promotionColumns(p, now);
        const { id: _id, ...set } = cols;
        if (!s.updateWhere('PromotionRequest', set, 'id = ?', [p.id])) s.insert('PromotionRequest', cols);
      },
    },
    jobs: {
      insert: async (j) => s.insert('JobRun', { id: j.id, job: j.job, startedAt: r.iso(j.startedAt), endedAt: r.isoOrNull(j.endedAt), outcome: j.outcome, detail: j.detail }),
      finish: async (id, endedAt, outcome, detail) => void q(`UPDATE "JobRun" SET endedAt = ?, outcome = ?, detail = ? WHERE id = ?`).run(r.iso(endedAt), outcome, detail, id),
      recent: async (job, limit) =>
        (job === null ? all(`SELECT * FROM "JobRun" ORDER BY startedAt DESC LIMIT ?`, limit) : all(`SELECT * FROM "JobRun" WHERE job = ? ORDER BY startedAt DESC LIMIT ?`, job, limit)).map(r.jobRunFromRow),
      prune: async (before) => q(`DELETE FROM "JobRun" WHERE startedAt < ?`).run(r.iso(before)).changes,
    },
    kv: {
      get: async (key) => (one(`SELECT value FROM "SystemState" WHERE key = ?`, key)?.value as string | undefined) ?? null,
      set: async (key, value, now) => void q(`INSERT INTO "SystemState"(key, value, updatedAt) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updatedAt = excluded.updatedAt`).run(key, value, r.iso(now)),
      delete: async (key) => void q(`DELETE FROM "SystemState" WHERE key = ?`).run(key),
    },
    simBook: {
      load: async () => {
        const meta = one(`SELECT * FROM "SimBook" WHERE id = ?`, SIM_BOOK_ID);
        if (!meta) return null;
        return {
          nextOrderId: Number(meta.nextOrderId),
          nextExecId: Number(meta.nextExecId),
          orders: all(`SELECT * FROM "SimOrder" ORDER BY seq ASC`).map(sb.simOrderFromRow),
          executions: all(`SELECT * FROM "SimExecution" ORDER BY seq ASC`).map((row) => sb.simExecutionFromRow(row, Date.parse(String(row.time)))),
          positions: all(`SELECT * FROM "SimPosition" ORDER BY instrumentKey ASC`).map(sb.simPositionFromRow),
        };
      },
      save: async (c, now) => {
        q(`INSERT INTO "SimBook"(id, nextOrderId, nextExecId, updatedAt) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET nextOrderId = excluded.nextOrderId, nextExecId = excluded.nextExecId, updatedAt = excluded.updatedAt`).run(SIM_BOOK_ID, c.nextOrderId, c.nextExecId, r.iso(now));
        // new rows are numbered after the last one: the book hands them over in creation order
        for (const o of c.orders) {
          const cols = sb.simOrderColumns(o);
          const updated = s.updateWhere('SimOrder', { status: cols.status, filledQty: cols.filledQty, avgFillPrice: cols.avgFillPrice }, 'brokerOrderId = ?', [o.brokerOrderId]);
          if (!updated) s.insert('SimOrder', { ...cols, seq: Number(one(`SELECT COALESCE(MAX(seq), 0) + 1 AS s FROM "SimOrder"`)!.s) });
        }
        for (const f of c.executions) {
          if (one(`SELECT 1 AS x FROM "SimExecution" WHERE execId = ?`, f.execId)) continue;
          s.insert('SimExecution', { ...sb.simExecutionColumns(f), time: r.iso(f.time), seq: Number(one(`SELECT COALESCE(MAX(seq), 0) + 1 AS s FROM "SimExecution"`)!.s) });
        }
        for (const p of c.positions) {
          const cols = sb.simPositionColumns(p);
          q(`INSERT INTO "SimPosition"(instrumentKey, instrument, quantity, avgCost) VALUES (?, ?, ?, ?) ON CONFLICT(instrumentKey) DO UPDATE SET quantity = excluded.quantity, avgCost = excluded.avgCost`).run(cols.instrumentKey, cols.instrument, cols.quantity, cols.avgCost);
        }
      },
    },
  };
}

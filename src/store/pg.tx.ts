/**
 * The Store's repositories on one PostgreSQL connection inside a transaction, through `pg`
 * directly (issue 18). The statements are the native SQLite store's (src/store/sqlite.store.ts),
 * written once more for PostgreSQL: `pgText` quotes the camelCase column names (PostgreSQL folds
 * unquoted names to lower case) and numbers the `?` placeholders; the few real dialect
 * differences are spelt out where they occur (ON CONFLICT DO NOTHING, GREATEST, no rowid).
 * Rows use the same encoding and mappers (sqlite.rows.ts): pg.database.ts hands timestamps back
 * as UTC ISO text and counts as numbers. Statements are prepared once per connection.
 *
 * Why not Prisma here: the approval path runs ~25 statements in 4 transactions; through Prisma's
 * driver adapter each costs ~0.5–1 ms, through `pg` ~0.1 ms (bench/postgres.bench.ts).
 */
import type pg from 'pg';
import { DuplicateOrderError, OPEN_STATES, type AlertDraft, type BeadDraft, type Tx } from '../engine/index.js';
import { outboxRepo } from './outbox.sql.js';
import * as sb from './sim-book.rows.js';
import { SIM_BOOK_ID } from './sim-book.rows.js';
import * as r from './sqlite.rows.js';

const texts = new Map<string, { name: string; text: string }>();

/** SQLite-style text → PostgreSQL: camelCase identifiers quoted, `?` → `$n`. Cached. */
export function pgText(sql: string): { name: string; text: string } {
  let t = texts.get(sql);
  if (!t) {
    let n = 0;
    const text = sql.replace(/(?<!["\w])([a-z]+[A-Z]\w*)(?!["\w])/g, '"$1"').replace(/\?/g, () => `$${++n}`);
    t = { name: `phx${texts.size}`, text };
    texts.set(sql, t);
  }
  return t;
}

/** `?` placeholders (portable SQL, e.g. the alert outbox's) → PostgreSQL's `$1, $2, …`. */
export const toPgParams = (sql: string): string => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

export interface PgTxHooks {
  /** before a write that makes a broker order PENDING (the fencing check) */
  readonly beforeOrderSend: () => Promise<void>;
}

export function pgTx(c: pg.PoolClient, beadBuffer: BeadDraft[], alertBuffer: AlertDraft[], hooks: PgTxHooks): Tx {
  const exec = async (sql: string, p: unknown[]) => {
    const { name, text } = pgText(sql);
    return c.query({ name, text, values: p });
  };
  const all = async (sql: string, ...p: unknown[]) => (await exec(sql, p)).rows as r.Row[];
  const one = async (sql: string, ...p: unknown[]) => (await exec(sql, p)).rows[0] as r.Row | undefined;
  const run = async (sql: string, ...p: unknown[]) => (await exec(sql, p)).rowCount ?? 0;
  const insert = async (table: string, row: r.Row) => {
    const cols = Object.keys(row);
    await run(`INSERT INTO "${table}"(${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, ...cols.map((k) => row[k]));
  };
  const updateWhere = async (table: string, set: r.Row, where: string, params: unknown[]) => {
    const cols = Object.keys(set);
    if (!cols.length) return 0;
    return run(`UPDATE "${table}" SET ${cols.map((k) => `${k} = ?`).join(', ')} WHERE ${where}`, ...cols.map((k) => set[k]), ...params);
  };
  const openStates = OPEN_STATES.map((s) => `'${s}'`).join(',');
  return {
    intents: {
      get: async (id) => {
        const row = await one(`SELECT * FROM "Intent" WHERE id = ?`, id);
        return row ? r.intentFromRow(row) : null;
      },
      getBySignalId: async (signalId) => {
        const row = await one(`SELECT * FROM "Intent" WHERE signalId = ?`, signalId);
        return row ? r.intentFromRow(row) : null;
      },
      listByStrategy: async (strategy, since, limit = 10_000) =>
        (await all(`SELECT * FROM "Intent" WHERE strategy = ? AND createdAt >= ? ORDER BY createdAt ASC, id ASC LIMIT ?`, strategy, r.iso(since), limit)).map(r.intentFromRow),
      insert: async (rec) => insert('Intent', r.intentColumns(rec)),
      transition: async (id, from, patch) => (await updateWhere('Intent', r.intentColumns(patch), 'id = ? AND state = ?', [id, from])) === 1,
      update: async (id, patch) => void (await updateWhere('Intent', r.intentColumns(patch), 'id = ?', [id])),
      listByState: async (states, limit = 1000) =>
        (await all(`SELECT * FROM "Intent" WHERE state IN (${states.map(() => '?').join(',')}) ORDER BY createdAt ASC LIMIT ?`, ...states, limit)).map(r.intentFromRow),
      openQuantity: async (instrumentKey, exclude) => {
        // SQLite's two-argument MAX is PostgreSQL's GREATEST
        const row = await one(
          `SELECT COALESCE(SUM(CASE WHEN state IN ('FILLED','MANAGED') THEN GREATEST(filledQty - exitQty, 0) ELSE quantity END), 0) AS q FROM "Intent" WHERE instrumentKey = ? AND state IN (${openStates}) AND id <> ?`,
          instrumentKey,
          exclude,
        );
        return Number(row?.q ?? 0);
      },
      closedPnlOn: async (day) => (await all(`SELECT realizedPnlCents AS p FROM "Intent" WHERE closedDay = ? AND realizedPnlCents IS NOT NULL ORDER BY closedAt ASC`, day)).map((x) => Number(x.p)),
      countSubmittedBetween: async (from, to) => Number((await one(`SELECT COUNT(*) AS c FROM "Intent" WHERE submittedAt >= ? AND submittedAt < ?`, r.iso(from), r.iso(to)))?.c ?? 0),
      listRecent: async (limit) => (await all(`SELECT * FROM "Intent" ORDER BY createdAt DESC LIMIT ?`, limit)).map(r.intentFromRow),
      listClosedOn: async (day) => (await all(`SELECT * FROM "Intent" WHERE closedDay = ? ORDER BY closedAt ASC`, day)).map(r.intentFromRow),
      listCreatedBetween: async (from, to, limit = 10_000) =>
        (await all(`SELECT * FROM "Intent" WHERE createdAt >= ? AND createdAt < ? ORDER BY createdAt ASC LIMIT ?`, r.iso(from), r.iso(to), limit)).map(r.intentFromRow),
    },
    tokens: {
      insert: async (t) => insert('ApprovalToken', { ...t, issuedAt: r.iso(t.issuedAt), expiresAt: r.iso(t.expiresAt), usedAt: r.isoOrNull(t.usedAt), expiredAt: r.isoOrNull(t.expiredAt) }),
      get: async (id) => {
        const row = await one(`SELECT * FROM "ApprovalToken" WHERE id = ?`, id);
        return row ? r.tokenFromRow(row) : null;
      },
      latestForIntent: async (intentId) => {
        const row = await one(`SELECT * FROM "ApprovalToken" WHERE intentId = ? ORDER BY issuedAt DESC LIMIT 1`, intentId);
        return row ? r.tokenFromRow(row) : null;
      },
      // one conditional UPDATE: the compare-and-set that spends a token exactly once
      consume: async (id, intentId, evidenceHash, now) =>
        (await run(`UPDATE "ApprovalToken" SET usedAt = ? WHERE id = ? AND intentId = ? AND evidenceHash = ? AND usedAt IS NULL AND expiredAt IS NULL AND expiresAt > ?`, r.iso(now), id, intentId, evidenceHash, r.iso(now))) === 1,
      listExpired: async (now, limit) => (await all(`SELECT * FROM "ApprovalToken" WHERE usedAt IS NULL AND expiredAt IS NULL AND expiresAt <= ? LIMIT ?`, r.iso(now), limit)).map(r.tokenFromRow),
      markExpired: async (id, now) => (await run(`UPDATE "ApprovalToken" SET expiredAt = ? WHERE id = ? AND usedAt IS NULL AND expiredAt IS NULL`, r.iso(now), id)) === 1,
    },
    orders: {
      insert: async (o) => {
        if (o.status === 'PENDING') await hooks.beforeOrderSend();
        try {
          await insert('BrokerOrder', { ...o, createdAt: r.iso(o.createdAt), updatedAt: r.iso(o.updatedAt) });
        } catch (e) {
          if ((e as { code?: string }).code === '23505') throw new DuplicateOrderError(o.intentId, o.role);
          throw e;
        }
      },
      listByIntent: async (intentId) => (await all(`SELECT * FROM "BrokerOrder" WHERE intentId = ? ORDER BY createdAt ASC, id ASC`, intentId)).map(r.orderFromRow),
      update: async (intentId, role, patch) => {
        if (patch.status === 'PENDING') await hooks.beforeOrderSend();
        const set: r.Row = { ...patch };
        if (patch.updatedAt !== undefined) set.updatedAt = r.iso(patch.updatedAt);
        await updateWhere('BrokerOrder', set, 'intentId = ? AND role = ?', [intentId, role]);
      },
      listWorking: async () => (await all(`SELECT * FROM "BrokerOrder" WHERE status IN ('PENDING','WORKING','HELD')`)).map(r.orderFromRow),
    },
    fills: {
      // two processes may record one execution at once: the primary key decides
      insertIfNew: async (f) =>
        (await run(`INSERT INTO "Fill"(execId, intentId, role, side, quantity, price, commission, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, f.execId, f.intentId, f.role, f.side, f.quantity, f.price, f.commission, r.iso(f.time))) === 1,
      listByIntent: async (intentId) => (await all(`SELECT * FROM "Fill" WHERE intentId = ? ORDER BY time ASC`, intentId)).map(r.fillFromRow),
      setCommission: async (execId, commission) => (await run(`UPDATE "Fill" SET commission = ? WHERE execId = ? AND commission <> ?`, commission, execId, commission)) === 1,
    },
    beads: {
      append: (draft) => void beadBuffer.push(draft),
      listByIntent: async (intentId) => (await all(`SELECT * FROM "Bead" WHERE intentId = ? ORDER BY seq ASC`, intentId)).map(r.beadFromRow),
      page: async (afterSeq, limit, sinceTs) =>
        (sinceTs === undefined
          ? await all(`SELECT * FROM "Bead" WHERE seq > ? ORDER BY seq ASC LIMIT ?`, afterSeq, limit)
          : await all(`SELECT * FROM "Bead" WHERE seq > ? AND ts >= ? ORDER BY seq ASC LIMIT ?`, afterSeq, r.iso(sinceTs), limit)
        ).map(r.beadFromRow),
      count: async () => Number((await one(`SELECT COUNT(*) AS c FROM "Bead"`))?.c ?? 0),
      head: async () => {
        const row = await one(`SELECT * FROM "Bead" ORDER BY seq DESC LIMIT 1`);
        return row ? r.beadFromRow(row) : null;
      },
      bySeq: async (seq) => {
        const row = await one(`SELECT * FROM "Bead" WHERE seq = ?`, seq);
        return row ? r.beadFromRow(row) : null;
      },
      latestOfType: async (type) => {
        const row = await one(`SELECT * FROM "Bead" WHERE type = ? ORDER BY seq DESC LIMIT 1`, type);
        return row ? r.beadFromRow(row) : null;
      },
      existsBetween: async (from, to) => (await one(`SELECT 1 AS x FROM "Bead" WHERE ts >= ? AND ts < ? LIMIT 1`, r.iso(from), r.iso(to))) !== undefined,
    },
    kills: {
      active: async (now) => (await all(`SELECT * FROM "KillFlag" WHERE clearedAt IS NULL AND (expiresAt IS NULL OR expiresAt > ?) ORDER BY setAt ASC`, r.iso(now))).map(r.killFromRow),
      insert: async (k) => insert('KillFlag', { ...k, setAt: r.iso(k.setAt), expiresAt: r.isoOrNull(k.expiresAt), clearedAt: r.isoOrNull(k.clearedAt) }),
      clear: async (id, by, now) => (await run(`UPDATE "KillFlag" SET clearedAt = ?, clearedBy = ? WHERE id = ? AND clearedAt IS NULL`, r.iso(now), by, id)) === 1,
      listLapsed: async (now) => (await all(`SELECT * FROM "KillFlag" WHERE clearedAt IS NULL AND expiresAt <= ?`, r.iso(now))).map(r.killFromRow),
    },
    cards: {
      insert: async (card) => insert('Card', { ...card, expiresAt: r.iso(card.expiresAt), decidedAt: r.isoOrNull(card.decidedAt), createdAt: r.iso(card.createdAt), updatedAt: r.iso(card.updatedAt) }),
      get: async (id) => {
        const row = await one(`SELECT * FROM "Card" WHERE id = ?`, id);
        return row ? r.cardFromRow(row) : null;
      },
      bySubject: async (subjectId, kind) => {
        const row = kind
          ? await one(`SELECT * FROM "Card" WHERE subjectId = ? AND kind = ? ORDER BY createdAt DESC LIMIT 1`, subjectId, kind)
          : await one(`SELECT * FROM "Card" WHERE subjectId = ? ORDER BY createdAt DESC LIMIT 1`, subjectId);
        return row ? r.cardFromRow(row) : null;
      },
      update: async (id, patch) => {
        const set: r.Row = { ...patch };
        for (const k of ['expiresAt', 'decidedAt', 'updatedAt'] as const) if (k in patch) set[k] = r.isoOrNull((patch as Record<string, number | null>)[k]);
        await updateWhere('Card', set, 'id = ?', [id]);
      },
      touch: async (id, now) => void (await run(`UPDATE "Card" SET version = version + 1, updatedAt = ? WHERE id = ?`, r.iso(now), id)),
      listDirty: async (limit) => (await all(`SELECT * FROM "Card" WHERE version > renderedVersion ORDER BY updatedAt ASC LIMIT ?`, limit)).map(r.cardFromRow),
      markRendered: async (id, version, messageId) => {
        if (messageId !== null) await run(`UPDATE "Card" SET renderedVersion = ?, messageId = ? WHERE id = ? AND renderedVersion < ?`, version, messageId, id, version);
        else await run(`UPDATE "Card" SET renderedVersion = ? WHERE id = ? AND renderedVersion < ?`, version, id, version);
      },
      listOpenExpiring: async (now, limit) => (await all(`SELECT * FROM "Card" WHERE status = 'OPEN' AND expiresAt <= ? LIMIT ?`, r.iso(now), limit)).map(r.cardFromRow),
      listOpen: async (kind) =>
        (kind ? await all(`SELECT * FROM "Card" WHERE status = 'OPEN' AND kind = ? ORDER BY createdAt ASC`, kind) : await all(`SELECT * FROM "Card" WHERE status = 'OPEN' ORDER BY createdAt ASC`)).map(r.cardFromRow),
    },
    alerts: {
      enqueue: (d) => void alertBuffer.push(d),
      backlog: async () => Number((await one(`SELECT COUNT(*) AS c FROM "Alert" WHERE status = 'PENDING'`))?.c ?? 0),
    },
    // unnamed statements: the outbox's IN lists vary in length; its identifiers are quoted already
    alertOutbox: outboxRepo({
      all: async (sql, ...p) => (await c.query(toPgParams(sql), p)).rows as r.Row[],
      run: async (sql, ...p) => (await c.query(toPgParams(sql), p)).rowCount ?? 0,
    }),
    drifts: {
      insert: async (d) => insert('Drift', { ...d, local: JSON.stringify(d.local), broker: JSON.stringify(d.broker), detectedAt: r.iso(d.detectedAt), escalatedAt: r.isoOrNull(d.escalatedAt), resolvedAt: r.isoOrNull(d.resolvedAt) }),
      get: async (id) => {
        const row = await one(`SELECT * FROM "Drift" WHERE id = ?`, id);
        return row ? r.driftFromRow(row) : null;
      },
      unresolved: async () => (await all(`SELECT * FROM "Drift" WHERE resolvedAt IS NULL ORDER BY detectedAt ASC`)).map(r.driftFromRow),
      resolve: async (id, resolution, by, note, now) => (await run(`UPDATE "Drift" SET resolution = ?, resolvedBy = ?, note = ?, resolvedAt = ? WHERE id = ? AND resolvedAt IS NULL`, resolution, by, note, r.iso(now), id)) === 1,
      markEscalated: async (id, now) => (await run(`UPDATE "Drift" SET escalatedAt = ? WHERE id = ? AND escalatedAt IS NULL`, r.iso(now), id)) === 1,
    },
    strategies: {
      get: async (name) => {
        const row = await one(`SELECT * FROM "Strategy" WHERE name = ?`, name);
        return row ? r.strategyFromRow(row) : null;
      },
      upsert: async (s) =>
        void (await run(`INSERT INTO "Strategy"(name, stage, since, changedBy) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET stage = excluded.stage, since = excluded.since, changedBy = excluded.changedBy`, s.name, s.stage, r.iso(s.since), s.changedBy)),
      list: async () => (await all(`SELECT * FROM "Strategy" ORDER BY name ASC`)).map(r.strategyFromRow),
    },
    promotions: {
      get: async (id) => {
        const row = await one(`SELECT * FROM "PromotionRequest" WHERE id = ?`, id);
        return row ? r.promotionFromRow(row) : null;
      },
      save: async (p, now) => {
        const cols = r.promotionColumns(p, now);
        const { id: _id, ...set } = cols;
        if (!(await updateWhere('PromotionRequest', set, 'id = ?', [p.id]))) await insert('PromotionRequest', cols);
      },
    },
    jobs: {
      insert: async (j) => insert('JobRun', { id: j.id, job: j.job, startedAt: r.iso(j.startedAt), endedAt: r.isoOrNull(j.endedAt), outcome: j.outcome, detail: j.detail }),
      finish: async (id, endedAt, outcome, detail) => void (await run(`UPDATE "JobRun" SET endedAt = ?, outcome = ?, detail = ? WHERE id = ?`, r.iso(endedAt), outcome, detail, id)),
      recent: async (job, limit) =>
        (job === null ? await all(`SELECT * FROM "JobRun" ORDER BY startedAt DESC LIMIT ?`, limit) : await all(`SELECT * FROM "JobRun" WHERE job = ? ORDER BY startedAt DESC LIMIT ?`, job, limit)).map(r.jobRunFromRow),
      prune: async (before) => run(`DELETE FROM "JobRun" WHERE startedAt < ?`, r.iso(before)),
    },
    kv: {
      get: async (key) => ((await one(`SELECT value FROM "SystemState" WHERE key = ?`, key))?.value as string | undefined) ?? null,
      set: async (key, value, now) => void (await run(`INSERT INTO "SystemState"(key, value, updatedAt) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updatedAt = excluded.updatedAt`, key, value, r.iso(now))),
      delete: async (key) => void (await run(`DELETE FROM "SystemState" WHERE key = ?`, key)),
    },
    simBook: {
      load: async () => {
        const meta = await one(`SELECT * FROM "SimBook" WHERE id = ?`, SIM_BOOK_ID);
        if (!meta) return null;
        return {
          nextOrderId: Number(meta.nextOrderId),
          nextExecId: Number(meta.nextExecId),
          orders: (await all(`SELECT * FROM "SimOrder" ORDER BY seq ASC`)).map(sb.simOrderFromRow),
          executions: (await all(`SELECT * FROM "SimExecution" ORDER BY seq ASC`)).map((row) => sb.simExecutionFromRow(row, Date.parse(String(row.time)))),
          positions: (await all(`SELECT * FROM "SimPosition" ORDER BY instrumentKey ASC`)).map(sb.simPositionFromRow),
        };
      },
      save: async (ch, now) => {
        await run(`INSERT INTO "SimBook"(id, nextOrderId, nextExecId, updatedAt) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET nextOrderId = excluded.nextOrderId, nextExecId = excluded.nextExecId, updatedAt = excluded.updatedAt`, SIM_BOOK_ID, ch.nextOrderId, ch.nextExecId, r.iso(now));
        // new rows are numbered after the last one: the book hands them over in creation order
        for (const o of ch.orders) {
          const cols = sb.simOrderColumns(o);
          const updated = await updateWhere('SimOrder', { status: cols.status, filledQty: cols.filledQty, avgFillPrice: cols.avgFillPrice }, 'brokerOrderId = ?', [o.brokerOrderId]);
          if (!updated) await insert('SimOrder', { ...cols, seq: Number((await one(`SELECT COALESCE(MAX(seq), 0) + 1 AS s FROM "SimOrder"`))!.s) });
        }
        for (const f of ch.executions) {
          if (await one(`SELECT 1 AS x FROM "SimExecution" WHERE execId = ?`, f.execId)) continue;
          await insert('SimExecution', { ...sb.simExecutionColumns(f), time: r.iso(f.time), seq: Number((await one(`SELECT COALESCE(MAX(seq), 0) + 1 AS s FROM "SimExecution"`))!.s) });
        }
        for (const p of ch.positions) {
          const cols = sb.simPositionColumns(p);
          await run(`INSERT INTO "SimPosition"(instrumentKey, instrument, quantity, avgCost) VALUES (?, ?, ?, ?) ON CONFLICT(instrumentKey) DO UPDATE SET quantity = excluded.quantity, avgCost = excluded.avgCost`, cols.instrumentKey, cols.instrument, cols.quantity, cols.avgCost);
        }
      },
    },
  };
}

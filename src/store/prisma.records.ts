/**
 * The other records on Prisma (prisma.store.ts runs them in its transaction): kill flags, cards
 * (the card outbox: version / renderedVersion), drifts, strategies, job runs, the kv and the
 * simulated broker's book.
 */
import type { Tx } from '../engine/index.js';
import type { Prisma } from './generated/client.js';
import * as m from './mappers.js';
import * as sb from './sim-book.rows.js';
import { promotionColumns, promotionFromRow } from './sqlite.rows.js';

export function prismaRecordRepos(c: Prisma.TransactionClient): Omit<Tx, 'intents' | 'tokens' | 'orders' | 'fills' | 'beads' | 'alerts' | 'alertOutbox'> {
  return {
    kills: {
      async active(now) {
        const rows = await c.killFlag.findMany({ where: { clearedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date(now) } }] }, orderBy: { setAt: 'asc' } });
        return rows.map(m.killToDomain);
      },
      async insert(k) {
        await c.killFlag.create({ data: { ...k, setAt: new Date(k.setAt), expiresAt: m.dt(k.expiresAt) ?? null, clearedAt: m.dt(k.clearedAt) ?? null } });
      },
      async clear(id, by, now) {
        const r = await c.killFlag.updateMany({ where: { id, clearedAt: null }, data: { clearedAt: new Date(now), clearedBy: by } });
        return r.count === 1;
      },
      async listLapsed(now) {
        return (await c.killFlag.findMany({ where: { clearedAt: null, expiresAt: { lte: new Date(now) } } })).map(m.killToDomain);
      },
    },
    cards: {
      async insert(card) {
        await c.card.create({ data: { ...card, expiresAt: new Date(card.expiresAt), decidedAt: m.dt(card.decidedAt) ?? null, createdAt: new Date(card.createdAt), updatedAt: new Date(card.updatedAt) } });
      },
      async get(id) {
        const r = await c.card.findUnique({ where: { id } });
        return r ? m.cardToDomain(r) : null;
      },
      async bySubject(subjectId, kind) {
        const r = await c.card.findFirst({ where: { subjectId, ...(kind ? { kind } : {}) }, orderBy: { createdAt: 'desc' } });
        return r ? m.cardToDomain(r) : null;
      },
      async update(id, patch) {
        const data: Record<string, unknown> = { ...patch };
        for (const k of ['expiresAt', 'decidedAt', 'updatedAt'] as const) if (k in patch) data[k] = m.dt(patch[k] as number | null);
        await c.card.update({ where: { id }, data });
      },
      async touch(id, now) {
        await c.card.update({ where: { id }, data: { version: { increment: 1 }, updatedAt: new Date(now) } });
      },
      async listDirty(limit) {
        const rows = await c.$queryRawUnsafe<{ id: string }[]>(`SELECT id FROM "Card" WHERE version > renderedVersion ORDER BY updatedAt ASC LIMIT ?`, limit);
        if (!rows.length) return [];
        return (await c.card.findMany({ where: { id: { in: rows.map((r) => r.id) } }, orderBy: { updatedAt: 'asc' } })).map(m.cardToDomain);
      },
      async markRendered(id, version, messageId) {
        await c.card.updateMany({ where: { id, renderedVersion: { lt: version } }, data: { renderedVersion: version, ...(messageId !== null ? { messageId } : {}) } });
      },
      async listOpenExpiring(now, limit) {
        return (await c.card.findMany({ where: { status: 'OPEN', expiresAt: { lte: new Date(now) } }, take: limit })).map(m.cardToDomain);
      },
      async listOpen(kind) {
        return (await c.card.findMany({ where: { status: 'OPEN', ...(kind ? { kind } : {}) }, orderBy: { createdAt: 'asc' } })).map(m.cardToDomain);
      },
    },
    drifts: {
      async insert(d) {
        await c.drift.create({ data: { ...d, local: JSON.stringify(d.local), broker: JSON.stringify(d.broker), detectedAt: new Date(d.detectedAt), escalatedAt: m.dt(d.escalatedAt) ?? null, resolvedAt: m.dt(d.resolvedAt) ?? null } });
      },
      async get(id) {
        const r = await c.drift.findUnique({ where: { id } });
        return r ? m.driftToDomain(r) : null;
      },
      async unresolved() {
        return (await c.drift.findMany({ where: { resolvedAt: null }, orderBy: { detectedAt: 'asc' } })).map(m.driftToDomain);
      },
      async resolve(id, resolution, by, note, now) {
        const r = await c.drift.updateMany({ where: { id, resolvedAt: null }, data: { resolution, resolvedBy: by, note, resolvedAt: new Date(now) } });
        return r.count === 1;
      },
      async markEscalated(id, now) {
        const r = await c.drift.updateMany({ where: { id, escalatedAt: null }, data: { escalatedAt: new Date(now) } });
        return r.count === 1;
      },
    },
    strategies: {
      async get(name) {
        const r = await c.strategy.findUnique({ where: { name } });
        return r ? m.strategyToDomain(r) : null;
      },
      async upsert(s) {
        const data = { stage: s.stage, since: new Date(s.since), changedBy: s.changedBy };
        await c.strategy.upsert({ where: { name: s.name }, create: { name: s.name, ...data }, update: data });
      },
      async list() {
        return (await c.strategy.findMany({ orderBy: { name: 'asc' } })).map(m.strategyToDomain);
      },
    },
    promotions: {
      async get(id) {
        const row = await c.promotionRequest.findUnique({ where: { id } });
        return row ? promotionFromRow(row) : null;
      },
      async save(p, now) {
        const cols = promotionColumns(p, now);
        const data = { ...cols, requestedAt: new Date(p.requestedAt), expiresAt: new Date(p.expiresAt), decisionAt: p.decision ? new Date(p.decision.at) : null, updatedAt: new Date(now) } as Prisma.PromotionRequestCreateInput;
        await c.promotionRequest.upsert({ where: { id: p.id }, create: data, update: data });
      },
    },
    jobs: {
      async insert(r) {
        await c.jobRun.create({ data: { id: r.id, job: r.job, startedAt: new Date(r.startedAt), endedAt: m.dt(r.endedAt) ?? null, outcome: r.outcome, detail: r.detail } });
      },
      async finish(id, endedAt, outcome, detail) {
        await c.jobRun.update({ where: { id }, data: { endedAt: new Date(endedAt), outcome, detail } });
      },
      async recent(job, limit) {
        const rows = await c.jobRun.findMany({ where: job === null ? {} : { job }, orderBy: { startedAt: 'desc' }, take: limit });
        return rows.map((r) => ({ id: r.id, job: r.job, startedAt: r.startedAt.getTime(), endedAt: r.endedAt?.getTime() ?? null, outcome: r.outcome, detail: r.detail }));
      },
      async prune(before) {
        return (await c.jobRun.deleteMany({ where: { startedAt: { lt: new Date(before) } } })).count;
      },
    },
    kv: {
      async get(key) {
        return (await c.systemState.findUnique({ where: { key } }))?.value ?? null;
      },
      async set(key, value, now) {
        await c.systemState.upsert({ where: { key }, create: { key, value, updatedAt: new Date(now) }, update: { value, updatedAt: new Date(now) } });
      },
      async delete(key) {
        await c.systemState.deleteMany({ where: { key } });
      },
    },
    simBook: {
      async load() {
        const meta = await c.simBook.findUnique({ where: { id: sb.SIM_BOOK_ID } });
        if (!meta) return null;
        return {
          nextOrderId: meta.nextOrderId,
          nextExecId: meta.nextExecId,
          orders: (await c.simOrder.findMany({ orderBy: { seq: 'asc' } })).map(sb.simOrderFromRow),
          executions: (await c.simExecution.findMany({ orderBy: { seq: 'asc' } })).map((row) => sb.simExecutionFromRow(row, row.time.getTime())),
          positions: (await c.simPosition.findMany({ orderBy: { instrumentKey: 'asc' } })).map(sb.simPositionFromRow),
        };
      },
      async save(change, now) {
        const counters = { nextOrderId: change.nextOrderId, nextExecId: change.nextExecId, updatedAt: new Date(now) };
        await c.simBook.upsert({ where: { id: sb.SIM_BOOK_ID }, create: { id: sb.SIM_BOOK_ID, ...counters }, update: counters });
        // new rows are numbered after the last one: the book hands them over in creation order
        for (const o of change.orders) {
          const cols = sb.simOrderColumns(o);
          const updated = await c.simOrder.updateMany({ where: { brokerOrderId: o.brokerOrderId }, data: { status: cols.status, filledQty: cols.filledQty, avgFillPrice: cols.avgFillPrice } });
          if (updated.count) continue;
          const last = await c.simOrder.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true } });
          await c.simOrder.create({ data: { ...cols, seq: (last?.seq ?? 0) + 1 } });
        }
        for (const f of change.executions) {
          if (await c.simExecution.findUnique({ where: { execId: f.execId }, select: { execId: true } })) continue;
          const last = await c.simExecution.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true } });
          await c.simExecution.create({ data: { ...sb.simExecutionColumns(f), time: new Date(f.time), seq: (last?.seq ?? 0) + 1 } });
        }
        for (const p of change.positions) {
          const cols = sb.simPositionColumns(p);
          await c.simPosition.upsert({ where: { instrumentKey: p.instrumentKey }, create: cols, update: { quantity: cols.quantity, avgCost: cols.avgCost } });
        }
      },
    },
  };
}

/**
 * Store implementation on Prisma + SQLite. One interactive transaction per use case; beads
 * and alerts appended during it are chained and inserted in one batch just before commit,
 * so a crash anywhere leaves either all of a state change with its audit trail, or none.
 */
import { randomBytes } from 'node:crypto';
import type { CommittedBeads } from '../engine/audit.anchor.js';
import { chainBeads, EMPTY_HEAD, type BeadDraft } from '../engine/beads.js';
import { groupKeyOf, alertDef, type AlertDraft } from '../engine/alerts.table.js';
import { OPEN_STATES, type IntentState } from '../engine/domain.js';
import { DuplicateOrderError, type Store, type Tx } from '../engine/store.port.js';
import type { Db } from './database.js';
import type { Prisma } from './generated/client.js';
import * as m from './mappers.js';
import * as sb from './sim-book.rows.js';

type Client = Prisma.TransactionClient;

const newId = (prefix: string) => `${prefix}_${randomBytes(9).toString('base64url')}`;

export class PrismaStore implements Store {
  /** `onBeadsCommitted`: as in SqliteStore, told which beads each committed transaction appended */
  constructor(
    readonly db: Db,
    private readonly opts: { onBeadsCommitted?: (c: CommittedBeads) => void } = {},
  ) {}

  async tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    let appended: CommittedBeads | null = null;
    const result = await this.db.$transaction(
      async (client) => {
        const beads: BeadDraft[] = [];
        const alerts: AlertDraft[] = [];
        const result = await fn(makeTx(client, beads, alerts));
        appended = await flush(client, beads, alerts);
        return result;
      },
      { timeout: 30_000, maxWait: 30_000 },
    );
    if (appended) {
      try {
        this.opts.onBeadsCommitted?.(appended);
      } catch {
        /* the anchor sink logs its own failures; the commit stands */
      }
    }
    return result;
  }

  async close(): Promise<void> {
    await this.db.$disconnect();
  }
}

/** Insert the transaction's alerts and beads; returns the range of beads it appended. */
async function flush(c: Client, beads: BeadDraft[], alerts: AlertDraft[]): Promise<CommittedBeads | null> {
  for (const a of alerts) {
    const def = alertDef(a.type);
    const id = newId('alr');
    await c.alert.create({ data: { id, type: a.type, severity: def.severity, groupKey: groupKeyOf(a), payload: JSON.stringify(a.payload), createdAt: new Date(a.at) } });
    beads.push({ type: 'ALERT', intentId: a.payload.intentId ?? null, payload: { alertId: id, alertType: a.type, severity: def.severity, event: 'RAISED' }, ts: a.at });
  }
  if (!beads.length) return null;
  const head = (await c.bead.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true, hash: true } })) ?? EMPTY_HEAD;
  const rows = chainBeads(head, beads, () => newId('bd'));
  await c.bead.createMany({ data: rows.map((r) => ({ ...r, ts: new Date(r.ts) })) });
  const last = rows[rows.length - 1]!;
  return { from: rows[0]!.seq, seq: last.seq, hash: last.hash };
}

function makeTx(c: Client, beadBuffer: BeadDraft[], alertBuffer: AlertDraft[]): Tx {
  return {
    intents: {
      async get(id) {
        const r = await c.intent.findUnique({ where: { id } });
        return r ? m.intentToDomain(r) : null;
      },
      async getBySignalId(signalId) {
        const r = await c.intent.findUnique({ where: { signalId } });
        return r ? m.intentToDomain(r) : null;
      },
      async listByStrategy(strategy, since, limit = 10_000) {
        const rows = await c.intent.findMany({ where: { strategy, createdAt: { gte: new Date(since) } }, orderBy: { createdAt: 'asc' }, take: limit });
        return rows.map(m.intentToDomain);
      },
      async insert(rec) {
        await c.intent.create({ data: m.intentToRow(rec) });
      },
      async transition(id, from, patch) {
        const r = await c.intent.updateMany({ where: { id, state: from }, data: m.intentPatchToRow(patch) });
        return r.count === 1;
      },
      async update(id, patch) {
        await c.intent.update({ where: { id }, data: m.intentPatchToRow(patch) });
      },
      async listByState(states, limit = 1000) {
        const rows = await c.intent.findMany({ where: { state: { in: [...states] } }, orderBy: { createdAt: 'asc' }, take: limit });
        return rows.map(m.intentToDomain);
      },
      async openQuantity(instrumentKey, excludeIntentId) {
        const rows = await c.intent.findMany({
          where: { instrumentKey, state: { in: OPEN_STATES as IntentState[] }, id: { not: excludeIntentId } },
          select: { quantity: true, filledQty: true, exitQty: true, state: true },
        });
        return rows.reduce((sum, r) => sum + (r.state === 'FILLED' || r.state === 'MANAGED' ? Math.max(r.filledQty - r.exitQty, 0) : r.quantity), 0);
      },
      async closedPnlOn(day) {
        const rows = await c.intent.findMany({ where: { closedDay: day, realizedPnlCents: { not: null } }, orderBy: { closedAt: 'asc' }, select: { realizedPnlCents: true } });
        return rows.map((r) => r.realizedPnlCents ?? 0);
      },
      async countSubmittedBetween(from, to) {
        return c.intent.count({ where: { submittedAt: { gte: new Date(from), lt: new Date(to) } } });
      },
      async listRecent(limit) {
        const rows = await c.intent.findMany({ orderBy: { createdAt: 'desc' }, take: limit });
        return rows.map(m.intentToDomain);
      },
      async listClosedOn(day) {
        const rows = await c.intent.findMany({ where: { closedDay: day }, orderBy: { closedAt: 'asc' } });
        return rows.map(m.intentToDomain);
      },
      async listCreatedBetween(from, to, limit = 10_000) {
        const rows = await c.intent.findMany({ where: { createdAt: { gte: new Date(from), lt: new Date(to) } }, orderBy: { createdAt: 'asc' }, take: limit });
        return rows.map(m.intentToDomain);
      },
    },
    tokens: {
      async insert(t) {
        await c.approvalToken.create({ data: { ...t, issuedAt: new Date(t.issuedAt), expiresAt: new Date(t.expiresAt), usedAt: m.dt(t.usedAt) ?? null, expiredAt: m.dt(t.expiredAt) ?? null } });
      },
      async get(id) {
        const r = await c.approvalToken.findUnique({ where: { id } });
        return r ? m.tokenToDomain(r) : null;
      },
      async latestForIntent(intentId) {
        const r = await c.approvalToken.findFirst({ where: { intentId }, orderBy: { issuedAt: 'desc' } });
        return r ? m.tokenToDomain(r) : null;
      },
      async consume(id, intentId, evidenceHash, now) {
        const r = await c.approvalToken.updateMany({
          where: { id, intentId, evidenceHash, usedAt: null, expiredAt: null, expiresAt: { gt: new Date(now) } },
          data: { usedAt: new Date(now) },
        });
        return r.count === 1;
      },
      async listExpired(now, limit) {
        const rows = await c.approvalToken.findMany({ where: { usedAt: null, expiredAt: null, expiresAt: { lte: new Date(now) } }, take: limit });
        return rows.map(m.tokenToDomain);
      },
      async markExpired(id, now) {
        const r = await c.approvalToken.updateMany({ where: { id, usedAt: null, expiredAt: null }, data: { expiredAt: new Date(now) } });
        return r.count === 1;
      },
    },
    orders: {
      async insert(o) {
        try {
          await c.brokerOrder.create({ data: { ...o, createdAt: new Date(o.createdAt), updatedAt: new Date(o.updatedAt) } });
        } catch (e) {
          if ((e as { code?: string }).code === 'P2002') throw new DuplicateOrderError(o.intentId, o.role);
          throw e;
        }
      },
      async listByIntent(intentId) {
        return (await c.brokerOrder.findMany({ where: { intentId }, orderBy: { createdAt: 'asc' } })).map(m.orderToDomain);
      },
      async update(intentId, role, patch) {
        await c.brokerOrder.update({ where: { intentId_role: { intentId, role } }, data: { ...patch, updatedAt: m.dt(patch.updatedAt) ?? undefined } });
      },
      async listWorking() {
        return (await c.brokerOrder.findMany({ where: { status: { in: ['PENDING', 'WORKING', 'HELD'] } } })).map(m.orderToDomain);
      },
    },
    fills: {
      async insertIfNew(f) {
        const exists = await c.fill.findUnique({ where: { execId: f.execId }, select: { execId: true } });
        if (exists) return false;
        await c.fill.create({ data: { ...f, time: new Date(f.time) } });
        return true;
      },
      async listByIntent(intentId) {
        return (await c.fill.findMany({ where: { intentId }, orderBy: { time: 'asc' } })).map(m.fillToDomain);
      },
      async setCommission(execId, commission) {
        return (await c.fill.updateMany({ where: { execId, NOT: { commission } }, data: { commission } })).count === 1;
      },
    },
    beads: {
      append(draft) {
        beadBuffer.push(draft);
      },
      async listByIntent(intentId) {
        return (await c.bead.findMany({ where: { intentId }, orderBy: { seq: 'asc' } })).map(m.beadToDomain);
      },
      async page(afterSeq, limit, sinceTs) {
        const rows = await c.bead.findMany({ where: { seq: { gt: afterSeq }, ...(sinceTs !== undefined ? { ts: { gte: new Date(sinceTs) } } : {}) }, orderBy: { seq: 'asc' }, take: limit });
        return rows.map(m.beadToDomain);
      },
      async count() {
        return c.bead.count();
      },
      async head() {
        const r = await c.bead.findFirst({ orderBy: { seq: 'desc' } });
        return r ? m.beadToDomain(r) : null;
      },
      async bySeq(seq) {
        const r = await c.bead.findUnique({ where: { seq } });
        return r ? m.beadToDomain(r) : null;
      },
      async latestOfType(type) {
        const r = await c.bead.findFirst({ where: { type }, orderBy: { seq: 'desc' } });
        return r ? m.beadToDomain(r) : null;
      },
      async existsBetween(from, to) {
        return (await c.bead.findFirst({ where: { ts: { gte: new Date(from), lt: new Date(to) } }, select: { seq: true } })) !== null;
      },
    },
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
    alerts: {
      enqueue(d) {
        alertBuffer.push(d);
      },
      async backlog() {
        return c.alert.count({ where: { status: 'PENDING' } });
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

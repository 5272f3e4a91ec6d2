/**
 * The trading records on Prisma (prisma.store.ts runs them in its transaction): intents,
 * approval tokens, broker orders, fills.
 */
import { DuplicateOrderError, OPEN_STATES, type IntentState, type Tx } from '../engine/index.js';
import type { Prisma } from './generated/client.js';
import * as m from './mappers.js';

export function prismaTradeRepos(c: Prisma.TransactionClient): Pick<Tx, 'intents' | 'tokens' | 'orders' | 'fills'> {
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
  };
}

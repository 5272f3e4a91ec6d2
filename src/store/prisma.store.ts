/**
 * Store implementation on Prisma + SQLite. One interactive transaction per use case; beads
 * and alerts appended during it are chained and inserted in one batch just before commit,
 * so a crash anywhere leaves either all of a state change with its audit trail, or none.
 */
import { randomBytes } from 'node:crypto';
import { alertDef, chainBeads, EMPTY_HEAD, groupKeyOf, type AlertDraft, type BeadDraft, type CommittedBeads, type Store, type Tx } from '../engine/index.js';
import type { Db } from './database.js';
import type { Prisma } from './generated/client.js';
import * as m from './mappers.js';
import { outboxRepo } from './outbox.sql.js';
import { prismaRecordRepos } from './prisma.records.js';
import { prismaTradeRepos } from './prisma.trade.js';

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
    ...prismaTradeRepos(c),
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
    alerts: {
      enqueue(d) {
        alertBuffer.push(d);
      },
      async backlog() {
        return c.alert.count({ where: { status: 'PENDING' } });
      },
    },
    alertOutbox: outboxRepo({
      all: (sql, ...p) => c.$queryRawUnsafe<Record<string, unknown>[]>(sql, ...p),
      run: (sql, ...p) => c.$executeRawUnsafe(sql, ...p),
    }),
    ...prismaRecordRepos(c),
  };
}

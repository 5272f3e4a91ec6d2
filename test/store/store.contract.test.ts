/**
 * The Store port's contract, repository by repository, on every adapter (better-sqlite3, Prisma,
 * PostgreSQL on a real server): the alert outbox (tx.alerts + tx.alertOutbox), the kv, the card
 * outbox (cards' version / renderedVersion), job runs, strategies and promotion requests. Each
 * adapter runs the same assertions on a bare store (no engine running beside it).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alertDef, groupKeyOf, type AlertDraft } from '../../src/engine/alerts.table.js';
import { KV } from '../../src/engine/kv.keys.js';
import type { PromotionRecord, Store } from '../../src/engine/store.port.js';
import { listMigrations, migrate, MIGRATIONS_DIR } from '../../src/store/migrate.js';
import { migratePostgres, PG_MIGRATIONS_DIR } from '../../src/store/pg.migrate.js';
import { SqliteStore } from '../../src/store/sqlite.store.js';
import { aCard, T0 } from '../support/records.js';
import { STORE_ADAPTERS, usePostgres, type PgServer, type StoreAdapterName } from '../support/postgres.js';

const pg = usePostgres();

/** A migrated, empty store of `adapter` and how to throw it away. */
async function bareStore(adapter: StoreAdapterName, server: PgServer): Promise<{ store: Store; close: () => Promise<void> }> {
  if (adapter === 'postgres') {
    const url = await server.createDatabase();
    await migratePostgres(url);
    const { pgPool, pgPrisma } = await import('../../src/store/pg.database.js');
    const { PgStore } = await import('../../src/store/pg.store.js');
    const pool = pgPool(url, 4);
    const store = new PgStore(pgPrisma(pool), pool);
    return { store, close: () => store.close() };
  }
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-contract-'));
  const file = join(dir, 'phoenix.db');
  migrate(file);
  let store: Store;
  if (adapter === 'prisma') {
    const { openDatabase } = await import('../../src/store/database.js');
    const { PrismaStore } = await import('../../src/store/prisma.store.js');
    store = new PrismaStore(await openDatabase(`file:${file}`));
  } else store = new SqliteStore(file);
  return {
    store,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const CHAT = '-1001001';
const draft = (type: AlertDraft['type'], at: number, summary: string): AlertDraft => ({ type, at, payload: { summary } });

function aPromotion(over: Partial<PromotionRecord> = {}): PromotionRecord {
  return {
    id: 'prm_1',
    strategy: 'orb',
    cardId: 'card_p1',
    bundle: { kind: 'PROMOTION_BUNDLE', version: 2, strategy: 'orb', shadowSince: '2026-11-01T00:00:00.000Z', asOf: '2026-11-24T15:00:00.000Z', missing: [], model: 'm', safety: { activeKillFlags: [], unresolvedDrifts: [] } } as unknown as PromotionRecord['bundle'],
    bundleHash: `sha256:${'ab'.repeat(32)}`,
    requestedBy: { id: '1002', name: 'Ada', via: 'telegram' },
    requestedAt: T0,
    expiresAt: T0 + 300_000,
    decision: null,
    ...over,
  };
}

for (const adapter of STORE_ADAPTERS) {
  describe(`store contract: ${adapter}`, () => {
    let s: { store: Store; close: () => Promise<void> } | null = null;
    afterEach(async () => {
      await s?.close();
      s = null;
    });
    const open = async () => (s = await bareStore(adapter, pg())).store;

    it('alert outbox: alerts raised in a transaction are pending in commit order; composing folds exactly the planned groups up to the cursor; a message goes QUEUED → SENDING → SENT with its alerts; counts add up', async () => {
      const store = await open();
      const a = [draft('KILL_FLAG_SET', T0, 'kill one'), draft('ORDER_REJECTED', T0 + 1, 'rejected'), draft('KILL_FLAG_SET', T0 + 2, 'kill two')];
      await store.tx(async (tx) => void a.slice(0, 2).forEach((d) => tx.alerts.enqueue(d)));
      await store.tx(async (tx) => tx.alerts.enqueue(a[2]!));
      const pending = await store.tx((tx) => tx.alertOutbox.pendingAfter(0, 10));
      expect(pending.map((p) => [p.type, p.severity, p.groupKey, p.at, p.payload.summary])).toEqual(a.map((d) => [d.type, alertDef(d.type).severity, groupKeyOf(d), d.at, d.payload.summary]));
      const rids = pending.map((p) => p.rid);
      expect([...rids].sort((x, y) => x - y)).toEqual(rids);
      expect(new Set(rids).size).toBe(3);
      expect(await store.tx((tx) => tx.alertOutbox.pendingAfter(rids[0]!, 10))).toHaveLength(2);
      expect(await store.tx((tx) => tx.alertOutbox.latestOfTypes(['KILL_FLAG_SET', 'IBKR_DISCONNECTED']))).toEqual(new Map([['KILL_FLAG_SET', { at: T0 + 2, groupKey: groupKeyOf(a[2]!) }]]));

      // the cursor bounds the fold: the second KILL_FLAG_SET came after it
      const killKey = groupKeyOf(a[0]!);
      const folded = await store.tx((tx) => tx.alertOutbox.compose({ id: 'am_1', chatId: CHAT, severity: 'WARNING', groupKeys: [killKey], text: '<b>kill</b>', alertCount: 1, at: T0 + 10, silent: true, snoozeTypes: ['KILL_FLAG_SET'] }, rids[1]!));
      expect(folded).toBe(1);
      expect((await store.tx((tx) => tx.alertOutbox.pendingAfter(0, 10))).map((p) => p.rid)).toEqual(rids.slice(1));
      expect(await store.tx((tx) => tx.alertOutbox.unsent())).toEqual([
        { id: 'am_1', chatId: CHAT, severity: 'WARNING', text: '<b>kill</b>', alertCount: 1, status: 'QUEUED', attempts: 0, nextAttemptAt: T0 + 10, createdAt: T0 + 10, silent: true, snoozeTypes: ['KILL_FLAG_SET'] },
      ]);
      expect(await store.tx((tx) => tx.alertOutbox.snoozeOffer('am_1'))).toEqual({ chatId: CHAT, severity: 'WARNING', snoozeTypes: ['KILL_FLAG_SET'] });
      expect(await store.tx((tx) => tx.alertOutbox.snoozeOffer('am_nope'))).toBeNull();

      // SENDING found at start-up is re-queued; a failure is retried later with a new text
      await store.tx((tx) => tx.alertOutbox.markSending('am_1'));
      expect((await store.tx((tx) => tx.alertOutbox.unsent()))[0]).toMatchObject({ status: 'SENDING', attempts: 1 });
      expect(await store.tx((tx) => tx.alertOutbox.requeueInFlight(T0 + 20))).toBe(1);
      await store.tx(async (tx) => {
        await tx.alertOutbox.markRetry('am_1', T0 + 30, 'HTTP 502');
        await tx.alertOutbox.replaceText('am_1', 'plain kill');
      });
      expect((await store.tx((tx) => tx.alertOutbox.unsent()))[0]).toMatchObject({ status: 'QUEUED', attempts: 1, nextAttemptAt: T0 + 30, text: 'plain kill' });
      expect(await store.tx((tx) => tx.alerts.backlog())).toBe(3);

      expect(await store.tx((tx) => tx.alertOutbox.markSent('am_1', 777, T0 + 40))).toBe(1);
      expect(await store.tx((tx) => tx.alertOutbox.unsent())).toEqual([]);
      expect(await store.tx((tx) => tx.alertOutbox.recentSends(CHAT, 5))).toEqual([T0 + 40]);
      expect(await store.tx((tx) => tx.alertOutbox.recentSends('-42', 5))).toEqual([]);
      expect(await store.tx((tx) => tx.alerts.backlog())).toBe(2);

      // a type configured off: SUPPRESSED, kept, no longer pending nor backlog
      await store.tx((tx) => tx.alertOutbox.suppress([pending[1]!.id]));
      expect((await store.tx((tx) => tx.alertOutbox.pendingAfter(0, 10))).map((p) => p.id)).toEqual([pending[2]!.id]);
      expect(await store.tx((tx) => tx.alerts.backlog())).toBe(1);
      expect(await store.tx((tx) => tx.alertOutbox.counts())).toEqual({ alerts: 3, sentInMessages: 1, unassigned: 2, undeliveredMessages: 0, deliveredAlertCount: 1 });
    });

    it('alert outbox: a compose rolled back (the planned count was stale) leaves no message and every alert unassigned', async () => {
      const store = await open();
      await store.tx(async (tx) => tx.alerts.enqueue(draft('ORDER_REJECTED', T0, 'one')));
      const [p] = await store.tx((tx) => tx.alertOutbox.pendingAfter(0, 10));
      await expect(
        store.tx(async (tx) => {
          const n = await tx.alertOutbox.compose({ id: 'am_x', chatId: CHAT, severity: 'WARNING', groupKeys: [p!.groupKey], text: 't', alertCount: 2, at: T0 }, p!.rid);
          if (n !== 2) throw new Error(`planned 2, folded ${n}`);
        }),
      ).rejects.toThrow('planned 2, folded 1');
      expect(await store.tx((tx) => tx.alertOutbox.unsent())).toEqual([]);
      expect(await store.tx((tx) => tx.alertOutbox.counts())).toMatchObject({ alerts: 1, unassigned: 1 });
    });

    it('kv: declared keys only; set overwrites, delete removes (and is a no-op when absent)', async () => {
      const store = await open();
      await store.tx((tx) => tx.kv.set(KV.telegramLastError, 'first', T0));
      await store.tx((tx) => tx.kv.set(KV.telegramLastError, 'second', T0 + 1));
      expect(await store.tx((tx) => tx.kv.get(KV.telegramLastError))).toBe('second');
      await store.tx((tx) => tx.kv.delete(KV.telegramLastError));
      await store.tx((tx) => tx.kv.delete(KV.telegramDown));
      expect(await store.tx(async (tx) => [await tx.kv.get(KV.telegramLastError), await tx.kv.get(KV.telegramDown)])).toEqual([null, null]);
    });

    it('card outbox: a touched card is dirty until rendered at its version; an older render never rolls it back', async () => {
      const store = await open();
      await store.tx((tx) => tx.cards.insert(aCard({ id: 'c1' })));
      expect((await store.tx((tx) => tx.cards.listDirty(10))).map((c) => c.id)).toEqual(['c1']);
      await store.tx((tx) => tx.cards.markRendered('c1', 1, 501));
      expect(await store.tx((tx) => tx.cards.listDirty(10))).toEqual([]);
      await store.tx((tx) => tx.cards.touch('c1', T0 + 5));
      const dirty = await store.tx((tx) => tx.cards.listDirty(10));
      expect(dirty.map((c) => [c.id, c.version, c.renderedVersion, c.messageId, c.updatedAt])).toEqual([['c1', 2, 1, 501, T0 + 5]]);
      await store.tx((tx) => tx.cards.markRendered('c1', 2, null));
      await store.tx((tx) => tx.cards.markRendered('c1', 1, 999)); // late: ignored
      expect(await store.tx((tx) => tx.cards.get('c1'))).toMatchObject({ version: 2, renderedVersion: 2, messageId: 501 });
    });

    it('job runs: a running run is finished once; recent is newest first, per job or all; prune drops what started before', async () => {
      const store = await open();
      await store.tx(async (tx) => {
        await tx.jobs.insert({ id: 'j1', job: 'reconcile', startedAt: T0, endedAt: null, outcome: null, detail: null });
        await tx.jobs.insert({ id: 'j2', job: 'heartbeat', startedAt: T0 + 1000, endedAt: T0 + 1000, outcome: 'SKIPPED_OVERLAP', detail: null });
      });
      await store.tx((tx) => tx.jobs.finish('j1', T0 + 500, 'OK', '{"durationMs":500}'));
      expect(await store.tx((tx) => tx.jobs.recent(null, 10))).toEqual([
        { id: 'j2', job: 'heartbeat', startedAt: T0 + 1000, endedAt: T0 + 1000, outcome: 'SKIPPED_OVERLAP', detail: null },
        { id: 'j1', job: 'reconcile', startedAt: T0, endedAt: T0 + 500, outcome: 'OK', detail: '{"durationMs":500}' },
      ]);
      expect((await store.tx((tx) => tx.jobs.recent('reconcile', 10))).map((r) => r.id)).toEqual(['j1']);
      expect(await store.tx((tx) => tx.jobs.prune(T0 + 1))).toBe(1);
      expect((await store.tx((tx) => tx.jobs.recent(null, 10))).map((r) => r.id)).toEqual(['j2']);
    });

    it('strategies: upsert creates then replaces; list is by name', async () => {
      const store = await open();
      await store.tx(async (tx) => {
        await tx.strategies.upsert({ name: 'orb', stage: 'SHADOW', since: T0, changedBy: 'Ada' });
        await tx.strategies.upsert({ name: 'gap', stage: 'SHADOW', since: T0, changedBy: 'Ada' });
      });
      await store.tx((tx) => tx.strategies.upsert({ name: 'orb', stage: 'LIVE', since: T0 + 9, changedBy: 'Bob' }));
      expect(await store.tx((tx) => tx.strategies.get('orb'))).toEqual({ name: 'orb', stage: 'LIVE', since: T0 + 9, changedBy: 'Bob' });
      expect(await store.tx((tx) => tx.strategies.get('none'))).toBeNull();
      expect((await store.tx((tx) => tx.strategies.list())).map((r) => r.name)).toEqual(['gap', 'orb']);
    });

    it('promotion requests: typed records (not kv JSON); save inserts, then records the decision; read back field for field', async () => {
      const store = await open();
      const p = aPromotion();
      await store.tx((tx) => tx.promotions.save(p, T0));
      expect(await store.tx((tx) => tx.promotions.get('prm_1'))).toEqual(p);
      expect(await store.tx((tx) => tx.promotions.get('prm_none'))).toBeNull();
      const decided = { ...p, decision: { event: 'APPROVED' as const, by: 'Bob', at: T0 + 60_000, tokenId: 'tok_1' } };
      await store.tx((tx) => tx.promotions.save(decided, T0 + 60_000));
      expect(await store.tx((tx) => tx.promotions.get('prm_1'))).toEqual(decided);
      const withdrawn = { ...p, id: 'prm_2', decision: { event: 'WITHDRAWN' as const, by: 'Ada', at: T0 + 1, reason: 'demoted' } };
      await store.tx((tx) => tx.promotions.save(withdrawn, T0 + 1));
      expect(await store.tx((tx) => tx.promotions.get('prm_2'))).toEqual(withdrawn);
    });
  });
}

describe('promotion requests move out of the kv (migration 20261219000000_promotion_request)', () => {
  const LAST = '20261219000000_promotion_request';
  const request = aPromotion({ decision: { event: 'REFUSED', by: 'Bob', at: T0 + 5000, reason: 'not yet' } });
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  /** the migrations before LAST, in a directory of their own */
  function migrationsBefore(dir: string): string {
    const out = mkdtempSync(join(tmpdir(), 'phoenix-migr-'));
    dirs.push(out);
    for (const m of listMigrations(dir).filter((m) => m < LAST)) cpSync(join(dir, m), join(out, m), { recursive: true });
    return out;
  }

  it('SQLite: a request stored as kv JSON reads back through tx.promotions, and its kv row is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-migr-db-'));
    dirs.push(dir);
    const file = join(dir, 'phoenix.db');
    migrate(file, migrationsBefore(MIGRATIONS_DIR));
    const old = new SqliteStore(file);
    await old.tx(async () => void old.db.prepare(`INSERT INTO "SystemState"(key, value, updatedAt) VALUES (?, ?, ?)`).run(`promotion:${request.id}`, JSON.stringify(request), new Date(T0).toISOString().replace('Z', '+00:00')));
    await old.close();
    expect(migrate(file).applied).toEqual([LAST]);
    const store = new SqliteStore(file);
    try {
      expect(await store.tx((tx) => tx.promotions.get(request.id))).toEqual(request);
      expect(Number((store.db.prepare(`SELECT COUNT(*) AS n FROM "SystemState" WHERE key LIKE 'promotion:%'`).get() as { n: number }).n)).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('PostgreSQL: a request stored as kv JSON reads back through tx.promotions, and its kv row is gone', async () => {
    const url = await pg().createDatabase();
    const db = new URL(url).pathname.slice(1);
    await migratePostgres(url, migrationsBefore(PG_MIGRATIONS_DIR));
    await pg().query(db, `INSERT INTO "SystemState"(key, value, "updatedAt") VALUES ($1, $2, $3)`, [`promotion:${request.id}`, JSON.stringify(request), new Date(T0).toISOString()]);
    expect((await migratePostgres(url)).applied).toEqual([LAST]);
    const { pgPool, pgPrisma } = await import('../../src/store/pg.database.js');
    const { PgStore } = await import('../../src/store/pg.store.js');
    const pool = pgPool(url, 2);
    const store = new PgStore(pgPrisma(pool), pool);
    try {
      expect(await store.tx((tx) => tx.promotions.get(request.id))).toEqual(request);
      expect(await pg().query(db, `SELECT key FROM "SystemState" WHERE key LIKE 'promotion:%'`)).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

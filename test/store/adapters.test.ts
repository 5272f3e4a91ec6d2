/**
 * Every Store adapter (native better-sqlite3, the default; Prisma, the portable one; PostgreSQL
 * on a real server, issue 18) runs the same engine scenarios, and the two SQLite adapters read
 * what the other wrote.
 */
import { describe, expect, it } from 'vitest';
import type { CommittedBeads } from '../../src/engine/audit.anchor.js';
import { verifyAudit } from '../../src/engine/audit.usecase.js';
import { beadHashV2 } from '../../src/engine/beads.js';
import { kvKeyOf } from '../../src/engine/kv.keys.js';
import { DuplicateOrderError } from '../../src/engine/store.port.js';
import { PrismaStore } from '../../src/store/prisma.store.js';
import { PgStore } from '../../src/store/pg.store.js';
import { SqliteStore } from '../../src/store/sqlite.store.js';
import { approver, cardOf, intentOf, makeHarness as makeRealHarness, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { adapterEnv, STORE_ADAPTERS, usePostgres } from '../support/postgres.js';
import { anOrder, aToken } from '../support/records.js';

/** The kv takes only declared keys (kv.keys.ts): an id-carrying one serves as a scratch key here. */
const anyKey = (name: string) => kvKeyOf.contract(`test-${name}`);

const pg = usePostgres();

for (const adapter of STORE_ADAPTERS) {
  describe(`store adapter: ${adapter}`, () => {
    let h: Harness;
    const harness = useHarness(async () => makeRealHarness({ env: await adapterEnv(adapter, pg) }));

    it('runs a full lifecycle to CLOSED with P&L and a verifying chain', async () => {
      h = await harness();
      expect(h.app.store).toBeInstanceOf({ sqlite: SqliteStore, prisma: PrismaStore, postgres: PgStore }[adapter]);
      const r = await h.engine.submitIntent(h.intent());
      if (r.kind !== 'accepted') throw new Error('not accepted');
      await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
      await h.settle();
      expect((await intentOf(h, r.intentId)).state).toBe('MANAGED');
      h.sim!.simulatePrice('MES', 6016);
      await h.settle();
      const closed = await intentOf(h, r.intentId);
      expect(closed.state).toBe('CLOSED');
      expect(closed.realizedPnlCents).toBe(Math.round((6015 - 6010.25) * 5 * 100) - closed.commissionCents);
      expect((await verifyAudit(h.app.store)).ok).toBe(true);
    });

    it('token consume is a compare-and-set: of 8 concurrent attempts exactly one wins', async () => {
      h = await harness();
      const r = await h.engine.submitIntent(h.intent());
      if (r.kind !== 'accepted') throw new Error('not accepted');
      const now = h.clock.now();
      await h.app.store.tx((tx) => tx.tokens.insert(aToken({ id: 'tok_x', intentId: r.intentId }, now)));
      const wins = await Promise.all(Array.from({ length: 8 }, () => h.app.store.tx((tx) => tx.tokens.consume('tok_x', r.intentId, 'e', now))));
      expect(wins.filter(Boolean)).toHaveLength(1);
    });

    it('one order per intent and leg, enforced by the database', async () => {
      h = await harness();
      const now = h.clock.now();
      const order = anOrder({ id: 'o1', intentId: 'int_1' }, now);
      await h.app.store.tx((tx) => tx.orders.insert(order));
      await expect(h.app.store.tx((tx) => tx.orders.insert({ ...order, id: 'o2' }))).rejects.toBeInstanceOf(DuplicateOrderError);
    });

    it('a failed transaction leaves nothing behind (no state, no beads, no alerts)', async () => {
      h = await harness();
      const before = await h.app.store.tx(async (tx) => ({ beads: await tx.beads.count(), backlog: await tx.alerts.backlog() }));
      await expect(
        h.app.store.tx(async (tx) => {
          tx.beads.append({ type: 'JOB', intentId: null, ts: h.clock.now(), payload: { job: 'x', event: 'DAILY_RESET', detail: 'rolled back' } });
          tx.alerts.enqueue({ type: 'HALT', at: h.clock.now(), payload: { summary: 'rolled back' } });
          await tx.kv.set(anyKey('k'), 'v', h.clock.now());
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      const after = await h.app.store.tx(async (tx) => ({ beads: await tx.beads.count(), backlog: await tx.alerts.backlog(), kv: await tx.kv.get(anyKey('k')) }));
      expect(after).toEqual({ ...before, kv: null });
    });
  });
}

describe('store adapters share one file format', () => {
  let h: Harness;
  const harness = useHarness();

  it('what the native store wrote, Prisma reads identically (and the chain verifies through both)', async () => {
    h = await harness();
    const r = await h.engine.submitIntent(h.intent());
    if (r.kind !== 'accepted') throw new Error('not accepted');
    await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    await h.settle();
    const viaPrisma = new PrismaStore(h.app.db);
    const a = await h.app.store.tx((tx) => tx.intents.get(r.intentId));
    const b = await viaPrisma.tx((tx) => tx.intents.get(r.intentId));
    expect(b).toEqual(a);
    const ta = await h.app.store.tx((tx) => tx.tokens.latestForIntent(r.intentId));
    const tb = await viaPrisma.tx((tx) => tx.tokens.latestForIntent(r.intentId));
    expect(tb).toEqual(ta);
    expect((await verifyAudit(viaPrisma)).ok).toBe(true);
    // and Prisma can append to the chain the native store started
    await viaPrisma.tx(async (tx) => tx.beads.append({ type: 'JOB', intentId: null, ts: h.clock.now(), payload: { job: 'x', event: 'DAILY_RESET', detail: 'written by prisma' } }));
    expect((await verifyAudit(h.app.store)).ok).toBe(true);
  });
});

describe('SAFE-12: both adapters hash every column the same way and report what each commit appended', () => {
  let h: Harness;
  const harness = useHarness();

  it('SAFE-12: native and Prisma stores, taking turns on one file, write consecutive v2 beads (hash over seq, id, type, intentId, ts, prevHash, payload), tell the anchor hook each committed range, and verify each other', async () => {
    h = await harness();
    const ranges: string[] = [];
    const hook = (who: string) => (c: CommittedBeads) => ranges.push(`${who} ${c.from}-${c.seq} ${c.hash}`);
    const native = new SqliteStore(h.dbFile, { onBeadsCommitted: hook('sqlite') });
    const prisma = new PrismaStore(h.app.db, { onBeadsCommitted: hook('prisma') });
    const start = (await native.tx((tx) => tx.beads.head()))?.seq ?? 0;
    const write = (store: SqliteStore | PrismaStore, n: number, tag: string) =>
      store.tx(async (tx) => {
        for (let i = 0; i < n; i++) tx.beads.append({ type: 'JOB', intentId: i % 2 ? `int_${tag}` : null, ts: h.clock.now() + i, payload: { job: tag, event: 'DAILY_RESET', detail: `${tag} ${i}` } });
      });
    await write(native, 2, 'a');
    await write(prisma, 3, 'b');
    await write(native, 1, 'c');
    await prisma.tx(async (tx) => void (await tx.kv.set(anyKey('no-beads'), '1', h.clock.now()))); // no beads: no range
    await expect(prisma.tx(async (tx) => { tx.beads.append({ type: 'JOB', intentId: null, ts: h.clock.now(), payload: { job: 'x', event: 'DAILY_RESET', detail: 'rolled back' } }); throw new Error('boom'); })).rejects.toThrow('boom');
    const beads = (await native.tx((tx) => tx.beads.page(start, 100)));
    expect(beads.map((b) => b.seq)).toEqual([1, 2, 3, 4, 5, 6].map((k) => start + k));
    for (const b of beads) expect(b).toMatchObject({ hashVersion: 2, hash: beadHashV2(b) });
    const at = (seq: number) => beads.find((b) => b.seq === seq)!.hash;
    expect(ranges).toEqual([`sqlite ${start + 1}-${start + 2} ${at(start + 2)}`, `prisma ${start + 3}-${start + 5} ${at(start + 5)}`, `sqlite ${start + 6}-${start + 6} ${at(start + 6)}`]);
    // each adapter reads the other's beads field for field, and both verify the chain
    expect(await prisma.tx((tx) => tx.beads.page(start, 100))).toEqual(beads);
    expect((await verifyAudit(native)).ok).toBe(true);
    expect((await verifyAudit(prisma)).ok).toBe(true);
    await native.close();
  });
});

describe('native store group commit', () => {
  let h: Harness;
  const harness = useHarness();

  it('transactions queued together share one COMMIT, yet a failing one rolls back alone (its beads and alerts too)', async () => {
    h = await harness();
    const store = h.app.store;
    const now = h.clock.now();
    const before = await store.tx(async (tx) => ({ beads: await tx.beads.count(), backlog: await tx.alerts.backlog() }));
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        store.tx(async (tx) => {
          await tx.kv.set(anyKey(`k${i}`), String(i), now);
          tx.beads.append({ type: 'JOB', intentId: null, ts: now, payload: { job: 'group', event: 'DAILY_RESET', detail: `unit ${i}` } });
          tx.alerts.enqueue({ type: 'DAILY_SUMMARY', at: now, payload: { summary: `unit ${i}` } });
          if (i === 4) throw new Error('unit 4 fails');
          return i;
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(9);
    expect(results[4]).toMatchObject({ status: 'rejected' });
    const after = await store.tx(async (tx) => ({ beads: await tx.beads.count(), backlog: await tx.alerts.backlog(), k4: await tx.kv.get(anyKey('k4')), k5: await tx.kv.get(anyKey('k5')) }));
    // 9 JOB beads + 9 ALERT beads; the failed unit left nothing
    expect(after).toEqual({ beads: before.beads + 18, backlog: before.backlog + 9, k4: null, k5: '5' });
    expect((await verifyAudit(store)).ok).toBe(true);
  });
});

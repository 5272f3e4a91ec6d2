/**
 * The PostgreSQL store on a real server (issue 18): what several processes on one database need
 * beyond the shared adapter suite (test/store/adapters.test.ts) — one bead chain under
 * concurrent writers from several OS processes, append-only enforced by the database, token
 * consume and intake deduplication decided once across connections, gates that cannot be
 * raced (the desk's write lock), and times that do not depend on the process's time zone.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/engine/audit.usecase.js';
import { seededRandom, silentLogger } from '../../src/engine/ports.js';
import { pgPool, pgPrisma } from '../../src/store/pg.database.js';
import { PgStore } from '../../src/store/pg.store.js';
import { approver, cardOf, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { usePostgres } from '../support/postgres.js';
import { depsOf } from '../support/engine-internals.js';
import { aToken } from '../support/records.js';

const pg = usePostgres();
const root = join(fileURLToPath(import.meta.url), '..', '..', '..');

let h: Harness | undefined;
const extra: PgStore[] = [];
const harness = useHarness();
afterEach(async () => {
  for (const s of extra.splice(0)) await s.close();
});

/** Another connection pool on the same database: what a second process would be. */
function secondStore(url: string): PgStore {
  const pool = pgPool(url, 8);
  const s = new PgStore(pgPrisma(pool), pool);
  extra.push(s);
  return s;
}

function runChild(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/store/pg-writer.child.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('PostgreSQL store (issue 18)', () => {
  it('INV-AUDIT-CHAIN-1 on PostgreSQL: 4 processes × 4 concurrent writers append beads and alerts at once → one sequence, one head, no fork, every transaction committed, the chain verifies', async () => {
    const url = await pg().createDatabase();
    h = await harness({ env: { DATABASE_URL: url } }); // migrates; its own beads come first
    const before = await h.app.store.tx((tx) => tx.beads.count());
    const per = 30;
    const runs = await Promise.all(['p1', 'p2', 'p3', 'p4'].map((tag) => runChild([url, tag, String(per)])));
    for (const r of runs) expect(r, r.err).toMatchObject({ code: 0, out: `done ${per}\n` });
    // per process: 30 transactions of 1..3 JOB beads (i % 3 + 1) and one ALERT bead each
    const jobBeadsPer = Array.from({ length: per }, (_, i) => (i % 3) + 1).reduce((a, b) => a + b, 0);
    const total = before + 4 * (jobBeadsPer + per);
    const beads = await h.app.store.tx((tx) => tx.beads.page(0, 10_000));
    expect(beads.map((b) => b.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(new Set(beads.map((b) => b.prevHash)).size).toBe(total); // no two beads extend the same head
    for (let i = 1; i < beads.length; i++) expect(beads[i]!.prevHash).toBe(beads[i - 1]!.hash);
    const report = await verifyAudit(h.app.store);
    expect(report).toMatchObject({ ok: true, count: total });
    // the alerts' rowids follow the commit order their ALERT beads record
    const alertOrder = beads.filter((b) => b.type === 'ALERT').map((b) => (JSON.parse(b.payload) as { alertId: string }).alertId);
    const rows = await pg().query<{ id: string }>(url.split('/').pop()!, `SELECT id FROM "Alert" ORDER BY rowid`);
    expect(rows.map((r) => r.id)).toEqual(alertOrder);
  }, 120_000);

  it('append-only is the database\'s: UPDATE, DELETE and TRUNCATE of beads are refused for every session (even a superuser), and nothing changes', async () => {
    const url = await pg().createDatabase();
    h = await harness({ env: { DATABASE_URL: url } });
    await h.app.store.tx(async (tx) => tx.beads.append({ type: 'JOB', intentId: null, ts: h!.clock.now(), payload: { job: 'x', event: 'DAILY_RESET', detail: 'kept' } }));
    const db = url.split('/').pop()!;
    const snapshot = async () => (await pg().query<{ seq: number; hash: string; payload: string }>(db, `SELECT seq, hash, payload FROM "Bead" ORDER BY seq`));
    const before = await snapshot();
    expect(before.length).toBeGreaterThan(0);
    await expect(pg().query(db, `UPDATE "Bead" SET payload = '{}' WHERE seq = 1`)).rejects.toThrow(/beads are append-only: UPDATE refused/);
    await expect(pg().query(db, `DELETE FROM "Bead" WHERE seq = (SELECT max(seq) FROM "Bead")`)).rejects.toThrow(/beads are append-only: DELETE refused/);
    await expect(pg().query(db, `TRUNCATE "Bead"`)).rejects.toThrow(/beads are append-only: TRUNCATE refused/);
    await expect(h.app.db.bead.deleteMany({})).rejects.toThrow();
    expect(await snapshot()).toEqual(before);
    expect((await verifyAudit(h.app.store)).ok).toBe(true);
  });

  it('INV-T2-TOKEN-1 on PostgreSQL: 16 concurrent consumes from two processes\' connection pools → exactly one wins (one conditional UPDATE)', async () => {
    const url = await pg().createDatabase();
    h = await harness({ env: { DATABASE_URL: url } });
    const other = secondStore(url);
    const r = await h.engine.submitIntent(h.intent());
    if (r.kind !== 'accepted') throw new Error('not accepted');
    const now = h.clock.now();
    await h.app.store.tx((tx) => tx.tokens.insert(aToken({ id: 'tok_pg', intentId: r.intentId }, now)));
    const wins = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? other : h!.app.store).tx((tx) => tx.tokens.consume('tok_pg', r.intentId, 'e', now))));
    expect(wins.filter(Boolean)).toHaveLength(1);
    // at the boundary: a fresh token whose expiresAt equals now is refused (expiresAt > now)
    await h.app.store.tx((tx) => tx.tokens.insert(aToken({ id: 'tok_edge', intentId: r.intentId, expiresAt: now }, now)));
    expect(await other.tx((tx) => tx.tokens.consume('tok_edge', r.intentId, 'e', now))).toBe(false);
    expect(await other.tx((tx) => tx.tokens.consume('tok_edge', r.intentId, 'e', now - 1))).toBe(true);
  });

  it('intake on PostgreSQL: one signalId sent 12 times at once through two processes → exactly one intent, the rest told it is a duplicate (no error)', async () => {
    const url = await pg().createDatabase();
    h = await harness({ env: { DATABASE_URL: url } });
    const { Engine } = await import('../../src/engine/engine.js');
    const other = secondStore(url);
    const engine2 = new Engine({ ...depsOf(h.engine), store: other, random: seededRandom(99), logger: silentLogger });
    const body = h.intent();
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? engine2 : h!.engine).submitIntent(body)));
    const accepted = answers.filter((a) => a.kind === 'accepted');
    expect(accepted).toHaveLength(1);
    expect(answers.filter((a) => a.kind === 'duplicate')).toHaveLength(11);
    const intents = await h.app.store.tx((tx) => tx.intents.listRecent(50));
    expect(intents.filter((i) => i.signalId === body.signalId)).toHaveLength(1);
    expect((await verifyAudit(h.app.store)).ok).toBe(true);
  });

  it('gates cannot be raced on PostgreSQL: two approvals at once of two 1-lot MES intents under maxPositionPerInstrument 1 → exactly one reaches the broker, the other is refused by the gate', async () => {
    const url = await pg().createDatabase();
    h = await harness({ env: { DATABASE_URL: url }, constitution: { limits: { maxPositionPerInstrument: 1 } } });
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await h.engine.submitIntent(h.intent());
      if (r.kind !== 'accepted' || r.state !== 'PROPOSED') throw new Error(`not proposed: ${JSON.stringify(r)}`);
      ids.push(r.intentId);
    }
    const cards = await Promise.all(ids.map((id) => cardOf(h!, id)));
    await Promise.all(cards.map((c) => h!.engine.decide(c.id, 'APPROVE', approver)));
    await h.settle();
    const states = await Promise.all(ids.map(async (id) => (await intentOf(h!, id)).state));
    expect(states.filter((s) => s === 'CANCELLED')).toHaveLength(1);
    expect(states.filter((s) => s === 'MANAGED' || s === 'FILLED' || s === 'SUBMITTED')).toHaveLength(1);
    // only the one that passed has orders at the broker
    const refs = new Set((await h.sim!.openOrders()).map((o) => o.orderRef));
    expect([...refs]).toEqual([ids[states.findIndex((s) => s !== 'CANCELLED')]]);
  });

  it('times are instants on PostgreSQL whatever the process time zone: an intent written and read in Asia/Kolkata (+05:30) keeps every timestamp to the millisecond', async () => {
    const tz = process.env.TZ;
    process.env.TZ = 'Asia/Kolkata';
    try {
      const url = await pg().createDatabase();
      h = await harness({ env: { DATABASE_URL: url } });
      await h.clock.set(Date.parse('2026-11-24T15:00:00.123Z'));
      const r = await h.engine.submitIntent(h.intent());
      if (r.kind !== 'accepted') throw new Error('not accepted');
      const i = await intentOf(h, r.intentId);
      expect(i.createdAt).toBe(Date.parse('2026-11-24T15:00:00.123Z'));
      const viaOther = await secondStore(url).tx((tx) => tx.intents.get(r.intentId));
      expect(viaOther).toEqual(i);
      const db = url.split('/').pop()!;
      const [row] = await pg().query<{ t: string }>(db, `SELECT to_char("createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS t FROM "Intent" WHERE id = $1`, [r.intentId]);
      expect(row!.t).toBe('2026-11-24T15:00:00.123'); // stored as UTC
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });
});

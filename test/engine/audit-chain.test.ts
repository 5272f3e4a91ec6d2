/**
 * INV-AUDIT-CHAIN-1 (SPEC 13): beads are append-only in the database itself, and any edit
 * made behind its back (trigger dropped) is detected by the hash chain, naming the bead.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { exportAudit, verifyAudit } from '../../src/engine/audit.usecase.js';
import type { Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { addHistory, beadRows, tamperDb } from './helpers.js';

const harness = useHarness();

/** A harness with a filled-in chain: one full trade and one blocked intent. */
const withHistory = async (): Promise<Harness> => addHistory(await harness());

const tamper = tamperDb;
const rows = beadRows;

describe('audit chain', () => {
  let h: Harness;

  it('INV-AUDIT-CHAIN-1: an untouched chain verifies', async () => {
    h = await withHistory();
    const r = await verifyAudit(h.app.store);
    expect(r.ok).toBe(true);
    expect(r.count).toBe(rows(h.dbFile).length);
    expect(r.count).toBeGreaterThan(20);
  });

  it('INV-AUDIT-CHAIN-1: the database refuses UPDATE and DELETE on beads (triggers)', async () => {
    h = await withHistory();
    const before = rows(h.dbFile);
    const db = new Database(h.dbFile);
    try {
      expect(() => db.prepare(`UPDATE "Bead" SET payload = '{}' WHERE seq = 3`).run()).toThrow('beads are append-only: UPDATE refused');
      expect(() => db.prepare(`DELETE FROM "Bead" WHERE seq = 3`).run()).toThrow('beads are append-only: DELETE refused');
      expect(() => db.prepare(`DELETE FROM "Bead"`).run()).toThrow('beads are append-only: DELETE refused');
    } finally {
      db.close();
    }
    // and through Prisma too (its driver adapter maps RAISE(ABORT) to a generic constraint error)
    await expect(h.app.db.bead.update({ where: { seq: 3 }, data: { payload: '{}' } })).rejects.toThrow(/constraint/i);
    await expect(h.app.db.bead.deleteMany({})).rejects.toThrow(/constraint/i);
    expect(rows(h.dbFile)).toEqual(before);
    expect((await verifyAudit(h.app.store)).ok).toBe(true);
  });

  it('INV-AUDIT-CHAIN-1: an edited payload is detected, naming that bead (seq and id)', async () => {
    h = await withHistory();
    const target = rows(h.dbFile).find((r) => r.type === 'FILL')!;
    const edited = target.payload.replace('"price":6010.25', '"price":6001.25');
    expect(edited).not.toBe(target.payload);
    tamper(h.dbFile, (db) => db.prepare('UPDATE "Bead" SET payload = ? WHERE seq = ?').run(edited, target.seq));
    const r = await verifyAudit(h.app.store);
    expect(r.ok).toBe(false);
    expect(r.firstBreak).toMatchObject({ seq: target.seq, id: target.id, type: 'FILL' });
    expect(r.firstBreak!.problem).toMatch(/hash does not match the content/);
  });

  it('INV-AUDIT-CHAIN-1: a whitespace-only or key-order-only edit is detected too', async () => {
    h = await withHistory();
    const target = rows(h.dbFile).find((r) => r.type === 'POSITION')!;
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(target.payload) as object).reverse()));
    expect(reordered).not.toBe(target.payload);
    tamper(h.dbFile, (db) => db.prepare('UPDATE "Bead" SET payload = ? WHERE seq = ?').run(reordered, target.seq));
    const r = await verifyAudit(h.app.store);
    expect(r.firstBreak).toMatchObject({ seq: target.seq, id: target.id });
  });

  it('INV-AUDIT-CHAIN-1: a deleted bead is detected at the next link', async () => {
    h = await withHistory();
    const all = rows(h.dbFile);
    const victim = all[10]!;
    const next = all[11]!;
    tamper(h.dbFile, (db) => db.prepare('DELETE FROM "Bead" WHERE seq = ?').run(victim.seq));
    const r = await verifyAudit(h.app.store);
    expect(r.ok).toBe(false);
    expect(r.firstBreak).toMatchObject({ seq: next.seq, id: next.id });
    expect(r.firstBreak!.problem).toMatch(/removed, inserted or re-ordered/);
  });

  it('INV-AUDIT-CHAIN-1: swapped timestamps are detected at the first swapped bead', async () => {
    h = await withHistory();
    const all = rows(h.dbFile);
    // the first bead whose successor was written a second later: swap their timestamps
    const i = all.findIndex((r, k) => k + 1 < all.length && all[k + 1]!.ts !== r.ts);
    const [a, b] = [all[i]!, all[i + 1]!];
    expect(a.ts).not.toEqual(b.ts);
    tamper(h.dbFile, (db) => {
      db.prepare('UPDATE "Bead" SET ts = ? WHERE seq = ?').run(b.ts, a.seq);
      db.prepare('UPDATE "Bead" SET ts = ? WHERE seq = ?').run(a.ts, b.seq);
    });
    expect(rows(h.dbFile).find((r) => r.seq === a.seq)!.ts).not.toEqual(a.ts);
    const r = await verifyAudit(h.app.store);
    expect(r.ok).toBe(false);
    expect(r.firstBreak).toMatchObject({ seq: a.seq, id: a.id });
    expect(r.firstBreak!.problem).toMatch(/timestamp/);
  });

  it('INV-AUDIT-CHAIN-1: re-ordering two beads (swap payload and type) is detected', async () => {
    h = await withHistory();
    const all = rows(h.dbFile);
    const [a, b] = [all[5]!, all[6]!];
    tamper(h.dbFile, (db) => {
      db.prepare('UPDATE "Bead" SET payload = ?, type = ? WHERE seq = ?').run(b.payload, b.type, a.seq);
      db.prepare('UPDATE "Bead" SET payload = ?, type = ? WHERE seq = ?').run(a.payload, a.type, b.seq);
    });
    const r = await verifyAudit(h.app.store);
    expect(r.firstBreak).toMatchObject({ seq: a.seq, id: a.id });
  });

  it('INV-AUDIT-CHAIN-1: a forged bead appended with a made-up hash is detected', async () => {
    h = await withHistory();
    const last = rows(h.dbFile).at(-1)!;
    const insert = (sql: string, ...params: unknown[]) => {
      const db = new Database(h.dbFile);
      try {
        db.prepare(sql).run(...params);
      } finally {
        db.close();
      }
    };
    const prev = () => {
      const db = new Database(h.dbFile, { readonly: true });
      try {
        return (db.prepare('SELECT hash FROM "Bead" WHERE seq = ?').get(last.seq) as { hash: string }).hash;
      } finally {
        db.close();
      }
    };
    // the old way (no seq, hash version 1 by default): refused as a downgrade after v2 beads
    insert('INSERT INTO "Bead" (id, type, intentId, payload, ts, prevHash, hash) VALUES (?, ?, NULL, ?, ?, ?, ?)', 'bd_forged', 'KILL_FLAG', '{"action":"CLEARED"}', last.ts, prev(), 'f'.repeat(64));
    let r = await verifyAudit(h.app.store);
    expect(r.firstBreak).toMatchObject({ id: 'bd_forged', seq: last.seq + 1 });
    // as a v2 bead linked onto the head (SAFE-12): the made-up hash is what gives it away
    tamperDb(h.dbFile, (db) => db.prepare('DELETE FROM "Bead" WHERE id = ?').run('bd_forged'));
    insert('INSERT INTO "Bead" (seq, id, type, intentId, payload, ts, prevHash, hash, hashVersion) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, 2)', last.seq + 1, 'bd_forged', 'KILL_FLAG', '{"action":"CLEARED"}', last.ts, prev(), 'f'.repeat(64));
    r = await verifyAudit(h.app.store);
    expect(r.firstBreak).toMatchObject({ id: 'bd_forged', seq: last.seq + 1 });
    expect(r.firstBreak!.problem).toMatch(/hash does not match the content/);
  });

  it('INV-AUDIT-CHAIN-1: export still shows the history of one intent in seq order', async () => {
    h = await withHistory();
    const intentId = (await h.app.db.intent.findFirstOrThrow({ where: { state: 'MANAGED' } })).id;
    const lines: { seq: number; type: string; intentId: string }[] = [];
    for await (const l of exportAudit(h.app.store, { intentId })) lines.push(JSON.parse(l) as { seq: number; type: string; intentId: string });
    expect(lines.length).toBeGreaterThan(8);
    expect(lines.every((l) => l.intentId === intentId)).toBe(true);
    expect(lines.map((l) => l.seq)).toEqual([...lines.map((l) => l.seq)].sort((x, y) => x - y));
    expect(lines[0]!.type).toBe('GATE');
  });
});

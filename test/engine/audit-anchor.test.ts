/**
 * SAFE-12 / INV-AUDIT-ANCHOR-1 (SPEC 13): the bead hash covers every stored column, and the
 * head is anchored outside the database, so truncation, re-pointing and forged appends are
 * detected. Real SQLite files, the real CLI (`phoenix audit verify --anchor …`), attackers
 * who open the file with better-sqlite3 and know the public hash formula.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/context.js';
import { runCli } from '../../src/cli/index.js';
import { parseAnchorJournal, parsePointAnchor, pointText, type Anchor } from '../../src/engine/audit.anchor.js';
import { verifyAudit } from '../../src/engine/audit.usecase.js';
import { beadHashV1, beadHashV2, EMPTY_HEAD, type StoredBead } from '../../src/engine/beads.js';
import { canonicalJson } from '../../src/engine/canonical.js';
import { readAnchorJournal } from '../../src/runtime/anchor-journal.js';
import { listMigrations, migrate, MIGRATIONS_DIR } from '../../src/store/migrate.js';
import { PrismaStore } from '../../src/store/prisma.store.js';
import { beadFromRow, iso } from '../../src/store/sqlite.rows.js';
import { approver, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { addHistory, propose, tamperDb } from './helpers.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const CONSTITUTION = join(repoRoot, 'config', 'constitution.yaml');

const harness = useHarness();

/** A trade, a blocked intent and a halt: a few dozen beads over several commits. */
const withHistory = async (env: Record<string, string> = {}): Promise<Harness> => addHistory(await harness({ env }));

/** Every bead, as the store maps it, straight from the file. */
function allBeads(dbFile: string): StoredBead[] {
  const db = new Database(dbFile, { readonly: true });
  try {
    return (db.prepare('SELECT * FROM "Bead" ORDER BY seq').all() as Record<string, unknown>[]).map(beadFromRow);
  } finally {
    db.close();
  }
}

/** The journal as it is on disk once the writer caught up. */
async function journal(h: Harness) {
  await h.app.anchors.publisher.flush();
  const j = await readAnchorJournal(h.app.anchors.file!);
  if (!j) throw new Error('no anchor journal');
  return j;
}

const against = (anchors: readonly Anchor[]) => ({ anchors: { anchors } });

function terminal() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), readStdin: async () => '', confirm: async () => false };
  return { io, out, err };
}

async function cliVerify(dbFile: string, ...args: string[]) {
  const t = terminal();
  const code = await runCli(['audit', 'verify', ...args], t.io, { DATABASE_URL: `file:${dbFile}`, CONSTITUTION_PATH: CONSTITUTION }, repoRoot);
  return { code, out: t.out.join('\n'), err: t.err.join('\n') };
}

/**
 * What an attacker with write access to the database (but not to the journal) can append
 * WITHOUT dropping any trigger: the next seq, the head's hash as prevHash, hash version 2
 * and a hash computed with the public formula. A schema-valid KILL_FLAG CLEARED bead.
 */
function forgeAppend(dbFile: string, id = 'bd_forged'): StoredBead {
  const db = new Database(dbFile);
  try {
    const head = beadFromRow(db.prepare('SELECT * FROM "Bead" ORDER BY seq DESC LIMIT 1').get() as Record<string, unknown>);
    const unhashed = { seq: head.seq + 1, id, type: 'KILL_FLAG', intentId: null, payload: canonicalJson({ action: 'CLEARED', flagId: 'kill_x', kind: 'MANUAL', reason: 'resumed' }), ts: head.ts + 1, prevHash: head.hash };
    const bead: StoredBead = { ...unhashed, hash: beadHashV2(unhashed), hashVersion: 2 };
    db.prepare('INSERT INTO "Bead"(seq, id, type, intentId, payload, ts, prevHash, hash, hashVersion) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(bead.seq, bead.id, bead.type, bead.intentId, bead.payload, iso(bead.ts), bead.prevHash, bead.hash, bead.hashVersion);
    return bead;
  } finally {
    db.close();
  }
}

describe('SAFE-12: audit anchors', () => {
  let h: Harness | undefined;
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('SAFE-12: a legit chain verifies clean against its anchor journal: one line per committed transaction, every bead covered (CLI exit 0)', async () => {
    h = await withHistory();
    // several transactions at once share one COMMIT (group commit): still one contiguous range each
    await Promise.all(Array.from({ length: 5 }, (_, i) => h!.engine.submitIntent(h!.intent({ quantity: 3, signalId: `burst-${i}` }))));
    const beads = allBeads(h.dbFile);
    const j = await journal(h);
    expect(j.malformed).toEqual([]);
    expect(j.anchors.every((a) => a.kind === 'commit' && a.from! <= a.seq)).toBe(true);
    expect(Math.max(...j.anchors.map((a) => a.seq))).toBe(beads.at(-1)!.seq);
    // every anchored head is the bead the log holds
    for (const a of j.anchors) expect(beads.find((b) => b.seq === a.seq)!.hash).toBe(a.hash);
    const r = await verifyAudit(h.app.store, against(j.anchors));
    expect(r).toMatchObject({ ok: true, count: beads.length, firstBreak: null, head: { seq: beads.at(-1)!.seq, hash: beads.at(-1)!.hash }, versions: { 2: beads.length } });
    expect(r.anchor).toMatchObject({ ok: true, coverageFrom: 1, mismatch: null, missing: null, unanchored: null, before: 0 });

    const cli = await cliVerify(h.dbFile); // plain: uses the journal next to the database
    expect(cli.code).toBe(0);
    expect(cli.err).toBe('');
    expect(cli.out).toContain(`audit chain OK: ${beads.length} beads verified (hash v2: ${beads.length})`);
    expect(cli.out).toContain(`anchors OK (${h.app.anchors.file}: ${j.anchors.length} anchor(s)): every bead #1–#${beads.at(-1)!.seq} is anchored`);
    // the explicit form, and a point anchor copied from the report's head line
    const head = /anchor (\d+:[0-9a-f]{64})/.exec(cli.out)![1]!;
    expect(head).toBe(pointText(beads.at(-1)!));
    expect((await cliVerify(h.dbFile, '--anchor', h.app.anchors.file!, '--anchor', head)).code).toBe(0);
  });

  it('SAFE-12: both store adapters write the same v2 hashes and journal lines, and each verifies what the other wrote', async () => {
    h = await withHistory({ STORE_ADAPTER: 'prisma' });
    expect(h.app.store).toBeInstanceOf(PrismaStore);
    const j = await journal(h);
    const beads = allBeads(h.dbFile);
    expect(beads.every((b) => b.hashVersion === 2 && b.hash === beadHashV2(b))).toBe(true);
    expect(Math.max(...j.anchors.map((a) => a.seq))).toBe(beads.at(-1)!.seq);
    expect((await verifyAudit(h.app.store, against(j.anchors))).ok).toBe(true);
    // the native store appends onto Prisma's head, and Prisma verifies the result
    const { SqliteStore } = await import('../../src/store/sqlite.store.js');
    const lines: string[] = [];
    const native = new SqliteStore(h.dbFile, { onBeadsCommitted: (c) => lines.push(`${c.from}-${c.seq}:${c.hash}`) });
    await native.tx(async (tx) => {
      tx.beads.append({ type: 'JOB', intentId: null, ts: h!.clock.now(), payload: { job: 'x', event: 'DAILY_RESET', detail: 'native' } });
      tx.beads.append({ type: 'JOB', intentId: 'int_x', ts: h!.clock.now(), payload: { job: 'x', event: 'DAILY_RESET', detail: 'native 2' } });
    });
    await native.close();
    const after = allBeads(h.dbFile);
    expect(lines).toEqual([`${beads.at(-1)!.seq + 1}-${after.at(-1)!.seq}:${after.at(-1)!.hash}`]);
    const r = await verifyAudit(h.app.store);
    expect(r).toMatchObject({ ok: true, count: beads.length + 2 });
  });

  it('SAFE-12: deleting the newest beads (trigger dropped, as an attacker would) leaves a chain that verifies, but the anchor names the truncation (journal and SEQ:HASH; CLI exit 1)', async () => {
    h = await withHistory();
    const before = allBeads(h.dbFile);
    const j = await journal(h);
    const oldHead = before.at(-1)!;
    const keep = before.at(-4)!.seq; // delete the 3 newest
    tamperDb(h.dbFile, (db) => db.prepare('DELETE FROM "Bead" WHERE seq > ?').run(keep));

    // the chain alone cannot tell: what is left is a valid prefix
    const plain = await verifyAudit(h.app.store);
    expect(plain).toMatchObject({ ok: true, head: { seq: keep } });

    const r = await verifyAudit(h.app.store, against(j.anchors));
    expect(r.ok).toBe(false);
    const firstLost = Math.min(...j.anchors.map((a) => a.seq).filter((s) => s > keep));
    expect(r.anchor!.missing).toMatchObject({ seq: firstLost, head: keep });

    const cli = await cliVerify(h.dbFile);
    expect(cli.code).toBe(1);
    expect(cli.out).toBe('');
    expect(cli.err).toMatch(new RegExp(`^audit anchor FAILED at bead #${firstLost}: anchored \\(.+\\) but not in the log, which ends at #${keep}: truncated`));
    // the head a person copied from the daily summary or /audit catches it too
    const point = await cliVerify(h.dbFile, '--anchor', `${oldHead.seq}:${oldHead.hash.slice(0, 16)}`);
    expect(point.code).toBe(1);
    expect(point.err).toContain(`audit anchor FAILED at bead #${oldHead.seq}: anchored (--anchor ${oldHead.seq}:${oldHead.hash.slice(0, 16)}) but not in the log, which ends at #${keep}`);
  });

  it('SAFE-12: a bead re-pointed to another intent is detected without any anchor (the v2 hash covers intentId, and seq and id too)', async () => {
    h = await withHistory();
    const beads = allBeads(h.dbFile);
    const ids = [...new Set(beads.map((b) => b.intentId).filter((x): x is string => !!x))];
    expect(ids.length).toBeGreaterThanOrEqual(2);
    const victim = beads.find((b) => b.type === 'POSITION' && b.intentId === ids[0])!;
    for (const [column, value] of [
      ['intentId', ids[1]!],
      ['intentId', null],
      ['id', 'bd_renamed'],
    ] as const) {
      const original = (victim as unknown as Record<string, unknown>)[column];
      tamperDb(h.dbFile, (db) => db.prepare(`UPDATE "Bead" SET "${column}" = ? WHERE seq = ?`).run(value, victim.seq));
      const r = await verifyAudit(h.app.store);
      expect(r.ok, `${column} → ${String(value)}`).toBe(false);
      expect(r.firstBreak).toMatchObject({ seq: victim.seq, type: 'POSITION' });
      expect(r.firstBreak!.problem).toMatch(/hash does not match the content: .*intent id.*re-pointed/);
      tamperDb(h.dbFile, (db) => db.prepare(`UPDATE "Bead" SET "${column}" = ? WHERE seq = ?`).run(original, victim.seq));
      expect((await verifyAudit(h.app.store)).ok).toBe(true);
    }
    // the sequence number too: move the newest bead to a later seq (a gap before it)
    const last = beads.at(-1)!;
    tamperDb(h.dbFile, (db) => db.prepare('UPDATE "Bead" SET seq = ? WHERE seq = ?').run(last.seq + 1, last.seq));
    expect((await verifyAudit(h.app.store)).firstBreak).toMatchObject({ seq: last.seq + 1, id: last.id, problem: expect.stringMatching(/does not follow|removed, inserted or re-ordered/) });
    tamperDb(h.dbFile, (db) => db.prepare('UPDATE "Bead" SET seq = ? WHERE seq = ?').run(last.seq, last.seq + 1));

    // through the CLI, on the re-pointed bead, with no anchor at all (journal off)
    tamperDb(h.dbFile, (db) => db.prepare('UPDATE "Bead" SET intentId = ? WHERE seq = ?').run(ids[1], victim.seq));
    const t = terminal();
    const code = await runCli(['audit', 'verify'], t.io, { DATABASE_URL: `file:${h.dbFile}`, CONSTITUTION_PATH: CONSTITUTION, AUDIT_ANCHOR_FILE: 'off' }, repoRoot);
    expect(code).toBe(1);
    expect(t.err.join('\n')).toBe(`audit chain BROKEN at bead #${victim.seq} (POSITION, id ${victim.id}): hash does not match the content: its payload, type, intent id, sequence, id or timestamp was edited (a bead re-pointed to another intent lands here)`);
  });

  it('SAFE-12: a well-formed forged append (public formula, linked onto the head, no trigger dropped) passes the chain but not the anchor journal', async () => {
    h = await withHistory();
    const j0 = await journal(h);
    const forged = forgeAppend(h.dbFile);
    // the database accepted it and the chain alone is fooled
    expect(await verifyAudit(h.app.store)).toMatchObject({ ok: true, head: { seq: forged.seq, hash: forged.hash } });
    const r = await verifyAudit(h.app.store, against(j0.anchors));
    expect(r.ok).toBe(false);
    expect(r.anchor!.unanchored).toEqual({ count: 1, first: { seq: forged.seq, id: 'bd_forged', type: 'KILL_FLAG' }, ranges: [{ from: forged.seq, to: forged.seq }] });
    const cli = await cliVerify(h.dbFile);
    expect(cli.code).toBe(1);
    expect(cli.err.split('\n')[0]).toBe(`audit anchor FAILED at bead #${forged.seq} (KILL_FLAG, id bd_forged): 1 bead(s) not anchored (#${forged.seq}): forged appends, or written by a process without the anchor journal`);
  });

  it('SAFE-12: a forged bead appended while Phoenix runs stays unanchored after Phoenix chains its own beads onto it', async () => {
    h = await withHistory();
    const forged = forgeAppend(h.dbFile);
    // Phoenix carries on: its next transactions link onto the forged head, and it anchors them
    await h.clock.advance(1000);
    await h.engine.submitIntent(h.intent({ quantity: 3 }));
    const beads = allBeads(h.dbFile);
    expect(beads.at(-1)!.seq).toBeGreaterThan(forged.seq + 1);
    expect(beads.find((b) => b.seq === forged.seq + 1)!.prevHash).toBe(forged.hash);
    const j = await journal(h);
    expect(Math.max(...j.anchors.map((a) => a.seq))).toBe(beads.at(-1)!.seq);
    const r = await verifyAudit(h.app.store, against(j.anchors));
    expect(r.ok).toBe(false);
    expect(r.anchor!.unanchored).toMatchObject({ count: 1, first: { seq: forged.seq, id: 'bd_forged' } });
    const cli = await cliVerify(h.dbFile);
    expect(cli.code).toBe(1);
    expect(cli.err).toContain(`audit anchor FAILED at bead #${forged.seq} (KILL_FLAG, id bd_forged): 1 bead(s) not anchored`);
  });

  it('INV-AUDIT-ANCHOR-1: truncation, re-pointing and forged appends are detected against the anchor; a bead re-pointed and the whole chain re-hashed with the public formula fools the chain, not the anchor', async () => {
    h = await withHistory();
    const beads = allBeads(h.dbFile);
    const j = await journal(h);
    const head = beads.at(-1)!;
    const victim = beads.find((b) => b.type === 'FILL')!;
    const other = beads.find((b) => b.intentId && b.intentId !== victim.intentId)!.intentId!;
    // rewrite: re-point the FILL to another intent, then recompute every hash from it to the head
    tamperDb(h.dbFile, (db) => {
      let prev = beads.find((b) => b.seq === victim.seq - 1)!.hash;
      for (const b of beads.filter((x) => x.seq >= victim.seq)) {
        const edited = { ...b, intentId: b.seq === victim.seq ? other : b.intentId, prevHash: prev };
        const hash = beadHashV2(edited);
        db.prepare('UPDATE "Bead" SET intentId = ?, prevHash = ?, hash = ? WHERE seq = ?').run(edited.intentId, prev, hash, b.seq);
        prev = hash;
      }
    });
    expect(await verifyAudit(h.app.store)).toMatchObject({ ok: true, count: beads.length }); // the chain is consistent again
    const r = await verifyAudit(h.app.store, against(j.anchors));
    expect(r.ok).toBe(false);
    const firstAnchored = Math.min(...j.anchors.map((a) => a.seq).filter((s) => s >= victim.seq));
    expect(r.anchor!.mismatch).toMatchObject({ seq: firstAnchored, anchored: beads.find((b) => b.seq === firstAnchored)!.hash });
    // the daily-summary style point anchor of the old head catches it as well
    const p = parsePointAnchor(pointText(head));
    if ('error' in p) throw new Error(p.error);
    expect((await verifyAudit(h.app.store, against([p]))).anchor!.mismatch).toMatchObject({ seq: head.seq, anchored: head.hash });
    const cli = await cliVerify(h.dbFile, '--anchor', pointText(head));
    expect(cli.code).toBe(1);
    expect(cli.err).toMatch(new RegExp(`^audit anchor FAILED at bead #${head.seq} \\(${head.type}, id ${head.id}\\): its hash [0-9a-f]{6}…[0-9a-f]{4} is not the anchored ${head.hash.slice(0, 6)}…${head.hash.slice(-4)} \\(--anchor ${head.seq}:${head.hash}\\): re-written or re-pointed after it was anchored`));
  });

  it('SAFE-12: an edited journal fails verification; a journal line cut short by a crash is only a note; a bad --anchor is a usage error', async () => {
    h = await withHistory();
    const j = await journal(h);
    const text = readFileSync(h.app.anchors.file!, 'utf8');
    const lines = text.trimEnd().split('\n');
    const edited = parseAnchorJournal([...lines.slice(0, 2), lines[2]!.replace(/"hash":"[0-9a-f]{4}/, '"hash":"zzzz'), ...lines.slice(3)].join('\n') + '\n', 'anchors.jsonl');
    expect(edited.malformed).toEqual([expect.stringMatching(/^anchors\.jsonl:3: hash must be 64 lower-case hex digits/)]);
    expect((await verifyAudit(h.app.store, { anchors: { anchors: edited.anchors, malformed: edited.malformed } })).ok).toBe(false);
    const torn = parseAnchorJournal(text + '{"v":1,"kind":"comm', 'anchors.jsonl');
    expect(torn.malformed).toEqual([]);
    expect(torn.torn).toMatch(/last line is cut short/);
    expect(torn.anchors).toHaveLength(j.anchors.length);
    const bad = await cliVerify(h.dbFile, '--anchor', '12:xyz');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/an anchor is FILE or SEQ:HASH/);
    const missing = await cliVerify(h.dbFile, '--anchor', join(h.dbFile, '..', 'nope.jsonl'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/anchor file not found/);
  });

  it('SAFE-12: old v1 beads and new v2 beads verify together after the upgrade; a v1 bead after v2 beads is refused by verify, even with a correct v1 hash', async () => {
    // an install from before SAFE-12: the old migrations, beads hashed the v1 way (no seq, id or intentId)
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-v1-'));
    dirs.push(dir);
    const oldMigrations = join(dir, 'migrations');
    mkdirSync(oldMigrations);
    const pre = listMigrations().filter((m) => m < '20261210000000');
    for (const m of pre) cpSync(join(MIGRATIONS_DIR, m), join(oldMigrations, m), { recursive: true });
    const dbFile = join(dir, 'phoenix.db');
    migrate(dbFile, oldMigrations);
    const v1 = new Database(dbFile);
    let prev = EMPTY_HEAD.hash;
    const t0 = Date.parse('2026-11-20T15:00:00Z');
    const oldPayloads = [
      { type: 'CONFIG', intentId: null, payload: { digest: 'd', mode: 'paper', broker: 'sim', constitution: 'c', telegram: 'none', version: '0.1.0' } },
      { type: 'JOB', intentId: null, payload: { job: 'daily-reset', event: 'DAILY_RESET', detail: 'old' } },
      { type: 'POSITION', intentId: 'int_old', payload: { from: 'PROPOSED', to: 'CANCELLED', reason: 'old' } },
    ];
    oldPayloads.forEach((b, i) => {
      const payload = canonicalJson(b.payload);
      const hash = beadHashV1(prev, b.type, payload, t0 + i);
      v1.prepare('INSERT INTO "Bead"(id, type, intentId, payload, ts, prevHash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)').run(`bd_old${i}`, b.type, b.intentId, payload, iso(t0 + i), prev, hash);
      prev = hash;
    });
    v1.close();

    // Phoenix starts on it: the migration adds the version column (old rows: 1) and the trigger
    h = await harness({ env: { DATABASE_URL: `file:${dbFile}` } });
    const p = await propose(h);
    await h.engine.decide(p.cardId, 'APPROVE', approver);
    await h.settle();
    const beads = allBeads(dbFile);
    expect(beads.slice(0, 3).map((b) => b.hashVersion)).toEqual([1, 1, 1]);
    expect(beads.slice(3).every((b) => b.hashVersion === 2)).toBe(true);
    expect(beads[3]!.prevHash).toBe(beads[2]!.hash);
    const j = await journal(h);
    const r = await verifyAudit(h.app.store, against(j.anchors));
    expect(r).toMatchObject({ ok: true, count: beads.length, versions: { 1: 3, 2: beads.length - 3 } });
    expect(r.anchor).toMatchObject({ ok: true, coverageFrom: 4, before: 3 });
    const cli = await cliVerify(dbFile);
    expect(cli.code).toBe(0);
    expect(cli.out).toContain(`(hash v1: 3, v2: ${beads.length - 3})`);
    expect(cli.out).toContain('; #1–#3 came before the journal began');

    // a v1-style bead after v2 beads, linked onto the head with a correct v1 hash (the old code's way)
    const head = beads.at(-1)!;
    const v1Bead = { id: 'bd_v1_forged', type: 'KILL_FLAG', payload: canonicalJson({ action: 'CLEARED', flagId: 'k', kind: 'MANUAL', reason: 'x' }), ts: head.ts + 1 };
    const v1Hash = beadHashV1(head.hash, v1Bead.type, v1Bead.payload, v1Bead.ts);
    const db = new Database(dbFile);
    try {
      db.prepare('INSERT INTO "Bead"(id, type, intentId, payload, ts, prevHash, hash) VALUES (?, ?, NULL, ?, ?, ?, ?)').run(v1Bead.id, v1Bead.type, v1Bead.payload, iso(v1Bead.ts), head.hash, v1Hash);
    } finally {
      db.close();
    }
    expect(allBeads(dbFile).at(-1)).toMatchObject({ seq: head.seq + 1, hashVersion: 1, hash: v1Hash });
    const refused = await verifyAudit(h.app.store);
    expect(refused.ok).toBe(false);
    expect(refused.firstBreak).toMatchObject({ seq: head.seq + 1, id: 'bd_v1_forged', problem: expect.stringMatching(/^hash version 1 after version-2 beads/) });

    // a v2 bead downgraded in place to v1 (hash recomputed the v1 way, which ignores intentId) is refused too
    tamperDb(dbFile, (d) => d.prepare('DELETE FROM "Bead" WHERE seq = ?').run(head.seq + 1));
    const target = beads.at(-1)!;
    tamperDb(dbFile, (d) => d.prepare('UPDATE "Bead" SET hashVersion = 1, intentId = ?, hash = ? WHERE seq = ?').run('int_elsewhere', beadHashV1(target.prevHash, target.type, target.payload, target.ts), target.seq));
    expect((await verifyAudit(h.app.store)).firstBreak).toMatchObject({ seq: target.seq, problem: expect.stringMatching(/^hash version 1 after version-2 beads/) });
  });
});

/**
 * SAFE-12 on the runtime side: where anchors go and when. The service checks its database
 * against the anchor journal at start-up (adopting and alerting), the journal survives a
 * careless AUDIT_ANCHOR_FILE without blocking a commit, and AUDIT_ANCHOR_URL receives the
 * same journal lines over real HTTP, with failures logged by origin only.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SimBroker } from '../../src/broker/sim/index.js';
import { parseAnchorJournal } from '../../src/engine/audit.anchor.js';
import { verifyAudit } from '../../src/engine/audit.usecase.js';
import { beadHashV2 } from '../../src/engine/beads.js';
import { canonicalJson } from '../../src/engine/canonical.js';
import { seededRandom, silentLogger, type Logger } from '../../src/engine/ports.js';
import { readAnchorJournal } from '../../src/runtime/anchor-journal.js';
import { checkAnchorsAtStartup } from '../../src/runtime/anchor-startup.js';
import { AnchorFileSink, AnchorPublisher, AnchorUrlSink } from '../../src/runtime/anchor-sinks.js';
import { migrate } from '../../src/store/migrate.js';
import { SqliteStore } from '../../src/store/sqlite.store.js';
import { runCli } from '../../src/cli/index.js';
import { startService, type Service } from '../../src/service.js';
import { beadFromRow, iso } from '../../src/store/sqlite.rows.js';
import { FakeClock, flushMicrotasks } from '../support/fake-clock.js';
import { approver, CHAT_ID, IN_SESSION, testConfig, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { propose, tamperDb } from '../engine/helpers.js';

function forgeAppend(dbFile: string): number {
  const db = new Database(dbFile);
  try {
    const head = beadFromRow(db.prepare('SELECT * FROM "Bead" ORDER BY seq DESC LIMIT 1').get() as Record<string, unknown>);
    const b = { seq: head.seq + 1, id: 'bd_forged', type: 'KILL_FLAG', intentId: null, payload: canonicalJson({ action: 'CLEARED', flagId: 'k', kind: 'MANUAL', reason: 'x' }), ts: head.ts + 1, prevHash: head.hash };
    db.prepare('INSERT INTO "Bead"(seq, id, type, intentId, payload, ts, prevHash, hash, hashVersion) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 2)').run(b.seq, b.id, b.type, b.intentId, b.payload, iso(b.ts), b.prevHash, beadHashV2(b));
    return b.seq;
  } finally {
    db.close();
  }
}

async function alertRows(h: { app: Harness['app'] }, type: string) {
  return (await h.app.db.alert.findMany({ where: { type }, orderBy: { createdAt: 'asc' } })).map((a) => ({ ...a, data: JSON.parse(a.payload) as { summary: string; facts?: Record<string, string> } }));
}

/** A logger that keeps every line (as JSON) for secret scans. */
function capture(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (o: object, m?: string) => void lines.push(JSON.stringify({ level, ...o, msg: m }));
  const l: Logger & { lines: string[] } = { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: () => l };
  return l;
}

describe('SAFE-12: anchor journal at start-up and its destinations', () => {
  let h: Harness | undefined;
  let service: Service | null = null;
  let server: Server | null = null;
  const dirs: string[] = [];
  // after each test, in this order (vitest runs a scope's afterEach hooks last registered first):
  // the service stops, the harness closes, then the anchor server and the temp dirs go
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = null;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const harness = useHarness();
  afterEach(async () => {
    await service?.stop();
    service = null;
  });

  it('SAFE-12: start-up check: in step with the journal → nothing; beads ahead of it → adopted + CRITICAL alert; a log behind its journal (newest beads deleted) → CRITICAL alert, not papered over', async () => {
    h = await harness();
    const p = await propose(h);
    await h.engine.decide(p.cardId, 'APPROVE', approver);
    await h.settle();
    const { file, publisher } = h.app.anchors;
    const check = async () => {
      await publisher.flush();
      const r = await checkAnchorsAtStartup({ store: h!.app.store, file, publisher, clock: h!.clock, logger: silentLogger });
      await publisher.flush();
      return r;
    };
    const head = async () => (await h!.app.store.tx((tx) => tx.beads.head()))!;

    expect(await check()).toMatchObject({ kind: 'ok' });
    expect(await alertRows(h, 'AUDIT_ANCHOR_MISMATCH')).toHaveLength(0);

    // a bead appended while Phoenix was down: adopted, and a person is told which
    const forged = forgeAppend(h.dbFile);
    expect(await check()).toEqual({ kind: 'adopted', head: forged, anchored: forged - 1, from: forged });
    const [adopted] = await alertRows(h, 'AUDIT_ANCHOR_MISMATCH');
    expect(adopted!.severity).toBe('CRITICAL');
    expect(adopted!.data.summary).toMatch(new RegExp(`^1 audit bead\\(s\\) #${forged}–#${forged} were in the database but not in the anchor journal at start-up: committed just before a crash, or appended by someone else`));
    const j = (await readAnchorJournal(file!))!;
    expect(j.anchors.find((a) => a.kind === 'adopt')).toMatchObject({ from: forged, seq: forged });
    // verify passes then (the alert was the evidence) and lists what was adopted
    const r = await verifyAudit(h.app.store, { anchors: j });
    expect(r.ok).toBe(true);
    expect(r.anchor!.adopted).toEqual([expect.objectContaining({ from: forged, to: forged })]);
    expect(await check()).toMatchObject({ kind: 'ok' }); // adopted once, not on every start

    // the newest beads deleted: the log is behind its journal
    const h1 = await head();
    const linesBefore = readFileSync(file!, 'utf8');
    tamperDb(h.dbFile, (db) => db.prepare('DELETE FROM "Bead" WHERE seq > ?').run(h1.seq - 2));
    expect(await check()).toEqual({ kind: 'behind', head: h1.seq - 2, anchored: h1.seq });
    expect((await alertRows(h, 'AUDIT_ANCHOR_MISMATCH')).at(-1)!.data.summary).toBe(`Audit log ends at bead #${h1.seq - 2} but its anchor journal has #${h1.seq}: 2 anchored bead(s) are missing (deleted, or the database was restored from an older backup).`);
    // not papered over: the journal got only the alert's own commit line, no adopt or start
    const added = parseAnchorJournal(readFileSync(file!, 'utf8').slice(linesBefore.length), 'added').anchors;
    expect(added.map((a) => a.kind)).toEqual(['commit']);
    expect((await verifyAudit(h.app.store, { anchors: (await readAnchorJournal(file!))! })).ok).toBe(false);
  });

  it('SAFE-12: start-up check: a journal deleted → restarted at the head with a WARNING; an anchored bead re-written → CRITICAL', async () => {
    h = await harness();
    await propose(h);
    const { file, publisher } = h.app.anchors;
    await publisher.flush();
    const check = () => checkAnchorsAtStartup({ store: h!.app.store, file, publisher, clock: h!.clock, logger: silentLogger });

    unlinkSync(file!);
    const now = (await h.app.store.tx((tx) => tx.beads.head()))!;
    expect(await check()).toMatchObject({ kind: 'new', head: now.seq });
    const [started] = await alertRows(h, 'AUDIT_ANCHOR_JOURNAL');
    expect(started!.severity).toBe('WARNING');
    expect(started!.data.summary).toContain(`Audit anchor journal started at bead #${now.seq}`);
    await publisher.flush();
    const j = (await readAnchorJournal(file!))!;
    expect(j.anchors[0]).toMatchObject({ kind: 'start', seq: now.seq, hash: now.hash });
    const r = await verifyAudit(h.app.store, { anchors: j });
    expect(r).toMatchObject({ ok: true, anchor: { coverageFrom: now.seq + 1, before: now.seq } });

    const last = (await h.app.store.tx((tx) => tx.beads.head()))!;
    tamperDb(h.dbFile, (db) => db.prepare('UPDATE "Bead" SET hash = ? WHERE seq = ?').run('e'.repeat(64), last.seq));
    expect(await check()).toMatchObject({ kind: 'rewritten', anchored: last.seq });
    expect((await alertRows(h, 'AUDIT_ANCHOR_MISMATCH')).at(-1)!.data.summary).toMatch(new RegExp(`^Audit bead #${last.seq} is not the one anchored \\(${last.hash.slice(0, 6)}…${last.hash.slice(-4)}, now eeeeee…eeee\\): the log was re-written`));
  });

  it('SAFE-12: the real service checks before it writes: a bead forged while it was down is adopted at the next start with an AUDIT_ANCHOR_MISMATCH alert', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-anchor-svc-'));
    dirs.push(dir);
    const dbFile = join(dir, 'phoenix.db');
    const clock = new FakeClock(IN_SESSION);
    const config = testConfig({ DATABASE_URL: `file:${dbFile}` });
    const boot = async (seed: number) => {
      const sim = new SimBroker({ clock, random: seededRandom(seed), profile: 'INSTANT', prices: { MES: 6010.25 } });
      service = await startService({ config, clock, random: seededRandom(seed + 1), logger: silentLogger, broker: sim, chatId: CHAT_ID, telegramLabel: 'none', intakePort: 0, sweepEveryMs: 0 });
      for (let i = 0; i < 3; i++) {
        await flushMicrotasks();
        await service.app.engine.pendingEvents();
      }
      return service;
    };
    const first = await boot(1);
    expect(first.app.anchors.file).toBe(join(dir, 'phoenix.anchors.jsonl'));
    await first.stop(); // clean shutdown flushes the journal
    service = null;
    const journalLines = readFileSync(join(dir, 'phoenix.anchors.jsonl'), 'utf8').trimEnd().split('\n');
    expect(JSON.parse(journalLines[0]!)).toMatchObject({ kind: 'start', seq: 0 }); // fresh database: the journal starts at the genesis
    const forged = forgeAppend(dbFile);

    const second = await boot(3);
    const alerts = await second.app.db.alert.findMany({ where: { type: 'AUDIT_ANCHOR_MISMATCH' } });
    expect(alerts).toHaveLength(1);
    expect(JSON.parse(alerts[0]!.payload).summary).toContain(`#${forged}–#${forged}`);
    // the alert came before this start's CONFIG bead: the check ran before the service wrote
    const beads = await second.app.store.tx((tx) => tx.beads.page(forged, 100));
    expect(beads.findIndex((b) => b.type === 'ALERT')).toBeLessThan(beads.findIndex((b) => b.type === 'CONFIG'));
    await second.app.anchors.publisher.flush();
    const r = await verifyAudit(second.app.store, { anchors: (await readAnchorJournal(second.app.anchors.file!))! });
    expect(r.ok).toBe(true);
    expect(r.anchor!.adopted.map((a) => [a.from, a.to])).toEqual([[forged, forged]]);
  });

  it('SAFE-12: a careless AUDIT_ANCHOR_FILE (a directory) never blocks a commit or a trade: the failure is logged, and the lines are kept for a retry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-anchor-dir-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'anchors'));
    // the store's own path, with a logger we can read
    const dbFile = join(dir, 'phoenix.db');
    migrate(dbFile);
    const logger = capture();
    const publisher = new AnchorPublisher([new AnchorFileSink(join(dir, 'anchors'), logger)], new FakeClock(IN_SESSION));
    const store = new SqliteStore(dbFile, { onBeadsCommitted: publisher.committed });
    await store.tx(async (tx) => tx.beads.append({ type: 'JOB', intentId: null, ts: Date.parse(IN_SESSION), payload: { job: 'x', event: 'DAILY_RESET', detail: 'kept' } }));
    expect(await store.tx((tx) => tx.beads.count())).toBe(1);
    await publisher.flush();
    await store.close();
    expect(logger.lines.join('\n')).toMatch(/"level":"error".*"err":"EISDIR".*audit anchor file: append failed; retrying/);

    // the whole engine on such a configuration: the approval still reaches the broker
    h = await harness({ env: { AUDIT_ANCHOR_FILE: join(dir, 'anchors') } });
    const p = await propose(h);
    expect((await h.engine.decide(p.cardId, 'APPROVE', approver)).kind).toBe('approved');
    await h.settle();
    expect((await h.app.store.tx((tx) => tx.intents.get(p.intentId)))!.state).toBe('MANAGED');
    // start-up does not crash on it either: a person is told
    expect(await checkAnchorsAtStartup({ store: h.app.store, file: h.app.anchors.file, publisher: h.app.anchors.publisher, clock: h.clock, logger: silentLogger })).toMatchObject({ kind: 'unreadable' });
    const [warned] = await alertRows(h, 'AUDIT_ANCHOR_JOURNAL');
    expect(warned!.severity).toBe('WARNING');
    expect(warned!.data.summary).toBe(`The audit anchor journal ${join(dir, 'anchors')} cannot be read (EISDIR): beads are not being anchored outside the database. Fix AUDIT_ANCHOR_FILE and restart.`);
    // and verify says what is wrong instead of crashing
    const out: string[] = [];
    const code = await runCli(['audit', 'verify'], { out: (l) => out.push(l), err: (l) => out.push(l), readStdin: async () => '', confirm: async () => false }, { DATABASE_URL: `file:${h.dbFile}`, AUDIT_ANCHOR_FILE: join(dir, 'anchors') }, process.cwd());
    expect(code).toBe(2);
    expect(out.join('\n')).toContain(`anchor journal ${join(dir, 'anchors')} cannot be read (EISDIR)`);
  });

  it('SAFE-12: AUDIT_ANCHOR_URL receives the journal lines as NDJSON over HTTP; a failing URL is retried and logged by origin only (no path, query or token)', async () => {
    const bodies: string[] = [];
    let failFirst = 2;
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        expect(req.method).toBe('POST');
        expect(req.headers['content-type']).toBe('application/x-ndjson');
        if (failFirst-- > 0) {
          res.writeHead(503).end('busy');
          return;
        }
        bodies.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const url = `http://127.0.0.1:${port}/hooks/anchor?token=SECRET-ANCHOR-TOKEN-42`;
    const logger = capture();
    const sink = new AnchorUrlSink(url, logger, { minGapMs: 0 });
    const lines = [1, 2, 3].map((n) => `${JSON.stringify({ v: 1, kind: 'commit', from: n, seq: n, hash: String(n).repeat(64), at: '2026-11-24T15:00:00.000Z' })}\n`);
    sink.write(lines.slice(0, 2));
    sink.write(lines.slice(2));
    // retried with back-off (1 s, 2 s) until it lands, with nothing lost or duplicated
    for (let i = 0; i < 100 && !bodies.length; i++) await new Promise((r) => setTimeout(r, 50));
    expect(bodies).toEqual([lines.join('')]);
    expect(parseAnchorJournal(bodies[0]!, 'posted').anchors.map((a) => a.seq)).toEqual([1, 2, 3]);
    const logged = logger.lines.join('\n');
    expect(logged).toContain(`"url":"http://127.0.0.1:${port}"`);
    expect(logged).toContain('"status":503');
    expect(logged).not.toContain('SECRET-ANCHOR-TOKEN-42');
    expect(logged).not.toContain('/hooks/anchor');
    await sink.flush();

    // wired through createApp: every commit is posted, the service never waits for it
    const received: string[] = [];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        received.push(body);
        res.writeHead(204).end();
      });
    });
    h = await harness({ env: { AUDIT_ANCHOR_URL: url } });
    await propose(h);
    await h.app.anchors.publisher.flush();
    const posted = parseAnchorJournal(received.join(''), 'posted');
    const fileJournal = (await readAnchorJournal(h.app.anchors.file!))!;
    expect(posted.anchors.map((a) => [a.from, a.seq, a.hash])).toEqual(fileJournal.anchors.map((a) => [a.from, a.seq, a.hash]));
    expect((await verifyAudit(h.app.store, { anchors: posted })).ok).toBe(true);
  });
});

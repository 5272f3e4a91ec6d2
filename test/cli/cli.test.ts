/**
 * Operator CLI (SPEC 2, 13) through `runCli` with a fake terminal, on real SQLite files:
 * `audit verify` names a tampered bead, `intent submit FILE|-` goes through the same
 * validation and gates as HTTP, `audit export --intent/--since` prints JSON lines.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import type { CliIo } from '../../src/cli/context.js';
import { silentLogger } from '../../src/engine/ports.js';
import type { ServiceFacts } from '../../src/http/admin.schema.js';
import { startIntake, type IntakeServer } from '../../src/http/intake.server.js';
import { approver, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { beadRows, propose, tamperDb } from '../engine/helpers.js';
import { readmeIntentBody } from '../support/fixtures.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const CONSTITUTION = join(repoRoot, 'config', 'constitution.yaml');
const DEMO_CONSTITUTION = join(repoRoot, 'config', 'constitution.demo.yaml');

function terminal(stdin = '') {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), readStdin: async () => stdin, confirm: async () => false };
  return { io, out, err };
}

/** An intent valid at the real current time (the CLI runs on the system clock). */
function realTimeIntent(signalId: string, over: Record<string, unknown> = {}) {
  return readmeIntentBody(signalId, new Date().toISOString(), over);
}

function count(dbFile: string, table: string): number {
  const db = new Database(dbFile, { readonly: true });
  try {
    return (db.prepare(`SELECT COUNT(*) AS n FROM "${table}"`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('CLI: audit verify on a tampered file', () => {
  let h: Harness;
  const harness = useHarness();

  it('INV-AUDIT-CHAIN-1: `phoenix audit verify` passes on an intact chain and, after one bead is edited, exits non-zero naming that bead (seq and id)', async () => {
    h = await harness();
    const p = await propose(h);
    await h.engine.decide(p.cardId, 'APPROVE', approver);
    await h.settle();
    const env = { DATABASE_URL: `file:${h.dbFile}`, CONSTITUTION_PATH: CONSTITUTION };

    const ok = terminal();
    expect(await runCli(['audit', 'verify'], ok.io, env, repoRoot)).toBe(0);
    expect(ok.out.join('\n')).toMatch(new RegExp(`audit chain OK: ${beadRows(h.dbFile).length} beads verified`));
    expect(ok.err).toEqual([]);

    const victim = beadRows(h.dbFile).find((b) => b.type === 'T2_TOKEN')!;
    const edited = victim.payload.replace('"ISSUED"', '"USED"');
    expect(edited).not.toBe(victim.payload);
    tamperDb(h.dbFile, (db) => db.prepare('UPDATE "Bead" SET payload = ? WHERE seq = ?').run(edited, victim.seq));

    const bad = terminal();
    const code = await runCli(['audit', 'verify'], bad.io, env, repoRoot);
    expect(code).not.toBe(0);
    expect(code).toBe(1);
    const text = bad.err.join('\n');
    expect(text).toContain(`#${victim.seq}`);
    expect(text).toContain(victim.id);
    expect(text).toMatch(/BROKEN/);
    expect(text).toMatch(/T2_TOKEN/);
    expect(bad.out).toEqual([]);
  });

  it('INV-AUDIT-CHAIN-1: `phoenix audit verify` also names the link after a deleted bead', async () => {
    h = await harness();
    await propose(h);
    await propose(h);
    const rows = beadRows(h.dbFile);
    const victim = rows[3]!;
    const next = rows[4]!;
    tamperDb(h.dbFile, (db) => db.prepare('DELETE FROM "Bead" WHERE seq = ?').run(victim.seq));
    const t = terminal();
    expect(await runCli(['audit', 'verify'], t.io, { DATABASE_URL: `file:${h.dbFile}`, CONSTITUTION_PATH: CONSTITUTION }, repoRoot)).toBe(1);
    expect(t.err.join('\n')).toContain(`#${next.seq}`);
    expect(t.err.join('\n')).toContain(next.id);
  });
});

describe('CLI: intent submit and audit export', () => {
  let dir: string;
  let dbFile: string;
  let env: Record<string, string>;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'phoenix-cli-'));
    dbFile = join(dir, 'phoenix.db');
    env = { DATABASE_URL: `file:${dbFile}`, CONSTITUTION_PATH: DEMO_CONSTITUTION, USER: 'ops' };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('`phoenix intent submit FILE` runs the same validation and gates as HTTP and stores the intent', async () => {
    const file = join(dir, 'intent.json');
    writeFileSync(file, JSON.stringify(realTimeIntent('cli-file-0001')));
    const t = terminal();
    expect(await runCli(['intent', 'submit', file], t.io, env, repoRoot)).toBe(0);
    expect(t.out).toHaveLength(1);
    const res = JSON.parse(t.out[0]!) as { intentId: string; state: string; denials: unknown[] };
    expect(res.intentId).toMatch(/^int_/);
    // the demo constitution keeps the session open; the CLI process has no broker: the card waits for the service
    expect(res).toMatchObject({ state: 'PROPOSED', denials: [] });
    const db = new Database(dbFile, { readonly: true });
    try {
      expect(db.prepare('SELECT signalId, state FROM "Intent"').all()).toEqual([{ signalId: 'cli-file-0001', state: 'PROPOSED' }]);
      const intentBead = db.prepare(`SELECT payload FROM "Bead" WHERE type = 'INTENT'`).get() as { payload: string };
      expect(JSON.parse(intentBead.payload)).toMatchObject({ source: 'cli', outcome: 'PROPOSED' });
    } finally {
      db.close();
    }
    // the same file again: duplicate, nothing new (exit 3)
    const again = terminal();
    expect(await runCli(['intent', 'submit', file], again.io, env, repoRoot)).toBe(3);
    expect(JSON.parse(again.out[0]!)).toEqual({ duplicate: true, intentId: res.intentId, state: 'PROPOSED' });
    expect(count(dbFile, 'Intent')).toBe(1);
  });

  it('`phoenix intent submit -` reads standard input; gates apply (a risky intent is CANCELLED with its denial)', async () => {
    const t = terminal(JSON.stringify(realTimeIntent('cli-stdin-0001', { stopLoss: 6005 })));
    expect(await runCli(['intent', 'submit', '-'], t.io, env, repoRoot)).toBe(0);
    const res = JSON.parse(t.out[0]!) as { state: string; denials: { code: string }[] };
    expect(res.state).toBe('CANCELLED');
    expect(res.denials.map((d) => d.code)).toEqual(['RISK_PER_TRADE']);
    expect(count(dbFile, 'Intent')).toBe(1);
  });

  it('`phoenix intent submit` refuses invalid input with every issue and stores nothing', async () => {
    const t = terminal(JSON.stringify(realTimeIntent('cli-bad-0001', { quantity: -2, stopLoss: 7000, extra: true })));
    expect(await runCli(['intent', 'submit', '-'], t.io, env, repoRoot)).toBe(1);
    const text = t.err.join('\n');
    expect(text).toMatch(/invalid intent \(\d+ problems\); nothing stored/);
    expect(text).toContain('quantity: quantity must be greater than 0');
    expect(text).toContain('stopLoss: stopLoss must be below entryPrice for a BUY');
    expect(text).toContain('unknown field(s): extra');
    const malformed = terminal('{"signalId": ');
    expect(await runCli(['intent', 'submit', '-'], malformed.io, env, repoRoot)).toBe(1);
    expect(malformed.err.join('\n')).toMatch(/malformed JSON/);
    const noArg = terminal();
    expect(await runCli(['intent', 'submit'], noArg.io, env, repoRoot)).toBe(2);
    expect(noArg.err.join('\n')).toMatch(/usage: phoenix intent submit FILE\|-/);
    // nothing was stored (the database may not even have been created for these)
    let intents = 0;
    try {
      intents = count(dbFile, 'Intent');
    } catch {
      intents = 0;
    }
    expect(intents).toBe(0);
  });

  it('configuration problems fail closed with exit 2 and say what to fix', async () => {
    const t = terminal();
    expect(await runCli(['audit', 'verify'], t.io, { DATABASE_URL: 'postgres://x', CONSTITUTION_PATH: join(dir, 'missing.yaml') }, repoRoot)).toBe(2);
    const text = t.err.join('\n');
    expect(text).toMatch(/DATABASE_URL: must be a SQLite file URL/);
    expect(text).toMatch(/missing\.yaml does not exist/);
  });
});

describe('CLI: audit export', () => {
  let h: Harness;
  const harness = useHarness();

  it('`phoenix audit export --intent ID` prints that intent\'s beads in order; `--since` filters by time', async () => {
    h = await harness();
    const t0 = h.clock.now();
    const first = await propose(h);
    await h.clock.advance(60_000);
    const second = await propose(h);
    await h.engine.decide(second.cardId, 'APPROVE', approver);
    await h.settle();
    const env = { DATABASE_URL: `file:${h.dbFile}`, CONSTITUTION_PATH: CONSTITUTION };

    const ex = terminal();
    expect(await runCli(['audit', 'export', '--intent', first.intentId], ex.io, env, repoRoot)).toBe(0);
    const lines = ex.out.map((l) => JSON.parse(l) as { seq: number; type: string; intentId: string; ts: string; hash: string; prevHash: string; payload: Record<string, unknown> });
    expect(lines.map((l) => l.type)).toEqual(['GATE', 'INTENT', 'CARD']);
    expect(lines.every((l) => l.intentId === first.intentId)).toBe(true);
    expect(lines.map((l) => l.seq)).toEqual([...lines.map((l) => l.seq)].sort((x, y) => x - y));
    expect(lines[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(lines[0]!.ts).toBe(new Date(t0).toISOString());
    expect(lines[1]!.payload).toMatchObject({ outcome: 'PROPOSED', source: 'http' });

    const full = terminal();
    expect(await runCli(['audit', 'export', '--intent', second.intentId], full.io, env, repoRoot)).toBe(0);
    const types = full.out.map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types).toEqual(expect.arrayContaining(['INTENT', 'T2_TOKEN', 'POSITION', 'ORDER', 'FILL']));

    const cut = new Date(t0 + 30_000).toISOString();
    const since = terminal();
    expect(await runCli(['audit', 'export', '--since', cut], since.io, env, repoRoot)).toBe(0);
    const sinceLines = since.out.map((l) => JSON.parse(l) as { intentId: string | null; ts: string });
    expect(sinceLines.length).toBe(full.out.length);
    expect(sinceLines.every((l) => Date.parse(l.ts) >= Date.parse(cut))).toBe(true);
    expect(sinceLines.some((l) => l.intentId === second.intentId)).toBe(true);
    expect(sinceLines.some((l) => l.intentId === first.intentId)).toBe(false);

    // issue 16: an unknown intent is an error (exit 1), not an empty success: a typo must not look like "no history"
    const none = terminal();
    expect(await runCli(['audit', 'export', '--intent', 'int_nope'], none.io, env, repoRoot)).toBe(1);
    expect(none.out).toEqual([]);
    expect(none.err).toEqual(['no intent int_nope in this database (no beads for it): check the id (phoenix status lists open ones; ids look like int_…)']);
    // nothing since a time is not an error: the log simply has nothing newer
    const later = terminal();
    expect(await runCli(['audit', 'export', '--since', '2099-01-01T00:00:00Z'], later.io, env, repoRoot)).toBe(0);
    expect(later.out).toEqual([]);
    expect(later.err).toEqual(['no beads since 2099-01-01T00:00:00Z']);

    const badSince = terminal();
    expect(await runCli(['audit', 'export', '--since', 'last tuesday'], badSince.io, env, repoRoot)).toBe(2);
    expect(badSince.err.join('\n')).toMatch(/--since must be an ISO time/);
  });
});

describe('CLI: a STALLED entry resolved by hand (SAFE-13)', () => {
  let h: Harness;
  const harness = useHarness();

  it('SAFE-13: `phoenix intent resolve-stalled ID --checked "…"` closes a STALLED entry with no broker id, audited with the operator and the note; without --checked it refuses', async () => {
    h = await harness();
    h.sim!.faults.timeoutNext();
    const p = await propose(h);
    await h.engine.decide(p.cardId, 'APPROVE', approver);
    await h.app.store.tx(async (tx) => {
      for (const role of ['ENTRY', 'STOP', 'TARGET'] as const) await tx.orders.update(p.intentId, role, { brokerOrderId: null });
    });
    await h.clock.advance(61_000);
    expect(await h.engine.detectStalls()).toEqual([p.intentId]);
    const env = { DATABASE_URL: `file:${h.dbFile}`, CONSTITUTION_PATH: CONSTITUTION, USER: 'ops' };
    const bad = terminal();
    expect(await runCli(['intent', 'resolve-stalled', p.intentId], bad.io, env, repoRoot)).not.toBe(0);
    const t = terminal();
    expect(await runCli(['intent', 'resolve-stalled', p.intentId, '--checked', 'TWS: nothing with this Order Ref'], t.io, env, repoRoot)).toBe(0);
    expect(t.out.join('\n')).toContain(`Resolved: ${p.intentId} is CANCELLED (checked at the broker by ops (CLI): TWS: nothing with this Order Ref)`);
    const row = new Database(h.dbFile, { readonly: true });
    try {
      expect(row.prepare(`SELECT state, stateReason FROM "Intent" WHERE id = ?`).get(p.intentId)).toEqual({ state: 'CANCELLED', stateReason: 'resolved by ops (CLI) after checking the broker: TWS: nothing with this Order Ref' });
    } finally {
      row.close();
    }
  });
});

describe('CLI: unknown commands (issue 16)', () => {
  it('issue 16: an unknown command says "unknown command X" and prints the help on stderr, exit 2; no command or help is exit 0 with the help', async () => {
    const typo = terminal();
    expect(await runCli(['stauts'], typo.io, {}, repoRoot)).toBe(2);
    expect(typo.err[0]).toBe('unknown command: stauts');
    expect(typo.err.join('\n')).toContain('Phoenix operator CLI');
    expect(typo.out).toEqual([]);
    // a command group without its verb is not a command either
    const partial = terminal();
    expect(await runCli(['audit'], partial.io, {}, repoRoot)).toBe(2);
    expect(partial.err[0]).toBe('unknown command: audit');
    for (const argv of [[], ['help'], ['status', '--help']]) {
      const t = terminal();
      expect(await runCli(argv, t.io, {}, repoRoot), argv.join(' ')).toBe(0);
      expect(t.out.join('\n')).toContain('Phoenix operator CLI');
      expect(t.out.join('\n')).toContain('Add --demo to any command');
      expect(t.err).toEqual([]);
    }
  });
});

describe('CLI: status and intent submit talk to the running service on their database (issue 16)', () => {
  const TOKEN = 'cli-intake-token-0123456789abcdef';
  let h: Harness;
  let intake: IntakeServer;
  let env: Record<string, string>;
  let other: string;
  const harness = useHarness();
  beforeEach(async () => {
    h = await harness();
    const facts: ServiceFacts = { version: '0.1.0', pid: 4242, startedAt: h.clock.now(), database: h.dbFile, demoData: false, constitution: { name: 'default', path: CONSTITUTION, demo: false, timeZone: 'America/New_York' }, mode: 'paper', broker: { name: 'sim' }, intake: '', telegram: 'sandbox' };
    intake = await startIntake({ engine: h.engine, logger: silentLogger, host: '127.0.0.1', port: 0, ratePerMinute: 600, token: TOKEN, admin: { facts: () => facts } });
    env = { DATABASE_URL: `file:${h.dbFile}`, CONSTITUTION_PATH: CONSTITUTION, INTAKE_PORT: new URL(intake.url).port, INTAKE_TOKEN: TOKEN };
    other = mkdtempSync(join(tmpdir(), 'phoenix-cli-other-'));
  });
  afterEach(async () => {
    await intake?.close();
    rmSync(other, { recursive: true, force: true });
  });

  it('issue 16: `phoenix status` shows the service\'s own status (its clock, its broker), `intent submit` is answered by the service and recorded as from the CLI', async () => {
    h.sim!.faults.disconnect();
    await h.settle();
    const s = terminal();
    expect(await runCli(['status'], s.io, env, repoRoot)).toBe(0);
    expect(s.out[0]).toBe(`Service: running at ${intake.url} — pid 4242, up since Tue 10:00 EST, database ${h.dbFile}`);
    expect(s.out.join('\n')).toContain('Broker: sim DISCONNECTED (not submitting)');
    await h.sim!.faults.reconnect();
    await h.settle();

    const t = terminal(JSON.stringify(h.intent()));
    expect(await runCli(['intent', 'submit', '-'], t.io, env, repoRoot)).toBe(0);
    expect(t.err).toEqual([`sent to the running service at ${intake.url} (constitution "default", PAPER mode, broker sim READY)`]);
    const res = JSON.parse(t.out[0]!) as { intentId: string; state: string };
    expect(res.state).toBe('PROPOSED');
    const bead = (await h.app.db.bead.findMany({ where: { type: 'INTENT', intentId: res.intentId } }))[0]!;
    expect(JSON.parse(bead.payload)).toMatchObject({ source: 'cli' });
  });

  it('issue 16: a Phoenix that refuses this shell\'s INTAKE_TOKEN gets nothing from intent submit (it may be the service on this database): exit 1, nothing stored', async () => {
    const t = terminal(JSON.stringify(h.intent()));
    expect(await runCli(['intent', 'submit', '-'], t.io, { ...env, INTAKE_TOKEN: 'not-the-service-token-0123456789' }, repoRoot)).toBe(1);
    expect(t.err[0]).toBe("Nothing submitted: a Phoenix is running but refused this shell's INTAKE_TOKEN.");
    expect(t.err.join('\n')).toContain('set INTAKE_TOKEN (in .env or the environment) to the value the service runs with');
    expect(await h.app.db.intent.count()).toBe(0);
  });

  it('issue 16: a Phoenix on ANOTHER database is named, never used: the CLI falls back to its own database and says so', async () => {
    const mine = join(other, 'phoenix.db');
    const s = terminal();
    expect(await runCli(['status'], s.io, { ...env, DATABASE_URL: `file:${mine}` }, repoRoot)).toBe(0);
    expect(s.out.slice(0, 3)).toEqual([
      `No service reachable on this database — showing the database (${mine}).`,
      `  ${intake.url} is a Phoenix on another database (${h.dbFile})`,
      '  no database there yet: npm start creates it (nothing has run on this configuration)',
    ]);
    const t = terminal(JSON.stringify(realTimeIntent('cli-other-db-1')));
    expect(await runCli(['intent', 'submit', '-'], t.io, { ...env, DATABASE_URL: `file:${mine}`, CONSTITUTION_PATH: DEMO_CONSTITUTION }, repoRoot)).toBe(0);
    expect(t.err[0]).toBe(`No service reachable on this database — checking the intent with this shell's configuration (constitution "demo", config/constitution.demo.yaml) and storing it in the database (${mine}).`);
    expect(count(mine, 'Intent')).toBe(1);
    expect(await h.app.db.intent.count()).toBe(0); // the running service's database got nothing
  });
});

/**
 * `phoenix doctor` (SPEC 2) through `runCli`, against real things on 127.0.0.1: a migrated
 * SQLite file, the Telegram sandbox (with its own bot token, so wrong tokens get 401), the
 * TWS wire-protocol test server, closed and busy ports. A good configuration is all OK (exit
 * 0); each broken one FAILs or WARNs with its fix printed, and no secret is ever printed.
 */
import '../support/no-external-network.js';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import type { CliIo } from '../../src/cli/context.js';
import { runDoctor } from '../../src/cli/doctor.js';
import { silentLogger } from '../../src/engine/ports.js';
import { startIntake } from '../../src/http/intake.server.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { listMigrations, migrate, MIGRATIONS_DIR } from '../../src/store/migrate.js';
import { makeHarness } from '../support/harness.js';
import { TwsTestServer } from '../support/tws/index.js';
import { freePort } from '../support/ports.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const CONSTITUTION = join(repoRoot, 'config', 'constitution.yaml');
const TOKEN = '123456789:AAHdoctorTestSecretPart0123456789';
const SECRET_HALF = TOKEN.split(':')[1]!;
const WRONG_TOKEN = '123456789:AAHsomeOtherRevokedToken987654321';
const INTAKE_TOKEN = 'intake-secret-0123456789abcdef';

function terminal() {
  const out: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => out.push(l), readStdin: async () => '', confirm: async () => false };
  return { io, text: () => out.join('\n') };
}

/** the report line of one check: "STATUS name summary" */
function line(text: string, name: string): string {
  const l = text.split('\n').find((x) => new RegExp(`^(OK|WARN|FAIL|SKIP)\\s+${name}\\s{2,}`).test(x));
  if (!l) throw new Error(`no "${name}" line in:\n${text}`);
  return l;
}
const statusOf = (text: string, name: string) => line(text, name).split(/\s+/)[0];

function noSecrets(text: string, ...secrets: string[]) {
  for (const s of [TOKEN, SECRET_HALF, WRONG_TOKEN, WRONG_TOKEN.split(':')[1]!, INTAKE_TOKEN, ...secrets]) expect(text).not.toContain(s);
}

let sandbox: Sandbox;
let dir: string;
let dbFile: string;
let intakePort: number;

async function doctor(over: Record<string, string | undefined> = {}, args: string[] = []) {
  const env: Record<string, string | undefined> = {
    DATABASE_URL: `file:${dbFile}`,
    CONSTITUTION_PATH: CONSTITUTION,
    BROKER: 'sim',
    TRADING_MODE: 'paper',
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: sandbox.apiRoot,
    TELEGRAM_CHAT_ID: '-1001001',
    TELEGRAM_APPROVERS: '1001',
    TELEGRAM_ADMINS: '1002',
    INTAKE_HOST: '127.0.0.1',
    INTAKE_PORT: String(intakePort),
    ...over,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const t = terminal();
  const code = await runCli(['doctor', ...args], t.io, env, dir);
  return { code, text: t.text() };
}

beforeAll(async () => {
  sandbox = await startSandbox({ token: TOKEN });
});
afterAll(async () => {
  await sandbox.close();
});
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'phoenix-doctor-'));
  dbFile = join(dir, 'data', 'phoenix.db');
  migrate(dbFile);
  intakePort = await freePort();
  sandbox.reset();
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('phoenix doctor: a good configuration', () => {
  it('sim broker, sandbox Telegram via getMe with a real token, migrated database, free intake port → every check OK, exit 0, no secret printed', async () => {
    const { code, text } = await doctor();
    expect(code).toBe(0);
    for (const name of ['configuration', 'service', 'database', 'audit chain', 'broker', 'telegram', 'telegram updates', 'telegram chat', 'intake', 'intake auth']) expect(statusOf(text, name), name).toBe('OK');
    expect(line(text, 'service')).toMatch(/not running on this database \(.*phoenix\.db\): the checks below use this shell's configuration \(\.env and the environment\)/);
    expect(line(text, 'database')).toContain(`WAL, ${listMigrations().length}/${listMigrations().length} migrations applied`);
    expect(line(text, 'broker')).toMatch(/always reachable, account DU0000001 \(paper\) matches PAPER/);
    expect(line(text, 'telegram')).toMatch(/bot @phoenix_sandbox_bot \(id 123456789\)/);
    expect(line(text, 'telegram updates')).toMatch(/long polling \(no webhook registered\)/);
    expect(line(text, 'intake')).toMatch(new RegExp(`127\\.0\\.0\\.1:${intakePort} is free`));
    expect(text).toMatch(/10 checks: 10 OK, 0 WARN, 0 FAIL — all good/);
    expect(sandbox.calls.map((c) => c.method)).toEqual(expect.arrayContaining(['getMe', 'getWebhookInfo']));
    noSecrets(text);
  });

  it('no TELEGRAM_BOT_TOKEN → "sandbox mode" OK with a note; the audit chain of a used database verifies', async () => {
    const h = await makeHarness();
    try {
      for (let i = 0; i < 3; i++) await h.engine.submitIntent(h.intent(), 'http');
      const { code, text } = await doctor({ DATABASE_URL: `file:${h.dbFile}`, TELEGRAM_BOT_TOKEN: undefined, TELEGRAM_API_ROOT: undefined, TELEGRAM_APPROVERS: undefined, TELEGRAM_ADMINS: undefined });
      expect(code).toBe(0);
      expect(line(text, 'telegram')).toMatch(/^OK\s+telegram\s+sandbox mode \(no TELEGRAM_BOT_TOKEN\)/);
      expect(text).toContain('for real Telegram set TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID and TELEGRAM_APPROVERS');
      expect(line(text, 'audit chain')).toMatch(/^OK\s+audit chain\s+all \d+ beads verified/);
      expect(sandbox.calls).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('BROKER=ibkr against the TWS test server with a DU… account in PAPER → OK, names the managed account', async () => {
    const tws = new TwsTestServer({ accounts: ['DU1234567'] });
    const port = await tws.start();
    try {
      const { code, text } = await doctor({ BROKER: 'ibkr', IB_PORT: String(port), IB_HOST: '127.0.0.1', IB_ACCOUNT: 'DU1234567' });
      expect(code).toBe(0);
      expect(line(text, 'broker')).toMatch(/^OK\s+broker\s+IB Gateway\/TWS at 127\.0\.0\.1:\d+ \(server version \d+\), managed accounts DU1234567; account DU1234567 matches PAPER/);
      expect(text).toContain('doctor connected read-only as API client id 1017 (the service uses 17)');
      expect(tws.placements).toEqual([]);
    } finally {
      await tws.close();
    }
  });

  it('intake port answered by a running Phoenix (/healthz) → OK "Phoenix is running"', async () => {
    const h = await makeHarness();
    const intake = await startIntake({ engine: h.engine, logger: silentLogger, host: '127.0.0.1', port: intakePort, ratePerMinute: 600 });
    try {
      const { code, text } = await doctor();
      expect(code).toBe(0);
      expect(line(text, 'intake')).toMatch(new RegExp(`^OK\\s+intake\\s+Phoenix is running at http://127\\.0\\.0\\.1:${intakePort} \\(PAPER mode, broker READY\\)`));
    } finally {
      await intake.close();
      await h.close();
    }
  });
});

describe('phoenix doctor: reading /healthz of a running Phoenix (SAFE-8, SAFE-14)', () => {
  it('with INTAKE_TOKEN doctor sends it and sees the detail; a wrong token sees only up/down (WARN with the fix); a DOWN broker is WARN "degraded" with the reason', async () => {
    const h = await makeHarness();
    const intake = await startIntake({ engine: h.engine, logger: silentLogger, host: '127.0.0.1', port: intakePort, token: INTAKE_TOKEN, ratePerMinute: 600 });
    try {
      const good = await doctor({ INTAKE_TOKEN });
      expect(line(good.text, 'intake')).toMatch(/^OK\s+intake\s+Phoenix is running at http:\/\/127\.0\.0\.1:\d+ \(PAPER mode, broker READY\)/);
      const wrong = await doctor({ INTAKE_TOKEN: 'not-the-service-token-0123456789' });
      expect(line(wrong.text, 'intake')).toMatch(/^WARN\s+intake\s+a Phoenix with INTAKE_TOKEN runs at http:\/\/127\.0\.0\.1:\d+ \(up\); it shows no detail without its token/);
      expect(wrong.text).toContain('set INTAKE_TOKEN to the value the service runs with');
      h.sim!.faults.disconnect();
      await h.settle();
      const down = await doctor({ INTAKE_TOKEN });
      expect(line(down.text, 'intake')).toMatch(/^WARN\s+intake\s+Phoenix is running at .* \(PAPER mode, broker DISCONNECTED\), degraded/);
      expect(down.text).toMatch(/GET \/healthz says degraded: broker sim DISCONNECTED/);
      noSecrets(good.text + wrong.text + down.text);
    } finally {
      await intake.close();
      await h.close();
    }
  });
});

describe('phoenix doctor: broken configurations, each with its fix', () => {
  it('TRADING_MODE=live without IBKR_ALLOW_LIVE → configuration FAIL listing every problem with a fix; exit 1', async () => {
    const { code, text } = await doctor({ TRADING_MODE: 'live' });
    expect(code).toBe(1);
    expect(line(text, 'configuration')).toMatch(/^FAIL\s+configuration\s+3 problems: Phoenix will not start/);
    expect(text).toContain('problem: IBKR_ALLOW_LIVE: TRADING_MODE=live needs IBKR_ALLOW_LIVE=true');
    expect(text).toContain('fix:     for real money set IBKR_ALLOW_LIVE=true deliberately (with IB_ACCOUNT=U…); otherwise use TRADING_MODE=paper');
    expect(text).toContain('problem: BROKER: TRADING_MODE=live needs BROKER=ibkr');
    expect(text).toContain('problem: IB_ACCOUNT: TRADING_MODE=live needs IB_ACCOUNT=U…');
    expect(statusOf(text, 'broker')).toBe('FAIL');
    expect(text).toContain('use TRADING_MODE=paper with BROKER=sim, or BROKER=ibkr for live trading');
    expect(text).toMatch(/— fix the FAIL lines above, then run phoenix doctor again$/);
    noSecrets(text);
  });

  it('IB_ACCOUNT=U… in PAPER → configuration FAIL; and an IB Gateway logged in to a U… account in PAPER → broker FAIL (paper login fix)', async () => {
    const r1 = await doctor({ IB_ACCOUNT: 'U7654321' });
    expect(r1.code).toBe(1);
    expect(r1.text).toContain('problem: IB_ACCOUNT: U7654321 is a live account but TRADING_MODE=paper; use your DU… paper account');
    expect(r1.text).toContain('fix:     set IB_ACCOUNT to the account that matches TRADING_MODE: DU… for paper, U… for live');

    const tws = new TwsTestServer({ accounts: ['U7654321'] });
    const port = await tws.start();
    try {
      // no IB_ACCOUNT: the configuration says BROKER=ibkr needs one, and the broker check still
      // looks at the login and refuses its live account for PAPER
      const r2 = await doctor({ BROKER: 'ibkr', IB_PORT: String(port) });
      expect(r2.code).toBe(1);
      expect(statusOf(r2.text, 'configuration')).toBe('FAIL');
      expect(r2.text).toContain('problem: IB_ACCOUNT: BROKER=ibkr needs IB_ACCOUNT: the one account Phoenix trades and reconciles');
      expect(r2.text).toContain('fix:     set IB_ACCOUNT=DU… (your paper account id)');
      expect(line(r2.text, 'broker')).toMatch(/^FAIL\s+broker\s+.*managed accounts U7654321; account U7654321 does not match PAPER/);
      expect(r2.text).toContain('problem: PAPER_REQUIRES_DU_ACCOUNT: mode PAPER requires a paper account (DU…), got U7654321');
      expect(r2.text).toContain('fix:     log in to IB Gateway with your PAPER trading user (account DU…, port 4002)');
      expect(tws.placements).toEqual([]);
    } finally {
      await tws.close();
    }
  });

  it('bad constitution YAML, and an unknown (misspelt) key → configuration FAIL with the YAML / spelling fix', async () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'name: default\nlimits:\n  dailyLossCapUsd: 30\n   maxTradesPerDay: 2\n');
    const r1 = await doctor({ CONSTITUTION_PATH: broken });
    expect(r1.code).toBe(1);
    expect(r1.text).toMatch(/problem: .*broken\.yaml line 3, column 20: not valid YAML: Nested mappings are not allowed in compact mappings/);
    // the offending lines, with a caret under the spot
    expect(r1.text).toMatch(/\n {17}2 \| limits:\n {17}3 \|   dailyLossCapUsd: 30\n {17}  \| {20}\^\n {17}4 \|    maxTradesPerDay: 2\n/);
    expect(r1.text).toContain('fix:     line up the keys of one section under each other (2 spaces per level) and put a space after each colon; compare with config/constitution.yaml');

    const typo = join(dir, 'typo.yaml');
    writeFileSync(typo, readFileSync(CONSTITUTION, 'utf8').replace('  maxRiskPerTradeUsd: 15', '  maxRiskPerTradeUsd: 15\n  maxRiskPerTrade: 10'));
    const r2 = await doctor({ CONSTITUTION_PATH: typo });
    expect(r2.code).toBe(1);
    expect(r2.text).toMatch(/problem: constitution limits\.maxRiskPerTrade \(.*typo\.yaml line 11\): unknown key; did you mean maxRiskPerTradeUsd\?/);
    expect(r2.text).toContain('fix:     rename it to maxRiskPerTradeUsd (a misspelt setting would otherwise be ignored and its default used)');
  });

  it('database: directory not usable, migrations pending, not writable → database FAIL with the fix', async () => {
    // a path "inside" a regular file
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, 'x');
    const r1 = await doctor({ DATABASE_URL: `file:${file}/phoenix.db` });
    expect(r1.code).toBe(1);
    expect(line(r1.text, 'database')).toMatch(/^FAIL\s+database\s+.*directory not usable/);
    expect(r1.text).toContain('is a file, not a directory');
    expect(r1.text).toContain('fix:     point DATABASE_URL at a path inside a directory, e.g. file:./data/phoenix.db');
    expect(statusOf(r1.text, 'audit chain')).toBe('SKIP');

    // only the first migration applied: the schema is older than the code
    const onlyInit = join(dir, 'migrations');
    mkdirSync(onlyInit);
    cpSync(join(MIGRATIONS_DIR, '20261123000000_init'), join(onlyInit, '20261123000000_init'), { recursive: true });
    const old = join(dir, 'old', 'phoenix.db');
    migrate(old, onlyInit);
    const r2 = await doctor({ DATABASE_URL: `file:${old}` });
    expect(r2.code).toBe(1);
    expect(line(r2.text, 'database')).toMatch(/^FAIL\s+database\s+.*schema out of date/);
    const all = listMigrations();
    expect(r2.text).toContain(`problem: ${all.length - 1} of ${all.length} migrations not applied: ${all.slice(1).join(', ')}`);
    expect(r2.text).toContain('fix:     run npm start once (it applies pending migrations) or npm run db:migrate');

    // a database that does not exist yet is only a warning: the first start creates it
    const r3 = await doctor({ DATABASE_URL: `file:${join(dir, 'fresh', 'phoenix.db')}` });
    expect(r3.code).toBe(0);
    expect(line(r3.text, 'database')).toMatch(/^WARN\s+database\s+.*does not exist yet/);

    // a read-only directory (root ignores permissions, so only as a normal user)
    if (process.getuid?.() !== 0) {
      const ro = join(dir, 'ro');
      mkdirSync(ro);
      copyFileSync(dbFile, join(ro, 'phoenix.db'));
      const { chmodSync } = await import('node:fs');
      chmodSync(ro, 0o555);
      try {
        const r4 = await doctor({ DATABASE_URL: `file:${join(ro, 'phoenix.db')}` });
        expect(r4.code).toBe(1);
        expect(r4.text).toMatch(/is not writable \(EACCES\)/);
        expect(r4.text).toContain('give the service user write access');
      } finally {
        chmodSync(ro, 0o755);
      }
    }
  });

  it('BROKER=ibkr with nothing listening on IB_PORT → broker FAIL with the IB Gateway fix', async () => {
    const port = await freePort();
    const { code, text } = await doctor({ BROKER: 'ibkr', IB_HOST: '127.0.0.1', IB_PORT: String(port), IB_ACCOUNT: 'DU1234567' });
    expect(code).toBe(1);
    expect(line(text, 'broker')).toMatch(new RegExp(`^FAIL\\s+broker\\s+IB Gateway/TWS not reachable at 127\\.0\\.0\\.1:${port}`));
    expect(text).toContain(`problem: nothing listens on 127.0.0.1:${port} (connection refused)`);
    expect(text).toContain('fix:     start IB Gateway (or TWS) and log in; enable the API in Configure → Settings → API → Settings');
    expect(text).toContain('IB Gateway 4002 paper / 4001 live');
  });

  it('issue 16: doctor reads .env like the service does: BROKER=ibkr only in .env (not in this shell) → the dead gateway is a broker FAIL, not "all good"', async () => {
    const port = await freePort();
    writeFileSync(join(dir, '.env'), `BROKER=ibkr\nIB_HOST=127.0.0.1\nIB_PORT=${port}\nIB_ACCOUNT=DU1234567\n`);
    const { code, text } = await doctor({ BROKER: undefined });
    expect(code).toBe(1);
    expect(line(text, 'configuration')).toMatch(/broker ibkr/);
    expect(line(text, 'broker')).toMatch(new RegExp(`^FAIL\\s+broker\\s+IB Gateway/TWS not reachable at 127\\.0\\.0\\.1:${port}`));
    expect(text).not.toMatch(/all good/);
  });

  it('BROKER=ibkr with something that is not IB Gateway on IB_PORT (accepts TCP, never answers) → broker FAIL: no API handshake', async () => {
    const sockets = new Set<Socket>();
    const silent = createTcpServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    try {
      const { code, text } = await doctor({ BROKER: 'ibkr', IB_PORT: String(port), IB_ACCOUNT: 'DU1234567' });
      expect(code).toBe(1);
      expect(line(text, 'broker')).toMatch(new RegExp(`^FAIL\\s+broker\\s+IB API handshake with 127\\.0\\.0\\.1:${port} failed`));
      expect(text).toMatch(/problem: .*no nextValidId within 4000 ms/);
      expect(text).toContain('accepts TCP but did not complete the IB API handshake: is it IB Gateway/TWS, logged in, with the API enabled?');
    } finally {
      for (const s of sockets) s.destroy(); // the adapter leaves a timed-out handshake socket open
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('a wrong (revoked) bot token → telegram FAIL "get a new one from BotFather"; neither token is printed', async () => {
    const { code, text } = await doctor({ TELEGRAM_BOT_TOKEN: WRONG_TOKEN });
    expect(code).toBe(1);
    expect(line(text, 'telegram')).toMatch(/^FAIL\s+telegram\s+bot token refused/);
    expect(text).toContain('problem: Telegram refused the bot token (401 Unauthorized)');
    expect(text).toContain('fix:     token revoked or wrong: get a new one from @BotFather');
    expect(statusOf(text, 'telegram updates')).toBe('SKIP');
    expect(sandbox.calls.find((c) => c.method === 'getMe')?.status).toBe(401);
    noSecrets(text);
  });

  it('Telegram unreachable → "cannot reach Telegram: check outbound HTTPS/proxy"', async () => {
    const port = await freePort();
    const { code, text } = await doctor({ TELEGRAM_API_ROOT: `http://127.0.0.1:${port}` });
    expect(code).toBe(1);
    expect(text).toContain(`problem: cannot reach Telegram at http://127.0.0.1:${port} (ECONNREFUSED)`);
    expect(text).toContain('fix:     check that this server can make outbound HTTPS requests to api.telegram.org (DNS, firewall, proxy)');
    noSecrets(text);
  });

  it('a webhook registered while TELEGRAM_WEBHOOK_URL is unset → WARN "it will be removed at start (deleteWebhook)"; a different configured URL → WARN', async () => {
    const hook = 'http://127.0.0.1:9/phoenix-hook';
    const set = await fetch(`${sandbox.apiRoot}/bot${TOKEN}/setWebhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: hook }) });
    expect(set.status).toBe(200);
    const r1 = await doctor();
    expect(r1.code).toBe(0);
    expect(line(r1.text, 'telegram updates')).toMatch(/^WARN\s+telegram updates\s+long polling, but a webhook is registered/);
    expect(r1.text).toContain(`problem: webhook ${hook} is registered: while it is, long polling (getUpdates) is refused`);
    expect(r1.text).toContain('fix:     it will be removed at start (deleteWebhook)');
    expect(r1.text).toContain('0 updates waiting at Telegram');

    const r2 = await doctor({ TELEGRAM_WEBHOOK_URL: 'https://phoenix.example.com/tg', TELEGRAM_WEBHOOK_SECRET: 'webhook-secret-0123456789' });
    expect(line(r2.text, 'telegram updates')).toMatch(/^WARN\s+telegram updates\s+webhook mode: the registered webhook is not TELEGRAM_WEBHOOK_URL/);
    expect(r2.text).toContain(`problem: registered ${hook}, configured https://phoenix.example.com/tg`);
    expect(r2.text).toContain('unset TELEGRAM_WEBHOOK_URL to use long polling');
    noSecrets(r2.text, 'webhook-secret-0123456789');
  });

  it('TELEGRAM_BOT_TOKEN without TELEGRAM_APPROVERS → configuration and telegram chat FAIL: nobody can approve', async () => {
    const { code, text } = await doctor({ TELEGRAM_APPROVERS: undefined });
    expect(code).toBe(1);
    expect(text).toContain('problem: TELEGRAM_APPROVERS: needed with TELEGRAM_BOT_TOKEN');
    expect(line(text, 'telegram chat')).toMatch(/^FAIL\s+telegram chat\s+chat -1001001/);
    expect(text).toContain('problem: TELEGRAM_APPROVERS is empty: nobody can approve a card');
    expect(text).toContain('fix:     TELEGRAM_APPROVERS=<numeric Telegram user id> (ask @userinfobot for yours)');
    noSecrets(text);
  });

  it('non-loopback intake without INTAKE_TOKEN → intake auth WARN with the token fix; with the token it is OK and the token is not printed', async () => {
    const r1 = await doctor({ INTAKE_HOST: '0.0.0.0' });
    expect(r1.code).toBe(0);
    expect(line(r1.text, 'intake auth')).toMatch(/^WARN\s+intake auth\s+no INTAKE_TOKEN while intake listens on 0\.0\.0\.0/);
    expect(r1.text).toContain('fix:     set INTAKE_TOKEN=$(openssl rand -hex 24) and send Authorization: Bearer $INTAKE_TOKEN');
    expect(r1.text).toMatch(/1 WARN, 0 FAIL — Phoenix can start; read the WARN lines/);

    const r2 = await doctor({ INTAKE_HOST: '0.0.0.0', INTAKE_TOKEN });
    expect(line(r2.text, 'intake auth')).toMatch(/^OK\s+intake auth\s+bearer token required/);
    noSecrets(r2.text);
  });

  it('intake port taken by another program → intake FAIL "set INTAKE_PORT to a free port"', async () => {
    const other: Server = createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('not here'));
    await new Promise<void>((r) => other.listen(intakePort, '127.0.0.1', () => r()));
    try {
      const { code, text } = await doctor();
      expect(code).toBe(1);
      expect(line(text, 'intake')).toMatch(new RegExp(`^FAIL\\s+intake\\s+127\\.0\\.0\\.1:${intakePort} is used by another program`));
      expect(text).toContain('fix:     stop that program, or set INTAKE_PORT to a free port');
    } finally {
      await new Promise<void>((r) => other.close(() => r()));
    }
  });

  it('a tampered bead in the last N → audit chain FAIL naming the bead', async () => {
    const h = await makeHarness();
    try {
      for (let i = 0; i < 2; i++) await h.engine.submitIntent(h.intent(), 'http');
      const db = new Database(h.dbFile);
      try {
        db.exec('DROP TRIGGER IF EXISTS "Bead_no_update"');
        const victim = db.prepare(`SELECT seq, payload FROM "Bead" WHERE type = 'INTENT' ORDER BY seq DESC LIMIT 1`).get() as { seq: number; payload: string };
        db.prepare('UPDATE "Bead" SET payload = ? WHERE seq = ?').run(victim.payload.replace('"BUY"', '"SELL"'), victim.seq);
        const { code, text } = await doctor({ DATABASE_URL: `file:${h.dbFile}` }, ['--beads', '50']);
        expect(code).toBe(1);
        expect(line(text, 'audit chain')).toMatch(new RegExp(`^FAIL\\s+audit chain\\s+BROKEN at bead #${victim.seq} \\(INTENT, id `));
        // SAFE-12: a v2 bead's hash covers every column, and the problem says so
        expect(text).toContain('problem: hash does not match the content: its payload, type, intent id, sequence, id or timestamp was edited');
        expect(text).toContain('fix:     run phoenix audit verify for the full report');
      } finally {
        db.close();
      }
    } finally {
      await h.close();
    }
  });

  it('a secret that lands in any text is redacted by the renderer (defence in depth)', async () => {
    const report = await runDoctor({
      env: { DATABASE_URL: `file:${dbFile}`, CONSTITUTION_PATH: CONSTITUTION, TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: sandbox.apiRoot, TELEGRAM_CHAT_ID: '-1001001', TELEGRAM_APPROVERS: '1001', TELEGRAM_ADMINS: '1002', INTAKE_PORT: String(intakePort) },
      cwd: dir,
      deps: {
        // a Bot API server that echoes the URL (with the token) in its error description
        fetch: async (url) => ({ status: 500, text: async () => JSON.stringify({ ok: false, error_code: 500, description: `upstream failed for ${url}` }) }),
      },
    });
    const text = report.lines.join('\n');
    expect(text).toContain('[redacted]');
    noSecrets(text);
  });
});

/**
 * SAFE-6 (issue 12) · INV-SECRET-1: no secret in any row, log line or sent message.
 *
 * The REAL service (startService: SQLite file, intake HTTP behind INTAKE_TOKEN, sim broker) on
 * a FakeClock, logging through the REAL pino logger into memory; the REAL grammY bot in
 * webhook mode (TELEGRAM_WEBHOOK_SECRET) against the sandbox Bot API, which only accepts the
 * real token; the REAL AlertSender with the grammY transport. Telegram then fails every way
 * it can: 5xx, timeouts, dropped connections and 429 from the sandbox's fault injection,
 * connection refused (nothing listening) and an api root that cannot be reached. Phoenix
 * records all of it (telegram.lastError, outbox rows, TELEGRAM_DOWN, /status, HEARTBEAT
 * beads, logs). Afterwards every column of every table of the database file, the raw file
 * bytes, every log line and every message the bot sent are searched for the secrets.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertSender } from '../../src/alerts/sender.js';
import type { AlertTransport } from '../../src/alerts/transport.js';
import { createGrammyAlertTransport } from '../../src/bot/alert.transport.js';
import { createBot, type BotConfig } from '../../src/bot/bot.js';
import { startBot } from '../../src/bot/runner.js';
import { SimBroker } from '../../src/broker/sim/index.js';
import { seededRandom } from '../../src/engine/ports.js';
import { createLogger } from '../../src/runtime/logger.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { startService, type Service } from '../../src/service.js';
import { FakeClock, flushMicrotasks } from '../support/fake-clock.js';
import { readmeIntentBody } from '../support/fixtures.js';
import { CHAT_ID, IN_SESSION, testConfig, testConstitution } from '../support/harness.js';
import { freePort } from '../e2e/service.js';
import { PEOPLE } from './helpers.js';

const BOT_TOKEN = '7123456789:AAHsecretTail-ONLY_in_the_env_0123456789';
const INTAKE_TOKEN = 'intake-SECRET-9f8e7d6c5b4a3928170615';
const WEBHOOK_SECRET = 'webhook_SECRET-0a1b2c3d4e5f60718293';
const CHAT = Number(CHAT_ID);
/** what must never appear: each secret, the token's secret half alone, and URL-encoded forms */
const NEEDLES = [BOT_TOKEN, BOT_TOKEN.split(':')[1]!, encodeURIComponent(BOT_TOKEN), INTAKE_TOKEN, WEBHOOK_SECRET];

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});

const realSleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every place a needle occurs in `text`, labelled with `where`. */
const hits = (where: string, text: string): string[] => NEEDLES.filter((n) => text.includes(n)).map((n) => `${where} contains ${n === BOT_TOKEN.split(':')[1] ? 'the token tail' : n.slice(0, 12)}…`);

function scanDatabase(file: string): { found: string[]; rows: number } {
  const db = new Database(file, { readonly: true });
  const found: string[] = [];
  let rows = 0;
  try {
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[];
    for (const { name } of tables) {
      for (const row of db.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`).all() as Record<string, unknown>[]) {
        rows++;
        for (const [col, v] of Object.entries(row)) {
          const text = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
          found.push(...hits(`${name}.${col}`, text));
        }
      }
    }
  } finally {
    db.close();
  }
  // also the raw bytes (free pages, the WAL): a secret written once and overwritten later is still a leak
  for (const f of [file, `${file}-wal`, `${file}-journal`]) if (existsSync(f)) found.push(...hits(`raw ${f.slice(-12)}`, readFileSync(f).toString('latin1')));
  return { found: [...new Set(found)], rows };
}

describe('SAFE-6: secrets never leak', () => {
  it('SAFE-6: INV-SECRET-1: after 5xx, timeouts, dropped connections, 429, connection refused and an unreachable api root, no table, log line or sent message holds the bot token, INTAKE_TOKEN or TELEGRAM_WEBHOOK_SECRET', async () => {
    const lines: string[] = [];
    const capture = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString('utf8'));
        cb();
      },
    });
    const logger = createLogger('debug', capture, { secrets: [BOT_TOKEN, INTAKE_TOKEN, WEBHOOK_SECRET] });
    const clock = new FakeClock(IN_SESSION);
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-safe6-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const dbFile = join(dir, 'phoenix.db');
    const hookPort = await freePort();
    const hookUrl = `http://127.0.0.1:${hookPort}/tg/hook`;
    const env = {
      DATABASE_URL: `file:${dbFile}`,
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_CHAT_ID: CHAT_ID,
      TELEGRAM_APPROVERS: '1001',
      TELEGRAM_ADMINS: '1002',
      TELEGRAM_VIEWERS: '1003',
      INTAKE_TOKEN,
      TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET, // the bot below serves the webhook on loopback (the env wants https)
    };
    const config = testConfig(env, testConstitution());
    const broker = new SimBroker({ clock, random: seededRandom(5), profile: 'INSTANT', prices: { MES: 6010.25 } });
    const service: Service = await startService({ config, clock, random: seededRandom(4), logger, broker, chatId: CHAT_ID, telegramLabel: 'telegram', intakePort: 0, sweepEveryMs: 0 });
    cleanups.push(() => service.stop());
    const engine = service.app.engine;

    const sandbox: Sandbox = await startSandbox({ token: BOT_TOKEN, clock: { now: () => clock.now() } });
    cleanups.push(() => sandbox.close());
    sandbox.addChat({ id: CHAT, title: 'Phoenix desk' });

    const people: Pick<BotConfig, 'chatId' | 'approvers' | 'admins' | 'viewers'> = { chatId: CHAT_ID, approvers: ['1001'], admins: ['1002'], viewers: ['1003'] };
    const fastFail = { startRetryMs: { min: 50, max: 200 }, pollTimeoutSeconds: 2, requestTimeoutSeconds: 1, sendTimeoutSeconds: 1, callDeadlineMs: 2500, retry: { maxRetryAttempts: 1, maxDelaySeconds: 3 }, syncEveryMs: 100, runbooksDir: 'runbooks', telegramClock: clock };
    const closedPort = await freePort(); // nothing listens here: connection refused
    const unreachable = 'http://192.0.2.1:81'; // TEST-NET-1: nothing answers (and tests may not leave loopback)

    const intake = (token: string, body: unknown) =>
      fetch(`${service.intake.url}/v1/intents`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    let signals = 0;
    const intent = () => readmeIntentBody(`safe6-${++signals}`, new Date(clock.now()).toISOString());

    // 1. Telegram unreachable from the start: a bot against a closed port, one against an unreachable root.
    for (const apiRoot of [`http://127.0.0.1:${closedPort}`, unreachable]) {
      const offline = createBot({ engine, logger, config: { token: BOT_TOKEN, apiRoot, ...people }, options: fastFail });
      const run = await startBot(offline, { mode: 'polling' });
      expect((await intake(INTAKE_TOKEN, intent())).status).toBe(202);
      const until = Date.now() + 5000;
      while (offline.syncer.stats.failures === 0 && Date.now() < until) await realSleep(20);
      expect(offline.syncer.stats.failures).toBeGreaterThan(0);
      await run.stop();
      await offline.syncer.stop();
    }
    expect((await intake('wrong-token-wrong-token', intent())).status).toBe(401);

    // 2. The real bot (webhook, secret checked) and the alert sender; Telegram answers badly.
    const phoenix = createBot({ engine, logger, config: { token: BOT_TOKEN, apiRoot: sandbox.apiRoot, ...people, webhook: { url: hookUrl, secret: WEBHOOK_SECRET, port: hookPort, host: '127.0.0.1' } }, options: fastFail });
    const running = await startBot(phoenix);
    cleanups.push(() => phoenix.syncer.stop());
    cleanups.push(() => running.stop());
    await running.ready;

    const viaSandbox = createGrammyAlertTransport({ token: BOT_TOKEN, apiRoot: sandbox.apiRoot, timeoutMs: 300 });
    const refused = createGrammyAlertTransport({ token: BOT_TOKEN, apiRoot: `http://127.0.0.1:${closedPort}`, timeoutMs: 300 });
    const gone = createGrammyAlertTransport({ token: BOT_TOKEN, apiRoot: unreachable, timeoutMs: 300 });
    let current: AlertTransport = viaSandbox;
    const transport: AlertTransport = { sendMessage: (c, h) => current.sendMessage(c, h), probe: () => current.probe!() };
    const sender = new AlertSender({ store: service.app.store, clock, transport, chatId: CHAT_ID, logger, budget: phoenix.budget, backoffBaseMs: 500, backoffMaxMs: 2000, permanentRetryMs: 2000, downAfterMs: 5000, downAfterFailures: 3 });
    await sender.start();
    cleanups.push(() => sender.stop());

    /** Fake time forward in 250 ms steps; real I/O (bot, sandbox, sender) settles in between. */
    const step = async (ms: number) => {
      for (let t = 0; t < ms; t += 250) {
        await clock.advance(250);
        await sender.settled();
        await flushMicrotasks();
        await realSleep(5);
      }
    };
    const alice = sandbox.user(PEOPLE.alice);
    const carol = sandbox.user(PEOPLE.carol);

    sandbox.faults.push(
      { method: 'sendMessage', kind: '5xx', status: 502 },
      { method: 'sendMessage', kind: '429', retryAfter: 2 },
      { method: 'sendMessage', kind: 'timeout' },
      { method: 'sendMessage', kind: 'network' },
      { method: 'editMessageText', kind: 'network' },
      { method: 'sendMessage', kind: '5xx', status: 503 },
    );
    expect((await intake(INTAKE_TOKEN, intent())).status).toBe(202);
    alice.send(CHAT, '/halt drill');
    for (const until = Date.now() + 15_000; (await engine.status()).kills.length === 0 && Date.now() < until; ) await realSleep(20);
    expect((await engine.status()).kills).toHaveLength(1);
    expect((await intake(INTAKE_TOKEN, intent())).status).toBe(202); // blocked by the kill: INTENT_BLOCKED alert
    await step(5000);
    const card = await sandbox.waitFor(() => sandbox.chat(CHAT).find((m) => m.reply_markup?.inline_keyboard.flat().some((b) => b.text.includes('PASS'))), { label: 'a card' });
    await alice.waitAnswer(alice.tap(CHAT, card.message_id, 'PASS')); // the card is edited: PASSED
    // a timed-out send gives up after 1 s of REAL time (sendTimeoutSeconds): wait on the wall
    // clock as well as the fake one, or a fast machine runs out of steps before it fires
    for (const until = Date.now() + 20_000; sandbox.faults.length && Date.now() < until; ) await step(1000);
    expect(sandbox.faults, JSON.stringify(sandbox.faults)).toHaveLength(0); // every fault was acted out
    await step(5000);

    // 3. Telegram unreachable for the alert sender: connection refused, then an api root nobody answers.
    current = refused;
    await engine.halt({ id: '1001', name: 'alice', roles: ['viewer', 'approver'], via: 'telegram' }, 'second drill');
    await step(8000);
    current = gone;
    await step(8000);
    await engine.jobs.heartbeat(); // HEARTBEAT bead: reads telegram.lastError
    carol.send(CHAT, '/status'); // shows the outbox's last error in Telegram
    await sandbox.waitFor(() => sandbox.chat(CHAT).find((m) => m.from_bot && m.text.includes('Status')), { label: '/status while alerts fail' });
    const down = await service.app.store.tx((tx) => tx.kv.get('telegram.down'));
    expect(down).not.toBeNull(); // TELEGRAM_DOWN was raised: its text quotes the last failure
    const lastError = await service.app.store.tx((tx) => tx.kv.get('telegram.lastError')); // cleared again once a send works
    expect(lastError).toMatch(/network|ECONNREFUSED|refused|blocked|timeout/i);

    // 4. Telegram back: the backlog drains.
    current = viaSandbox;
    for (let i = 0; i < 40 && (await service.app.store.tx((tx) => tx.alerts.backlog())) > 0; i++) await step(5000);
    expect(await service.app.store.tx((tx) => tx.alerts.backlog())).toBe(0);
    carol.send(CHAT, '/status');
    await step(2000);

    // The failures really happened and were recorded where the review found the token.
    expect(sender.stats.failures).toBeGreaterThanOrEqual(5);
    expect(sandbox.calls.some((c) => c.status === 429)).toBe(true);
    expect(sandbox.calls.some((c) => c.status >= 500)).toBe(true);
    expect(lines.length).toBeGreaterThan(10);

    await running.stop();
    await phoenix.syncer.stop();
    await sender.stop();
    await service.stop();

    // Search everything.
    const db = scanDatabase(dbFile);
    expect(db.rows).toBeGreaterThan(20);
    const logHits = lines.flatMap((l, i) => hits(`log line ${i}`, l));
    const sent = sandbox.calls.filter((c) => !['setWebhook', 'getUpdates'].includes(c.method)); // setWebhook carries the secret to Telegram by design
    const sentHits = sent.flatMap((c, i) => hits(`${c.method} #${i}`, JSON.stringify(c.payload)));
    const chatHits = sandbox.chat(CHAT).flatMap((m) => hits(`chat message ${m.message_id}`, m.text));
    expect({ db: db.found, logs: logHits.slice(0, 10), sent: sentHits, chat: chatHits }).toEqual({ db: [], logs: [], sent: [], chat: [] });
  }, 60_000);

  it('SAFE-6: INV-SECRET-1: the pino logger censors the fields secrets live in and cuts secret values out of free text', () => {
    const lines: string[] = [];
    const capture = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString('utf8'));
        cb();
      },
    });
    const log = createLogger('info', capture, { secrets: [BOT_TOKEN, INTAKE_TOKEN, WEBHOOK_SECRET] });
    log.info({ config: { env: { TELEGRAM_BOT_TOKEN: BOT_TOKEN, INTAKE_TOKEN, TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET } } }, 'config');
    log.info({ req: { headers: { authorization: `Bearer ${INTAKE_TOKEN}`, 'x-telegram-bot-api-secret-token': WEBHOOK_SECRET } } }, 'request');
    log.info({ payload: { url: 'https://x', secret_token: WEBHOOK_SECRET }, webhook: { secret: WEBHOOK_SECRET }, token: BOT_TOKEN }, 'setWebhook');
    log.child({ component: 'x' }).warn({ err: `request to https://api.telegram.org/bot${BOT_TOKEN}/sendMessage failed` }, `intake said ${INTAKE_TOKEN}`);
    log.warn({ err: 'request to https://api.telegram.org/bot999:SomeOtherTokenWeWereNotTold/getMe failed' }, 'unknown token');
    expect(lines).toHaveLength(5);
    const all = lines.join('');
    expect(hits('log', all)).toEqual([]);
    expect(all).not.toContain('SomeOtherTokenWeWereNotTold');
    expect(all).toContain('[redacted]');
  });
});

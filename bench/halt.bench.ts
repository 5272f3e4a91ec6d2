/**
 * /halt → kill flag (SPEC 12, 16; SAFE-4, INV-HALT-FAST-1): real time from an approver's
 * /halt entering the Bot API (the sandbox, with Telegram's flood limits on, in real time) to
 * the kill flag being visible in the database file (a second SQLite connection), through the
 * real grammY bot (long polling on the runner), with production pacing (the bot's chat
 * budget on the wall clock).
 *
 *   baseline  engine.halt() called directly (no Telegram), same database
 *   idle      the desk chat idle: one /halt at a time, each confirmation out before the next
 *   at limit  the desk chat at its limit: Telegram answers every message 429 retry_after 51,
 *             with a backlog of cards and command replies queued behind it
 *
 * Between two halts the kill is lifted through the engine (not Telegram), so every /halt
 * really sets a flag.
 */
import Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import { createBot } from '../src/bot/bot.js';
import { startBot } from '../src/bot/runner.js';
import { startSandbox } from '../src/sandbox/server.js';
import { admin, approver, CHAT_ID, makeHarness } from '../test/support/harness.js';
import { percentile, type BenchRow } from './stats.js';

const TOKEN = '123:phoenix-halt-bench';
const CHAT = Number(CHAT_ID);
const BENCH_LIMITS = { limits: { maxTradesPerDay: 1e9, maxPositionPerInstrument: 1e9 } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function benchHalt(opts: { idle?: number; atLimit?: number; direct?: number } = {}): Promise<BenchRow[]> {
  const h = await makeHarness({ constitution: BENCH_LIMITS });
  const sandbox = await startSandbox({ rateLimits: true });
  sandbox.addChat({ id: CHAT, title: 'Phoenix desk' });
  const phoenix = createBot({
    engine: h.engine,
    logger: h.engine.logger,
    config: { token: TOKEN, apiRoot: sandbox.apiRoot, chatId: CHAT_ID, approvers: ['1001'], admins: ['1002'], viewers: ['1003'] },
    options: { runbooksDir: 'runbooks', pollTimeoutSeconds: 10 },
  });
  const running = await startBot(phoenix);
  await running.ready;
  const kills = new Database(h.dbFile, { readonly: true, fileMustExist: true });
  const active = kills.prepare(`SELECT COUNT(*) AS n FROM "KillFlag" WHERE clearedAt IS NULL`);
  const killed = () => (active.get() as { n: number }).n > 0;
  const alice = sandbox.user({ id: 1001, first_name: 'Alice', username: 'alice' });
  const carol = sandbox.user({ id: 1003, first_name: 'Carol', username: 'carol' });

  /** real ms until the database shows a kill flag (yielding to I/O between reads) */
  const untilKilled = async (maxMs = 10_000): Promise<number> => {
    const t0 = performance.now();
    while (!killed()) {
      if (performance.now() - t0 > maxMs) throw new Error(`halt bench: no kill flag after ${maxMs} ms`);
      await new Promise((r) => setImmediate(r));
    }
    return performance.now() - t0;
  };
  const lift = async () => {
    await h.engine.resume(admin);
    if (killed()) throw new Error('halt bench: resume did not lift the kill');
  };
  const viaTelegram = async (text: string): Promise<number> => {
    const t0 = performance.now();
    alice.send(CHAT, text);
    await untilKilled();
    return performance.now() - t0;
  };

  try {
    // baseline: the engine alone
    const direct: number[] = [];
    for (let i = 0; i < (opts.direct ?? 200); i++) {
      const t0 = performance.now();
      await h.engine.halt(approver, `direct ${i}`);
      await untilKilled();
      direct.push(performance.now() - t0);
      await lift();
    }

    // idle chat: wait for each confirmation (and the 1 s per-chat gap) before the next /halt;
    // 16 of them (with the warm-up) leave room in the group's 20/min window, so the backlog below goes to Telegram at once
    const idle: number[] = [];
    const confirmations = () => sandbox.chat(CHAT).filter((m) => m.from_bot && m.text.includes('Halted.')).length;
    for (let i = -1; i < (opts.idle ?? 15); i++) {
      const ms = await viaTelegram(`/halt idle ${i}`);
      if (i >= 0) idle.push(ms); // i = -1 warms up the Telegram path
      await sandbox.waitFor(() => confirmations() === i + 2, { timeoutMs: 10_000, label: 'halt confirmation' });
      await lift();
      await sleep(1100);
    }
    const sent429Before = sandbox.calls.filter((c) => c.status === 429).length;

    // at the limit: a backlog of cards and replies, and Telegram refusing the chat (429, retry_after 51)
    for (let i = 0; i < 30; i++) {
      const r = await h.engine.submitIntent(h.intent({ signalId: `halt-bench-${i}` }));
      if (r.kind !== 'accepted' || r.state !== 'PROPOSED') throw new Error(`halt bench intent: ${JSON.stringify(r)}`);
    }
    sandbox.setOutage({ method: /^(sendMessage|editMessageText)$/, kind: '429', retryAfter: 51 });
    for (const c of ['/status', '/pending', '/orders', '/positions', '/help', '/strategies', '/drift', '/runbook', '/status', '/pending']) carol.send(CHAT, c);
    await sandbox.waitFor(() => sandbox.calls.filter((c) => c.status === 429).length > sent429Before, { timeoutMs: 70_000, label: 'the chat refused (429)' });
    await sleep(200); // the replies are handled and queued behind the 429
    const queued = phoenix.budget.waiting(CHAT_ID);
    const limit: number[] = [];
    for (let i = 0; i < (opts.atLimit ?? 100); i++) {
      limit.push(await viaTelegram(`/halt at limit ${i}`));
      await lift();
      await sleep(20);
    }
    const refused = sandbox.calls.filter((c) => c.status === 429).length - sent429Before;
    sandbox.setOutage(undefined);

    const d50 = percentile(direct, 50);
    const d99 = percentile(direct, 99);
    const i50 = percentile(idle, 50);
    const i99 = percentile(idle, 99);
    const l50 = percentile(limit, 50);
    const l99 = percentile(limit, 99);
    const what = `every send answered 429 retry_after 51; ${queued} cards/replies waiting, ${refused} × 429 seen`;
    return [
      { name: `/halt → kill flag in the database, chat idle, p50 (n=${idle.length})`, value: i50, unit: 'ms', baseline: `engine.halt() direct p50 ${d50.toFixed(3)} ms`, ratio: i50 / d50 },
      { name: `/halt → kill flag in the database, chat idle, p99 (n=${idle.length})`, value: i99, unit: 'ms', baseline: `engine.halt() direct p99 ${d99.toFixed(3)} ms`, ratio: i99 / d99 },
      { name: `/halt → kill flag, chat at its rate limit (${what}), p50 (n=${limit.length})`, value: l50, unit: 'ms', baseline: `chat idle p50 ${i50.toFixed(1)} ms`, ratio: l50 / i50 },
      { name: `/halt → kill flag, chat at its rate limit, p99 (n=${limit.length})`, value: l99, unit: 'ms', baseline: `chat idle p99 ${i99.toFixed(1)} ms`, ratio: l99 / i99, target: '≤ 100 ms p99 (required ≤ 1 s)' },
      { name: '/halt → kill flag, chat at its rate limit, max', value: Math.max(...limit), unit: 'ms', baseline: `chat idle max ${Math.max(...idle).toFixed(1)} ms` },
    ];
  } finally {
    kills.close();
    await running.stop();
    await phoenix.syncer.stop();
    await sandbox.close();
    await h.close();
  }
}

/**
 * SAFE-4 (issue 12) · INV-HALT-FAST-1: /halt sets the kill flag within 1 s of reaching the
 * bot, whatever Telegram is doing; cards, command replies and alerts share one per-chat
 * budget by priority (kill confirmations and CRITICAL first, then cards, then the rest).
 *
 * The real grammY bot long-polls the sandbox Bot API over HTTP; the sandbox enforces
 * Telegram's flood limits (1/s per chat, 20/min in a group) on the harness's FakeClock, and
 * the bot's budget paces on the same clock, so "the chat is at its limit" is exact and time
 * only moves when the test moves it. The /halt latency is real elapsed time (the invariant's
 * 1 s, with room to spare on a loaded machine); the bench measures the tight figure.
 */
import Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertSender } from '../../src/alerts/sender.js';
import { createGrammyAlertTransport } from '../../src/bot/alert.transport.js';
import type { Sandbox } from '../../src/sandbox/server.js';
import { flushMicrotasks } from '../support/fake-clock.js';
import { CHAT_ID } from '../support/harness.js';
import { buttonsOf, CHAT, makeRig, TOKEN, type Rig } from './helpers.js';
import { closeAfterEach } from '../support/cleanup.js';

let rig: Rig | undefined;
let sender: AlertSender | undefined;
const newRig = closeAfterEach(makeRig);
afterEach(async () => {
  await sender?.stop();
  sender = undefined;
});

const realSleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A message the bot sent before (another process, an earlier minute): straight to the Bot API. */
async function earlierSend(sandbox: Sandbox, text: string): Promise<number> {
  const r = await fetch(`${sandbox.apiRoot}/bot${TOKEN}/sendMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chat_id: CHAT, text }) });
  return r.status;
}

/** Active kill flags, read from the database file itself (a second connection). */
function killReader(file: string): { active(): number; close(): void } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  const q = db.prepare(`SELECT COUNT(*) AS n FROM "KillFlag" WHERE clearedAt IS NULL`);
  return { active: () => (q.get() as { n: number }).n, close: () => db.close() };
}

/** Real ms from now until the database shows `n` active kill flags (undefined after `maxMs`). */
async function msUntilKills(file: string, n: number, maxMs: number): Promise<number | undefined> {
  const kills = killReader(file);
  const t0 = performance.now();
  try {
    while (performance.now() - t0 < maxMs) {
      if (kills.active() >= n) return performance.now() - t0;
      await new Promise((r) => setImmediate(r));
    }
    return undefined;
  } finally {
    kills.close();
  }
}

const sends = (sandbox: Sandbox) => sandbox.calls.filter((c) => c.method === 'sendMessage' || c.method === 'editMessageText');

describe('SAFE-4: /halt is the fast path', () => {
  it('SAFE-4: INV-HALT-FAST-1: with the desk chat at its 20/min limit and a reply sitting out a 429 (retry_after 51), /halt sets the kill flag within 1 s; its confirmation goes out before the waiting reply', async () => {
    rig = await newRig({ flood: true });
    const { h, sandbox } = rig;
    // 20 messages in the last minute: Telegram refuses the chat until the oldest leaves the window
    for (let i = 0; i < 20; i++) {
      expect(await earlierSend(sandbox, `earlier message ${i}`)).toBe(200);
      await h.clock.advance(1000);
    }
    expect(await earlierSend(sandbox, 'one too many')).toBe(429);
    // … and the next reply is told to sit out 51 s
    sandbox.faults.push({ method: 'sendMessage', kind: '429', retryAfter: 51 });
    const before429 = sends(sandbox).filter((c) => c.status === 429).length;
    rig.carol.send(CHAT, '/status');
    await sandbox.waitFor(() => sends(sandbox).filter((c) => c.status === 429).length > before429, { label: 'the /status reply got its 429' });

    rig.alice.send(CHAT, '/halt desk at its limit');
    const ms = await msUntilKills(h.dbFile, 1, 3000);
    expect(ms, 'kill flag in the database (ms after /halt was sent)').toBeDefined();
    expect(ms!).toBeLessThanOrEqual(1000);

    // Nothing was sent while the chat is blocked; once Telegram takes messages again the kill
    // confirmation goes first, then the /status reply, each once.
    for (let i = 0; i < 160; i++) {
      await h.clock.advance(500);
      await flushMicrotasks();
      await realSleep(2);
      if (rig.botMessages().some((m) => m.text.includes('Status'))) break;
    }
    const texts = rig.botMessages().map((m) => m.text);
    const halted = texts.findIndex((t) => t.includes('Halted. New entries are blocked'));
    const status = texts.findIndex((t) => t.includes('Status'));
    expect(halted).toBeGreaterThanOrEqual(0);
    expect(status).toBeGreaterThan(halted);
    expect(texts.filter((t) => t.includes('Halted. New entries are blocked'))).toHaveLength(1);
    expect(texts.filter((t) => t.includes('Status'))).toHaveLength(1);
  }, 60_000);

  it('SAFE-4: INV-HALT-FAST-1: a burst of cards, command replies and alerts to one chat (one budget) gets no 429; the kill confirmation and the CRITICAL alert go out before the queued cards; replies keep their order', async () => {
    rig = await newRig({ flood: true });
    const { h, sandbox } = rig;
    const transport = createGrammyAlertTransport({ token: TOKEN, apiRoot: sandbox.apiRoot });
    sender = new AlertSender({ store: h.app.store, clock: h.clock, transport, chatId: CHAT_ID, budget: rig.phoenix.budget });
    await sender.start();
    const s = sender;
    /** fake time forward; the bot's and the sender's real HTTP settle at every step */
    const run = async (ms: number, until?: () => Promise<boolean> | boolean) => {
      for (let t = 0; t < ms; t += 250) {
        if (until && (await until())) return;
        await h.clock.advance(250);
        await s.settled();
        await flushMicrotasks();
        await realSleep(2);
      }
    };

    const symbols = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'META', 'TSLA', 'GOOG'];
    for (const symbol of symbols) {
      const r = await h.engine.submitIntent(h.intent({ instrument: { symbol, secType: 'STK', exchange: 'SMART', currency: 'USD' }, entryPrice: 200, stopLoss: 199, takeProfit: 203 }));
      expect(r).toMatchObject({ kind: 'accepted', state: 'PROPOSED' });
    }
    await h.app.store.tx(async (tx) => {
      for (let i = 0; i < 4; i++) tx.alerts.enqueue({ type: 'INTENT_BLOCKED', at: h.clock.now(), payload: { summary: `BUY 1 X${i} blocked: daily loss cap reached`, facts: { code: 'DAILY_LOSS' } } });
      tx.alerts.enqueue({ type: 'PACING_VIOLATION', at: h.clock.now(), payload: { summary: 'IBKR error 100: max rate of messages per second exceeded', facts: { code: 100 } } });
    });
    const commands = ['/help', '/status', '/pending', '/orders', '/positions'];
    for (const c of commands) rig.carol.send(CHAT, c);
    await rig.quiet().catch(() => {}); // handled and queued (sends wait for fake time)
    await run(3000);

    const okSends = () => sandbox.calls.filter((c) => c.method === 'sendMessage' && c.ok);
    const isCard = (html: string) => /<b>BUY 1 [A-Z]+<\/b>/.test(html); // a card's first line
    /** carol's replies, told apart by how each starts */
    const replyOf: ((html: string) => boolean)[] = [
      (t) => t.startsWith('You are @carol'),
      (t) => t.includes('Kill flag:'),
      (t) => t.startsWith('<b>Pending</b>'),
      (t) => t.startsWith('<b>Orders</b>'),
      (t) => t.startsWith('<b>Positions</b>'),
    ];
    rig.alice.send(CHAT, '/halt burst drill');
    expect(await msUntilKills(h.dbFile, 1, 3000)).toBeLessThanOrEqual(1000);
    const atHalt = okSends().length;
    const cardsLeft = symbols.length - okSends().filter((c) => isCard(String(c.payload.text))).length;
    expect(cardsLeft).toBeGreaterThanOrEqual(2); // cards were still queued when /halt came

    const done = async () =>
      rig!.botMessages().filter((m) => buttonsOf(m).length === 2).length === symbols.length &&
      replyOf.every((is) => okSends().some((c) => is(String(c.payload.text)))) &&
      (await h.engine.cards.dirty()).length === 0 &&
      (await h.app.store.tx((tx) => tx.alerts.backlog())) === 0;
    await run(180_000, done);
    expect(await done()).toBe(true);

    const calls = sandbox.calls.filter((c) => c.method === 'sendMessage' || c.method === 'editMessageText');
    expect(calls.filter((c) => c.status === 429)).toEqual([]);
    expect(calls.every((c) => c.ok)).toBe(true);
    const texts = okSends().map((c) => String(c.payload.text));
    const haltReply = texts.findIndex((t) => t.includes('Halted. New entries are blocked'));
    const haltAlert = texts.findIndex((t) => t.includes('CRITICAL · Trading halted'));
    expect(haltReply).toBeGreaterThanOrEqual(atHalt);
    expect(haltAlert).toBeGreaterThan(haltReply); // kill confirmation, then the CRITICAL alert …
    expect(haltAlert - atHalt).toBeLessThanOrEqual(2); // … next (at most one send was already under way) …
    expect(texts.slice(haltAlert + 1).filter(isCard).length).toBeGreaterThanOrEqual(cardsLeft - 1); // … before the queued cards
    // carol's replies, in the order she asked
    const order = replyOf.map((is) => texts.findIndex(is));
    expect(replyOf.map((is) => texts.filter(is).length)).toEqual([1, 1, 1, 1, 1]);
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // cards before the rest: no reply went out while a card waited (until /halt)
    const firstReply = Math.min(...order);
    expect(texts.slice(0, firstReply).filter(isCard).length).toBeGreaterThanOrEqual(Math.min(symbols.length, firstReply) - 1);
  }, 60_000);
});

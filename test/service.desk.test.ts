/**
 * Issue 18, SPEC 17: on a desk the followers serve the bot webhook. Two Phoenix services on one
 * real PostgreSQL server, the real grammY bot against the sandbox Bot API: the leader runs the
 * bot; an update posted to the follower (as the desk's load balancer would) is checked, stored in
 * the database and handled and answered by the leader, once. Hostile posts change nothing. When
 * the leader goes, the follower takes over, handles what was still waiting, and serves the
 * webhook with its own bot.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SimBroker } from '../src/broker/sim/index.js';
import { seededRandom, silentLogger } from '../src/engine/ports.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { startFrontEnds, startService, type FrontEnds, type Service } from '../src/service.js';
import { PEOPLE } from './bot/helpers.js';
import { FakeClock } from './support/fake-clock.js';
import { CHAT_ID, IN_SESSION, testConfig } from './support/harness.js';
import { usePostgres } from './support/postgres.js';

const pg = usePostgres();
const CHAT = Number(CHAT_ID);
const SECRET = 'desk-webhook-secret-0123456789';
const TOKEN = '123456789:AAdesk-webhook-test-token_xyz';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});

async function freePort(): Promise<number> {
  const s = http.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const waitFor = async <T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

interface Member {
  readonly service: Service;
  front: FrontEnds | null;
  readonly hookUrl: string;
  readonly lost: string[];
}

async function member(url: string, sandbox: Sandbox, holder: string): Promise<Member> {
  const port = await freePort();
  // Telegram posts to the desk's public URL; the load balancer forwards to each process's local port
  const hookUrl = `http://127.0.0.1:${port}/tg/hook`;
  const config = testConfig({
    DATABASE_URL: url,
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: sandbox.apiRoot,
    TELEGRAM_CHAT_ID: CHAT_ID,
    TELEGRAM_APPROVERS: '1001',
    TELEGRAM_ADMINS: '1002',
    TELEGRAM_WEBHOOK_URL: 'https://desk.example/tg/hook',
    TELEGRAM_WEBHOOK_SECRET: SECRET,
    TELEGRAM_WEBHOOK_PORT: String(port),
  });
  const clock = new FakeClock(IN_SESSION);
  const lost: string[] = [];
  const service = await startService({
    config,
    clock,
    random: seededRandom(holder.charCodeAt(0)),
    logger: silentLogger,
    broker: new SimBroker({ clock, random: seededRandom(7), profile: 'INSTANT', prices: { MES: 6010.25 } }),
    chatId: CHAT_ID,
    telegramLabel: 'telegram',
    intakePort: 0,
    sweepEveryMs: 0,
    leader: { holder, pollMs: 100, onLost: (why) => void lost.push(why) },
  });
  const m: Member = { service, front: null, hookUrl, lost };
  cleanups.push(async () => {
    await m.front?.stop();
    await service.stop();
  });
  await service.whenLeader(async () => {
    m.front = await startFrontEnds(service, { logger: silentLogger, clock, botReadyWaitMs: 5000, relayPollMs: 50 });
  });
  return m;
}

const update = (id: number, text: string, from: { id: number; first_name: string } = PEOPLE.bob) => ({
  update_id: id,
  message: { message_id: id, date: 1, chat: { id: CHAT, type: 'supergroup', title: 'desk' }, from: { ...from, is_bot: false }, text, entities: [{ type: 'bot_command', offset: 0, length: text.split(' ')[0]!.length }] },
});

/** secret '' sends no secret header */
const post = (url: string, body: unknown, secret = SECRET, raw?: string) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}) }, body: raw ?? JSON.stringify(body) });

describe('issue 18: a follower serves the bot webhook; the leader handles and answers', () => {
  it('an update posted to the follower is answered once by the leader; hostile posts change nothing; after a takeover the new leader handles what waited and serves the webhook itself', async () => {
    const url = await pg().createDatabase();
    const sandbox = await startSandbox({ port: 0 });
    cleanups.push(() => sandbox.close());
    sandbox.addChat({ id: CHAT, title: 'Phoenix desk' });

    const a = await member(url, sandbox, 'a');
    expect(a.service.role()).toBe('leader');
    await a.front!.telegram.running.ready;
    const b = await member(url, sandbox, 'b');
    expect(b.service.role()).toBe('follower');
    expect(b.front).toBeNull(); // no bot on a follower: one bot, one send budget per chat
    const replies = (text: string) => sandbox.chat(CHAT).filter((m) => m.from_bot && m.text.includes(text));
    const waiting = () => b.service.telegramRelay!.waiting();

    // hostile or foreign posts to the follower: refused, nothing stored
    expect((await post(b.hookUrl, update(500, '/help'), '')).status).toBe(401);
    expect((await post(b.hookUrl, update(501, '/help'), 'wrong-secret-0123456789')).status).toBe(401);
    expect((await post(b.hookUrl.replace('/tg/hook', '/other'), update(502, '/help'))).status).toBe(404);
    expect((await post(b.hookUrl, null, SECRET, '{"update_id": "1; DROP TABLE"}')).status).toBe(400);
    expect((await post(b.hookUrl, null, SECRET, 'not json')).status).toBe(400);
    expect((await post(b.hookUrl, { update_id: -1 })).status).toBe(400);
    expect(await waiting()).toBe(0);
    expect(replies('Commands')).toHaveLength(0);

    // a command through the follower: stored, taken by the leader, answered once (a re-delivery is one row)
    expect((await post(b.hookUrl, update(600, '/help'))).status).toBe(200);
    expect((await post(b.hookUrl, update(600, '/help'))).status).toBe(200);
    await waitFor('the leader answers /help relayed by the follower', () => replies('Commands').length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(replies('Commands')).toHaveLength(1);
    expect(await waiting()).toBe(0);

    // /halt through the follower reaches the leader's engine (kill flag in the one database)
    expect((await post(b.hookUrl, update(601, '/halt desk test'))).status).toBe(200);
    await waitFor('the kill flag set by /halt relayed through the follower', async () => (await a.service.app.engine.health()).killActive);
    expect((await b.service.app.engine.health()).killActive).toBe(true);
    await waitFor('the leader confirms the halt in the chat', () => replies('Halted').length === 1);

    // the leader's bot stops (its process is going): what the follower stores now waits in the database
    await a.front!.stop();
    a.front = null;
    expect((await post(b.hookUrl, update(602, '/status'))).status).toBe(200);
    expect(await waiting()).toBe(1);
    // handled updates are forgotten after a day (the table would grow forever); a waiting one never is
    const relay = b.service.telegramRelay!;
    expect(await relay.prune(Date.now() - 86_400_000)).toBe(0);
    expect(await relay.prune(Date.now() + 60_000)).toBe(2); // 600 and 601, taken by the leader
    expect(await waiting()).toBe(1);

    // the leader goes; the follower takes over, handles what waited, then serves the webhook port itself
    await a.service.stop();
    await waitFor('b takes over', () => b.service.role() === 'leader' && b.front !== null);
    await b.front!.telegram.running.ready;
    await waitFor('the waiting /status answered by the new leader', () => replies('Status').length >= 1);
    expect(await waiting()).toBe(0);
    expect(b.front!.telegram.running.webhookServer?.port).toBe(Number(new URL(b.hookUrl).port));
    expect((await post(b.hookUrl, update(603, '/help'))).status).toBe(200);
    await waitFor('the new leader answers on its own webhook', () => replies('Commands').length === 2);
    expect(b.lost).toEqual([]);
  }, 60_000);
});

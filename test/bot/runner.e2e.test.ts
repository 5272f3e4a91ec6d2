/**
 * Running the bot: webhook mode with the secret checked, duplicate updates ignored, the
 * error boundary; Telegram down at start (getMe failing, nothing listening) neither hangs nor
 * crashes, and no card is lost; `npm start` wiring with and without a bot token.
 */
import { once } from 'node:events';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createBot, type PhoenixBot } from '../../src/bot/bot.js';
import { launchTelegram, SANDBOX_USERS, type TelegramHandle } from '../../src/bot/launch.js';
import { startBot, type RunningBot } from '../../src/bot/runner.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { CHAT_ID, makeHarness, testConfig, type Harness } from '../support/harness.js';
import { buttonsOf, CHAT, PEOPLE, TOKEN } from './helpers.js';
import { freePort } from '../support/ports.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});

async function setup(opts: { apiRoot: string; webhook?: { url: string; secret: string; port: number; host: string }; bot?: Parameters<typeof createBot>[0]['options']; transformers?: Parameters<typeof createBot>[0]['transformers'] }) {
  const h = await makeHarness();
  cleanups.push(() => h.close());
  const phoenix = createBot({
    engine: h.engine,
    logger: h.engine.logger,
    config: { token: TOKEN, apiRoot: opts.apiRoot, chatId: CHAT_ID, approvers: ['1001'], admins: ['1002'], viewers: [], ...(opts.webhook ? { webhook: opts.webhook } : {}) },
    // the sandbox here has no flood limits: the bot's budget does not pace (order and 429s still apply)
    options: { startRetryMs: { min: 50, max: 200 }, pollTimeoutSeconds: 5, pacing: false, ...opts.bot },
    ...(opts.transformers ? { transformers: opts.transformers } : {}),
  });
  return { h, phoenix };
}

async function run(phoenix: PhoenixBot): Promise<RunningBot> {
  const running = await startBot(phoenix);
  cleanups.push(() => running.stop());
  return running;
}

async function sandboxWith(port = 0): Promise<Sandbox> {
  const sandbox = await startSandbox({ port });
  cleanups.push(() => sandbox.close());
  sandbox.addChat({ id: CHAT, title: 'Phoenix desk' });
  return sandbox;
}

const post = (url: string, body: unknown, secret?: string) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}) }, body: JSON.stringify(body) });

describe('webhook mode', () => {
  it('serves the webhook path with the secret token checked; duplicates are ignored; a failing handler is contained', async () => {
    const sandbox = await sandboxWith();
    const port = await freePort();
    const secret = 'S3cret_token-abcdefgh';
    const url = `http://127.0.0.1:${port}/tg/hook`;
    let failNextReply = false;
    const { phoenix } = await setup({
      apiRoot: sandbox.apiRoot,
      webhook: { url, secret, port, host: '127.0.0.1' },
      transformers: [
        (prev, method, payload, signal) => {
          if (method === 'sendMessage' && failNextReply) {
            failNextReply = false;
            return Promise.resolve({ ok: false, error_code: 400, description: 'Bad Request: injected failure' } as never);
          }
          return prev(method, payload, signal);
        },
      ],
    });
    const running = await run(phoenix);
    expect(running.mode).toBe('webhook');
    await running.ready;
    expect(sandbox.webhookInfo()).toMatchObject({ url, allowed_updates: ['message', 'callback_query'] });

    // Telegram (the sandbox) pushes a command with the secret header: the bot answers
    const alice = sandbox.user(PEOPLE.alice);
    alice.send(CHAT, '/status');
    await sandbox.waitFor(() => sandbox.chat(CHAT).find((m) => m.from_bot && m.text.includes('Status')), { label: 'status via webhook' });

    const update = { update_id: 900_001, message: { message_id: 77, date: 1, chat: { id: CHAT, type: 'supergroup', title: 'x' }, from: { id: 1001, is_bot: false, first_name: 'Alice' }, text: '/help', entities: [{ type: 'bot_command', offset: 0, length: 5 }] } };
    expect((await post(url, update)).status).toBe(401);
    expect((await post(url, update, 'wrong-secret-123456')).status).toBe(401);
    expect((await post(`http://127.0.0.1:${port}/other`, update, secret)).status).toBe(404);
    const helps = () => sandbox.chat(CHAT).filter((m) => m.from_bot && m.text.includes('Commands'));
    expect(helps()).toHaveLength(0); // nothing unauthenticated got through
    expect((await post(url, update, secret)).status).toBe(200);
    expect((await post(url, update, secret)).status).toBe(200); // Telegram re-delivery of the same update id
    await sandbox.waitFor(() => helps().length === 1);
    await post(url, { ...update, update_id: 900_002 }, secret);
    await sandbox.waitFor(() => helps().length === 2);

    // a handler failing (Telegram refuses the reply) answers 200 and tells the user, the process lives on
    failNextReply = true;
    expect((await post(url, { ...update, update_id: 900_003 }, secret)).status).toBe(200);
    await sandbox.waitFor(() => sandbox.chat(CHAT).find((m) => m.from_bot && m.text.includes('Something went wrong handling that (ref 900003)')));
  });
});

describe('Telegram down at start', () => {
  it('getMe failing: startBot returns at once, cards still go out, polling starts when getMe works', async () => {
    const sandbox = await sandboxWith();
    sandbox.setOutage({ method: 'getMe', kind: '5xx', status: 502 });
    const { h, phoenix } = await setup({ apiRoot: sandbox.apiRoot });
    const t0 = Date.now();
    const running = await run(phoenix);
    expect(Date.now() - t0).toBeLessThan(1000);
    let ready = false;
    void running.ready.then(() => (ready = true));
    // the engine and the card outbox work while Telegram's getMe fails
    const r = await h.engine.submitIntent(h.intent());
    expect(r).toMatchObject({ kind: 'accepted', state: 'PROPOSED' });
    await sandbox.waitFor(() => sandbox.chat(CHAT).find((m) => buttonsOf(m).length === 2), { label: 'card while getMe fails' });
    await sandbox.waitFor(() => sandbox.calls.filter((c) => c.method === 'getMe').length >= 3, { label: 'getMe retried' });
    expect(ready).toBe(false);
    sandbox.setOutage(undefined);
    await running.ready;
    sandbox.user(PEOPLE.alice).send(CHAT, '/help');
    await sandbox.waitFor(() => sandbox.chat(CHAT).find((m) => m.from_bot && m.text.includes('Commands')), { label: 'help once polling' });
  });

  it('nothing listening at the API root: no hang, no crash, the card waits in the outbox and is delivered once when Telegram comes back', async () => {
    const port = await freePort();
    const { h, phoenix } = await setup({ apiRoot: `http://127.0.0.1:${port}`, bot: { callDeadlineMs: 300, requestTimeoutSeconds: 2 } });
    const running = await run(phoenix);
    const r = await h.engine.submitIntent(h.intent());
    expect(r).toMatchObject({ kind: 'accepted', state: 'PROPOSED' });
    const deadline = Date.now() + 5000;
    while (phoenix.syncer.stats.failures === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 25));
    expect(phoenix.syncer.stats.failures).toBeGreaterThan(0);
    expect(phoenix.syncer.stats.lastError).toMatch(/network|abort/i);
    expect(phoenix.syncer.stats.lastError).not.toContain(TOKEN); // no secret in errors
    expect(await h.engine.cards.dirty()).toHaveLength(1); // not lost: still in the outbox

    const sandbox = await sandboxWith(port); // Telegram is back
    await running.ready;
    const card = await sandbox.waitFor(() => sandbox.chat(CHAT).find((m) => buttonsOf(m).length === 2), { timeoutMs: 10_000, label: 'card after recovery' });
    await phoenix.syncer.idle();
    expect(sandbox.chat(CHAT).filter((m) => m.from_bot)).toHaveLength(1);
    expect(card.text).toContain('BUY 1 MES');
    const t0 = Date.now();
    await running.stop();
    expect(Date.now() - t0).toBeLessThan(3000);
  }, 20_000);
});

describe('npm start wiring (launchTelegram)', () => {
  let handle: TelegramHandle | undefined;
  afterEach(async () => {
    await handle?.stop();
    handle = undefined;
  });

  it('without TELEGRAM_BOT_TOKEN: starts the sandbox with console users approver 1001 / admin 1002 / stranger 666 and runs the real bot against it', async () => {
    const h: Harness = await makeHarness();
    cleanups.push(() => h.close());
    handle = await launchTelegram({ config: testConfig({}), engine: h.engine, logger: h.engine.logger, sandboxPort: 0 });
    expect(handle.label).toBe('sandbox');
    const sandbox = handle.sandbox!;
    expect(handle.banner.join('\n')).toContain(sandbox.url);
    await handle.running.ready;
    const page = await (await fetch(sandbox.url)).text();
    expect(page).toContain(String(CHAT));
    const r = await h.engine.submitIntent(h.intent());
    expect(r).toMatchObject({ state: 'PROPOSED' });
    const card = await sandbox.waitFor(() => sandbox.chat(CHAT).find((m) => buttonsOf(m).length === 2));
    const stranger = sandbox.user({ id: SANDBOX_USERS.stranger, first_name: 'Stranger' });
    const qs = stranger.tap(CHAT, card.message_id, 'APPROVE');
    expect((await stranger.waitAnswer(qs)).text).toBe('Not allowed.');
    const approver = sandbox.user({ id: SANDBOX_USERS.approver, first_name: 'Approver' });
    const qa = approver.tap(CHAT, card.message_id, 'APPROVE');
    expect((await approver.waitAnswer(qa)).text).toBe('Approved ✅ Order sent to the broker.');
    const admin = sandbox.user({ id: SANDBOX_USERS.admin, first_name: 'Admin' });
    admin.send(CHAT, '/audit');
    await sandbox.waitFor(() => sandbox.chat(CHAT).find((m) => m.from_bot && m.text.includes('Audit chain OK')));
  });

  it('with TELEGRAM_BOT_TOKEN and TELEGRAM_API_ROOT: long polling against that Bot API server', async () => {
    const sandbox = await sandboxWith();
    const h = await makeHarness();
    cleanups.push(() => h.close());
    const config = testConfig({ TELEGRAM_BOT_TOKEN: '123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAA', TELEGRAM_API_ROOT: sandbox.apiRoot, TELEGRAM_CHAT_ID: CHAT_ID, TELEGRAM_APPROVERS: '1001', TELEGRAM_ADMINS: '1002' });
    handle = await launchTelegram({ config, engine: h.engine, logger: h.engine.logger });
    expect(handle.label).toBe('telegram');
    expect(handle.running.mode).toBe('polling');
    expect(handle.banner.join('\n')).not.toContain('AAAAAAAA');
    await handle.running.ready;
    sandbox.user(PEOPLE.bob).send(CHAT, '/status');
    await sandbox.waitFor(() => sandbox.chat(CHAT).find((m) => m.from_bot && m.text.includes('Status')));
  });
});

/** Update delivery: getUpdates offset/limit/allowed_updates semantics and webhook pushes. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Bot, webhookCallback } from 'grammy';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { idlePoll, runBot, TOKEN } from './helpers.js';

let sandbox: Sandbox;
const servers: http.Server[] = [];

beforeEach(async () => {
  sandbox = await startSandbox({ webhookRetryDelaysMs: [20, 20, 20] });
});
afterEach(async () => {
  await sandbox.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** Raw Bot API call, to see exactly what the server answers. */
async function call(method: string, body: object = {}, token = TOKEN): Promise<{ status: number; json: any }> {
  const res = await fetch(`${sandbox.apiRoot}/bot${token}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

const ids = (json: any): number[] => json.result.map((u: { update_id: number }) => u.update_id);

async function listen(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

describe('getUpdates', () => {
  it('redelivers unconfirmed updates and never returns confirmed ones', async () => {
    const u = sandbox.user({ id: 5 });
    u.send(5, 'one');
    u.send(5, 'two');
    u.send(5, 'three');
    const first = await call('getUpdates');
    expect(ids(first.json)).toEqual([1, 2, 3]);
    expect(first.json.result[0].message).toMatchObject({ message_id: 1, text: 'one', chat: { id: 5, type: 'private' } });
    expect(ids((await call('getUpdates')).json)).toEqual([1, 2, 3]); // nothing confirmed yet
    expect(ids((await call('getUpdates', { offset: 3 })).json)).toEqual([3]); // confirms 1 and 2
    expect(ids((await call('getUpdates', { limit: 1 })).json)).toEqual([3]);
    expect(ids((await call('getUpdates', { offset: 4 })).json)).toEqual([]);
    u.send(5, 'four');
    expect(ids((await call('getUpdates', { offset: 1 })).json)).toEqual([4]); // old offsets cannot resurrect
  });

  it('limit caps a batch and a negative offset keeps the last updates', async () => {
    const u = sandbox.user({ id: 5 });
    for (let i = 0; i < 5; i++) u.send(5, `m${i}`);
    expect(ids((await call('getUpdates', { limit: 2 })).json)).toEqual([1, 2]);
    expect(ids((await call('getUpdates', { offset: -2 })).json)).toEqual([4, 5]);
    expect(ids((await call('getUpdates')).json)).toEqual([4, 5]);
  });

  it('grammY confirms what it handled: a restarted bot gets only new updates', async () => {
    const seen: string[] = [];
    const setup = (bot: Bot) => bot.on('message:text', (ctx) => void seen.push(ctx.message.text));
    const first = await runBot(sandbox, setup);
    sandbox.user({ id: 9 }).send(9, 'before restart');
    await sandbox.waitFor(() => seen.length === 1);
    await first.stop();
    sandbox.user({ id: 9 }).send(9, 'while down');
    const second = await runBot(sandbox, setup);
    await sandbox.waitFor(() => seen.length === 2);
    await second.stop();
    expect(seen).toEqual(['before restart', 'while down']);
    expect(sandbox.pendingUpdates()).toEqual([]);
  });

  it('remembers allowed_updates until changed; [] resets to the default', async () => {
    const u = sandbox.user({ id: 5 });
    const card = await new Bot(TOKEN, { client: { apiRoot: sandbox.apiRoot } }).api.sendMessage(5, 'c', {
      reply_markup: { inline_keyboard: [[{ text: 'ok', callback_data: 'ok' }]] },
    });
    await call('getUpdates', { allowed_updates: ['message'] });
    u.tap(5, card.message_id, 'ok'); // filtered at creation, like Telegram
    await call('getUpdates', {}); // omitted: keeps ['message']
    u.tap(5, card.message_id, 'ok');
    u.send(5, 'hi');
    expect((await call('getUpdates')).json.result.map((x: object) => Object.keys(x)[1])).toEqual(['message']);
    await call('getUpdates', { allowed_updates: [] });
    u.tap(5, card.message_id, 'ok');
    expect((await call('getUpdates')).json.result.map((x: object) => Object.keys(x)[1])).toEqual(['message', 'callback_query']);
  });

  it('waits for `timeout` seconds when idle, and a newer poll terminates the older with 409', async () => {
    const t0 = performance.now();
    const short = await call('getUpdates', { timeout: 1 });
    expect(short.json).toEqual({ ok: true, result: [] });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(950);

    const older = call('getUpdates', { timeout: 30 });
    await idlePoll(sandbox);
    const newer = call('getUpdates', { timeout: 30 });
    expect(await older).toEqual({
      status: 409,
      json: {
        ok: false,
        error_code: 409,
        description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
      },
    });
    sandbox.user({ id: 3 }).send(3, 'wake');
    expect(ids((await newer).json)).toEqual([1]);
  });

  it('cleans up a long poll the client aborts', async () => {
    const controller = new AbortController();
    const pending = fetch(`${sandbox.apiRoot}/bot${TOKEN}/getUpdates?timeout=30`, { signal: controller.signal }).catch((e: Error) => e.name);
    await idlePoll(sandbox);
    controller.abort();
    expect(await pending).toBe('AbortError');
    await sandbox.waitFor(() => sandbox.calls.every((c) => !c.pending));
    expect(sandbox.calls[0]).toMatchObject({ method: 'getUpdates', status: 0, ok: false, pending: false });
    // the next update is not swallowed by the dead poll
    sandbox.user({ id: 3 }).send(3, 'still here');
    expect(ids((await call('getUpdates')).json)).toEqual([1]);
  });
});

describe('webhooks', () => {
  it('pushes updates with the secret header to grammY webhookCallback; getUpdates is then 409', async () => {
    const bot = new Bot(TOKEN, { client: { apiRoot: sandbox.apiRoot } });
    bot.command('status', (ctx) => ctx.reply('all good'));
    await bot.init();
    const headers: string[] = [];
    const handle = webhookCallback(bot, 'http', { secretToken: 's3cret_TOKEN-1' });
    const url = await listen((req, res) => {
      headers.push(String(req.headers['x-telegram-bot-api-secret-token']));
      void handle(req, res);
    });
    expect(await bot.api.setWebhook(url, { secret_token: 's3cret_TOKEN-1' })).toBe(true);
    expect(await bot.api.getWebhookInfo()).toMatchObject({ url, pending_update_count: 0, has_custom_certificate: false });

    sandbox.user({ id: 42 }).send(42, '/status');
    const reply = await sandbox.waitFor(() => sandbox.chat(42).find((m) => m.from_bot));
    expect(reply.text).toBe('all good');
    expect(headers).toEqual(['s3cret_TOKEN-1']);
    expect((await call('getUpdates')).status).toBe(409);

    await bot.api.deleteWebhook();
    sandbox.user({ id: 42 }).send(42, 'polled again');
    expect((await call('getUpdates')).json.result[0].message.text).toBe('polled again');
  });

  it('retries a failing webhook, reports the error, and never crashes', async () => {
    let hits = 0;
    const url = await listen((_req, res) => {
      hits++;
      res.writeHead(hits <= 2 ? 500 : 200).end();
    });
    await call('setWebhook', { url });
    sandbox.user({ id: 1 }).send(1, 'retry me');
    await sandbox.waitFor(() => hits === 3 && sandbox.webhookInfo().pending_update_count === 0);
    expect(sandbox.webhookInfo().last_error_message).toMatch(/500/);

    // an unreachable webhook: retried, then dropped with an error, sandbox still fine
    await call('setWebhook', { url: 'http://127.0.0.1:1/nothing-here' });
    sandbox.user({ id: 1 }).send(1, 'lost');
    await sandbox.waitFor(() => sandbox.webhookInfo().pending_update_count === 0 && sandbox.webhookInfo().last_error_message);
    expect(sandbox.webhookInfo().last_error_message).toMatch(/Connection failed/);
    expect((await call('getMe')).status).toBe(200);
  });

  it('setting a webhook ends a waiting long poll with 409, so nothing is delivered twice', async () => {
    const poll = call('getUpdates', { timeout: 30 });
    await idlePoll(sandbox);
    const url = await listen((_req, res) => res.writeHead(200).end());
    await call('setWebhook', { url });
    expect(await poll).toMatchObject({ status: 409, json: { error_code: 409 } });
  });

  it('drop_pending_updates is honoured by deleteWebhook and setWebhook', async () => {
    sandbox.user({ id: 1 }).send(1, 'old');
    await call('deleteWebhook', { drop_pending_updates: true });
    expect(sandbox.pendingUpdates()).toEqual([]);
    sandbox.user({ id: 1 }).send(1, 'kept');
    await call('deleteWebhook', {});
    expect(sandbox.pendingUpdates()).toHaveLength(1);
  });
});

describe('the HTTP surface', () => {
  it('reset() forgets chats, calls, faults and the webhook but keeps counting update ids', async () => {
    sandbox.user({ id: 1 }).send(1, 'a');
    sandbox.faults.push({ kind: '5xx' });
    await call('setWebhook', { url: 'http://127.0.0.1:1/x' });
    sandbox.reset();
    expect([sandbox.chat(1), sandbox.calls, sandbox.faults, sandbox.pendingUpdates()]).toEqual([[], [], [], []]);
    expect(sandbox.webhookInfo().url).toBe('');
    sandbox.user({ id: 1 }).send(1, 'b');
    expect(sandbox.pendingUpdates()[0]).toMatchObject({ update_id: 2, message: { message_id: 1, text: 'b' } });
  });

  it('accepts urlencoded and query-string parameters like Telegram', async () => {
    const form = await fetch(`${sandbox.apiRoot}/bot${TOKEN}/sendMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ chat_id: '77', text: 'hi', reply_markup: JSON.stringify({ inline_keyboard: [[{ text: 'a', callback_data: 'a' }]] }) }),
    });
    expect(await form.json()).toMatchObject({ ok: true, result: { chat: { id: 77 }, text: 'hi', reply_markup: { inline_keyboard: [[{ text: 'a', callback_data: 'a' }]] } } });
    const get = await fetch(`${sandbox.apiRoot}/bot${TOKEN}/sendmessage?chat_id=77&text=q`);
    expect(await get.json()).toMatchObject({ ok: true, result: { message_id: 2, text: 'q' } });
  });

  it('rejects other tokens when the sandbox has one', async () => {
    const strict = await startSandbox({ token: '555:right' });
    try {
      const res = await fetch(`${strict.apiRoot}/bot555:wrong/getMe`);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ ok: false, error_code: 401, description: 'Unauthorized' });
      const ok = await fetch(`${strict.apiRoot}/bot555:right/getMe`);
      expect(await ok.json()).toMatchObject({ ok: true, result: { id: 555 } });
    } finally {
      await strict.close();
    }
  });

  it('only knows chats that exist when autoCreateChats is off', async () => {
    const strict = await startSandbox({ autoCreateChats: false });
    const api = new Bot(TOKEN, { client: { apiRoot: strict.apiRoot } }).api;
    try {
      await expect(api.sendMessage(10, 'x')).rejects.toMatchObject({ description: 'Bad Request: chat not found' });
      strict.addChat({ id: -10, title: 'Ops' });
      await expect(api.sendMessage(-10, 'x')).resolves.toMatchObject({ chat: { id: -10, type: 'supergroup', title: 'Ops' } });
      strict.user({ id: 10, first_name: 'Zed' }).send(10, 'hello');
      await expect(api.sendMessage(10, 'x')).resolves.toMatchObject({ chat: { id: 10, first_name: 'Zed' } });
    } finally {
      await strict.close();
    }
  });
});

/** The user-side HTTP API under /sandbox/api that the web console uses. */
import { Bot } from 'grammy';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { TOKEN } from './helpers.js';

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await startSandbox();
});
afterEach(async () => {
  await sandbox.close();
});

async function api(path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${sandbox.apiRoot}/sandbox/api/${path}`, body === undefined ? {} : {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe('/sandbox/api', () => {
  it('send, chat, tap and answer round trip', async () => {
    const sent = await api('send', { userId: 1002, chatId: 1001, text: '/halt now' });
    expect(sent.status).toBe(200);
    expect(sent.json.message).toMatchObject({
      message_id: 1,
      from: { id: 1002, is_bot: false, first_name: 'Admin' }, // console label
      text: '/halt now',
      entities: [{ type: 'bot_command', offset: 0, length: 5 }],
    });
    const bot = new Bot(TOKEN, { client: { apiRoot: sandbox.apiRoot } });
    const card = await bot.api.sendMessage(1001, '<b>Card</b>', { parse_mode: 'HTML', reply_markup: { inline_keyboard: [[{ text: 'OK', callback_data: 'v1:a:1' }]] } });

    const chat = await api('chat?chatId=1001');
    expect(chat.json.messages.map((m: { text: string; from_bot: boolean }) => [m.text, m.from_bot])).toEqual([
      ['/halt now', false],
      ['Card', true],
    ]);
    expect(chat.json.messages[1]).toMatchObject({ html: '<b>Card</b>', parse_mode: 'HTML', edits: 0 });

    const tap = await api('tap', { userId: 1001, chatId: 1001, messageId: card.message_id, data: 'v1:a:1' });
    expect(tap.status).toBe(200);
    const pending = api(`answer?id=${tap.json.callbackQueryId}&waitMs=2000`);
    await bot.api.answerCallbackQuery(tap.json.callbackQueryId, { text: 'Approved' });
    expect((await pending).json).toEqual({ ok: true, answered: true, answer: { text: 'Approved' } });

    const updates = await bot.api.getUpdates();
    expect(updates.map((u) => Object.keys(u)[1])).toEqual(['message', 'callback_query']);
    expect(updates[1]?.callback_query).toMatchObject({ from: { id: 1001, first_name: 'Approver' }, data: 'v1:a:1' });
  });

  it('events long-poll returns when anything changes', async () => {
    const { json: start } = await api('events?since=0&timeout=0');
    const waiting = api(`events?since=${start.version}&timeout=5`);
    const t0 = performance.now();
    setTimeout(() => sandbox.user({ id: 1 }).send(1, 'change'), 50);
    const { json } = await waiting;
    expect(json.version).toBeGreaterThan(start.version);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('chat?since=V returns only what changed after V: new and edited messages, deleted ids; a reset answers the whole chat', async () => {
    const bot = new Bot(TOKEN, { client: { apiRoot: sandbox.apiRoot } });
    const sent = [];
    for (let k = 0; k < 5; k++) sent.push(await bot.api.sendMessage(1001, `m${k}`));
    const { json: all } = await api('chat?chatId=1001');
    expect(all).toMatchObject({ full: true, removed: [] });
    expect(all.messages).toHaveLength(5);
    const v = all.version;
    expect((await api(`chat?chatId=1001&since=${v}`)).json).toMatchObject({ full: false, messages: [], removed: [], version: v });

    await bot.api.editMessageText(1001, sent[2]!.message_id, 'm2 edited');
    await bot.api.deleteMessage(1001, sent[4]!.message_id);
    const added = await bot.api.sendMessage(1001, 'm5');
    const { json: delta } = await api(`chat?chatId=1001&since=${v}`);
    expect(delta.full).toBe(false);
    expect(delta.messages.map((m: { message_id: number; text: string }) => [m.message_id, m.text])).toEqual([[sent[2]!.message_id, 'm2 edited'], [added.message_id, 'm5']]);
    expect(delta.removed).toEqual([sent[4]!.message_id]);
    expect((await api(`chat?chatId=1001&since=${delta.version}`)).json.messages).toEqual([]);

    sandbox.reset();
    await bot.api.sendMessage(1001, 'after reset').catch(() => undefined);
    const { json: after } = await api(`chat?chatId=1001&since=${delta.version}`);
    expect(after.full).toBe(true);
  });

  it('rejects bad input with a clear 400', async () => {
    const bad = [
      await api('send', { userId: 'x', chatId: 1001, text: 'hi' }),
      await api('send', { userId: 1, chatId: 1001, text: '' }),
      await api('send', '{not json'),
      await api('tap', { userId: 1, chatId: 1001, messageId: 1 }),
      await api('tap', { userId: 1, chatId: 1001, messageId: 99, data: 'x' }),
      await api('chat'),
    ];
    expect(bad.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400]);
    expect(bad[0]?.json.error).toMatch(/^userId: /);
    expect(bad[1]?.json.error).toBe('text: text must not be empty');
    expect(bad[2]?.json.error).toBe('body must be JSON');
    expect(bad[3]?.json.error).toMatch(/^data: /);
    expect(bad[4]?.json.error).toBe('sandbox: no message 99 in chat 1001 to tap');
    expect(bad[5]?.json.error).toMatch(/^chatId: /);
    expect((await api('nope')).status).toBe(404);
  });

  it('serves the console page', async () => {
    const res = await fetch(sandbox.url);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain('data-testid="composer-input"');
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/); // nothing loads from elsewhere
    // the page's own script is valid JavaScript (a bad escape inside the template once broke it)
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    expect(script.length).toBeGreaterThan(1000);
    expect(() => new Function(script)).not.toThrow();
  });
});

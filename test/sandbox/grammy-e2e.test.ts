/** The real grammY bot against the sandbox over HTTP: the flows Phoenix depends on. */
import { autoRetry } from '@grammyjs/auto-retry';
import { Bot, GrammyError, InlineKeyboard } from 'grammy';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { idlePoll, runBot, TOKEN, type RunningBot } from './helpers.js';

let sandbox: Sandbox;
let running: RunningBot | undefined;

beforeEach(async () => {
  sandbox = await startSandbox();
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
  await sandbox.close();
});

const cardKeyboard = (id: string) => new InlineKeyboard().text('✅ APPROVE', `v1:a:${id}`).text('❌ PASS', `v1:p:${id}`);

describe('grammY bot against the sandbox', () => {
  it('/start round trip: command entity, HTML reply, real Message shape', async () => {
    const seen: unknown[] = [];
    running = await runBot(sandbox, (bot) => {
      bot.command('start', async (ctx) => {
        seen.push(ctx.match);
        const sent = await ctx.reply('<b>Welcome</b> to <i>Phoenix</i> &amp; co', { parse_mode: 'HTML' });
        seen.push(sent);
      });
    });
    const alice = sandbox.user({ id: 1001, first_name: 'Alice', username: 'alice' });
    alice.send(1001, '/start@phoenix_sandbox_bot deep-link');

    const reply = await sandbox.waitFor(() => sandbox.chat(1001).find((m) => m.from_bot), { label: 'bot reply' });
    expect(reply.text).toBe('Welcome to Phoenix & co');
    expect(reply.html).toBe('<b>Welcome</b> to <i>Phoenix</i> &amp; co');
    expect(reply.parse_mode).toBe('HTML');
    expect(reply.entities).toEqual([
      { type: 'bold', offset: 0, length: 7 },
      { type: 'italic', offset: 11, length: 7 },
    ]);
    await sandbox.waitFor(() => seen.length === 2);
    expect(seen[0]).toBe('deep-link');
    const msg = seen[1] as { message_id: number; date: number; chat: unknown; from: { is_bot: boolean; id: number } };
    expect(msg.message_id).toBe(2); // the user's /start was message 1 of this chat
    expect(msg.date).toBeLessThan(Date.now() / 1000 + 1); // seconds, not ms
    expect(msg.date).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(msg.chat).toEqual({ id: 1001, type: 'private', first_name: 'Alice', username: 'alice' });
    expect(msg.from).toMatchObject({ id: 123, is_bot: true, username: 'phoenix_sandbox_bot' });
  });

  it('sends an inline keyboard; a tap delivers the current message; the bot answers and edits', async () => {
    let received: { data?: string; messageId?: number; text?: string; markup?: unknown; fromId?: number } = {};
    running = await runBot(sandbox, (bot) => {
      bot.command('card', (ctx) => ctx.reply('Card <b>T-1</b>: buy 10 AAPL', { parse_mode: 'HTML', reply_markup: cardKeyboard('T1') }));
      bot.callbackQuery(/^v1:(a|p):(\w+)$/, async (ctx) => {
        const m = ctx.callbackQuery.message;
        received = { data: ctx.callbackQuery.data, messageId: m?.message_id, text: m && 'text' in m ? m.text : undefined, markup: m?.reply_markup, fromId: ctx.from.id };
        await ctx.answerCallbackQuery({ text: 'Recorded ✅' });
        await ctx.editMessageText(`Card <b>T-1</b>: APPROVED by ${ctx.from.first_name}`, {
          parse_mode: 'HTML',
          reply_markup: new InlineKeyboard(),
        });
      });
    });
    const approver = sandbox.user({ id: 1001, first_name: 'Ann' });
    approver.send(1001, '/card');
    const card = await sandbox.waitFor(() => sandbox.chat(1001).find((m) => m.from_bot && m.reply_markup));
    expect(card.reply_markup?.inline_keyboard[0]?.map((b) => b.callback_data)).toEqual(['v1:a:T1', 'v1:p:T1']);

    const queryId = approver.tap(1001, card.message_id, 'APPROVE'); // substring of "✅ APPROVE"
    const answer = await approver.waitAnswer(queryId);
    expect(answer).toEqual({ text: 'Recorded ✅' });
    const edited = await sandbox.waitFor(() => sandbox.chat(1001).find((m) => m.message_id === card.message_id && m.edits === 1));
    expect(edited.text).toBe('Card T-1: APPROVED by Ann');
    expect(edited.reply_markup).toBeUndefined();
    expect(received).toEqual({
      data: 'v1:a:T1',
      messageId: card.message_id,
      text: 'Card T-1: buy 10 AAPL',
      markup: card.reply_markup,
      fromId: 1001,
    });
    expect(running.errors).toEqual([]);
  });

  it('forged callback data reaches the bot (tapRaw) and an unknown button is an error (tap)', async () => {
    const data: string[] = [];
    running = await runBot(sandbox, (bot) => {
      bot.on('callback_query:data', async (ctx) => {
        data.push(ctx.callbackQuery.data);
        await ctx.answerCallbackQuery();
      });
    });
    const api = new Bot(TOKEN, { client: { apiRoot: sandbox.apiRoot } }).api;
    const card = await api.sendMessage(1001, 'card', { reply_markup: cardKeyboard('T2') });
    const mallory = sandbox.user({ id: 666, first_name: 'Mallory' });
    expect(() => mallory.tap(1001, card.message_id, 'DELETE ALL')).toThrow(/no button matching "DELETE ALL".*APPROVE/);
    const id = mallory.tapRaw(1001, card.message_id, 'v1:a:SOMEONE-ELSES');
    await mallory.waitAnswer(id);
    expect(data).toEqual(['v1:a:SOMEONE-ELSES']);
  });

  it('"message is not modified" surfaces as a GrammyError; removing the keyboard counts as a change', async () => {
    const api = new Bot(TOKEN, { client: { apiRoot: sandbox.apiRoot } }).api;
    const sent = await api.sendMessage(-100500, 'Alert <b>1</b>', { parse_mode: 'HTML', reply_markup: cardKeyboard('X') });
    expect(sent.chat).toEqual({ id: -100500, type: 'supergroup', title: 'Sandbox group -100500' });
    // same text, no reply_markup: Telegram drops the keyboard, so this IS a modification
    const edited = await api.editMessageText(-100500, sent.message_id, 'Alert <b>1</b>', { parse_mode: 'HTML' });
    expect(edited).toMatchObject({ message_id: sent.message_id, text: 'Alert 1' });
    expect((edited as { reply_markup?: unknown }).reply_markup).toBeUndefined();

    const again = api.editMessageText(-100500, sent.message_id, 'Alert <b>1</b>', { parse_mode: 'HTML' });
    await expect(again).rejects.toBeInstanceOf(GrammyError);
    await expect(again).rejects.toMatchObject({
      error_code: 400,
      description:
        'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
    });
    // formatting alone is a change
    await expect(api.editMessageText(-100500, sent.message_id, 'Alert 1')).resolves.toMatchObject({ text: 'Alert 1' });
    await expect(api.editMessageReplyMarkup(-100500, sent.message_id)).rejects.toMatchObject({ error_code: 400 });
  });

  it('enforces Telegram limits with the real error texts', async () => {
    const api = new Bot(TOKEN, { client: { apiRoot: sandbox.apiRoot } }).api;
    const fail = async (p: Promise<unknown>) => {
      const e = await p.then(() => undefined, (err: unknown) => err);
      if (!(e instanceof GrammyError)) throw new Error(`expected GrammyError, got ${String(e)}`);
      return e.description;
    };
    expect(await fail(api.sendMessage(1, 'x'.repeat(4097)))).toBe('Bad Request: message is too long');
    expect(await fail(api.sendMessage(1, '<b></b>', { parse_mode: 'HTML' }))).toBe('Bad Request: message text is empty');
    expect(await fail(api.sendMessage(1, 'AT&T <3', { parse_mode: 'HTML' }))).toMatch(/^Bad Request: can't parse entities: /);
    expect(await fail(api.sendMessage(1, 'x', { reply_markup: { inline_keyboard: [[{ text: 'b', callback_data: '🚀'.repeat(17) }]] } }))).toBe(
      'Bad Request: BUTTON_DATA_INVALID',
    );
    expect(await fail(api.editMessageText(1, 99, 'x'))).toBe('Bad Request: message to edit not found');
    expect(await fail(api.editMessageText(424242, 1, 'x'))).toBe('Bad Request: chat not found');
    expect(await fail(api.deleteMessage(1, 99))).toBe('Bad Request: message to delete not found');
    expect(await fail(api.answerCallbackQuery('nope'))).toBe(
      'Bad Request: query is too old and response timeout expired or query ID is invalid',
    );
    const raw = api.raw as unknown as Record<string, (p: object) => Promise<unknown>>;
    expect(await fail(raw.getUpdatesFromTheFuture!({}))).toBe('Not Found: method not found');
  });

  it('keeps the simple methods real: getMe, commands, chat action, delete', async () => {
    const api = new Bot(TOKEN, { client: { apiRoot: sandbox.apiRoot } }).api;
    expect(await api.getMe()).toMatchObject({ id: 123, is_bot: true, first_name: 'Phoenix Sandbox', username: 'phoenix_sandbox_bot', can_join_groups: true });
    await api.setMyCommands([{ command: 'status', description: 'Show status' }]);
    expect(await api.getMyCommands()).toEqual([{ command: 'status', description: 'Show status' }]);
    expect(await api.getMyCommands({ scope: { type: 'all_group_chats' } })).toEqual([]);
    await api.deleteMyCommands();
    expect(await api.getMyCommands()).toEqual([]);
    expect(await api.sendChatAction(1001, 'typing')).toBe(true);
    const m = await api.sendMessage(1001, 'bye');
    expect(await api.deleteMessage(1001, m.message_id)).toBe(true);
    expect(sandbox.chat(1001)).toEqual([]);
    expect(sandbox.calls.map((c) => `${c.method}:${c.status}`)).toEqual([
      'getMe:200', 'setMyCommands:200', 'getMyCommands:200', 'getMyCommands:200', 'deleteMyCommands:200',
      'getMyCommands:200', 'sendChatAction:200', 'sendMessage:200', 'deleteMessage:200',
    ]);
  });

  it('429 fault + auto-retry: waits retry_after and succeeds', async () => {
    const bot = new Bot(TOKEN, { client: { apiRoot: sandbox.apiRoot } });
    bot.api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 5 }));
    sandbox.faults.push({ method: 'sendMessage', kind: '429', retryAfter: 1 });
    const t0 = performance.now();
    const sent = await bot.api.sendMessage(1001, 'after flood');
    const elapsed = performance.now() - t0;
    expect(sent.text).toBe('after flood');
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(2500);
    expect(sandbox.calls.map((c) => [c.method, c.status, c.description])).toEqual([
      ['sendMessage', 429, 'Too Many Requests: retry after 1'],
      ['sendMessage', 200, undefined],
    ]);
    expect(sandbox.faults).toEqual([]);
  });

  it('long polling really blocks: no new getUpdates while idle', async () => {
    running = await runBot(sandbox, () => {});
    await idlePoll(sandbox);
    const before = sandbox.calls.filter((c) => c.method === 'getUpdates').length;
    // a client that does not block would make dozens of calls in this window
    await new Promise((r) => setTimeout(r, 300));
    const during = sandbox.calls.filter((c) => c.method === 'getUpdates').length - before;
    expect(during).toBe(0); // the one pending request is still waiting
    const poll = sandbox.calls.find((c) => c.method === 'getUpdates' && c.pending);
    expect(poll?.payload).toMatchObject({ timeout: 30 });
  });

  it('an update arriving during a long poll is delivered immediately', async () => {
    const texts: string[] = [];
    running = await runBot(sandbox, (bot) => bot.on('message:text', (ctx) => void texts.push(ctx.message.text)));
    await idlePoll(sandbox);
    const t0 = performance.now();
    sandbox.user({ id: 7 }).send(7, 'ping');
    await sandbox.waitFor(() => texts.length === 1);
    expect(performance.now() - t0).toBeLessThan(500);
  });
});

/** Flood control and callback deadlines on a fake clock; fault injection on real time. */
import { Bot, GrammyError, HttpError, type Api } from 'grammy';
import { afterEach, describe, expect, it } from 'vitest';
import { RateLimiter, DEFAULT_RATE_LIMITS } from '../../src/sandbox/rate-limit.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { FakeClock } from '../support/fake-clock.js';
import { TOKEN } from './helpers.js';

const open: Sandbox[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function sandboxWith(opts: Parameters<typeof startSandbox>[0]): Promise<{ sandbox: Sandbox; api: Api }> {
  const sandbox = await startSandbox(opts);
  open.push(sandbox);
  return { sandbox, api: new Bot(TOKEN, { client: { apiRoot: sandbox.apiRoot } }).api };
}

/** The GrammyError a call fails with (or undefined when it succeeds). */
const failure = (p: Promise<unknown>): Promise<GrammyError | undefined> =>
  p.then(
    () => undefined,
    (e: unknown) => {
      if (e instanceof GrammyError) return e;
      throw e;
    },
  );

describe('rate limits (fake clock)', () => {
  it('private chat: a small burst, then 1/s with retry_after counted to the next free slot', async () => {
    const clock = new FakeClock();
    const { api } = await sandboxWith({ clock, rateLimits: true });
    for (let i = 0; i < 3; i++) await api.sendMessage(1001, `burst ${i}`);
    const e = await failure(api.sendMessage(1001, 'one too many'));
    expect(e?.error_code).toBe(429);
    expect(e?.description).toBe('Too Many Requests: retry after 1');
    expect(e?.parameters).toEqual({ retry_after: 1 });
    await clock.advance(999);
    expect((await failure(api.sendMessage(1001, 'still early')))?.parameters.retry_after).toBe(1);
    await clock.advance(1);
    await expect(api.sendMessage(1001, 'on time')).resolves.toMatchObject({ text: 'on time' });
    // other chats are not affected by this one
    await expect(api.sendMessage(1002, 'elsewhere')).resolves.toBeTruthy();
  });

  it('group: 20 sends+edits per rolling minute, retry_after = seconds until the oldest leaves the window', async () => {
    const clock = new FakeClock();
    const { api } = await sandboxWith({ clock, rateLimits: true });
    const first = await api.sendMessage(-100, 'm0');
    for (let i = 1; i < 20; i++) {
      await clock.advance(1000);
      if (i % 2 === 0) await api.sendMessage(-100, `m${i}`);
      else await api.editMessageText(-100, first.message_id, `edit ${i}`); // edits count in groups
    }
    await clock.advance(1000); // t = 20 s; the first send (t = 0) frees at t = 60 s
    const e = await failure(api.sendMessage(-100, 'm20'));
    expect(e?.parameters.retry_after).toBe(40);
    expect(e?.description).toBe('Too Many Requests: retry after 40');
    await clock.advance(39_999);
    expect((await failure(api.editMessageText(-100, first.message_id, 'late')))?.parameters.retry_after).toBe(1);
    await clock.advance(1);
    await expect(api.sendMessage(-100, 'free again')).resolves.toBeTruthy();
  });

  it('group: one message per second, no burst', async () => {
    const clock = new FakeClock();
    const { api } = await sandboxWith({ clock, rateLimits: true });
    await api.sendMessage(-5, 'a');
    expect((await failure(api.sendMessage(-5, 'b')))?.parameters.retry_after).toBe(1);
    await clock.advance(1000);
    await expect(api.sendMessage(-5, 'b')).resolves.toBeTruthy();
  });

  it('strictPerMinute caps any chat, even with rateLimits off', async () => {
    const clock = new FakeClock();
    const { api } = await sandboxWith({ clock, strictPerMinute: 3 });
    const m = await api.sendMessage(7, 'a');
    await api.editMessageText(7, m.message_id, 'b');
    await clock.advance(30_000);
    await api.sendMessage(7, 'c');
    const e = await failure(api.sendMessage(7, 'd'));
    expect(e?.parameters.retry_after).toBe(30);
  });

  it('30 messages per second across chats', () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter(clock, DEFAULT_RATE_LIMITS);
    for (let chat = 1; chat <= 30; chat++) expect(limiter.take(chat, 'send')).toBeUndefined();
    expect(limiter.take(31, 'send')).toBe(1);
  });

  it('is off by default', async () => {
    const { api } = await sandboxWith({});
    for (let i = 0; i < 25; i++) await api.sendMessage(-1, `m${i}`);
  });
});

describe('callback query deadlines (fake clock)', () => {
  it('answers are accepted once, and only before the deadline', async () => {
    const clock = new FakeClock();
    const { sandbox, api } = await sandboxWith({ clock, callbackDeadlineMs: 15_000 });
    const card = await api.sendMessage(1001, 'card', { reply_markup: { inline_keyboard: [[{ text: 'Go', callback_data: 'go' }]] } });
    const user = sandbox.user({ id: 1001 });
    const TOO_OLD = 'Bad Request: query is too old and response timeout expired or query ID is invalid';

    const fresh = user.tap(1001, card.message_id, 'Go');
    await clock.advance(15_000);
    await expect(api.answerCallbackQuery(fresh, { text: 'ok' })).resolves.toBe(true);
    expect(user.answerFor(fresh)).toEqual({ text: 'ok' });
    expect((await failure(api.answerCallbackQuery(fresh)))?.description).toBe(TOO_OLD); // second answer

    const stale = user.tap(1001, card.message_id, 'go');
    await clock.advance(15_001);
    expect((await failure(api.answerCallbackQuery(stale)))?.description).toBe(TOO_OLD);
    expect(user.answerFor(stale)).toBeUndefined();

    const long = user.tap(1001, card.message_id, 'Go');
    expect((await failure(api.answerCallbackQuery(long, { text: 'x'.repeat(201) })))?.error_code).toBe(400);
    await expect(api.answerCallbackQuery(long, { text: 'x'.repeat(200), show_alert: true })).resolves.toBe(true);
  });

  it('dates come from the injected clock, in seconds', async () => {
    const clock = new FakeClock('2030-01-02T03:04:05Z');
    const { sandbox, api } = await sandboxWith({ clock });
    const m = await api.sendMessage(1, 'x');
    expect(m.date).toBe(Date.parse('2030-01-02T03:04:05Z') / 1000);
    await clock.advance(60_000);
    const e = await api.editMessageText(1, m.message_id, 'y');
    expect(e).toMatchObject({ date: m.date, edit_date: m.date + 60 });
    expect(sandbox.calls.map((c) => c.at)).toEqual([clock.now() - 60_000, clock.now()]);
  });
});

describe('fault injection', () => {
  it('5xx faults count down and are recorded', async () => {
    const { sandbox, api } = await sandboxWith({});
    sandbox.faults.push({ kind: '5xx', count: 2 }, { method: /^edit/, kind: '5xx', status: 500 });
    const e1 = await failure(api.sendMessage(1, 'a'));
    expect(e1).toMatchObject({ error_code: 502, description: 'Bad Gateway' });
    expect(await failure(api.getMe())).toMatchObject({ error_code: 502 });
    await expect(api.sendMessage(1, 'b')).resolves.toBeTruthy();
    expect(await failure(api.editMessageText(1, 2, 'c'))).toMatchObject({ error_code: 500, description: 'Internal Server Error' });
    expect(sandbox.faults).toEqual([]);
    expect(sandbox.calls.map((c) => c.status)).toEqual([502, 502, 200, 500]);
  });

  it('faults without a method leave getUpdates alone', async () => {
    const { sandbox } = await sandboxWith({});
    sandbox.faults.push({ kind: '429', retryAfter: 7 });
    const res = await fetch(`${sandbox.apiRoot}/bot${TOKEN}/getUpdates`);
    expect(res.status).toBe(200);
    const res2 = await fetch(`${sandbox.apiRoot}/bot${TOKEN}/getMe`);
    expect(res2.status).toBe(429);
    expect(await res2.json()).toEqual({ ok: false, error_code: 429, description: 'Too Many Requests: retry after 7', parameters: { retry_after: 7 } });
  });

  it('network faults destroy the socket; timeouts hold until the client aborts', async () => {
    const { sandbox, api } = await sandboxWith({});
    sandbox.faults.push({ method: 'sendMessage', kind: 'network' });
    await expect(api.sendMessage(1, 'x')).rejects.toBeInstanceOf(HttpError);

    sandbox.faults.push({ method: 'sendMessage', kind: 'timeout' });
    const controller = new AbortController();
    const signal = controller.signal as unknown as Parameters<Api['sendMessage']>[3]; // grammY types it with its abort-controller shim
    const held = api.sendMessage(1, 'x', undefined, signal).catch((e: unknown) => e);
    await sandbox.waitFor(() => sandbox.calls.length === 2 && sandbox.calls[1]?.pending);
    controller.abort();
    expect(await held).toBeInstanceOf(HttpError);
    await sandbox.waitFor(() => !sandbox.calls[1]?.pending);
    await expect(api.sendMessage(1, 'fine')).resolves.toMatchObject({ message_id: 1 });
    expect(sandbox.calls.map((c) => c.status)).toEqual([0, 0, 200]);
  });

  it('delay answers normally after real time passes', async () => {
    const { sandbox, api } = await sandboxWith({});
    sandbox.faults.push({ method: 'getMe', kind: 'delay', delayMs: 150 });
    const t0 = performance.now();
    await expect(api.getMe()).resolves.toMatchObject({ is_bot: true });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('an outage fails matching calls until its end time', async () => {
    const clock = new FakeClock();
    const { sandbox, api } = await sandboxWith({ clock });
    sandbox.setOutage({ kind: '5xx', status: 503, until: clock.now() + 10_000 });
    expect(await failure(api.sendMessage(1, 'x'))).toMatchObject({ error_code: 503, description: 'Service Unavailable' });
    expect(await failure(api.getMe())).toMatchObject({ error_code: 503 });
    await clock.advance(10_000);
    await expect(api.sendMessage(1, 'x')).resolves.toBeTruthy();
    sandbox.setOutage({ method: 'getMe', kind: '429', retryAfter: 3 });
    expect(await failure(api.getMe())).toMatchObject({ error_code: 429, parameters: { retry_after: 3 } });
    sandbox.setOutage(undefined);
    await expect(api.getMe()).resolves.toBeTruthy();
  });

  it('close() ends held requests and long polls quickly', async () => {
    const { sandbox, api } = await sandboxWith({});
    sandbox.faults.push({ method: 'sendMessage', kind: 'timeout' });
    const held = api.sendMessage(1, 'x').catch((e: unknown) => e);
    const poll = fetch(`${sandbox.apiRoot}/bot${TOKEN}/getUpdates?timeout=30`).catch((e: unknown) => e);
    await sandbox.waitFor(() => sandbox.calls.filter((c) => c.pending).length === 2);
    const waiting = sandbox.waitFor(() => false, { timeoutMs: 10_000 }).catch((e: Error) => e.message);
    const t0 = performance.now();
    await sandbox.close();
    expect(performance.now() - t0).toBeLessThan(200);
    expect(await held).toBeInstanceOf(HttpError);
    expect(await poll).toBeInstanceOf(Error);
    expect(await waiting).toMatch(/sandbox was closed/);
  });
});

/**
 * SAFE-7 (issue 12): the sandbox console API has no login (any user id may tap APPROVE), so it
 * must only answer this machine's own console page and programs. Real HTTP against a real
 * sandbox: foreign Host (DNS rebinding), foreign Origin (a cross-site page) and non-JSON bodies
 * (the cross-site text/plain POST a browser sends without a preflight) are refused and change
 * nothing; the console's own requests and the Bot API that grammY calls keep working.
 */
import { request } from 'node:http';
import { Bot } from 'grammy';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { TOKEN } from './helpers.js';

let sandbox: Sandbox;
let cardId: number;

beforeEach(async () => {
  sandbox = await startSandbox();
  const bot = new Bot(TOKEN, { client: { apiRoot: sandbox.apiRoot } });
  const card = await bot.api.sendMessage(1001, 'Card', { reply_markup: { inline_keyboard: [[{ text: 'APPROVE', callback_data: 'v1:a:1' }]] } });
  cardId = card.message_id;
});
afterEach(async () => {
  await sandbox.close();
});

/** Raw node:http so Host and Origin are exactly what the test says (fetch would set Host itself). */
function raw(opts: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const body = opts.body ?? '';
    const req = request(
      { host: '127.0.0.1', port: sandbox.port, method: opts.method ?? 'POST', path: opts.path, headers: { 'content-length': String(Buffer.byteLength(body)), ...opts.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const tapBody = () => JSON.stringify({ userId: 1001, chatId: 1001, messageId: cardId, data: 'v1:a:1' });
const own = () => `127.0.0.1:${sandbox.port}`;
const taps = () => sandbox.pendingUpdates().filter((u) => u.callback_query).length;

describe('SAFE-7: INV-SANDBOX-PAPER-1: the console API answers only this machine', () => {
  it('SAFE-7: INV-SANDBOX-PAPER-1: Host: evil.example (DNS rebinding) cannot tap APPROVE: 403, no callback queued', async () => {
    for (const host of ['evil.example', `evil.example:${sandbox.port}`, `127.0.0.1.evil.example:${sandbox.port}`, `127.0.0.1:${sandbox.port + 1}`]) {
      const r = await raw({ path: '/sandbox/api/tap', headers: { host, 'content-type': 'application/json' }, body: tapBody() });
      expect(r.status, host).toBe(403);
      expect(String(r.json.description)).toContain(`got Host: ${host}`);
    }
    // also reading the chat and the page: a rebinding page learns nothing
    expect((await raw({ method: 'GET', path: '/sandbox/api/chat?chatId=1001', headers: { host: 'evil.example' } })).status).toBe(403);
    expect((await raw({ method: 'GET', path: '/', headers: { host: 'evil.example' } })).status).toBe(403);
    expect(taps()).toBe(0);
  });

  it('SAFE-7: INV-SANDBOX-PAPER-1: Origin: http://evil.example (a cross-site page) cannot tap APPROVE: 403, no callback queued', async () => {
    for (const origin of ['http://evil.example', `http://evil.example:${sandbox.port}`, 'null', `https://127.0.0.1:${sandbox.port}`, `http://127.0.0.1:${sandbox.port + 1}`]) {
      const r = await raw({ path: '/sandbox/api/tap', headers: { host: own(), origin, 'content-type': 'application/json' }, body: tapBody() });
      expect(r.status, origin).toBe(403);
      expect(String(r.json.description)).toContain(`Origin: ${origin}`);
    }
    expect(taps()).toBe(0);
  });

  it('SAFE-7: INV-SANDBOX-PAPER-1: a text/plain (or form, or typeless) body is refused with 415, no callback or message queued', async () => {
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', null]) {
      const headers: Record<string, string> = { host: own() };
      if (type) headers['content-type'] = type;
      const tap = await raw({ path: '/sandbox/api/tap', headers, body: tapBody() });
      expect(tap.status, String(type)).toBe(415);
      expect(String(tap.json.error)).toMatch(/must be content-type application\/json/);
      const send = await raw({ path: '/sandbox/api/send', headers, body: JSON.stringify({ userId: 1001, chatId: 1001, text: '/halt' }) });
      expect(send.status, String(type)).toBe(415);
    }
    expect(sandbox.pendingUpdates()).toEqual([]);
    expect(sandbox.chat(1001).filter((m) => !m.from_bot)).toEqual([]);
  });

  it('SAFE-7: the console itself still works: loopback Host (127.0.0.1, localhost, [::1]) with its own port, same-origin or no Origin, JSON', async () => {
    const hosts = [own(), `localhost:${sandbox.port}`, `LOCALHOST:${sandbox.port}`, `[::1]:${sandbox.port}`];
    for (const host of hosts) {
      const r = await raw({ path: '/sandbox/api/tap', headers: { host, origin: `http://${host.toLowerCase()}`, 'content-type': 'application/json; charset=utf-8' }, body: tapBody() });
      expect(r.status, host).toBe(200);
    }
    expect((await raw({ path: '/sandbox/api/tap', headers: { host: own(), 'content-type': 'application/json' }, body: tapBody() })).status).toBe(200);
    expect(taps()).toBe(hosts.length + 1);
    // the page (what the browser opens) and a plain fetch from this machine
    expect((await fetch(sandbox.url)).status).toBe(200);
    expect((await fetch(`${sandbox.apiRoot}/sandbox/api/chat?chatId=1001`)).status).toBe(200);
  });

  it('SAFE-7: the Bot API grammY calls keeps working (getMe, sendMessage, getUpdates), and refuses a foreign Host too', async () => {
    const bot = new Bot(TOKEN, { client: { apiRoot: sandbox.apiRoot } });
    expect((await bot.api.getMe()).is_bot).toBe(true);
    await bot.api.sendMessage(1001, 'hello');
    expect((await bot.api.getUpdates()).length).toBe(0);
    const r = await raw({ method: 'GET', path: `/bot${TOKEN}/getUpdates`, headers: { host: 'evil.example' } });
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ ok: false, error_code: 403 });
  });

  it('SAFE-7: INV-SANDBOX-PAPER-1: startSandbox refuses a non-loopback host before it listens', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com']) {
      await expect(startSandbox({ host }), host).rejects.toThrow(/is not loopback/);
    }
  });

  it('a malformed request path is a 400, not a crash', async () => {
    for (const path of ['//[', '/bot%E0/getMe']) {
      const r = await raw({ method: 'GET', path, headers: { host: own() } });
      expect([400, 404]).toContain(r.status);
    }
    expect((await fetch(sandbox.url)).status).toBe(200);
  });
});

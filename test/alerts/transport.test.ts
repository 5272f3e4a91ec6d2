/** The grammY alert transport against the sandbox: every failure becomes the right typed error. */
import { afterEach, describe, expect, it } from 'vitest';
import { TelegramPermanentError, TelegramRateLimitError, TelegramTransientError } from '../../src/alerts/transport.js';
import { createGrammyAlertTransport } from '../../src/bot/alert.transport.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { TOKEN } from './helpers.js';

let sandbox: Sandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

const caught = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

describe('grammY alert transport', () => {
  it('sends HTML and returns the message id; maps 429, 5xx, 400, 401, timeout and network errors', async () => {
    sandbox = await startSandbox({ token: TOKEN });
    const t = createGrammyAlertTransport({ token: TOKEN, apiRoot: sandbox.apiRoot, timeoutMs: 10_000 });
    const quick = createGrammyAlertTransport({ token: TOKEN, apiRoot: sandbox.apiRoot, timeoutMs: 200 });
    const ok = await t.sendMessage('-1001', '<b>hi</b> &amp; bye');
    expect(ok.messageId).toBeGreaterThan(0);
    expect(sandbox.chat(-1001)[0]?.text).toBe('hi & bye');
    await t.probe!();

    sandbox.faults.push({ method: 'sendMessage', kind: '429', retryAfter: 9 });
    const rl = await caught(t.sendMessage('-1001', 'x'));
    expect(rl).toBeInstanceOf(TelegramRateLimitError);
    expect((rl as TelegramRateLimitError).retryAfterSec).toBe(9);

    sandbox.faults.push({ method: 'sendMessage', kind: '5xx', status: 503 });
    const s5 = await caught(t.sendMessage('-1001', 'x'));
    expect(s5).toBeInstanceOf(TelegramTransientError);
    expect((s5 as TelegramTransientError).ambiguous).toBe(false);

    const bad = await caught(t.sendMessage('-1001', '<b>unclosed'));
    expect(bad).toBeInstanceOf(TelegramPermanentError);
    expect((bad as TelegramPermanentError).status).toBe(400);

    sandbox.faults.push({ method: 'sendMessage', kind: 'timeout' });
    const to = await caught(quick.sendMessage('-1001', 'x'));
    expect(to).toBeInstanceOf(TelegramTransientError);
    expect((to as TelegramTransientError).ambiguous).toBe(true);
    expect((to as Error).message).toMatch(/timeout/);

    sandbox.faults.push({ method: 'sendMessage', kind: 'network' });
    const net = await caught(t.sendMessage('-1001', 'x'));
    expect(net).toBeInstanceOf(TelegramTransientError);
    expect((net as TelegramTransientError).ambiguous).toBe(true);

    const wrong = createGrammyAlertTransport({ token: '999:nope', apiRoot: sandbox.apiRoot });
    const auth = await caught(wrong.sendMessage('-1001', 'x'));
    expect(auth).toBeInstanceOf(TelegramPermanentError);
    expect((auth as TelegramPermanentError).status).toBe(401);
  });

  it('connection refused is transient and not ambiguous (nothing left the host)', async () => {
    const s = await startSandbox();
    const root = s.apiRoot;
    await s.close();
    const t = createGrammyAlertTransport({ token: TOKEN, apiRoot: root, timeoutMs: 500 });
    const e = await caught(t.sendMessage('1', 'x'));
    expect(e).toBeInstanceOf(TelegramTransientError);
    expect((e as TelegramTransientError).ambiguous).toBe(false);
  });
});

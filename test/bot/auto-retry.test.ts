/**
 * The bot's bounded auto-retry (src/bot/bot.ts): answers and other non-chat calls never wait on
 * the wall clock for an error that cannot be retried usefully. @grammyjs/auto-retry on its own
 * retries a network error forever (whatever maxRetryAttempts says, sleeping 3 s, 6 s … up to an
 * hour), and with maxRetryAttempts 0 still sleeps 3 s before returning a 5xx: a wall-clock sleep
 * that also made the simulator's histories depend on the machine's load.
 *
 * Timers are faked: a call that sleeps never settles, so "settled after a few turns of the event
 * loop" proves no sleep happened; the 429 case shows the bounded retry is still there.
 */
import { HttpError, type Transformer } from 'grammy';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CHAT_ID } from '../support/harness.js';
import { createBot } from '../../src/bot/bot.js';
import { useHarness } from '../support/cleanup.js';
import { TOKEN } from './helpers.js';

const turns = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};

/** Settled (value or error) within a few event-loop turns, with timers frozen? */
async function settlesAtOnce(p: Promise<unknown>): Promise<{ settled: boolean; error?: unknown }> {
  let state: { settled: boolean; error?: unknown } = { settled: false };
  p.then(
    () => (state = { settled: true }),
    (error: unknown) => (state = { settled: true, error }),
  );
  await turns();
  return state;
}

describe('bot auto-retry never sleeps on the wall clock for what it cannot retry', () => {
  const harness = useHarness();
  afterEach(() => vi.useRealTimers());

  async function botWith(answer: Transformer, retry?: { maxRetryAttempts: number; maxDelaySeconds: number }) {
    const h = await harness({ connect: false });
    const calls: string[] = [];
    const phoenix = createBot({
      engine: h.engine,
      logger: h.engine.logger,
      config: { token: TOKEN, apiRoot: 'http://127.0.0.1:9', chatId: CHAT_ID, approvers: ['1001'], admins: ['1002'], viewers: [] },
      options: { callDeadlineMs: 0, ...(retry ? { retry } : {}) },
      transformers: [(prev, method, payload, signal) => (calls.push(method), answer(prev, method, payload, signal))],
    });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    return { api: phoenix.bot.api, calls };
  }

  const networkError: Transformer = () => Promise.reject(new HttpError("Network request for 'answerCallbackQuery' failed!", new Error('connect ECONNREFUSED')));
  const badGateway: Transformer = async () => ({ ok: false, error_code: 502, description: 'Bad Gateway' }) as never;

  it('a network error reaches the caller at once, tried once (production defaults)', async () => {
    const { api, calls } = await botWith(networkError);
    const r = await settlesAtOnce(api.answerCallbackQuery('cq1', { text: 'Approved' }));
    expect(r.settled).toBe(true);
    expect(r.error).toBeInstanceOf(HttpError);
    expect(calls).toEqual(['answerCallbackQuery']);
  });

  it('with no retries configured (the simulator), a 5xx reaches the caller at once', async () => {
    const { api, calls } = await botWith(badGateway, { maxRetryAttempts: 0, maxDelaySeconds: 0 });
    const r = await settlesAtOnce(api.answerCallbackQuery('cq1'));
    expect(r.settled).toBe(true);
    expect(String((r.error as Error)?.message)).toContain('502');
    expect(calls).toHaveLength(1);
  });

  it('a 429 within maxDelaySeconds is still retried after retry_after (bounded retry kept)', async () => {
    let n = 0;
    const limited: Transformer = async () => (++n === 1 ? ({ ok: false, error_code: 429, description: 'Too Many Requests: retry after 2', parameters: { retry_after: 2 } } as never) : ({ ok: true, result: true } as never));
    const { api, calls } = await botWith(limited);
    const p = api.answerCallbackQuery('cq1');
    const before = await settlesAtOnce(p);
    expect(before.settled).toBe(false); // waiting out retry_after
    await vi.advanceTimersByTimeAsync(1999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(p).resolves.toBe(true);
    expect(calls).toHaveLength(2);
  });
});

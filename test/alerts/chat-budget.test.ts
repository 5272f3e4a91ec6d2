/** The per-chat send budget (chat-budget.ts): lanes, order, one send in flight, 429s, on a FakeClock. */
import { describe, expect, it } from 'vitest';
import { ChatBudget, type Grant, type Lane } from '../../src/alerts/chat-budget.js';
import { FakeClock, flushMicrotasks } from '../support/fake-clock.js';

const T0 = Date.parse('2026-11-24T15:00:00Z');
const GROUP = '-1001001';

/** Queue labelled takes; `granted` lists labels in grant order, each grant kept for the test to end. */
function queue(budget: ChatBudget, chat = GROUP) {
  const granted: string[] = [];
  const grants = new Map<string, Grant>();
  const take = (label: string, lane: Lane, opts: Parameters<ChatBudget['take']>[2] = {}) =>
    budget.take(chat, lane, opts).then((g) => {
      granted.push(label);
      grants.set(label, g);
      return g;
    });
  return { granted, grants, take };
}

describe('per-chat budget: lanes and order', () => {
  it('when the slot frees: urgent first, then cards, then the rest; FIFO inside a lane; one send in flight per chat', async () => {
    const clock = new FakeClock(T0);
    const budget = new ChatBudget({ clock });
    const q = queue(budget);
    void q.take('reply-1', 'rest');
    await flushMicrotasks();
    expect(q.granted).toEqual(['reply-1']); // nothing waited: granted at once
    for (const [label, lane] of [['reply-2', 'rest'], ['card-1', 'card'], ['card-2', 'card'], ['halt', 'urgent'], ['reply-3', 'rest'], ['critical', 'urgent']] as const) void q.take(label, lane);
    await flushMicrotasks();
    expect(q.granted).toEqual(['reply-1']); // reply-1 still in flight
    expect(budget.waiting(GROUP)).toBe(6);
    q.grants.get('reply-1')!.sent();
    await flushMicrotasks();
    expect(q.granted).toEqual(['reply-1']); // 1 s gap per chat
    for (let i = 0; i < 6; i++) {
      await clock.advance(1000);
      q.grants.get(q.granted.at(-1)!)!.sent();
    }
    await clock.advance(1000);
    expect(q.granted).toEqual(['reply-1', 'halt', 'critical', 'card-1', 'card-2', 'reply-2', 'reply-3']);
  });

  it('chats do not wait for each other; a 429 blocks the whole chat and the 429d send keeps its place at the front of its lane', async () => {
    const clock = new FakeClock(T0);
    const budget = new ChatBudget({ clock, limits: false });
    const a = queue(budget, GROUP);
    const b = queue(budget, '42');
    void a.take('a1', 'card');
    void b.take('b1', 'rest');
    await flushMicrotasks();
    expect([...a.granted, ...b.granted]).toEqual(['a1', 'b1']);
    void a.take('a2', 'card');
    void a.take('a-reply', 'rest');
    a.grants.get('a1')!.rateLimited(5);
    void a.take('a1-again', 'card', { front: true });
    await clock.advance(4999);
    expect(a.granted).toEqual(['a1']); // every lane of the chat waits out retry_after
    b.grants.get('b1')!.sent();
    void b.take('b2', 'rest');
    await flushMicrotasks();
    expect(b.granted).toEqual(['b1', 'b2']); // another chat is not affected
    await clock.advance(1);
    expect(a.granted).toEqual(['a1', 'a1-again']);
    a.grants.get('a1-again')!.sent();
    await flushMicrotasks();
    a.grants.get('a2')!.notSent();
    await flushMicrotasks();
    expect(a.granted).toEqual(['a1', 'a1-again', 'a2', 'a-reply']);
  });

  it('an aborted waiter leaves the queue; a retry may wait for its backoff without holding up other lanes; nextSlot counts the work ahead', async () => {
    const clock = new FakeClock(T0);
    const budget = new ChatBudget({ clock });
    const q = queue(budget);
    void q.take('first', 'rest');
    await flushMicrotasks();
    const ac = new AbortController();
    const aborted = q.take('gone', 'urgent', { signal: ac.signal }).catch((e: Error) => e.name);
    void q.take('retry', 'card', { front: true, notBefore: T0 + 10_000 });
    void q.take('reply', 'rest');
    expect(budget.nextSlot(GROUP, 'rest')).toBeGreaterThan(T0); // three ahead of a new reply
    expect(budget.nextSlot(GROUP, 'urgent')).toBeGreaterThan(T0); // one in flight, one urgent waiting
    ac.abort();
    expect(await aborted).toBe('AbortError');
    q.grants.get('first')!.sent();
    await clock.advance(1000);
    expect(q.granted).toEqual(['first', 'reply']); // the card retry is still backing off
    q.grants.get('reply')!.sent();
    await clock.advance(9000);
    expect(q.granted).toEqual(['first', 'reply', 'retry']);
    q.grants.get('retry')!.sent();
    expect(budget.waiting()).toBe(0);
    expect(budget.recent(GROUP)).toBe(3);
  });
});

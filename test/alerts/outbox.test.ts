/**
 * Outbox durability and Telegram failure handling, against the sandbox Bot API on the fake
 * clock: restarts (INV-OUTBOX-1), a 10-minute outage, 429 floods, timeouts.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertSender } from '../../src/alerts/sender.js';
import { KV, type KvKey } from '../../src/engine/kv.keys.js';
import type { AlertTransport } from '../../src/alerts/transport.js';
import { createGrammyAlertTransport } from '../../src/bot/alert.transport.js';
import type { AlertDraft } from '../../src/engine/alerts.table.js';
import type { Store } from '../../src/engine/store.port.js';
import { startSandbox } from '../../src/sandbox/server.js';
import { CHAT_ID, makeHarness } from '../support/harness.js';
import { usePostgres } from '../support/postgres.js';
import { backlog, chatView, drain, enqueue, floodAlert, makeRig, reopen, runFor, sends, TOKEN, type Rig } from './helpers.js';

const pg = usePostgres();

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function rigged(opts: Parameters<typeof makeRig>[0] = {}): Promise<Rig> {
  const rig = await makeRig(opts);
  cleanup.push(() => rig.close());
  return rig;
}

const kv = (store: Store, key: KvKey) => store.tx((tx) => tx.kv.get(key));

/** Every alert row and the message it was folded into, as the outbox itself sees them. */
async function dbCounts(store: Store): Promise<{ alerts: number; sent: number; messageSum: number; unassigned: number }> {
  const c = await store.tx((tx) => tx.alertOutbox.counts());
  return { alerts: c.alerts, sent: c.sentInMessages, messageSum: c.deliveredAlertCount, unassigned: c.unassigned };
}

async function restartScenario(firstTransport: (real: AlertTransport) => AlertTransport) {
  const h = await makeHarness();
  cleanup.push(async () => rmSync(dirname(h.dbFile), { recursive: true, force: true }));
  const sandbox = await startSandbox({ rateLimits: true, clock: { now: () => h.clock.now() } });
  cleanup.push(() => sandbox.close());
  const real = createGrammyAlertTransport({ token: TOKEN, apiRoot: sandbox.apiRoot, timeoutMs: 10_000 });
  const s1 = new AlertSender({ store: h.app.store, clock: h.clock, transport: firstTransport(real), chatId: CHAT_ID });
  await s1.start();
  for (let i = 0; i < 500; i += 50) {
    await enqueue(h.app.store, Array.from({ length: 50 }, (_, k) => floodAlert(i + k, h.clock.now())));
    await h.clock.advance(250); // process 1 runs (its one send hangs: no settled() here)
  }
  await h.clock.advance(5000);
  const before = await h.engine.status();
  // the process dies: nothing awaited, nothing flushed
  s1.abandon();
  await h.app.close();

  const app2 = await reopen(h);
  cleanup.push(() => app2.close());
  const s2 = new AlertSender({ store: app2.store, clock: h.clock, transport: real, chatId: CHAT_ID });
  cleanup.push(() => s2.stop());
  await s2.start();
  await drain(app2.store, h.clock, s2, 10 * 60_000);
  return { before, app2, s2, sandbox };
}

describe('outbox durability', () => {
  it('INV-OUTBOX-1: stopped with 500 undelivered alerts (one message in flight) → restart on the same DB file → all 500 delivered once, none twice', async () => {
    let attempts = 0;
    const { before, app2, s2, sandbox } = await restartScenario(() => ({
      sendMessage: () => {
        attempts += 1;
        return new Promise<never>(() => {}); // Telegram never answers; the process is killed meanwhile
      },
    }));
    expect(attempts).toBe(1);
    expect(before.outbox.backlog).toBe(500);
    expect(before.outbox.lastSentAt).toBeNull();

    const view = chatView(sandbox);
    expect(view.accounted).toBe(500);
    expect(view.shown).toBe(500);
    expect([...view.copies.values()].every((n) => n === 1)).toBe(true);
    expect(await dbCounts(app2.store)).toEqual({ alerts: 500, sent: 500, messageSum: 500, unassigned: 0 });
    expect(await backlog(app2.store)).toBe(0);
    expect(s2.stats.probes).toBe(1); // the in-flight message was ambiguous: probe before re-sending
  });

  it('INV-OUTBOX-1: killed after Telegram got the message but before its answer → re-sent once with the same ref; alert counts never double', async () => {
    const { app2, sandbox } = await restartScenario((real) => ({
      sendMessage: async (chat, html) => {
        await real.sendMessage(chat, html); // delivered …
        return new Promise<never>(() => {}); // … and the process dies before recording it
      },
    }));
    const view = chatView(sandbox);
    const dup = [...view.copies.entries()].filter(([, n]) => n > 1);
    expect(dup).toHaveLength(1); // exactly the one message in flight at the kill
    expect(dup[0]![1]).toBe(2);
    expect(view.accounted).toBe(500); // by distinct message: every alert exactly once
    expect(await dbCounts(app2.store)).toEqual({ alerts: 500, sent: 500, messageSum: 500, unassigned: 0 });
  });
});

describe('store adapters', () => {
  it('the outbox runs on the Prisma store adapter too (STORE_ADAPTER=prisma): same folding, same counts', async () => {
    const { h, sandbox, sender } = await rigged({ env: { STORE_ADAPTER: 'prisma' } });
    await enqueue(h.app.store, Array.from({ length: 300 }, (_, i) => floodAlert(i, h.clock.now())));
    await drain(h.app.store, h.clock, sender, 10 * 60_000);
    expect(chatView(sandbox).accounted).toBe(300);
    expect(await dbCounts(h.app.store)).toEqual({ alerts: 300, sent: 300, messageSum: 300, unassigned: 0 });
    expect(sender.stats.tickErrors).toBe(0);
  });

  it('the outbox runs on the PostgreSQL store (issue 18): same folding, same counts, times right in a process that is not on UTC', async () => {
    const tz = process.env.TZ;
    process.env.TZ = 'Asia/Kolkata'; // +05:30: a timestamp read in local time would be off by hours
    cleanup.push(async () => void (tz === undefined ? delete process.env.TZ : (process.env.TZ = tz)));
    const { h, sandbox, sender } = await rigged({ env: { DATABASE_URL: await pg().createDatabase() } });
    await enqueue(h.app.store, Array.from({ length: 300 }, (_, i) => floodAlert(i, h.clock.now())));
    await drain(h.app.store, h.clock, sender, 10 * 60_000);
    expect(chatView(sandbox).accounted).toBe(300);
    expect(await dbCounts(h.app.store)).toEqual({ alerts: 300, sent: 300, messageSum: 300, unassigned: 0 });
    expect(sender.stats.tickErrors).toBe(0);
    // the pacing memory reads sentAt back as the instant it was written (fake clock: no later than now)
    const sent = await h.app.store.tx((tx) => tx.alertOutbox.recentSends(CHAT_ID, 5));
    expect(sent.length).toBeGreaterThan(0);
    for (const t of sent) expect(t).toBeLessThanOrEqual(h.clock.now());
    expect(h.clock.now() - sent[0]!).toBeLessThan(10 * 60_000);
    expect(Number(await kv(h.app.store, KV.telegramLastSentAt))).toBe(sent[0]);
  });
});

describe('Telegram failures', () => {
  it('CV Telegram 429 flood: every 429 retry_after is honoured, nothing lost, no crash', async () => {
    const { h, sandbox, sender } = await rigged();
    sandbox.faults.push({ method: 'sendMessage', kind: '429', count: 6, retryAfter: 7 });
    let total = 0;
    await runFor(h.clock, sender, 60_000, 250, async (now) => {
      if (now % 1000 === 0) {
        const batch: AlertDraft[] = Array.from({ length: 20 }, (_, k) => floodAlert(total + k, now));
        total += batch.length;
        await enqueue(h.app.store, batch);
      }
    });
    await drain(h.app.store, h.clock, sender, 30 * 60_000);
    const calls = sends(sandbox);
    const limited = calls.filter((c) => c.status === 429);
    expect(limited).toHaveLength(6);
    for (const c of limited) {
      const next = calls.find((x) => x.at > c.at || (x !== c && calls.indexOf(x) > calls.indexOf(c)));
      expect(next, 'a retry follows').toBeDefined();
      expect(next!.at - c.at).toBeGreaterThanOrEqual(7000);
    }
    const view = chatView(sandbox);
    expect(view.accounted).toBe(total);
    expect(view.shown).toBe(total);
    expect(sender.stats.tickErrors).toBe(0);
    expect(sender.stats.rateLimited).toBe(6);
  });

  it('CV Telegram timeout: timed-out sends are retried after a probe and arrive once; nothing lost', async () => {
    const { h, sandbox, sender } = await rigged({ timeoutMs: 300 });
    sandbox.faults.push({ method: 'sendMessage', kind: 'timeout', count: 3 });
    await enqueue(h.app.store, [floodAlert(0, h.clock.now())]); // a CRITICAL stall
    await runFor(h.clock, sender, 2000);
    const during = await h.engine.status();
    expect(during.outbox.backlog).toBe(1);
    expect(during.outbox.lastError).toMatch(/timeout/);
    await drain(h.app.store, h.clock, sender, 10 * 60_000);
    const view = chatView(sandbox);
    expect(view.accounted).toBe(1);
    // the three held requests never reached the chat; only a spurious timeout on a loaded
    // machine (a real send slower than 300 ms) could add a copy, and then it is counted
    expect(sender.stats.ambiguous).toBeGreaterThanOrEqual(3);
    expect(view.shown).toBeLessThanOrEqual(1 + sender.stats.ambiguous - 3);
    expect(sender.stats.probes).toBeGreaterThanOrEqual(3);
    expect((await h.engine.status()).outbox.lastError).toBeNull();
  });

  it('CV Telegram timeout: a send that timed out yet was delivered shows up at most once more (same ref); counts never double', async () => {
    const { h, sandbox, sender } = await rigged({ timeoutMs: 300 });
    // Telegram takes the message but answers after our timeout: the ambiguous case
    sandbox.faults.push({ method: 'sendMessage', kind: 'delay', delayMs: 1000, count: 1 });
    await enqueue(h.app.store, Array.from({ length: 30 }, (_, i) => floodAlert(i, h.clock.now())));
    await drain(h.app.store, h.clock, sender, 10 * 60_000);
    await sandbox.waitFor(() => sandbox.calls.every((c) => !c.pending) || undefined);
    const view = chatView(sandbox);
    expect(view.accounted).toBe(30);
    const copies = [...view.copies.values()];
    expect(Math.max(...copies)).toBeLessThanOrEqual(1 + sender.stats.ambiguous);
    expect(copies.filter((n) => n >= 2).length).toBeGreaterThanOrEqual(1); // the delayed one did arrive twice
    expect(view.shown - view.accounted).toBeLessThanOrEqual(30 * sender.stats.ambiguous);
  });

  it('CV Telegram outage: 10 simulated minutes of timeouts, then 5xx, then 429 → no crash, no loss, /status shows backlog and the error meanwhile, TELEGRAM_DOWN raised, backlog drains after', async () => {
    const { h, sandbox, sender } = await rigged({ timeoutMs: 150 });
    let total = 0;
    const feed = async (now: number) => {
      if (now % 1000 !== 0) return;
      const batch = Array.from({ length: 5 }, (_, k) => floodAlert(total + k, now));
      total += batch.length;
      await enqueue(h.app.store, batch);
    };
    await runFor(h.clock, sender, 20_000, 250, feed); // healthy first
    const healthy = await h.engine.status();
    expect(healthy.outbox.lastSentAt).not.toBeNull();
    expect(healthy.outbox.lastError).toBeNull();

    const t0 = h.clock.now();
    const phases = [
      { kind: 'timeout' as const, expect: /timeout/ },
      { kind: '5xx' as const, status: 502, expect: /502/ },
      { kind: '429' as const, retryAfter: 20, expect: /429/ },
    ];
    const seen: string[] = [];
    for (const p of phases) {
      const { expect: _e, ...fault } = p;
      sandbox.setOutage(fault);
      await runFor(h.clock, sender, 200_000, 250, feed);
      const s = await h.engine.status();
      expect(s.outbox.backlog).toBeGreaterThan(0);
      expect(s.outbox.lastSentAt).toBe(healthy.outbox.lastSentAt);
      expect(s.outbox.lastError).toMatch(p.expect);
      seen.push(s.outbox.lastError ?? '');
    }
    expect(await kv(h.app.store, KV.telegramDown)).not.toBeNull();
    // alerts kept folding into the next digest instead of piling up stale messages
    const composedDuring = (await h.app.store.tx((tx) => tx.alertOutbox.counts())).undeliveredMessages;
    expect(composedDuring).toBeLessThanOrEqual(2); // one digest + one CRITICAL that jumps the queue
    sandbox.setOutage(undefined);
    expect(h.clock.now() - t0).toBe(600_000);
    const backlogAtEnd = await backlog(h.app.store);
    expect(backlogAtEnd).toBeGreaterThan(2000);

    await drain(h.app.store, h.clock, sender, 30 * 60_000);
    const after = await h.engine.status();
    expect(after.outbox.backlog).toBe(0);
    expect(after.outbox.lastError).toBeNull();
    expect(after.outbox.lastSentAt).toBeGreaterThan(t0 + 600_000);
    expect(await kv(h.app.store, KV.telegramDown)).toBeNull();
    const counts = await dbCounts(h.app.store);
    expect(counts.alerts).toBe(total + 2); // + TELEGRAM_DOWN + TELEGRAM_RESTORED
    const view = chatView(sandbox);
    expect(view.accounted).toBe(counts.alerts);
    // held (timed-out) requests never reach the chat; copies stay within the ambiguity bound
    expect(Math.max(...view.copies.values())).toBeLessThanOrEqual(1 + sender.stats.ambiguous);
    expect(view.texts.some((t) => t.includes('Telegram delivery failing'))).toBe(true);
    expect(view.texts.some((t) => t.includes('Telegram delivery restored'))).toBe(true);
    expect(sender.stats.tickErrors).toBe(0);
    // attempts during the outage stayed few (probes + backoff), not one per tick
    expect(sandbox.calls.filter((c) => c.at > t0 && c.at < t0 + 600_000).length).toBeLessThan(60);
    console.log(`outage: backlog ${backlogAtEnd} at the end of the outage; errors seen: ${seen.join(' | ')}; ${sender.stats.failures} failed attempts, ${sender.stats.probes} probes`);
  });
});

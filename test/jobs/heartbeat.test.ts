import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { SimBroker } from '../../src/broker/sim/index.js';
import { assessHealth, DEFAULT_HEARTBEAT_THRESHOLDS, heartbeatGap, nextHeartbeatDelayMs } from '../../src/engine/heartbeat.js';
import { seededRandom, silentLogger, type Logger } from '../../src/engine/ports.js';
import type { Store } from '../../src/engine/store.port.js';
import { pingDeadMansSwitch } from '../../src/jobs/heartbeat.ping.js';
import { ClockScheduler, CronScheduler, startJobs } from '../../src/jobs/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { CHAT_ID, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { expectBeads } from '../support/beads-checked.js';
import { advance, alerts, approveOne, beads, jobRuns, startTestJobs } from './helpers.js';
import { engineWith, depsOf } from '../support/engine-internals.js';

describe('heartbeat', () => {
  let h: Harness | undefined;
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });
  const harness = useHarness();

  it('INV-OPS-HEARTBEAT-30S-1: 1,000 beats on the fake clock, every interval within 25–35 s, and the jitter varies', async () => {
    h = await harness({ constitution: { session: { enforce: false } } });
    const jobs = await startTestJobs(h, { only: ['heartbeat', 'reconcile'] });
    const t0 = h.clock.now();
    // at-start beat + 999 scheduled beats (at most 35 s apart)
    while ((await h.app.db.bead.count({ where: { type: 'HEARTBEAT' } })) < 1000) await advance(h, 200_000, 20_000, jobs);
    await jobs.stop();
    const hb = (expectBeads(await beads(h, 'HEARTBEAT'), 'HEARTBEAT')).slice(0, 1000);
    expect(hb).toHaveLength(1000);
    expect(hb[0]!.ts.getTime()).toBe(t0);
    const gaps = hb.slice(1).map((b, i) => (b.ts.getTime() - hb[i]!.ts.getTime()) / 1000);
    expect(gaps).toHaveLength(999);
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(25);
      expect(g).toBeLessThanOrEqual(35);
    }
    // jitter really varies: many distinct intervals, spread over the whole band, centred on 30 s
    expect(new Set(gaps).size).toBeGreaterThan(500);
    expect(Math.min(...gaps)).toBeLessThan(26);
    expect(Math.max(...gaps)).toBeGreaterThan(34);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(mean).toBeGreaterThan(29.5);
    expect(mean).toBeLessThan(30.5);
    expect(hb.every((b) => b.data.status === 'OK')).toBe(true);
    // every beat is a recorded job run
    expect((await jobRuns(h, 'heartbeat')).filter((r) => r.outcome === 'OK').length).toBeGreaterThanOrEqual(1000);
  }, 120_000);

  it('CV heartbeat jitter bounds: 10,000 delays from the seeded randomness stay in [25 s, 35 s], cover the band, and the production scheduler uses the same intervals', async () => {
    const r = seededRandom(7);
    const delays = Array.from({ length: 10_000 }, () => nextHeartbeatDelayMs(r));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(25_000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(35_000);
    // each 1-s bucket of the band is used (uniform jitter, not a constant)
    const buckets = new Set(delays.map((d) => Math.floor((d - 25_000) / 1000)));
    expect(buckets.size).toBeGreaterThanOrEqual(10); // 25–26 s … 34–35 s all used
    // same seed → same sequence (deterministic tests); another seed → another sequence
    const again = seededRandom(7);
    expect(Array.from({ length: 5 }, () => nextHeartbeatDelayMs(again))).toEqual(delays.slice(0, 5));
    // CronScheduler (production) runs intervals on the clock with the same jitter
    const clock = new FakeClock('2026-11-24T15:00:00Z');
    const fired: number[] = [];
    const cron = new CronScheduler(clock, seededRandom(3));
    cron.add('heartbeat', { kind: 'interval', everyMs: 30_000, jitterMs: 5_000 }, (at) => fired.push(at));
    await clock.advance(3_600_000);
    cron.stop();
    const gaps = fired.slice(1).map((t, i) => t - fired[i]!);
    expect(fired.length).toBeGreaterThan(100);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(25_000);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(35_000);
    expect(new Set(gaps).size).toBeGreaterThan(50);
  });

  it('INV-OPS-HEARTBEAT-SEMANTIC-1: a stale SUBMITTED order and a stale WORKING entry make the beat DEGRADED with that reason in the bead', async () => {
    h = await harness({ constitution: { session: { enforce: false }, limits: { maxPositionPerInstrument: 5 } } });
    const jobs = await startTestJobs(h, { only: ['heartbeat', 'reconcile'] }); // no stall detector: the heartbeat must see it on its own
    h.sim!.faults.timeoutNext();
    const stuck = await approveOne(h);
    const submittedAt = h.clock.now();
    await advance(h, 130_000, 5_000, jobs);
    // every beat: DEGRADED exactly when the order has been SUBMITTED without ack for over 60 s
    const hb = (expectBeads(await beads(h, 'HEARTBEAT'), 'HEARTBEAT')).filter((b) => b.ts.getTime() >= submittedAt);
    expect(hb.length).toBeGreaterThanOrEqual(4);
    for (const b of hb) {
      const stale = b.ts.getTime() - submittedAt > 60_000;
      expect(b.data.status).toBe(stale ? 'DEGRADED' : 'OK');
      const reasons = b.data.reasons as string[];
      expect(reasons.some((r) => r.includes(stuck) && r.includes('SUBMITTED') && r.includes('without broker acknowledgement'))).toBe(stale);
      if (stale) expect((b.data.checks as Record<string, unknown>).staleOrders).toBe(1);
    }
    expect(hb.some((b) => b.data.status === 'DEGRADED')).toBe(true);
    let last = hb.at(-1)!;

    // A WORKING entry (acknowledged, not filled) older than 30 min is stale too.
    h.sim!.faults.delayNext(60 * 60_000);
    const resting = await approveOne(h);
    await advance(h, 31 * 60_000, 20_000, jobs);
    last = (expectBeads(await beads(h, 'HEARTBEAT'), 'HEARTBEAT')).at(-1)!;
    expect(last.data.status).toBe('DEGRADED');
    expect(last.data.reasons as string[]).toContainEqual(expect.stringMatching(new RegExp(`^stale order: entry of ${resting} WORKING for 3[01] min`)));
    await jobs.stop();
  });

  it('CV semantic degrade: broker down, database not writable, Telegram failing → DEGRADED with every reason; one HEARTBEAT_DEGRADED alert per episode; OK again after', async () => {
    h = await harness({ constitution: { session: { enforce: false } } });
    const jobs = await startTestJobs(h, { only: ['heartbeat', 'reconcile'] });
    await advance(h, 65_000, 5_000, jobs);
    expect((expectBeads(await beads(h, 'HEARTBEAT'), 'HEARTBEAT')).every((b) => b.data.status === 'OK')).toBe(true);
    expect(await alerts(h, 'HEARTBEAT_DEGRADED')).toHaveLength(0);

    h.sim!.faults.disconnect();
    await h.settle();
    await advance(h, 100_000, 5_000, jobs); // three or four beats while degraded
    const degraded = (expectBeads(await beads(h, 'HEARTBEAT'), 'HEARTBEAT')).filter((b) => b.data.status === 'DEGRADED');
    expect(degraded.length).toBeGreaterThanOrEqual(3);
    expect((degraded[0]!.data.reasons as string[]).some((r) => r.startsWith('broker DISCONNECTED'))).toBe(true);
    expect(await alerts(h, 'HEARTBEAT_DEGRADED')).toHaveLength(1); // when it turns DEGRADED, not every beat

    h.sim!.faults.reconnect();
    await h.settle();
    await advance(h, 40_000, 5_000, jobs);
    expect((expectBeads(await beads(h, 'HEARTBEAT'), 'HEARTBEAT')).at(-1)!.data.status).toBe('OK');

    // Telegram failing: alerts waiting, an error, and no successful send for 10 min.
    const now = h.clock.now();
    await h.app.store.tx(async (tx) => {
      await tx.kv.set('telegram.lastSentAt', String(now - 10 * 60_000), now);
      await tx.kv.set('telegram.lastError', 'ETIMEDOUT api.telegram.org', now);
      tx.alerts.enqueue({ type: 'ORDER_REJECTED', at: now, payload: { summary: 'test alert waiting in the outbox' } });
    });
    const r1 = await h.engine.jobs.heartbeat();
    expect(r1.status).toBe('DEGRADED');
    expect(r1.reasons.some((r) => r.startsWith('Telegram delivery failing') && r.includes('ETIMEDOUT'))).toBe(true);
    expect(r1.alerted).toBe(true); // a new episode after the OK beat
    await h.app.store.tx((tx) => tx.kv.set('telegram.lastError', '', now));

    // Database not writable: the real write fails; the beat still says why.
    const { store } = depsOf(h.engine);
    const failing: Store = {
      tx: (fn) =>
        store.tx((tx) =>
          fn({ ...tx, kv: { ...tx.kv, set: async (k, v, t) => (k === 'heartbeat.probe' ? Promise.reject(new Error('SQLITE_READONLY: attempt to write a readonly database')) : tx.kv.set(k, v, t)) } }),
        ),
      close: () => store.close(),
    };
    const r2 = await engineWith(h.engine, { store: failing }).jobs.heartbeat();
    expect(r2.status).toBe('DEGRADED');
    expect(r2.reasons).toContain('database not writable: SQLITE_READONLY: attempt to write a readonly database');
    const bead = (expectBeads(await beads(h, 'HEARTBEAT'), 'HEARTBEAT')).at(-1)!;
    expect(bead.data.reasons).toContain('database not writable: SQLITE_READONLY: attempt to write a readonly database');
    expect((bead.data.checks as Record<string, unknown>).dbWritable).toBe(false);
    await jobs.stop();
  });

  it('heartbeat checks: reconciliation overdue in market hours, positions left after the flatten deadline, job lag and stuck jobs', () => {
    const base = {
      now: Date.parse('2026-11-24T16:00:00Z'),
      broker: { state: 'READY' as const, canSubmit: true, account: null },
      db: { writable: true },
      inFlight: [],
      workingEntries: [],
      marketOpen: true,
      afterFlattenDeadline: false,
      openPositions: 0,
      lastReconcileAt: Date.parse('2026-11-24T15:59:00Z'),
      reconcileIntervalSec: 300,
      outboxBacklog: 0,
      telegramLastSentAt: null,
      telegramLastError: null,
      jobs: [],
      thresholds: DEFAULT_HEARTBEAT_THRESHOLDS,
    };
    expect(assessHealth(base)).toMatchObject({ status: 'OK', reasons: [] });
    expect(assessHealth({ ...base, lastReconcileAt: base.now - 12 * 60_000 }).reasons).toEqual(['last reconciliation 12 min ago (expected every 5 min)']);
    expect(assessHealth({ ...base, marketOpen: false, lastReconcileAt: null }).status).toBe('OK');
    expect(assessHealth({ ...base, afterFlattenDeadline: true, openPositions: 2 }).reasons).toEqual(['2 position(s) still open after the flatten deadline']);
    expect(assessHealth({ ...base, jobs: [{ name: 'expiry', lastLagMs: 20_000, runningForMs: null }] }).reasons).toEqual(['job expiry started 20 s late']);
    expect(assessHealth({ ...base, jobs: [{ name: 'reconcile', lastLagMs: 0, runningForMs: 180_000 }] }).reasons).toEqual(['job reconcile running for 180 s (stuck?)']);
    expect(assessHealth({ ...base, outboxBacklog: 51 }).reasons).toEqual(['alert outbox backlog 51 (limit 50)']);
    expect(heartbeatGap(base.now, base.now - 60_000)).toEqual({ missed: false, gapSec: 60 });
    expect(heartbeatGap(base.now, base.now - 61_000)).toEqual({ missed: true, gapSec: 61 });
  });

  it('CV process death: no heartbeat for 5 min of clock time, a new app on the same database file reports MISSED at start-up with the gap', async () => {
    h = await harness({ constitution: { session: { enforce: false } } });
    const jobs = await startTestJobs(h);
    await advance(h, 95_000, 5_000, jobs);
    const lastBeat = (expectBeads(await beads(h, 'HEARTBEAT'), 'HEARTBEAT')).at(-1)!;
    expect(lastBeat.data.status).toBe('OK');
    // The process dies: nothing runs any more (no clean shutdown work is needed for the report).
    await jobs.stop();
    await h.app.close();
    const deadAt = lastBeat.ts.getTime();

    const clock = new FakeClock(deadAt + 5 * 60_000);
    const broker = new SimBroker({ clock, random: seededRandom(5), profile: 'INSTANT', prices: { MES: 6010.25 } });
    const app2 = await createApp({ config: h.config, clock, random: seededRandom(9), logger: silentLogger, broker, chatId: CHAT_ID });
    try {
      app2.engine.attachBroker();
      await broker.connect();
      const jobs2 = await startJobs({ engine: app2.engine, scheduler: new ClockScheduler(clock, app2.engine.random) });
      const missed = (await app2.db.bead.findMany({ where: { type: 'HEARTBEAT' }, orderBy: { seq: 'asc' } })).map((b) => ({ ts: b.ts.getTime(), ...(JSON.parse(b.payload) as { status: string; gapSec?: number; reasons: string[] }) })).filter((b) => b.status === 'MISSED');
      expect(missed).toHaveLength(1);
      expect(missed[0]!.ts).toBe(deadAt + 5 * 60_000);
      expect(missed[0]!.gapSec).toBe(300);
      expect(missed[0]!.reasons[0]).toContain('the process was down');
      const alert = await app2.db.alert.findMany({ where: { type: 'HEARTBEAT_MISSED' } });
      expect(alert).toHaveLength(1);
      expect(JSON.parse(alert[0]!.payload).facts.gapSec).toBe(300);
      // the new process beats at start-up right after the report, and the watch stays quiet
      for (let i = 0; i < 36; i++) {
        await clock.advance(5_000);
        await jobs2.idle();
      }
      expect(await app2.db.alert.count({ where: { type: 'HEARTBEAT_MISSED' } })).toBe(1);
      const runs = await app2.db.jobRun.findMany({ where: { job: 'missed-heartbeat-watch', startedAt: { gte: new Date(deadAt + 5 * 60_000) } }, orderBy: { startedAt: 'asc' } });
      expect(runs[0]!.outcome).toBe('MISSED');
      expect(runs.slice(1).every((r) => r.outcome === 'OK')).toBe(true);
      await jobs2.stop();
    } finally {
      await app2.close();
      rmSync(dirname(h.dbFile), { recursive: true, force: true });
      h = undefined;
    }
  });

  it('missed-heartbeat watch while running: the heartbeat job stops beating → one MISSED bead and alert per silent stretch', async () => {
    h = await harness({ constitution: { session: { enforce: false } } });
    await h.engine.jobs.heartbeat(); // one beat, then no heartbeat job
    const jobs = await startTestJobs(h, { only: ['missed-heartbeat-watch'], runAtStart: false });
    await advance(h, 60_000, 10_000, jobs);
    expect((expectBeads(await beads(h, 'HEARTBEAT'), 'HEARTBEAT')).filter((b) => b.data.status === 'MISSED')).toHaveLength(0); // 60 s = 2 intervals: not yet
    await advance(h, 5 * 60_000, 10_000, jobs);
    const missed = (expectBeads(await beads(h, 'HEARTBEAT'), 'HEARTBEAT')).filter((b) => b.data.status === 'MISSED');
    expect(missed).toHaveLength(1);
    expect(missed[0]!.data.gapSec).toBe(120);
    expect(await alerts(h, 'HEARTBEAT_MISSED')).toHaveLength(1);
    await jobs.stop();
  });

  it('dead-man switch: every OK beat pings HEARTBEAT_PING_URL on a local server; DEGRADED beats do not; a hanging or absent endpoint never breaks the heartbeat', async () => {
    let hits = 0;
    const server = createServer((req, res) => {
      if (req.url === '/hang') return; // never answers
      hits++;
      res.end('OK');
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    h = await harness({ constitution: { session: { enforce: false } } });
    const jobs = await startTestJobs(h, { only: ['heartbeat', 'reconcile'], pingUrl: `http://127.0.0.1:${port}/ping/abc` });
    await advance(h, 100_000, 5_000, jobs);
    const ok = (expectBeads(await beads(h, 'HEARTBEAT'), 'HEARTBEAT')).filter((b) => b.data.status === 'OK').length;
    expect(ok).toBeGreaterThanOrEqual(4);
    expect(hits).toBe(ok);
    h.sim!.faults.disconnect();
    await h.settle();
    await advance(h, 70_000, 5_000, jobs);
    expect(hits).toBe(ok); // DEGRADED: no ping
    await jobs.stop();

    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (_o: object, msg?: string) => void warnings.push(msg ?? ''), child: () => logger };
    const t0 = Date.now();
    expect(await pingDeadMansSwitch(`http://127.0.0.1:${port}/hang`, fetch, logger, 200)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(2_000);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect(await pingDeadMansSwitch(`http://127.0.0.1:${deadPort}/`, fetch, logger, 500)).toBe(false);
    expect(warnings).toEqual(['heartbeat ping failed', 'heartbeat ping failed']);
  });
});

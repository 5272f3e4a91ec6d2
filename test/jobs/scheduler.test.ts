import nodeCron from 'node-cron';
import { describe, expect, it } from 'vitest';
import { defaultConstitution } from '../../src/engine/constitution.js';
import { localTime } from '../../src/engine/session.calendar.js';
import { seededRandom } from '../../src/engine/ports.js';
import { ClockScheduler, CronScheduler, cronExpression, dailyAt, every, jobTable, nextDailyAt, startJobs, describeSchedule, type JobDef, type Scheduler } from '../../src/jobs/index.js';
import type { CronApi } from '../../src/jobs/cron.scheduler.js';
import { FakeClock } from '../support/fake-clock.js';
import { type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { advance, jobRuns, startTestJobs } from './helpers.js';

describe('scheduler, runner and the job table', () => {
  let h: Harness | undefined;
  const harness = useHarness();

  it('the job table: every SPEC 10 job, one schedule each, from the constitution', () => {
    const table = jobTable(defaultConstitution());
    expect(table.map((j) => `${j.name}: ${describeSchedule(j.schedule)}`)).toEqual([
      'missed-heartbeat-watch: every 60 s',
      'reconcile: every 300 s',
      'heartbeat: every 30 s ± 5 s',
      'position-watch: every 30 s',
      'expiry: every 10 s',
      'stall-detector: every 10 s',
      'protection-watch: every 5 s',
      'retry-waiting: every 10 s',
      'kill-flag-lapse: every 10 s',
      'drift-escalation: every 60 s',
      'broker-reconnect: every 5 s',
      'gateway-day: every 60 s',
      'flatten-deadline: 15:55 America/New_York (cron "55 15 * * 1-5")',
      'flatten-deadline-watch: every 30 s',
      'daily-reset: 09:30 America/New_York (cron "30 9 * * 1-5")',
    ]);
    expect(table.filter((j) => j.atStart).map((j) => j.name)).toEqual(['missed-heartbeat-watch', 'reconcile', 'heartbeat', 'gateway-day', 'flatten-deadline-watch', 'daily-reset']);
    const custom = jobTable(defaultConstitution({ reconciliation: { intervalSec: 60 }, session: { flattenAt: '15:45', timeZone: 'America/Chicago' } }));
    expect(custom.find((j) => j.name === 'reconcile')!.schedule).toEqual(every(60_000));
    expect(custom.find((j) => j.name === 'flatten-deadline')!.schedule).toEqual(dailyAt('15:45', 'America/Chicago'));
  });

  it('overlap guard: a job never overlaps itself; ticks that find it running are recorded as SKIPPED_OVERLAP', async () => {
    h = await harness();
    let running = 0;
    let maxConcurrent = 0;
    const releases: (() => void)[] = [];
    const slow: JobDef = {
      name: 'slow',
      schedule: every(10_000),
      async run() {
        running++;
        maxConcurrent = Math.max(maxConcurrent, running);
        await new Promise<void>((r) => releases.push(r));
        running--;
        return { outcome: 'DONE' };
      },
    };
    const jobs = await startTestJobs(h, { table: [slow], runAtStart: false });
    for (let i = 0; i < 5; i++) await h.clock.advance(10_000); // 5 ticks, the first run never ends
    expect(maxConcurrent).toBe(1);
    expect(releases).toHaveLength(1);
    let runs = await jobRuns(h, 'slow');
    expect(runs.map((r) => r.outcome)).toEqual([null, 'SKIPPED_OVERLAP', 'SKIPPED_OVERLAP', 'SKIPPED_OVERLAP', 'SKIPPED_OVERLAP']);
    expect(JSON.parse(runs[4]!.detail!)).toMatchObject({ trigger: 'schedule', runningForMs: 40_000 });
    expect(jobs.stats()[0]).toMatchObject({ name: 'slow', runs: 1, skippedOverlaps: 4, runningForMs: 40_000 });
    releases[0]!();
    await jobs.idle();
    runs = await jobRuns(h, 'slow');
    expect(runs[0]).toMatchObject({ outcome: 'DONE' });
    expect(runs[0]!.endedAt!.getTime() - runs[0]!.startedAt.getTime()).toBe(40_000);
    await h.clock.advance(10_000);
    expect(releases).toHaveLength(2); // runs again once free
    releases[1]!();
    await jobs.stop();
  });

  it('JobRun recording: start row while running (a stuck job is visible), then end, outcome and detail with lag and duration; a failing job is ERROR and the schedule goes on', async () => {
    h = await harness();
    let n = 0;
    const flaky: JobDef = {
      name: 'flaky',
      schedule: every(10_000),
      async run() {
        n++;
        if (n === 2) throw new Error('boom');
        return { detail: { n } };
      },
    };
    const jobs = await startTestJobs(h, { table: [flaky], runAtStart: false });
    await advance(h, 30_000, 5_000, jobs);
    const runs = await jobRuns(h, 'flaky');
    expect(runs.map((r) => r.outcome)).toEqual(['OK', 'ERROR', 'OK']);
    expect(JSON.parse(runs[0]!.detail!)).toEqual({ trigger: 'schedule', scheduledAt: runs[0]!.startedAt.getTime(), lagMs: 0, durationMs: 0, result: { n: 1 } });
    expect(JSON.parse(runs[1]!.detail!)).toMatchObject({ error: 'boom' });
    expect(runs.every((r) => r.endedAt !== null)).toBe(true);
    expect(jobs.stats()[0]).toMatchObject({ runs: 3, lastOutcome: 'OK', lastError: null });
    await jobs.stop();
  });

  it('lag is measured (actual start − scheduled time) and a late job makes the heartbeat DEGRADED', async () => {
    h = await harness({ constitution: { session: { enforce: false } } });
    // a scheduler that fires 20 s after the due time (an overloaded event loop)
    const late: Scheduler = {
      name: 'late',
      add: (_job, schedule, fire) => {
        const inner = new ClockScheduler(h!.clock, seededRandom(1));
        return inner.add(_job, schedule, (due) => void h!.clock.schedule(20_000, () => fire(due)));
      },
      stop: () => {},
    };
    const jobs = await startJobs({ engine: h.engine, scheduler: late, only: ['expiry', 'heartbeat', 'reconcile'] });
    await advance(h, 60_000, 5_000, jobs);
    const expiry = await jobRuns(h, 'expiry');
    expect(expiry.length).toBeGreaterThan(2);
    for (const r of expiry) expect(JSON.parse(r.detail!).lagMs).toBe(20_000);
    expect(jobs.stats().find((s) => s.name === 'expiry')).toMatchObject({ lastLagMs: 20_000, maxLagMs: 20_000 });
    const hb = await h.app.db.bead.findMany({ where: { type: 'HEARTBEAT' }, orderBy: { seq: 'desc' }, take: 1 });
    const payload = JSON.parse(hb[0]!.payload) as { status: string; reasons: string[] };
    expect(payload.status).toBe('DEGRADED');
    expect(payload.reasons).toContain('job expiry started 20 s late');
    await jobs.stop();
  });

  it('daily schedules on the fake clock: 15:55 New York on weekdays, across both DST changes', async () => {
    const s = dailyAt('15:55', 'America/New_York');
    // Fri 2026-03-06 16:00 EST → next is Mon 2026-03-09 15:55 EDT (DST began Sunday)
    const next = nextDailyAt(Date.parse('2026-03-06T21:00:00Z'), s);
    expect(new Date(next).toISOString()).toBe('2026-03-09T19:55:00.000Z');
    // Fri 2026-10-30 → Mon 2026-11-02 15:55 EST (DST ended Sunday)
    expect(new Date(nextDailyAt(Date.parse('2026-10-30T20:00:00Z'), s)).toISOString()).toBe('2026-11-02T20:55:00.000Z');
    // exactly at the due time → the next day
    expect(new Date(nextDailyAt(Date.parse('2026-11-24T20:55:00Z'), s)).toISOString()).toBe('2026-11-25T20:55:00.000Z');
    const clock = new FakeClock('2026-11-20T15:00:00Z'); // Friday 10:00 ET
    const fired: string[] = [];
    const sch = new ClockScheduler(clock, seededRandom(1));
    sch.add('flatten-deadline', s, (at) => fired.push(`${new Date(at).toISOString()} ${localTime(at, 'America/New_York').weekday}`));
    await clock.advance(7 * 86_400_000);
    sch.stop();
    expect(fired).toEqual(['2026-11-20T20:55:00.000Z 5', '2026-11-23T20:55:00.000Z 1', '2026-11-24T20:55:00.000Z 2', '2026-11-25T20:55:00.000Z 3', '2026-11-26T20:55:00.000Z 4']);
  });

  it('CronScheduler registers daily jobs with node-cron (expression and time zone) and runs intervals on the clock', () => {
    const calls: { expression: string; options: unknown }[] = [];
    const destroyed: string[] = [];
    const recorder: CronApi = {
      schedule(expression, _fn, options) {
        calls.push({ expression, options });
        return { destroy: () => void destroyed.push(expression), getNextRun: () => null };
      },
    };
    const clock = new FakeClock('2026-11-24T15:00:00Z');
    const cron = new CronScheduler(clock, seededRandom(1), recorder);
    for (const job of jobTable(defaultConstitution())) cron.add(job.name, job.schedule, () => {});
    expect(calls).toEqual([
      { expression: '55 15 * * 1-5', options: { name: 'phoenix:flatten-deadline', timezone: 'America/New_York', noOverlap: false } },
      { expression: '30 9 * * 1-5', options: { name: 'phoenix:daily-reset', timezone: 'America/New_York', noOverlap: false } },
    ]);
    expect(clock.pending()).toBe(13); // the interval jobs wait on the clock
    cron.stop();
    expect(destroyed).toEqual(['55 15 * * 1-5', '30 9 * * 1-5']);
    expect(clock.pending()).toBe(0);
    expect(cronExpression(dailyAt('09:05', 'UTC', [0, 6]))).toBe('5 9 * * 0,6');
  });

  it('CronScheduler with real node-cron: the task is registered and its next run is 15:55 New York, as our clock-driven calendar computes', () => {
    const cron = new CronScheduler(new FakeClock(), seededRandom(1));
    const s = dailyAt('15:55', 'America/New_York');
    const cancel = cron.add('flatten-deadline', s, () => {});
    try {
      const task = [...nodeCron.getTasks().values()].find((t) => t.name === 'phoenix:flatten-deadline');
      expect(task).toBeDefined();
      expect(task!.getPattern()).toBe('55 15 * * 1-5');
      const nextRun = task!.getNextRun()!.getTime();
      expect(localTime(nextRun, 'America/New_York').minutes).toBe(15 * 60 + 55);
      expect(nextRun).toBe(nextDailyAt(Date.now(), s));
    } finally {
      cancel();
      cron.stop();
    }
    expect([...nodeCron.getTasks().values()].some((t) => t.name === 'phoenix:flatten-deadline' && t.getStatus() !== 'destroyed')).toBe(false);
  });
});

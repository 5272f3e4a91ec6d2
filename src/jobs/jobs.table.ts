/**
 * THE job table (SPEC 10): one place shows everything that runs in the background and when.
 * Jobs are thin: each `run` calls engine use cases and returns a small result for the
 * JobRun record. Schedules come from the constitution where it has a say (reconciliation
 * interval, session open, flatten deadline, time zone).
 *
 * | job                     | schedule                         | does
 * |-------------------------|----------------------------------|------------------------------------------
 * | missed-heartbeat-watch  | at start-up, every 60 s          | gap > 2 beats → MISSED bead + alert
 * | reconcile               | at start-up, every intervalSec   | full reconciliation, market hours
 * |                         | (300 s), + on fills/rejects/...  |   (events: ReconcileCoordinator.request)
 * | heartbeat               | at start-up, every 30 s ± 5 s    | semantic health → HEARTBEAT bead; ping
 * | position-watch          | every 30 s, market hours         | positions-only reconciliation, so a silent
 * |                         |                                  |   position drift alerts within 60 s
 * | expiry                  | every 10 s                       | expire tokens and cards (cards re-render)
 * | stall-detector          | every 10 s                       | SUBMITTED > 60 s without ack → STALLED
 * | protection-watch        | every 5 s                        | open position, no working stop > 3 s →
 * |                         |                                  |   POSITION_UNPROTECTED (CRITICAL, once)
 * | retry-waiting           | every 10 s                       | approved intents waiting for the broker
 * | kill-flag-lapse         | every 10 s                       | stale-state kill flags past 5 min → cleared
 * | drift-escalation        | every 60 s                       | drift unresolved > 15 min → alert, once
 * | flatten-deadline        | 15:55 America/New_York Mon–Fri   | flatten everything (trading days only)
 * | flatten-deadline-watch  | at start-up, every 30 s          | anything open past its day's deadline
 * |                         |                                  |   (a restart at 15:57) → flatten + CRITICAL
 * | daily-reset             | 09:30 America/New_York Mon–Fri,  | DAILY_RESET bead + DAILY_SUMMARY alert
 * |                         |   and at start-up (catch-up)     |   (trading days, once per day)
 * | broker-reconnect        | every 5 s                        | honour `phoenix reconnect` (once per request)
 * | gateway-day             | at start-up, every 60 s          | IB Gateway: weekly 2FA login reminder; a drop
 * |                         |   (BROKER=ibkr)                  |   that outlasts the restart window → CRITICAL;
 * |                         |                                  |   held cards re-rendered at the window's edges
 */
import { HEARTBEAT_INTERVAL_MS, HEARTBEAT_JITTER_MS, type Constitution } from '../engine/index.js';
import { flattenIssueText } from '../present/flatten.text.js';
import { pingDeadMansSwitch } from './heartbeat.ping.js';
import type { JobDef, JobDeps } from './runner.js';
import { dailyAt, every } from './scheduler.js';

const marketHours = (d: JobDeps, now: number) => d.engine.jobs.isMarketHours(now);

export function jobTable(c: Constitution): readonly JobDef[] {
  const tz = c.session.timeZone;
  return [
    {
      name: 'missed-heartbeat-watch',
      schedule: every(60_000),
      atStart: true,
      async run({ engine, trigger }) {
        const r = await engine.jobs.checkMissedHeartbeat({ startup: trigger === 'start' });
        return { outcome: r.reported ? 'MISSED' : 'OK', detail: { gapSec: r.gapSec } };
      },
    },
    {
      name: 'reconcile',
      schedule: every(c.reconciliation.intervalSec * 1000),
      atStart: true,
      when: (d, now) => d.trigger !== 'schedule' || marketHours(d, now),
      async run({ reconcile, trigger }) {
        const r = await reconcile.run(trigger === 'start' ? 'start-up' : 'periodic', 'full');
        return { outcome: r.ran ? (r.newDrifts.length ? 'DRIFT' : 'OK') : 'SKIPPED', detail: { skipped: r.skipped, discrepancies: r.discrepancies.length, newDrifts: r.newDrifts.map((x) => x.id) } };
      },
    },
    {
      name: 'heartbeat',
      schedule: every(HEARTBEAT_INTERVAL_MS, HEARTBEAT_JITTER_MS),
      atStart: true,
      async run({ engine, jobHealth, pingUrl, fetch, logger }) {
        const r = await engine.jobs.heartbeat({ jobs: jobHealth().filter((j) => j.name !== 'heartbeat') });
        const pinged = r.status === 'OK' && pingUrl ? await pingDeadMansSwitch(pingUrl, fetch, logger) : undefined;
        return { outcome: r.status, detail: { reasons: r.reasons, ...(pinged !== undefined ? { pinged } : {}) } };
      },
    },
    {
      name: 'position-watch',
      schedule: every(30_000),
      when: marketHours,
      async run({ reconcile }) {
        if (reconcile.sinceLastRun() < 25_000) return { outcome: 'SKIPPED', detail: 'reconciled less than 25 s ago' };
        const r = await reconcile.run('position watch', 'positions');
        return { outcome: r.ran ? (r.newDrifts.length ? 'DRIFT' : 'OK') : 'SKIPPED', detail: { skipped: r.skipped, discrepancies: r.discrepancies.length, newDrifts: r.newDrifts.map((x) => x.id) } };
      },
    },
    {
      name: 'expiry',
      schedule: every(10_000),
      async run({ engine }) {
        return { detail: await engine.expireDue() };
      },
    },
    {
      name: 'stall-detector',
      schedule: every(10_000),
      async run({ engine }) {
        const stalled = await engine.detectStalls();
        return { outcome: stalled.length ? 'STALLED' : 'OK', detail: { stalled } };
      },
    },
    {
      // INV-PROTECTED-1: an open position without a working stop is CRITICAL within 10 s
      // (3 s grace so an OCA cancel after a target fill does not alarm + this 5 s tick)
      name: 'protection-watch',
      schedule: every(5_000),
      async run({ engine }) {
        const raised = await engine.detectUnprotected();
        return { outcome: raised.length ? 'UNPROTECTED' : 'OK', detail: { raised } };
      },
    },
    {
      name: 'retry-waiting',
      schedule: every(10_000),
      async run({ engine }) {
        const out = await engine.retryWaiting();
        return { detail: { attempted: out.length, outcomes: out.map((o) => o.kind) } };
      },
    },
    {
      name: 'kill-flag-lapse',
      schedule: every(10_000),
      async run({ engine }) {
        return { detail: { lapsed: await engine.lapseKillFlags() } };
      },
    },
    {
      name: 'drift-escalation',
      schedule: every(60_000),
      async run({ engine }) {
        const escalated = await engine.drift.escalate();
        return { outcome: escalated.length ? 'ESCALATED' : 'OK', detail: { escalated } };
      },
    },
    {
      name: 'broker-reconnect',
      schedule: every(5_000),
      async run({ engine }) {
        const outcome = await engine.jobs.honourReconnectRequest();
        return { outcome };
      },
    },
    {
      name: 'gateway-day',
      schedule: every(60_000),
      atStart: true,
      when: (d) => d.engine.jobs.watchesGatewayDay,
      async run({ engine }) {
        const r = await engine.jobs.gatewayDay();
        return { outcome: r.escalated ? 'ESCALATED' : r.reminded ? 'REMINDED' : 'OK', detail: { ...r } };
      },
    },
    {
      name: 'flatten-deadline',
      schedule: dailyAt(c.session.flattenAt, tz),
      async run({ engine }) {
        const r = await engine.jobs.flattenAtDeadline();
        return { outcome: r.ran ? (r.report && !r.report.ok ? 'PARTIAL' : 'OK') : 'SKIPPED', detail: { reason: r.reason, ...(r.report ? { closing: r.report.closing, cancelled: r.report.cancelled, failed: r.report.failed.map(flattenIssueText) } : {}) } };
      },
    },
    {
      // SAFE-5: a restart past 15:55 (or positions that slipped through) is flattened at once
      name: 'flatten-deadline-watch',
      schedule: every(30_000),
      atStart: true,
      async run({ engine }) {
        const r = await engine.jobs.flattenOverdue();
        return { outcome: r.overdue.length ? (r.report && !r.report.ok ? 'PARTIAL' : 'FLATTENED') : 'OK', detail: { overdue: r.overdue, ...(r.report ? { pending: r.report.pending.map(flattenIssueText), failed: r.report.failed.map(flattenIssueText) } : {}) } };
      },
    },
    {
      name: 'daily-reset',
      schedule: dailyAt(c.session.open, tz),
      atStart: true,
      async run({ engine, trigger }) {
        const r = await engine.jobs.dailyReset({ onlyAfterOpen: trigger === 'start' });
        if (r.ran) await pruneJobRuns(engine);
        return { outcome: r.ran ? 'OK' : 'SKIPPED', detail: { reason: r.reason, ...(r.summary ? { summary: r.summary } : {}) } };
      },
    },
  ];
}

/** JobRun rows are operational, not audit: keep three days. */
export const JOB_RUN_RETENTION_MS = 3 * 86_400_000;

async function pruneJobRuns(engine: JobDeps['engine']): Promise<number> {
  return engine.jobs.pruneRuns(engine.now() - JOB_RUN_RETENTION_MS);
}

/**
 * Helpers for the job tests (issue 6): start the real job table on a ClockScheduler driven
 * by the harness FakeClock, read alerts/beads/job runs straight from the SQLite file.
 */
import { expect } from 'vitest';
import { startJobs, ClockScheduler, type Jobs, type StartJobsOptions } from '../../src/jobs/index.js';
import { approver, cardOf, intentOf, type Harness } from '../support/harness.js';

export async function startTestJobs(h: Harness, opts: Partial<Omit<StartJobsOptions, 'engine' | 'scheduler'>> = {}): Promise<Jobs> {
  return startJobs({ engine: h.engine, scheduler: new ClockScheduler(h.clock, h.engine.random), ...opts });
}

/** Submit + APPROVE; returns the intent id after broker events settle. */
export async function approveOne(h: Harness, over: Record<string, unknown> = {}): Promise<string> {
  const r = await h.engine.submitIntent(h.intent(over));
  if (r.kind !== 'accepted' || r.state !== 'PROPOSED') throw new Error(`expected PROPOSED, got ${JSON.stringify(r)}`);
  const card = await cardOf(h, r.intentId);
  const d = await h.engine.decide(card.id, 'APPROVE', approver);
  if (d.kind !== 'approved') throw new Error(`expected approved, got ${JSON.stringify(d)}`);
  await h.settle();
  return r.intentId;
}

export async function expectState(h: Harness, intentId: string, state: string): Promise<void> {
  expect((await intentOf(h, intentId)).state).toBe(state);
}

export async function alerts(h: Harness, type?: string) {
  const rows = await h.app.db.alert.findMany({ where: type ? { type } : {}, orderBy: { createdAt: 'asc' } });
  return rows.map((r) => ({ ...r, data: JSON.parse(r.payload) as { summary: string; facts?: Record<string, unknown>; instrumentKey?: string; intentId?: string } }));
}

export async function beads(h: Harness, type: string) {
  const rows = await h.app.db.bead.findMany({ where: { type }, orderBy: { seq: 'asc' } });
  return rows.map((r) => ({ ...r, data: JSON.parse(r.payload) as Record<string, unknown> }));
}

export async function jobRuns(h: Harness, job?: string) {
  return h.app.db.jobRun.findMany({ where: job ? { job } : {}, orderBy: [{ startedAt: 'asc' }, { id: 'asc' }] });
}

/**
 * Advance the fake clock in steps, letting broker events and job runs finish between steps
 * (FakeClock jumps instantly; real SQLite work does not). Keep `stepMs` below the shortest
 * job interval in play so a tick never lands while the previous run of the job is going.
 */
export async function advance(h: Harness, ms: number, stepMs = 1_000, jobs?: Jobs): Promise<void> {
  for (let left = ms; left > 0; left -= stepMs) {
    await h.clock.advance(Math.min(stepMs, left));
    await jobs?.idle();
    await h.settle();
    await jobs?.idle();
  }
}

/** New York wall-clock time on a date, as an ISO instant (EST, UTC-5, valid Nov–Mar). */
export const nyWinter = (date: string, hhmm: string) => `${date}T${String(Number(hhmm.slice(0, 2)) + 5).padStart(2, '0')}:${hhmm.slice(3, 5)}:00Z`;

/**
 * INV-PROTECTED-1's clock, with the protection watch running: second by second for 10 s, the
 * CRITICAL POSITION_UNPROTECTED alert is raised within 10 s of now; returns it.
 */
export async function expectUnprotectedAlertWithin10s(h: Harness, jobs: Jobs) {
  const t0 = h.clock.now();
  let raisedAt: number | null = null;
  while (h.clock.now() - t0 <= 10_000) {
    await advance(h, 1_000, 1_000, jobs);
    if (raisedAt === null && (await alerts(h, 'POSITION_UNPROTECTED')).length) raisedAt = h.clock.now();
  }
  expect(raisedAt).not.toBeNull();
  expect(raisedAt! - t0).toBeLessThanOrEqual(10_000);
  const [alert] = await alerts(h, 'POSITION_UNPROTECTED');
  expect(alert).toMatchObject({ severity: 'CRITICAL' });
  return alert!;
}

/** 30 s more of the watch: still the one POSITION_UNPROTECTED alert (once per episode). */
export async function expectUnprotectedAlertOnce(h: Harness, jobs: Jobs): Promise<void> {
  await advance(h, 30_000, 5_000, jobs);
  expect(await alerts(h, 'POSITION_UNPROTECTED')).toHaveLength(1); // once per episode
}

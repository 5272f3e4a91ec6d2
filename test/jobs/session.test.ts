import { describe, expect, it } from 'vitest';
import { defaultConstitution } from '../../src/engine/constitution.js';
import { dailyReset, dayStartMs, flattenAtDeadline, isMarketHours, isTradingDayAt, previousTradingDay } from '../../src/engine/session-jobs.usecase.js';
import { approver, cardOf, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { advance, alerts, approveOne, beads, expectState, jobRuns, nyWinter, startTestJobs } from './helpers.js';

describe('session jobs and the trading calendar', () => {
  let h: Harness | undefined;
  const harness = useHarness();

  it('flatten deadline at 15:55 ET: open positions are flattened by the system at 15:55 (not 15:54), and entries are refused afterwards', async () => {
    h = await harness({ clockStart: nyWinter('2026-11-24', '15:40'), constitution: { limits: { maxPositionPerInstrument: 5 } } });
    const jobs = await startTestJobs(h, { only: ['flatten-deadline'] });
    const id = await approveOne(h);
    await expectState(h, id, 'MANAGED');
    await advance(h, 14 * 60_000, 30_000, jobs); // 15:54
    await expectState(h, id, 'MANAGED');
    expect(await jobRuns(h, 'flatten-deadline')).toHaveLength(0);
    await advance(h, 2 * 60_000, 30_000, jobs); // past 15:55
    await expectState(h, id, 'CLOSED');
    const [run] = await jobRuns(h, 'flatten-deadline');
    expect(run!.startedAt.toISOString()).toBe(nyWinter('2026-11-24', '15:55').replace(':00Z', ':00.000Z'));
    expect(run!.outcome).toBe('OK');
    const job = (await beads(h, 'JOB')).find((b) => b.data.event === 'FLATTEN_DEADLINE')!;
    expect(job.data.detail).toContain('flattening 1 open position');
    const closed = (await beads(h, 'POSITION')).filter((b) => b.intentId === id).at(-1)!;
    expect(closed.data).toMatchObject({ from: 'MANAGED', to: 'CLOSED' });
    const exit = (await beads(h, 'ORDER')).find((b) => b.intentId === id && b.data.role === 'EXIT' && b.data.event === 'PLACING')!;
    expect(exit.data.detail).toContain('flatten deadline 15:55 by Phoenix');
    expect(await alerts(h, 'FLATTEN')).toHaveLength(1);
    // entries are blocked from now on: the session gate says why
    const r = await h.engine.submitIntent(h.intent());
    expect(r).toMatchObject({ kind: 'accepted', state: 'CANCELLED' });
    if (r.kind === 'accepted') expect(r.denials[0]).toMatchObject({ code: 'SESSION_CLOSED', message: expect.stringContaining('after the 15:55 flatten deadline') });
    await jobs.stop();
  });

  it('a card approved after the deadline is refused at approval too', async () => {
    h = await harness({ clockStart: nyWinter('2026-11-24', '15:40') });
    const r = await h.engine.submitIntent(h.intent({ ttlSec: 1800 }));
    if (r.kind !== 'accepted') throw new Error('not accepted');
    await h.clock.set(nyWinter('2026-11-24', '15:56'));
    const d = await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    expect(d.kind).toBe('blocked');
    expect(d.kind === 'blocked' && d.denials.map((x) => x.message).join('; ')).toContain('after the 15:55 flatten deadline');
  });

  it('holiday and weekend calendar: the flatten job does nothing on a configured holiday; daily schedules skip weekends', async () => {
    h = await harness({ clockStart: nyWinter('2026-11-25', '15:00'), constitution: { session: { holidays: ['2026-11-26'] } } }); // Wed; Thanksgiving Thu
    const jobs = await startTestJobs(h, { only: ['flatten-deadline', 'daily-reset'], runAtStart: false });
    await advance(h, 4 * 86_400_000, 30 * 60_000, jobs); // Wed 15:00 → Sun 15:00
    const runs = await jobRuns(h);
    expect(runs.map((r) => `${r.job} ${r.startedAt.toISOString().slice(0, 10)} ${r.outcome}`)).toEqual([
      'flatten-deadline 2026-11-25 OK',
      'daily-reset 2026-11-26 SKIPPED', // holiday
      'flatten-deadline 2026-11-26 SKIPPED',
      'daily-reset 2026-11-27 OK',
      'flatten-deadline 2026-11-27 OK',
      // Saturday and Sunday: nothing scheduled
    ]);
    expect(JSON.parse(runs[2]!.detail!).result.reason).toBe('exchange holiday (2026-11-26)');
    await jobs.stop();
    // direct calls say why
    await h.clock.set(nyWinter('2026-11-29', '15:55'));
    expect(await h.engine.jobs.flattenAtDeadline()).toEqual({ ran: false, reason: 'weekend (2026-11-29)' });
    const c = defaultConstitution({ session: { holidays: ['2026-11-26'] } });
    expect(isTradingDayAt(Date.parse(nyWinter('2026-11-26', '10:00')), c)).toBe(false);
    expect(isTradingDayAt(Date.parse(nyWinter('2026-11-27', '10:00')), c)).toBe(true);
    expect(isMarketHours(Date.parse(nyWinter('2026-11-27', '09:29')), c)).toBe(false);
    expect(isMarketHours(Date.parse(nyWinter('2026-11-27', '09:30')), c)).toBe(true);
    expect(isMarketHours(Date.parse(nyWinter('2026-11-27', '16:00')), c)).toBe(false);
    expect(previousTradingDay('2026-11-27', c)).toBe('2026-11-25');
    expect(previousTradingDay('2026-11-30', c)).toBe('2026-11-27');
    expect(new Date(dayStartMs('2026-03-08', 'America/New_York')).toISOString()).toBe('2026-03-08T05:00:00.000Z'); // DST day: midnight EST
    expect(new Date(dayStartMs('2026-11-01', 'America/New_York')).toISOString()).toBe('2026-11-01T04:00:00.000Z'); // midnight EDT
  });

  it('daily reset at the session open: JOB bead DAILY_RESET and a DAILY_SUMMARY of the previous trading day (trades, P&L, blocks); once per day; Monday covers Friday', async () => {
    h = await harness({ clockStart: nyWinter('2026-11-27', '10:00'), constitution: { limits: { maxTradesPerDay: 5, maxPositionPerInstrument: 5 } } }); // Friday
    const win = await approveOne(h);
    h.sim!.simulatePrice('MES', 6015.5); // target hit
    await h.settle();
    await expectState(h, win, 'CLOSED');
    const lossId = await approveOne(h);
    h.sim!.simulatePrice('MES', 6007.5); // stop hit
    await h.settle();
    await expectState(h, lossId, 'CLOSED');
    const blocked = await h.engine.submitIntent(h.intent({ evidence: { ...(h.intent().evidence as object), dvs: 0.5 } }));
    expect(blocked).toMatchObject({ state: 'CANCELLED' });
    const passed = await h.engine.submitIntent(h.intent());
    if (passed.kind !== 'accepted') throw new Error('x');
    await h.engine.decide((await cardOf(h, passed.intentId)).id, 'PASS', approver);
    const pnl = (await h.app.db.intent.findMany({ where: { id: { in: [win, lossId] } } })).reduce((a, i) => a + (i.realizedPnlCents ?? 0), 0);

    const jobs = await startTestJobs(h, { only: ['daily-reset'] });
    // start-up after Friday's open: the missed reset for Friday is caught up, but Phoenix never
    // ran on Thursday (fresh database), so there is no summary of a day it did not see
    expect((await jobRuns(h, 'daily-reset'))[0]).toMatchObject({ outcome: 'OK' });
    expect(await alerts(h, 'DAILY_SUMMARY')).toHaveLength(0);
    await advance(h, 3 * 86_400_000, 30 * 60_000, jobs); // → Monday 10:00
    const resets = (await beads(h, 'JOB')).filter((b) => b.data.event === 'DAILY_RESET');
    expect(resets.map((b) => b.ts.toISOString())).toEqual([nyWinter('2026-11-27', '10:00').replace(':00Z', ':00.000Z'), nyWinter('2026-11-30', '09:30').replace(':00Z', ':00.000Z')]);
    const summaries = await alerts(h, 'DAILY_SUMMARY');
    expect(summaries).toHaveLength(1);
    expect(String(resets[0]!.data.detail)).toContain('No summary for 2026-11-26: Phoenix was not running that day');
    const monday = summaries[0]!;
    expect(monday.data.facts).toEqual({ day: '2026-11-27', trades: 2, pnlUsd: pnl / 100, blocked: 1, unresolvedDrifts: 0, auditAnchor: expect.stringMatching(/^\d+:[0-9a-f]{64}$/) });
    expect(monday.data.summary).toMatch(/^Daily summary 2026-11-27: 2 trade\(s\), P&L [+-]\$\d+\.\d\d \(1 won, 1 lost\), 1 blocked, 1 passed, 0 expired, 0 rejected\. Audit head #\d+ · [0-9a-f]{6}…[0-9a-f]{4}$/);
    // SAFE-12: the head it publishes is a bead the log holds, with exactly that hash
    const [seq, hash] = String(monday.data.facts!.auditAnchor).split(':');
    expect((await h.app.db.bead.findUniqueOrThrow({ where: { seq: Number(seq) } })).hash).toBe(hash);
    expect(monday.data.summary).toContain(`Audit head #${seq} · ${hash!.slice(0, 6)}…${hash!.slice(-4)}`);
    expect(String(resets[1]!.data.detail)).toContain('session 2026-11-30 starts');
    // once per day: a second run (e.g. after a restart) does nothing
    expect(await h.engine.jobs.dailyReset()).toEqual({ ran: false, reason: 'already done for 2026-11-30' });
    expect(await alerts(h, 'DAILY_SUMMARY')).toHaveLength(1);
    await jobs.stop();
  });

  it('no daily summary for a day Phoenix did not run: a fresh database after the open, and a restart after a whole day down', async () => {
    // fresh database at 13:25 ET on a trading day (the CI failure): no summary of yesterday
    h = await harness({ clockStart: nyWinter('2026-11-24', '13:25') }); // Tuesday
    expect(await h.engine.jobs.dailyReset({ onlyAfterOpen: true })).toEqual({ ran: true, reason: 'daily reset for 2026-11-24 (no summary: not running on 2026-11-23)' });
    expect(await alerts(h, 'DAILY_SUMMARY')).toHaveLength(0);
    // it ran on Tuesday (that reset is a bead of Tuesday), then was down all Wednesday
    await h.clock.set(nyWinter('2026-11-26', '10:00')); // Thursday (no holiday configured)
    expect(await h.engine.jobs.dailyReset({ onlyAfterOpen: true })).toEqual({ ran: true, reason: 'daily reset for 2026-11-26 (no summary: not running on 2026-11-25)' });
    expect(await alerts(h, 'DAILY_SUMMARY')).toHaveLength(0);
    // and Friday summarises Thursday, a day it did run
    await h.clock.set(nyWinter('2026-11-27', '09:30'));
    expect(await h.engine.jobs.dailyReset()).toMatchObject({ ran: true, reason: 'daily reset for 2026-11-27', summary: { day: '2026-11-26', trades: 0 } });
    expect(await alerts(h, 'DAILY_SUMMARY')).toHaveLength(1);
  });
});

describe('SAFE-5: the flatten deadline after a restart', () => {
  let h: Harness | undefined;
  const harness = useHarness();

  it('SAFE-5: INV-FLATTEN-DEADLINE-1: a process down over 15:55 that comes back at 15:57 flattens the day\'s open position at start-up, with a CRITICAL alert; later ticks do nothing more', async () => {
    h = await harness({ clockStart: nyWinter('2026-11-24', '15:40'), constitution: { limits: { maxPositionPerInstrument: 5 } } });
    const id = await approveOne(h);
    await expectState(h, id, 'MANAGED');
    // "down" over the deadline: no job runs until the restart at 15:57
    await h.clock.set(nyWinter('2026-11-24', '15:57'));
    const jobs = await startTestJobs(h, { only: ['flatten-deadline', 'flatten-deadline-watch'] });
    await h.settle();
    await expectState(h, id, 'CLOSED');
    expect((await h.broker.positions()).filter((p) => p.instrument.symbol === 'MES')).toEqual([]);
    const [missed] = await alerts(h, 'FLATTEN_DEADLINE_MISSED');
    expect(missed?.severity).toBe('CRITICAL');
    expect(missed?.data.summary).toMatch(/^1 position\(s\)\/order\(s\) still open after the 15:55 flatten deadline .*flattening them now at 15:57 America\/New_York\.$/);
    const exit = (await beads(h, 'ORDER')).find((b) => b.intentId === id && b.data.role === 'EXIT' && b.data.event === 'PLACING')!;
    expect(exit.data.detail).toContain('flatten deadline 15:55 (catch-up) by Phoenix');
    await advance(h, 3 * 60_000, 30_000, jobs);
    expect(await alerts(h, 'FLATTEN_DEADLINE_MISSED')).toHaveLength(1);
    expect((await h.broker.findByOrderRef(id)).orders.filter((o) => o.role === 'EXIT')).toHaveLength(1);
    await jobs.stop();
  });

  it('SAFE-5: INV-FLATTEN-DEADLINE-1: a restart the next morning flattens yesterday\'s position but not today\'s, and before the deadline nothing is touched', async () => {
    h = await harness({ clockStart: nyWinter('2026-11-24', '14:00'), constitution: { limits: { maxPositionPerInstrument: 5, maxTradesPerDay: 5 } } });
    const yesterday = await approveOne(h);
    const jobs0 = await startTestJobs(h, { only: ['flatten-deadline-watch'] });
    await advance(h, 60_000, 30_000, jobs0);
    await expectState(h, yesterday, 'MANAGED'); // 14:01, before the deadline: untouched
    await jobs0.stop();
    await h.clock.set(nyWinter('2026-11-25', '10:00')); // down from 14:01 to the next morning
    const today = await approveOne(h, { instrument: { symbol: 'MNQ', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 2 }, entryPrice: 21010.25, stopLoss: 21005, takeProfit: 21020.75 });
    h.sim!.simulatePrice('MNQ', 21010.25);
    const jobs = await startTestJobs(h, { only: ['flatten-deadline-watch'] });
    await h.settle();
    await expectState(h, yesterday, 'CLOSED');
    expect((await intentOf(h, today)).state).not.toBe('CLOSED');
    expect(await alerts(h, 'FLATTEN_DEADLINE_MISSED')).toHaveLength(1);
    await jobs.stop();
  });

  it('SAFE-5: the demo constitution (session rules off) never flattens by deadline', async () => {
    h = await harness({ clockStart: nyWinter('2026-11-24', '15:40'), constitution: { session: { enforce: false } } });
    const id = await approveOne(h);
    await h.clock.set(nyWinter('2026-11-24', '15:57'));
    const jobs = await startTestJobs(h, { only: ['flatten-deadline-watch'] });
    await h.settle();
    await expectState(h, id, 'MANAGED');
    await jobs.stop();
  });
});

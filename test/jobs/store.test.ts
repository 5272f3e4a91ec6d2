/**
 * The repository methods the jobs added (JobRun, listClosedOn, listCreatedBetween) behave the
 * same on every Store adapter (PostgreSQL too, issue 18), and the job table runs on each.
 */
import { describe, expect, it } from 'vitest';
import { type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { adapterEnv, STORE_ADAPTERS, usePostgres } from '../support/postgres.js';
import { advance, approveOne, startTestJobs } from './helpers.js';

const pg = usePostgres();

for (const adapter of STORE_ADAPTERS) {
  describe(`job repositories on the ${adapter} store`, () => {
    let h: Harness | undefined;
    const harness = useHarness();

    it('JobRun insert/finish/recent/prune, closed-on and created-between queries; the whole job table runs', async () => {
      h = await harness({ env: await adapterEnv(adapter, pg) });
      const t = h.clock.now();
      const s = h.app.store;
      await s.tx(async (tx) => {
        await tx.jobs.insert({ id: 'j1', job: 'a', startedAt: t - 5 * 86_400_000, endedAt: null, outcome: null, detail: null });
        await tx.jobs.insert({ id: 'j2', job: 'a', startedAt: t, endedAt: null, outcome: null, detail: null });
        await tx.jobs.insert({ id: 'j3', job: 'b', startedAt: t + 1, endedAt: t + 1, outcome: 'SKIPPED_OVERLAP', detail: '{}' });
        await tx.jobs.finish('j2', t + 10, 'OK', '{"x":1}');
      });
      expect(await s.tx((tx) => tx.jobs.recent('a', 10))).toEqual([
        { id: 'j2', job: 'a', startedAt: t, endedAt: t + 10, outcome: 'OK', detail: '{"x":1}' },
        { id: 'j1', job: 'a', startedAt: t - 5 * 86_400_000, endedAt: null, outcome: null, detail: null },
      ]);
      expect((await s.tx((tx) => tx.jobs.recent(null, 1))).map((r) => r.id)).toEqual(['j3']);
      expect(await s.tx((tx) => tx.jobs.prune(t - 86_400_000))).toBe(1);
      expect((await s.tx((tx) => tx.jobs.recent(null, 10))).map((r) => r.id)).toEqual(['j3', 'j2']);

      const id = await approveOne(h);
      h.sim!.simulatePrice('MES', 6015.5);
      await h.settle();
      const day = '2026-11-24';
      expect((await s.tx((tx) => tx.intents.listClosedOn(day))).map((i) => i.id)).toEqual([id]);
      expect(await s.tx((tx) => tx.intents.listClosedOn('2026-11-23'))).toEqual([]);
      expect((await s.tx((tx) => tx.intents.listCreatedBetween(t, t + 1))).map((i) => i.id)).toEqual([id]);
      expect(await s.tx((tx) => tx.intents.listCreatedBetween(t + 1, t + 2))).toEqual([]);

      const jobs = await startTestJobs(h);
      await advance(h, 2 * 60_000, 5_000, jobs);
      await jobs.stop();
      const runs = await s.tx((tx) => tx.jobs.recent(null, 1000));
      expect(new Set(runs.map((r) => r.job))).toEqual(new Set(['a', 'b', 'missed-heartbeat-watch', 'reconcile', 'heartbeat', 'position-watch', 'expiry', 'stall-detector', 'protection-watch', 'retry-waiting', 'kill-flag-lapse', 'drift-escalation', 'broker-reconnect', 'flatten-deadline-watch', 'daily-reset']));
      expect(runs.filter((r) => r.outcome === 'ERROR')).toEqual([]);
    });
  });
}

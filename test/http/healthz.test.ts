/**
 * SAFE-14 (issue 12): /healthz is readiness (SPEC 17). 503 until the parts the service waits
 * for run; a broker that is not READY is never "ok" (200 "degraded" with the reason: the process
 * still serves intake, /halt and the alerts that say so); it reports broker state and the last
 * heartbeat. Real HTTP against the intake server, the harness engine and SimBroker, FakeClock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/engine/ports.js';
import { reconcileNow } from '../../src/engine/reconcile.usecase.js';
import { startIntake, type IntakeServer } from '../../src/http/intake.server.js';
import { Readiness } from '../../src/http/readiness.js';
import { type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';

type Health = { status: string; ready: boolean; reasons: string[]; parts: Record<string, string>; broker: string; brokerDetail?: string; lastHeartbeat: { at: number; ageSec: number; status: string } | null };

/** What the jobs do at start-up: a reconciliation (market hours), then a heartbeat. */
async function beat(h: Harness): Promise<void> {
  await h.engine.reconcileNow('test');
  await h.engine.jobs.heartbeat({ jobs: [] });
}

async function health(srv: IntakeServer): Promise<{ code: number; body: Health }> {
  const res = await fetch(`${srv.url}/healthz`);
  return { code: res.status, body: (await res.json()) as Health };
}

describe('SAFE-14: /healthz is readiness and never reads a DOWN broker as ok', () => {
  let h: Harness;
  let srv: IntakeServer;
  let readiness: Readiness;
  const harness = useHarness();
  beforeEach(async () => {
    h = await harness();
    readiness = new Readiness(['bot', 'alerts', 'jobs']);
    srv = await startIntake({ engine: h.engine, logger: silentLogger, host: '127.0.0.1', port: 0, ratePerMinute: 600, now: () => h.clock.now(), readiness });
  });
  afterEach(async () => {
    await srv?.close();
  });

  it('SAFE-14: 503 "starting" naming what is not running yet, until bot, alert sender and jobs run; then 200 "ok"; 503 "stopping" on the way down', async () => {
    let r = await health(srv);
    expect(r.code).toBe(503);
    expect(r.body).toMatchObject({ status: 'starting', ready: false, parts: { bot: 'waiting', alerts: 'waiting', jobs: 'waiting' } });
    expect(r.body.reasons).toEqual(['the bot not running yet', 'the alert sender not running yet', 'the jobs not running yet']);
    readiness.set('jobs', 'running');
    readiness.set('bot', 'running');
    r = await health(srv);
    expect(r.code).toBe(503);
    expect(r.body.reasons).toEqual(['the alert sender not running yet']);
    await beat(h);
    readiness.set('alerts', 'running');
    r = await health(srv);
    expect(r.code).toBe(200);
    expect(r.body).toMatchObject({ status: 'ok', ready: true, reasons: [], broker: 'READY', lastHeartbeat: { at: h.clock.now(), ageSec: 0, status: 'OK' } });
    readiness.stopAll();
    r = await health(srv);
    expect(r.code).toBe(503);
    expect(r.body.status).toBe('stopping');
  });

  it('SAFE-14: a broker that is not READY is 200 "degraded" with the reason and its state, never "ok"', async () => {
    readiness.set('bot', 'running');
    readiness.set('alerts', 'running');
    readiness.set('jobs', 'running');
    await beat(h);
    expect((await health(srv)).body.status).toBe('ok');
    h.sim!.faults.disconnect();
    await h.settle();
    const r = await health(srv);
    expect(r.code).toBe(200);
    expect(r.body.status).toBe('degraded');
    expect(r.body.broker).toBe('DISCONNECTED');
    expect(r.body.reasons[0]).toMatch(/^broker sim DISCONNECTED: Connectivity between IB and Trader Workstation has been lost\. \(entries wait until it is READY\)$/);
    // the heartbeat that follows says DEGRADED too, and /healthz says so
    await h.engine.jobs.heartbeat({ jobs: [] });
    expect((await health(srv)).body.reasons).toContain('last heartbeat DEGRADED (phoenix status shows why)');
  });

  it('SAFE-14: with the jobs running, a heartbeat older than two intervals is "degraded" (jobs stuck?)', async () => {
    readiness.set('bot', 'running');
    readiness.set('alerts', 'running');
    readiness.set('jobs', 'running');
    expect((await health(srv)).body).toMatchObject({ status: 'degraded', reasons: ['no heartbeat recorded yet'] });
    await beat(h);
    expect((await health(srv)).body.status).toBe('ok');
    await h.clock.advance(61_000);
    const r = await health(srv);
    expect(r.body).toMatchObject({ status: 'degraded', reasons: ['no heartbeat for 61 s (jobs stuck?)'], lastHeartbeat: { ageSec: 61, status: 'OK' } });
  });
});

/**
 * SAFE-14 (issue 12) on the service's real parts: `startService` (real SQLite file, SimBroker,
 * the job table on a ClockScheduler with a FakeClock, intake on real HTTP) answers /healthz 503
 * until `startFrontEnds` (the real grammY bot against a sandbox on port 0, the real AlertSender)
 * runs; then 200 with the broker state and the last heartbeat; a broker drop reads "degraded".
 * This is the sequence `npm start` runs (src/main.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimBroker } from '../src/broker/sim/index.js';
import { seededRandom, silentLogger } from '../src/engine/ports.js';
import { ClockScheduler } from '../src/jobs/index.js';
import { startFrontEnds, startService, type FrontEnds, type Service } from '../src/service.js';
import { until } from './e2e/service.js';
import { FakeClock, flushMicrotasks } from './support/fake-clock.js';
import { CHAT_ID, IN_SESSION, testConfig } from './support/harness.js';

type Health = { status: string; ready: boolean; reasons: string[]; parts: Record<string, string>; broker: string; mode: string; lastHeartbeat: { at: number; status: string } | null };

describe('SAFE-14: /healthz on the real service start', () => {
  let dir: string;
  let service: Service | null = null;
  let front: FrontEnds | null = null;
  const clock = new FakeClock(IN_SESSION);
  let sim: SimBroker;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'phoenix-healthz-'));
  });
  afterEach(async () => {
    await front?.stop();
    await service?.stop();
    front = null;
    service = null;
    rmSync(dir, { recursive: true, force: true });
  });

  const health = async (): Promise<{ code: number; body: Health }> => {
    const res = await fetch(`${service!.intake.url}/healthz`);
    return { code: res.status, body: (await res.json()) as Health };
  };

  it('SAFE-14: 503 until the bot, the alert sender and the jobs run; then 200 with broker state and last heartbeat; a broker drop is "degraded"; 503 while stopping', async () => {
    const config = testConfig({ DATABASE_URL: `file:${join(dir, 'phoenix.db')}` });
    sim = new SimBroker({ clock, random: seededRandom(3), profile: 'INSTANT', prices: { MES: 6010.25 } });
    service = await startService({ config, clock, random: seededRandom(4), logger: silentLogger, broker: sim, chatId: CHAT_ID, telegramLabel: 'sandbox', intakePort: 0, scheduler: new ClockScheduler(clock, seededRandom(5)) });

    // the jobs ran their start-up pass (heartbeat recorded); the bot and the alert sender do not run yet
    const early = await health();
    expect(early.code).toBe(503);
    expect(early.body).toMatchObject({ status: 'starting', ready: false, parts: { jobs: 'running', bot: 'waiting', alerts: 'waiting' }, broker: 'READY', mode: 'paper' });
    expect(early.body.reasons).toEqual(['the bot not running yet', 'the alert sender not running yet']);
    expect(early.body.lastHeartbeat).toMatchObject({ at: clock.now() });

    front = await startFrontEnds(service, { logger: silentLogger, clock, sandboxPort: 0 });
    const ready = await until(async () => {
      const r = await health();
      return r.code === 200 ? r : undefined;
    }, { timeoutMs: 10_000, label: '/healthz 200 once the bot polls' });
    expect(ready.body).toMatchObject({ status: 'ok', ready: true, reasons: [], parts: { jobs: 'running', bot: 'running', alerts: 'running' }, broker: 'READY', lastHeartbeat: { status: 'OK' } });

    sim.faults.disconnect();
    for (let i = 0; i < 3; i++) {
      await flushMicrotasks();
      await service.app.engine.pendingEvents();
    }
    const down = await health();
    expect(down.code).toBe(200);
    expect(down.body.status).toBe('degraded');
    expect(down.body.broker).toBe('DISCONNECTED');
    expect(down.body.reasons[0]).toMatch(/^broker sim DISCONNECTED/);

    await front.stop();
    front = null;
    const stopping = await health();
    expect(stopping.code).toBe(503);
    expect(stopping.body.status).toBe('stopping');
  });
});

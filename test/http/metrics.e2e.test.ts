/**
 * GET /metrics (issue 17, SPEC 17) scraped after a scripted session on the service's real
 * parts: `startService` + `startFrontEnds` (real SQLite file, SimBroker, the job table on a
 * ClockScheduler, intake over real HTTP, the real grammY bot and the alert sender against the
 * sandbox Bot API on port 0), all on one FakeClock. The scrape is parsed by a real Prometheus
 * text parser (npm parse-prometheus-text-format) and every metric is checked against what the
 * session did: intents that pass and are blocked by several gates, approvals and a pass tapped
 * in the chat, a /halt, Telegram 429s injected by the sandbox, jobs that ran.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimBroker } from '../../src/broker/sim/index.js';
import { parseCallback } from '../../src/bot/callback-data.js';
import { seededRandom, silentLogger } from '../../src/engine/ports.js';
import { ClockScheduler } from '../../src/jobs/index.js';
import type { Sandbox, SandboxMessage } from '../../src/sandbox/server.js';
import { startFrontEnds, startService, type FrontEnds, type Service } from '../../src/service.js';
import { until } from '../e2e/service.js';
import { FakeClock, flushMicrotasks } from '../support/fake-clock.js';
import { readmeIntentBody } from '../support/fixtures.js';
import { CHAT_ID, IN_SESSION, testConfig } from '../support/harness.js';
import { Scrape } from '../support/prometheus.js';

const TOKEN = 'metrics-test-token-0123456789';
const CHAT = Number(CHAT_ID);

describe('issue 17: GET /metrics after a scripted session', () => {
  let dir: string | null = null;
  let service: Service | null = null;
  let front: FrontEnds | null = null;
  afterEach(async () => {
    await front?.stop();
    await service?.stop();
    front = null;
    service = null;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  it('metrics: each metric counts what the session did (intents by outcome, gate denials by code, approval and /halt latency, broker state, outbox backlog, Telegram 429s, jobs); a bad scrape token is refused', async () => {
    dir = mkdtempSync(join(tmpdir(), 'phoenix-metrics-'));
    const clock = new FakeClock(IN_SESSION);
    const config = testConfig({ DATABASE_URL: `file:${join(dir, 'phoenix.db')}`, INTAKE_TOKEN: TOKEN });
    const sim = new SimBroker({ clock, random: seededRandom(3), profile: 'INSTANT', prices: { MES: 6010.25 } });
    service = await startService({ config, clock, random: seededRandom(4), logger: silentLogger, broker: sim, chatId: CHAT_ID, telegramLabel: 'sandbox', intakePort: 0, scheduler: new ClockScheduler(clock, seededRandom(5)) });
    front = await startFrontEnds(service, { logger: silentLogger, clock, sandboxPort: 0, botOptions: { telegramClock: clock, pacing: false, syncEveryMs: 50 } });
    const svc = service;
    const fe = front;
    const sandbox = fe.telegram.sandbox as Sandbox;
    const approver = sandbox.user({ id: 1001, first_name: 'Alice', username: 'alice' });
    const url = svc.intake.url;

    const scrape = async (auth: string | null = `Bearer ${TOKEN}`): Promise<Response> => fetch(`${url}/metrics`, auth ? { headers: { authorization: auth } } : {});
    const metrics = async (): Promise<Scrape> => {
      const r = await scrape();
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return new Scrape(await r.text());
    };
    const post = async (over: Record<string, unknown> = {}): Promise<{ intentId: string; state: string; denials: { code: string }[] }> => {
      const body = readmeIntentBody(`sig-${Math.random().toString(36).slice(2)}`, new Date(clock.now()).toISOString(), over);
      const r = await fetch(`${url}/v1/intents`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
      expect(r.status).toBe(202);
      return (await r.json()) as { intentId: string; state: string; denials: { code: string }[] };
    };
    const botMessages = () => sandbox.chat(CHAT).filter((m) => m.from_bot);
    const cardMessage = async (intentId: string): Promise<{ cardId: string; message: SandboxMessage }> => {
      const card = await svc.app.store.tx((tx) => tx.cards.bySubject(intentId, 'TRADE'));
      if (!card) throw new Error(`no card for ${intentId}`);
      const message = await sandbox.waitFor(() => botMessages().find((m) => m.reply_markup?.inline_keyboard.flat().some((b) => b.callback_data && parseCallback(b.callback_data)?.id === card.id)), { label: `card ${card.id}`, timeoutMs: 10_000 });
      return { cardId: card.id, message };
    };
    /** fake time forward; jobs, the sender and the bot finish their real I/O at every step */
    const advance = async (ms: number, step = 1000) => {
      for (let t = 0; t < ms; t += step) {
        await clock.advance(Math.min(step, ms - t));
        await svc.jobs?.idle();
        await fe.alerts.settled();
        await flushMicrotasks();
      }
    };
    const quiet = () =>
      until(async () => (!sandbox.pendingUpdates().length && !fe.telegram.running.busy() && !fe.telegram.phoenix.paced.pending() ? true : undefined), { timeoutMs: 10_000, everyMs: 20, label: 'bot quiet' });

    // --- the scrape is authenticated like intake
    expect((await scrape(null)).status).toBe(401);
    expect((await scrape('Bearer wrong-token-wrong-token-00')).status).toBe(401);
    expect((await scrape(`Bearer ${TOKEN}x`)).status).toBe(401);
    expect((await scrape(`Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`)).status).toBe(401);
    const before = await metrics();
    expect(before.value('phoenix_intents_total', { outcome: 'proposed' })).toBe(0);

    // --- intents: three pass the gates, two are blocked at intake by different gates
    const passed = [await post(), await post(), await post()];
    expect(passed.map((r) => r.state)).toEqual(['PROPOSED', 'PROPOSED', 'PROPOSED']);
    const quality = await post({ evidence: { setupScore: 0.82, breakdown: { trend: 0.9 }, alignment: 'x', redChecks: [], dvs: 0.1, eqs: 0.88 } });
    const risky = await post({ stopLoss: 5900 });
    expect(quality.state).toBe('CANCELLED');
    expect(risky.state).toBe('CANCELLED');
    expect(quality.denials.map((d) => d.code)).toContain('QUALITY');
    expect(risky.denials.map((d) => d.code)).toContain('RISK_PER_TRADE');

    // --- the cards reach the chat; the approver decides 7 s, 10 s and 10 s after they were shown:
    //     APPROVE (sent), APPROVE again (blocked at approval: one MES position at a time), PASS
    const cards: { cardId: string; message: SandboxMessage }[] = [];
    for (const p of passed) cards.push(await cardMessage(p.intentId));
    await quiet();
    await advance(7000);
    const tap = async (i: number, which: 'APPROVE' | 'PASS') => {
      const q = approver.tap(CHAT, cards[i]!.message.message_id, which);
      await approver.waitAnswer(q, 10_000);
    };
    await tap(0, 'APPROVE');
    await advance(3000);
    await tap(1, 'APPROVE');
    await tap(2, 'PASS');
    await svc.app.engine.pendingEvents();
    await quiet();

    // --- /halt from the chat, then an intent the kill flag blocks
    approver.send(CHAT, '/halt metrics drill');
    await until(async () => ((await svc.app.engine.status()).kills.length ? true : undefined), { timeoutMs: 10_000, everyMs: 10, label: 'kill flag set' });
    const killed = await post();
    expect(killed.denials.map((d) => d.code)).toContain('KILL_ACTIVE');
    await quiet();

    // --- Telegram answers 429 twice (retry_after 2 s): the HALT alert and replies sit it out
    const calls429 = () => sandbox.calls.filter((c) => c.status === 429).length;
    expect(calls429()).toBe(0);
    sandbox.faults.push({ method: 'sendMessage', kind: '429', retryAfter: 2 }, { method: 'sendMessage', kind: '429', retryAfter: 2 });
    await advance(12_000, 250); // blocked notices group for 10 s; the sender composes and meets the 429s
    await until(() => (calls429() === 2 ? true : undefined), { timeoutMs: 10_000, everyMs: 20, label: 'both 429s consumed' });
    await advance(5000, 250); // retry_after passes on the fake clock: everything is delivered
    await advance(35_000); // the jobs' schedules fire: at least one scheduled heartbeat after the start-up one
    await quiet();
    await fe.alerts.settled();
    await svc.jobs?.idle();

    // ===== the scrape
    const m = await metrics();
    const states = (await svc.app.store.tx((tx) => tx.intents.listRecent(20))).map((i) => i.stateReason);
    expect(states).toContain('blocked by gate at approval: POSITION_LIMIT');
    // intake: 3 proposed, 3 blocked (quality, risk, kill flag); approval: 1 blocked, 1 approved (sent, filled), 1 passed
    expect(m.byLabel('phoenix_intents_total', 'outcome')).toEqual({ proposed: 3, cancelled_by_gate: 4, approved: 1, passed: 1, submitted: 1, filled: 1 });

    // gate denials by code, at intake: exactly the codes the HTTP answers carried
    const expectedCodes: Record<string, number> = {};
    for (const r of [quality, risky, killed]) for (const d of r.denials) expectedCodes[d.code] = (expectedCodes[d.code] ?? 0) + 1;
    expect(expectedCodes).toMatchObject({ QUALITY: 1, RISK_PER_TRADE: 1, KILL_ACTIVE: 1 });
    expect(m.byLabel('phoenix_gate_denials_total', 'code', { stage: 'INTAKE' })).toEqual(expectedCodes);
    expect(m.byLabel('phoenix_gate_denials_total', 'code', { stage: 'APPROVAL' })).toEqual({ POSITION_LIMIT: 1 });

    // approval latency: shown → tap 7 s, 10 s, 10 s on the fake clock (every human tap, blocked or not);
    // tap → order 0 s for the one order (INSTANT broker, same fake instant)
    const shown = m.histogram('phoenix_approval_shown_to_tap_seconds');
    expect(shown).toMatchObject({ count: 3, sum: 27 });
    expect(shown.buckets).toMatchObject({ '5': 0, '10': 3, '+Inf': 3 });
    const toOrder = m.histogram('phoenix_approval_tap_to_order_seconds');
    expect(toOrder).toMatchObject({ count: 1, sum: 0 });
    expect(toOrder.buckets['0.005']).toBe(1);

    // /halt: one observation of real elapsed time, well under a second
    const halt = m.histogram('phoenix_halt_latency_seconds');
    expect(halt.count).toBe(1);
    expect(halt.sum).toBeGreaterThan(0);
    expect(halt.buckets['1']).toBe(1);
    expect(m.byLabel('phoenix_kill_flags_set_total', 'kind')).toEqual({ MANUAL: 1 });
    expect(m.value('phoenix_kill_flag_active')).toBe(1);

    // Telegram: each request the sandbox answered is counted once, by result; both 429s and their retry_after
    const answered = (status: number, method = 'sendMessage') => sandbox.calls.filter((c) => c.method === method && c.status === status).length;
    expect(m.sum('phoenix_telegram_requests_total', { method: 'sendMessage', result: '429' })).toBe(2);
    expect(m.sum('phoenix_telegram_retry_after_seconds_total')).toBe(4);
    expect(m.sum('phoenix_telegram_requests_total', { method: 'sendMessage', result: 'ok' })).toBe(answered(200));
    expect(m.value('phoenix_telegram_requests_total', { via: 'alerts', method: 'sendMessage', result: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(m.value('phoenix_telegram_requests_total', { via: 'bot', method: 'sendMessage', result: 'ok' })).toBeGreaterThanOrEqual(4); // 3 cards + the /halt reply
    expect(m.value('phoenix_telegram_requests_total', { via: 'bot', method: 'answerCallbackQuery', result: 'ok' })).toBe(answered(200, 'answerCallbackQuery'));

    // alerts: raised (from the beads) and delivered (loud HALT, silent INFO blocked notices)
    expect(m.value('phoenix_alerts_raised_total', { type: 'HALT', severity: 'CRITICAL' })).toBe(1);
    expect(m.value('phoenix_alerts_raised_total', { type: 'INTENT_BLOCKED', severity: 'INFO' })).toBe(3);
    expect(m.value('phoenix_alert_messages_sent_total', { severity: 'CRITICAL', sound: 'loud' })).toBeGreaterThanOrEqual(1);
    expect(m.value('phoenix_alert_messages_sent_total', { severity: 'INFO', sound: 'silent' })).toBeGreaterThanOrEqual(1);
    expect(m.value('phoenix_outbox_backlog')).toBe(await svc.app.store.tx((tx) => tx.alerts.backlog()));

    // jobs: runs by outcome equal the JobRun table; last success and lag per job
    const runs = (await svc.app.store.tx((tx) => tx.jobs.recent(null, 10_000))).filter((r) => r.outcome !== null);
    const heartbeats = runs.filter((r) => r.job === 'heartbeat' && r.outcome === 'OK');
    expect(heartbeats.length).toBeGreaterThanOrEqual(2);
    expect(m.value('phoenix_job_runs_total', { job: 'heartbeat', outcome: 'OK' })).toBe(heartbeats.length);
    expect(m.sum('phoenix_job_runs_total')).toBe(runs.length);
    expect(m.value('phoenix_job_last_success_timestamp_seconds', { job: 'heartbeat' })).toBe(Math.max(...heartbeats.map((r) => r.endedAt ?? 0)) / 1000);
    expect(m.family('phoenix_job_lag_seconds').metrics.map((s) => s.labels?.job)).toEqual(expect.arrayContaining(['heartbeat', 'missed-heartbeat-watch']));
    expect(m.value('phoenix_heartbeat_ok')).toBe(1);

    // broker connection state: one state is 1
    expect(m.byLabel('phoenix_broker_connection_state', 'state', { broker: 'sim' })).toEqual({ DISCONNECTED: 0, CONNECTING: 0, READY: 1, PAUSED: 0, DOWN: 0 });
    expect(m.value('phoenix_broker_can_submit', { broker: 'sim' })).toBe(1);

    // standard process metrics from this instance's own registry
    expect(m.value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(m.family('nodejs_heap_size_used_bytes').type).toBe('GAUGE');

    // the broker drops: the next scrape says so
    sim.faults.disconnect();
    for (let i = 0; i < 3; i++) {
      await flushMicrotasks();
      await svc.app.engine.pendingEvents();
    }
    const down = await metrics();
    expect(down.value('phoenix_broker_connection_state', { broker: 'sim', state: 'READY' })).toBe(0);
    expect(down.value('phoenix_broker_connection_state', { broker: 'sim', state: 'DISCONNECTED' })).toBe(1);
    // counters never go back: the second scrape reads only new beads
    expect(down.value('phoenix_intents_total', { outcome: 'proposed' })).toBe(3);
  }, 60_000);
});

/**
 * GET /metrics is authenticated like intake (issue 17): with INTAKE_TOKEN a Bearer token is
 * required (a bad scrape token is refused 401); without it only this machine may scrape —
 * a loopback peer AND a loopback Host header (DNS rebinding: 403). Each Phoenix has its own
 * registry: two instances in one process do not collide, and the global registry stays empty.
 * A scrape while the database is unreadable still serves the broker state.
 */
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { register as globalRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/engine/ports.js';
import { startIntake, type IntakeServer } from '../../src/http/intake.server.js';
import { metricsRoute } from '../../src/http/metrics.route.js';
import { BeadFeed } from '../../src/metrics/bead-feed.js';
import { PhoenixMetrics } from '../../src/metrics/metrics.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { Scrape } from '../support/prometheus.js';

const TOKEN = 'metrics-auth-token-0123456789';

function get(srv: IntakeServer, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; type: string; text: string; wwwAuth: string | undefined }> {
  return new Promise((resolve, reject) => {
    const u = new URL(srv.url);
    const req = request({ host: u.hostname, port: u.port, method, path: '/metrics', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8'), wwwAuth: res.headers['www-authenticate'] as string | undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function rig(token?: string): Promise<{ h: Harness; srv: IntakeServer; metrics: PhoenixMetrics }> {
  const h = await makeHarness();
  const metrics = new PhoenixMetrics(h.clock);
  const feed = new BeadFeed(h.app.store, metrics);
  await feed.start();
  metrics.setSources({ beforeScrape: () => feed.pull(), broker: () => ({ ...h.broker.health(), name: h.broker.name }), health: () => h.engine.health() });
  const srv = await startIntake({ engine: h.engine, logger: silentLogger, host: '127.0.0.1', port: 0, ratePerMinute: 10_000, metrics, ...(token ? { token } : {}) });
  return { h, srv, metrics };
}

describe('issue 17: /metrics authentication and registries', () => {
  const open: { h: Harness; srv: IntakeServer }[] = [];
  afterEach(async () => {
    for (const r of open.splice(0)) {
      await r.srv.close();
      await r.h.close();
    }
  });

  it('metrics: with INTAKE_TOKEN, no token, a wrong token, a token with one character more and Basic auth are refused 401; the right Bearer token scrapes', async () => {
    const r = await rig(TOKEN);
    open.push(r);
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer nope' }, { authorization: `Bearer ${TOKEN}x` }, { authorization: `Bearer ${TOKEN.slice(0, -1)}` }, { authorization: `Basic ${Buffer.from(`p:${TOKEN}`).toString('base64')}` }, { authorization: TOKEN }]) {
      const res = await get(r.srv, headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.wwwAuth).toBe('Bearer');
      expect(res.text).not.toContain('phoenix_');
    }
    const ok = await get(r.srv, { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(new Scrape(ok.text).value('phoenix_broker_connection_state', { broker: 'sim', state: 'READY' })).toBe(1);
    // a foreign Host is fine with a token (a scraper on another machine), the token decides
    expect((await get(r.srv, { authorization: `Bearer ${TOKEN}`, host: 'phoenix.internal:9999' })).status).toBe(200);
    expect((await get(r.srv, { authorization: `Bearer ${TOKEN}` }, 'POST')).status).toBe(405);
    expect((await get(r.srv, { authorization: `Bearer ${TOKEN}` }, 'HEAD')).status).toBe(200);
  });

  it('metrics: without INTAKE_TOKEN a loopback scrape is served; a foreign Host (DNS rebinding) is 403; a non-loopback peer is 401', async () => {
    const r = await rig();
    open.push(r);
    expect((await get(r.srv)).status).toBe(200);
    expect((await get(r.srv, { host: `localhost:${new URL(r.srv.url).port}` })).status).toBe(200);
    for (const host of ['attacker.example', '127.0.0.1.attacker.example', '10.0.0.5']) expect((await get(r.srv, { host })).status, host).toBe(403);
    // a peer that is not this machine (the route itself: no foreign traffic in tests)
    const answer: { status?: number; body?: string } = {};
    const req = { method: 'GET', headers: {}, socket: { remoteAddress: '192.0.2.7' }, resume() {} } as unknown as IncomingMessage;
    const res = {
      headersSent: false,
      writeHead(status: number) {
        answer.status = status;
        return this;
      },
      end(body?: string) {
        answer.body = body;
      },
    } as unknown as ServerResponse;
    await metricsRoute(req, res, { metrics: r.metrics, token: undefined, tokenMatches: () => false });
    expect(answer.status).toBe(401);
    expect(answer.body).toContain('loopback');
  });

  it('metrics: each Phoenix has its own registry (two in one process count separately); the global default registry holds none of them', async () => {
    const a = await rig();
    const b = await rig();
    open.push(a, b);
    await a.h.engine.submitIntent(a.h.intent());
    await a.h.engine.submitIntent(a.h.intent());
    await b.h.engine.submitIntent(b.h.intent());
    const sa = new Scrape((await get(a.srv)).text);
    const sb = new Scrape((await get(b.srv)).text);
    expect(sa.value('phoenix_intents_total', { outcome: 'proposed' })).toBe(2);
    expect(sb.value('phoenix_intents_total', { outcome: 'proposed' })).toBe(1);
    expect(sa.family('process_cpu_user_seconds_total').type).toBe('COUNTER');
    expect(sb.family('process_cpu_user_seconds_total').type).toBe('COUNTER');
    expect((await globalRegistry.metrics()).includes('phoenix_')).toBe(false);
  });

  it('metrics: with the database closed a scrape still answers with the broker state and counts the failed source', async () => {
    const r = await rig();
    open.push(r);
    await r.h.app.store.close();
    const res = await get(r.srv);
    expect(res.status).toBe(200);
    const s = new Scrape(res.text);
    expect(s.value('phoenix_broker_connection_state', { broker: 'sim', state: 'READY' })).toBe(1);
    expect(s.value('phoenix_metrics_scrape_errors_total')).toBe(2); // bead feed + health snapshot
  });
});

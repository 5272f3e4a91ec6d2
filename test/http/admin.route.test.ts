/**
 * Issue 16: /v1/admin/* on the intake server, the operator CLI's line into the RUNNING service.
 * GET /v1/admin/status says what runs (database, constitution, mode, broker and its state) with
 * the status snapshot; POST /v1/admin/intents takes an intent through the same validation and
 * gates as /v1/intents, recorded as from the CLI. Authenticated like intake: the bearer token
 * when INTAKE_TOKEN is set, else this machine only (loopback socket AND loopback Host).
 * Real HTTP (node:http, so headers are exactly what the test sends).
 */
import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/engine/ports.js';
import { parseAdminStatus, type ServiceFacts } from '../../src/http/admin.schema.js';
import { startIntake, type IntakeServer } from '../../src/http/intake.server.js';
import { type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';

const TOKEN = 'admin-intake-token-0123456789abcdef';

function call(host: string, port: number, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const body = opts.body ?? '';
    const req = request({ host, port, method: opts.method ?? 'GET', path: opts.path, headers: { 'content-length': String(Buffer.byteLength(body)), ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const facts = (h: Harness): ServiceFacts => ({
  version: '0.1.0',
  pid: 4242,
  startedAt: h.clock.now(),
  database: h.dbFile,
  demoData: false,
  constitution: { name: 'default', path: '/srv/phoenix/config/constitution.yaml', demo: false, timeZone: 'America/New_York' },
  mode: 'paper',
  broker: { name: 'sim' },
  intake: 'http://127.0.0.1:8787',
  telegram: 'sandbox',
});

/** a non-loopback address of this machine (a caller that is not "this machine" to the server), if any */
const external = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

describe('issue 16: the admin routes of the running service', () => {
  let h: Harness;
  let srv: IntakeServer;
  const harness = useHarness();
  afterEach(async () => {
    await srv?.close();
  });

  async function start(opts: { token?: string; host?: string } = {}) {
    h = await harness();
    srv = await startIntake({ engine: h.engine, logger: silentLogger, host: opts.host ?? '127.0.0.1', port: 0, ratePerMinute: 10_000, now: () => h.clock.now(), admin: { facts: () => facts(h) }, ...(opts.token ? { token: opts.token } : {}) });
    return Number(new URL(srv.url).port);
  }

  it('issue 16: GET /v1/admin/status answers what runs (facts), /healthz\'s view and the status snapshot, in the format the CLI parses', async () => {
    const port = await start();
    h.sim!.faults.disconnect();
    await h.settle();
    const r = await call('127.0.0.1', port, { path: '/v1/admin/status' });
    expect(r.status).toBe(200);
    const a = parseAdminStatus(r.body);
    expect(a).not.toBeNull();
    expect(a!.at).toBe(h.clock.now());
    expect(a!.service).toEqual(facts(h));
    expect(a!.status).toMatchObject({ mode: 'paper', constitution: 'default', broker: { name: 'sim', state: 'DISCONNECTED', canSubmit: false } });
    expect(a!.health).toMatchObject({ broker: 'DISCONNECTED', killActive: false });
    expect(JSON.stringify(r.body)).not.toContain(TOKEN);
    // what is not this admin answer is told apart (an older Phoenix, another program)
    expect(parseAdminStatus({ ...r.body, phoenix: 'phoenix-admin/0' })).toBeNull();
    expect(parseAdminStatus({ status: 'ok' })).toBeNull();
  });

  it('issue 16: POST /v1/admin/intents goes through the same validation and gates as /v1/intents and is recorded as from the CLI (202, 400, 409)', async () => {
    const port = await start();
    const json = { 'content-type': 'application/json' };
    const intent = h.intent();
    const ok = await call('127.0.0.1', port, { method: 'POST', path: '/v1/admin/intents', headers: json, body: JSON.stringify(intent) });
    expect(ok.status).toBe(202);
    expect(ok.body).toMatchObject({ state: 'PROPOSED', denials: [] });
    const bead = (await h.app.db.bead.findMany({ where: { type: 'INTENT', intentId: String(ok.body.intentId) } }))[0]!;
    expect(JSON.parse(bead.payload)).toMatchObject({ source: 'cli' });
    const again = await call('127.0.0.1', port, { method: 'POST', path: '/v1/admin/intents', headers: json, body: JSON.stringify(intent) });
    expect(again).toMatchObject({ status: 409, body: { intentId: ok.body.intentId, state: 'PROPOSED' } });
    const risky = await call('127.0.0.1', port, { method: 'POST', path: '/v1/admin/intents', headers: json, body: JSON.stringify(h.intent({ stopLoss: 6005 })) });
    expect(risky.status).toBe(202);
    expect((risky.body.denials as { code: string }[]).map((d) => d.code)).toEqual(['RISK_PER_TRADE']);
    const bad = await call('127.0.0.1', port, { method: 'POST', path: '/v1/admin/intents', headers: json, body: JSON.stringify(h.intent({ quantity: -1 })) });
    expect(bad.status).toBe(400);
    expect(bad.body.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'quantity' })]));
    const garbled = await call('127.0.0.1', port, { method: 'POST', path: '/v1/admin/intents', headers: json, body: '{"signalId": ' });
    expect(garbled.status).toBe(400);
    expect(await h.app.db.intent.count()).toBe(2);
    expect((await call('127.0.0.1', port, { method: 'DELETE', path: '/v1/admin/status' })).status).toBe(405);
    expect((await call('127.0.0.1', port, { path: '/v1/admin/intents' })).status).toBe(405);
    expect((await call('127.0.0.1', port, { path: '/v1/admin/nope' })).status).toBe(404);
  });

  it('issue 16: with INTAKE_TOKEN the admin routes need the bearer token (none or a wrong one: 401, nothing stored)', async () => {
    const port = await start({ token: TOKEN });
    for (const headers of [{}, { authorization: 'Bearer not-the-token-0123456789abcdef0' }, { authorization: TOKEN }] as Record<string, string>[]) {
      const s = await call('127.0.0.1', port, { path: '/v1/admin/status', headers });
      expect(s.status, JSON.stringify(headers)).toBe(401);
      expect(String(s.body.error)).toMatch(/missing or wrong bearer token/);
      const p = await call('127.0.0.1', port, { method: 'POST', path: '/v1/admin/intents', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(h.intent()) });
      expect(p.status).toBe(401);
    }
    expect(await h.app.db.intent.count()).toBe(0);
    const good = await call('127.0.0.1', port, { path: '/v1/admin/status', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(good.status).toBe(200);
    expect(parseAdminStatus(good.body)).not.toBeNull();
  });

  it('issue 16: without INTAKE_TOKEN a Host that is not loopback (DNS rebinding) is refused (403)', async () => {
    const port = await start();
    for (const host of ['attacker.example', `attacker.example:${port}`]) {
      const r = await call('127.0.0.1', port, { path: '/v1/admin/status', headers: { host } });
      expect(r.status, host).toBe(403);
    }
  });

  it.runIf(external)('issue 16: without INTAKE_TOKEN a caller from another address is refused (401), even with a loopback Host', async () => {
    const port = await start({ host: '0.0.0.0' });
    const r = await call(external!, port, { path: '/v1/admin/status', headers: { host: `127.0.0.1:${port}` } });
    expect(r.status).toBe(401);
    expect(String(r.body.error)).toContain('answer callers on this machine (loopback) only');
    const p = await call(external!, port, { method: 'POST', path: '/v1/admin/intents', headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json' }, body: JSON.stringify(h.intent()) });
    expect(p.status).toBe(401);
    expect(await h.app.db.intent.count()).toBe(0);
  });
});

/**
 * SAFE-8 (issue 12): without INTAKE_TOKEN intake trusts loopback, and the socket says loopback
 * even when a web page on attacker.example rebound its name to 127.0.0.1 (DNS rebinding). The
 * Host header still names attacker.example: such requests are refused and store nothing. With
 * INTAKE_TOKEN, /healthz tells a caller without the token only up/down.
 * Real HTTP (node:http, so the Host header is exactly what the test sends) on 127.0.0.1.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/engine/ports.js';
import { startIntake, type IntakeServer } from '../../src/http/intake.server.js';
import { type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';

const TOKEN = 'test-intake-token-0123456789abcdef';

function raw(srv: IntakeServer, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const u = new URL(srv.url);
    const body = opts.body ?? '';
    const req = request({ host: u.hostname, port: u.port, method: opts.method ?? 'POST', path: opts.path ?? '/v1/intents', headers: { 'content-length': String(Buffer.byteLength(body)), ...opts.headers } }, (res) => {
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

async function stored(h: Harness) {
  const db = h.app.db;
  return { intents: await db.intent.count(), beads: await db.bead.count(), alerts: await db.alert.count(), cards: await db.card.count() };
}

describe('SAFE-8: intake without INTAKE_TOKEN answers only loopback Host values', () => {
  let h: Harness;
  let srv: IntakeServer;
  let port: string;
  const harness = useHarness();
  beforeEach(async () => {
    h = await harness();
    srv = await startIntake({ engine: h.engine, logger: silentLogger, host: '127.0.0.1', port: 0, ratePerMinute: 10_000, now: () => h.clock.now() });
    port = new URL(srv.url).port;
  });
  afterEach(async () => {
    await srv?.close();
  });

  it('SAFE-8: a loopback socket with Host: attacker.example (DNS rebinding) is refused with 403 and nothing is stored', async () => {
    const before = await stored(h);
    for (const host of ['attacker.example', `attacker.example:${port}`, `127.0.0.1.attacker.example:${port}`, 'localhost.attacker.example', '10.0.0.5', '[::2]', 'local host']) {
      const r = await raw(srv, { headers: { host, 'content-type': 'application/json' }, body: JSON.stringify(h.intent()) });
      expect(r.status, JSON.stringify(host)).toBe(403);
      expect(String(r.body.error)).toMatch(/INTAKE_TOKEN is not set, so intake answers only requests addressed to 127\.0\.0\.1, localhost or \[::1\]/);
      expect(r.body.issues).toEqual([expect.objectContaining({ path: '(header) host' })]);
    }
    // no Host at all (HTTP/1.0 allows that): not addressed to loopback either
    const noHost = await new Promise<string>((resolve, reject) => {
      const u = new URL(srv.url);
      const sock = connect(Number(u.port), u.hostname, () => sock.end('GET /healthz HTTP/1.0\r\n\r\n'));
      let text = '';
      sock.on('data', (c: Buffer) => (text += c.toString('utf8')));
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
    expect(noHost).toMatch(/^HTTP\/1\.1 403 /);
    expect(noHost).toContain('got Host: none');
    // /healthz tells a rebinding page nothing either
    const health = await raw(srv, { method: 'GET', path: '/healthz', headers: { host: 'attacker.example' } });
    expect(health.status).toBe(403);
    expect(health.body).not.toHaveProperty('mode');
    expect(await stored(h)).toEqual(before);
  });

  it('SAFE-8: loopback Host values are accepted: 127.0.0.1, localhost, [::1], with or without the port', async () => {
    const hosts = ['127.0.0.1', `127.0.0.1:${port}`, 'localhost', `localhost:${port}`, `LocalHost:${port}`, '[::1]', `[::1]:${port}`];
    for (const host of hosts) {
      const r = await raw(srv, { headers: { host, 'content-type': 'application/json' }, body: JSON.stringify(h.intent()) });
      expect(r.status, host).toBe(202);
    }
    expect((await stored(h)).intents).toBe(hosts.length);
    expect((await raw(srv, { method: 'GET', path: '/healthz', headers: { host: `localhost:${port}` } })).status).toBe(200);
  });
});

describe('SAFE-8: intake with INTAKE_TOKEN', () => {
  let h: Harness;
  let srv: IntakeServer;
  const harness = useHarness();
  beforeEach(async () => {
    h = await harness();
    srv = await startIntake({ engine: h.engine, logger: silentLogger, host: '127.0.0.1', port: 0, token: TOKEN, ratePerMinute: 10_000, now: () => h.clock.now() });
  });
  afterEach(async () => {
    await srv?.close();
  });

  it('SAFE-8: /healthz without the bearer token says only up/down; with it, the full detail', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789abcdef' }, { authorization: TOKEN }] as Record<string, string>[]) {
      const r = await raw(srv, { method: 'GET', path: '/healthz', headers });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ status: 'up' });
    }
    const full = await raw(srv, { method: 'GET', path: '/healthz', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(full.status).toBe(200);
    expect(full.body).toMatchObject({ status: 'ok', mode: 'paper', broker: 'READY', killActive: false });
  });

  it('SAFE-8: with the token any Host is fine (the token is the protection), without it 401 as before', async () => {
    const body = JSON.stringify(h.intent());
    expect((await raw(srv, { headers: { host: 'phoenix.internal:8787', 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body })).status).toBe(202);
    expect((await raw(srv, { headers: { host: 'phoenix.internal:8787', 'content-type': 'application/json' }, body: JSON.stringify(h.intent()) })).status).toBe(401);
  });
});

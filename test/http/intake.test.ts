/**
 * Intake over real HTTP (SPEC 3): POST /v1/intents on node:http, port 0, the harness engine
 * behind it. Every bad request gets a clear 4xx with a message, 400s list their issues
 * (path + message), and NOTHING is stored.
 */
import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startIntake, type IntakeServer } from '../../src/http/intake.server.js';
import { silentLogger } from '../../src/engine/ports.js';
import { type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';

const TOKEN = 'test-intake-token-0123456789abcdef';

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(srv: IntakeServer, opts: { method?: string; path?: string; body?: string; type?: string | null; token?: string | null; auth?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  const type = opts.type === undefined ? 'application/json' : opts.type;
  if (type !== null) headers['content-type'] = type;
  const token = opts.token === undefined ? TOKEN : opts.token;
  if (opts.auth) headers.authorization = opts.auth;
  else if (token !== null) headers.authorization = `Bearer ${token}`;
  const method = opts.method ?? 'POST';
  const res = await fetch(`${srv.url}${opts.path ?? '/v1/intents'}`, { method, headers, ...(opts.body !== undefined && method !== 'GET' ? { body: opts.body } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Raw node:http POST (for the oversized body: the server may answer before the upload ends). */
function rawPost(srv: IntakeServer, body: Buffer, headers: Record<string, string>, chunked = false): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const u = new URL(`${srv.url}/v1/intents`);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: chunked ? headers : { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    if (!chunked) return void req.end(body);
    for (let i = 0; i < body.length; i += 16 * 1024) req.write(body.subarray(i, i + 16 * 1024)); // no content-length: chunked upload
    req.end();
  });
}

async function stored(h: Harness) {
  const db = h.app.db;
  return { intents: await db.intent.count(), beads: await db.bead.count(), alerts: await db.alert.count(), cards: await db.card.count() };
}

const json = (v: unknown) => JSON.stringify(v);

describe('intake HTTP', () => {
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

  it('202 {intentId, state, denials}: a good intent is accepted (PROPOSED) and a gated one answers CANCELLED with its denials', async () => {
    const ok = await call(srv, { body: json(h.intent()) });
    expect(ok.status).toBe(202);
    expect(Object.keys(ok.body).sort()).toEqual(['denials', 'intentId', 'state']);
    expect(ok.body).toMatchObject({ state: 'PROPOSED', denials: [] });
    expect(ok.body.intentId).toMatch(/^int_/);
    expect((await h.app.db.intent.findUniqueOrThrow({ where: { id: ok.body.intentId as string } })).state).toBe('PROPOSED');

    const gated = await call(srv, { body: json(h.intent({ stopLoss: 6005 })) }); // (6010.25 − 6005) × 5 = $26.25
    expect(gated.status).toBe(202);
    expect(Object.keys(gated.body).sort()).toEqual(['denials', 'intentId', 'state']);
    expect(gated.body.state).toBe('CANCELLED');
    expect(gated.body.denials).toEqual([{ gate: 'per_trade_risk', code: 'RISK_PER_TRADE', message: 'risk $26.25 > cap $15.00' }]);
  });

  it('400/401/404/405/413: at least 20 kinds of bad request each get a clear 4xx, 400s list issues (path + message), and nothing is stored', async () => {
    const good = h.intent();
    const ins = good.instrument as Record<string, unknown>;
    const ev = good.evidence as Record<string, unknown>;
    const without = (k: string) => json(Object.fromEntries(Object.entries(good).filter(([key]) => key !== k)));
    const raw = json(good);
    type Case = { name: string; status: number; path?: string; body?: string; type?: string | null; token?: string | null; auth?: string; method?: string; route?: string; issue?: RegExp | string };
    const cases: Case[] = [
      { name: 'malformed JSON', status: 400, body: '{"signalId": "x",', issue: '(body)' },
      { name: 'empty body', status: 400, body: '', issue: '(body)' },
      { name: 'wrong content type (text/plain)', status: 400, body: raw, type: 'text/plain', issue: /content-type/ },
      { name: 'wrong content type (form)', status: 400, body: raw, type: 'application/x-www-form-urlencoded', issue: /content-type/ },
      { name: 'no content type given (fetch sends text/plain)', status: 400, body: raw, type: null, issue: /content-type/ },
      { name: 'array body', status: 400, body: json([good]), issue: '(body)' },
      { name: 'null body', status: 400, body: 'null', issue: '(body)' },
      { name: 'string body', status: 400, body: '"BUY MES"', issue: '(body)' },
      { name: 'quantity as a string', status: 400, body: json({ ...good, quantity: '1' }), issue: 'quantity' },
      { name: 'side lower case', status: 400, body: json({ ...good, side: 'buy' }), issue: 'side' },
      { name: 'evidence.redChecks[].passed not boolean', status: 400, body: json({ ...good, evidence: { ...ev, redChecks: [{ name: 'x', passed: 'yes' }] } }), issue: 'evidence.redChecks.0.passed' },
      { name: 'missing signalId', status: 400, body: without('signalId'), issue: 'signalId' },
      { name: 'missing instrument', status: 400, body: without('instrument'), issue: 'instrument' },
      { name: 'missing evidence', status: 400, body: without('evidence'), issue: 'evidence' },
      { name: 'missing stopLoss', status: 400, body: without('stopLoss'), issue: 'stopLoss' },
      { name: 'missing stateAsOf', status: 400, body: without('stateAsOf'), issue: 'stateAsOf' },
      { name: 'entryPrice 1e400 (Infinity)', status: 400, body: raw.replace('"entryPrice":6010.25', '"entryPrice":1e400'), issue: 'entryPrice' },
      { name: 'NaN literal', status: 400, body: raw.replace('"entryPrice":6010.25', '"entryPrice":NaN'), issue: '(body)' },
      { name: 'huge quantity', status: 400, body: json({ ...good, quantity: 1e12 }), issue: 'quantity' },
      { name: 'huge price', status: 400, body: json({ ...good, takeProfit: 9.9e15 }), issue: 'takeProfit' },
      { name: 'negative quantity', status: 400, body: json({ ...good, quantity: -1 }), issue: 'quantity' },
      { name: 'zero quantity', status: 400, body: json({ ...good, quantity: 0 }), issue: 'quantity' },
      { name: 'fractional quantity', status: 400, body: json({ ...good, quantity: 1.5 }), issue: 'quantity' },
      { name: 'stop above entry for a BUY', status: 400, body: json({ ...good, stopLoss: 6011 }), issue: 'stopLoss' },
      { name: 'stop below entry for a SELL', status: 400, body: json({ ...good, side: 'SELL', stopLoss: 6008, takeProfit: 6005 }), issue: 'stopLoss' },
      { name: 'target below entry for a BUY', status: 400, body: json({ ...good, takeProfit: 6009 }), issue: 'takeProfit' },
      { name: 'target above entry for a SELL', status: 400, body: json({ ...good, side: 'SELL', stopLoss: 6012, takeProfit: 6015 }), issue: 'takeProfit' },
      { name: 'unknown top-level field', status: 400, body: json({ ...good, leverage: 10 }), issue: '(body)' },
      { name: 'unknown instrument field', status: 400, body: json({ ...good, instrument: { ...ins, conId: 12 } }), issue: 'instrument' },
      { name: 'unknown evidence field', status: 400, body: json({ ...good, evidence: { ...ev, gut: 'good' } }), issue: 'evidence' },
      { name: 'FUT without contractMonth', status: 400, body: json({ ...good, instrument: { ...ins, contractMonth: undefined } }), issue: 'instrument.contractMonth' },
      { name: 'STK with a contract month', status: 400, body: json({ ...good, instrument: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD', contractMonth: '202612' }, entryPrice: 200, stopLoss: 199, takeProfit: 202 }), issue: 'instrument.contractMonth' },
      { name: 'bad stateAsOf', status: 400, body: json({ ...good, stateAsOf: 'yesterday afternoon' }), issue: 'stateAsOf' },
      { name: 'setupScore over 1', status: 400, body: json({ ...good, evidence: { ...ev, setupScore: 1.5 } }), issue: 'evidence.setupScore' },
      { name: 'BRACKET without entryPrice', status: 400, body: without('entryPrice'), issue: 'entryPrice' },
      { name: 'wrong token', status: 401, body: raw, token: 'not-the-token-at-all-0000000000' },
      { name: 'no token', status: 401, body: raw, token: null },
      { name: 'Basic auth instead of Bearer', status: 401, body: raw, auth: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
      { name: 'GET on the intake route', status: 405, method: 'GET' },
      { name: 'PUT on the intake route', status: 405, method: 'PUT', body: raw },
      { name: 'unknown route', status: 404, route: '/v2/intents', body: raw },
      { name: 'root route', status: 404, route: '/', body: raw },
    ];
    expect(cases.length).toBeGreaterThanOrEqual(20);
    const before = await stored(h);
    for (const c of cases) {
      const a = await call(srv, { body: c.body, type: c.type, token: c.token, auth: c.auth, method: c.method, path: c.route });
      expect(a.status, c.name).toBe(c.status);
      expect(typeof a.body.error, c.name).toBe('string');
      expect((a.body.error as string).length, c.name).toBeGreaterThan(10);
      if (c.status === 400) {
        const issues = a.body.issues as { path: string; message: string }[];
        expect(Array.isArray(issues) && issues.length > 0, `${c.name}: issues listed`).toBe(true);
        for (const i of issues) {
          expect(typeof i.path, c.name).toBe('string');
          expect(i.message.length, c.name).toBeGreaterThan(3);
        }
        const paths = issues.map((i) => i.path);
        if (typeof c.issue === 'string') expect(paths, c.name).toContain(c.issue);
        else if (c.issue) expect(paths.some((p) => c.issue instanceof RegExp && c.issue.test(p)), `${c.name}: ${paths.join(',')}`).toBe(true);
      }
      if (c.status === 401) expect(a.body.error).toMatch(/token/i);
      if (c.status === 405) expect(a.headers.get('allow')).toBe('POST');
    }
    // 413: a 1 MB body
    const big = Buffer.from(json({ ...good, evidence: { ...ev, alignment: 'x'.repeat(1024 * 1024) } }));
    const tooBig = await rawPost(srv, big, { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error).toMatch(/64 KiB/);
    const tooBigChunked = await rawPost(srv, big, { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, true);
    expect(tooBigChunked.status).toBe(413);
    expect(tooBigChunked.body.error).toMatch(/over the limit .*64 KiB/);
    // the server is still fine afterwards, and nothing at all was stored by any of it
    expect(await stored(h)).toEqual(before);
    expect(before.intents).toBe(0);
    const ok = await call(srv, { body: raw });
    expect(ok.status).toBe(202);
  });

  it('400: the messages say what is wrong (a few spelled out)', async () => {
    const good = h.intent();
    const issuesOf = async (body: unknown) => ((await call(srv, { body: json(body) })).body.issues as { path: string; message: string }[]);
    expect(await issuesOf({ ...good, quantity: -1 })).toContainEqual({ path: 'quantity', message: 'quantity must be greater than 0' });
    expect(await issuesOf({ ...good, quantity: 1.5 })).toContainEqual({ path: 'quantity', message: 'quantity must be a whole number' });
    expect(await issuesOf({ ...good, stopLoss: 6011 })).toContainEqual({ path: 'stopLoss', message: 'stopLoss must be below entryPrice for a BUY' });
    expect(await issuesOf({ ...good, side: 'SELL' })).toEqual(
      expect.arrayContaining([
        { path: 'stopLoss', message: 'stopLoss must be above entryPrice for a SELL' },
        { path: 'takeProfit', message: 'takeProfit must be below entryPrice for a SELL' },
      ]),
    );
    expect(await issuesOf({ ...good, leverage: 3 })).toContainEqual({ path: '(body)', message: 'unknown field(s): leverage' });
    // every problem is reported, not just the first
    const many = await issuesOf({ ...good, quantity: 0, side: 'LONG', stateAsOf: 'now' });
    expect(many.map((i) => i.path).sort()).toEqual(expect.arrayContaining(['quantity', 'side', 'stateAsOf']));
  });

  it('409: a repeated signalId returns the first intentId and stores nothing new', async () => {
    const body = json(h.intent());
    const first = await call(srv, { body });
    expect(first.status).toBe(202);
    const after1 = await stored(h);
    const second = await call(srv, { body });
    expect(second.status).toBe(409);
    expect(second.body.intentId).toBe(first.body.intentId);
    expect(second.body.state).toBe('PROPOSED');
    expect(second.body.error).toMatch(/already seen/);
    // same signalId with different content is still the same signal: nothing duplicated
    const changed = await call(srv, { body: json({ ...(JSON.parse(body) as object), quantity: 1, takeProfit: 6016 }) });
    expect(changed.status).toBe(409);
    expect(changed.body.intentId).toBe(first.body.intentId);
    expect(await stored(h)).toEqual(after1);
  });

  it('429: over the rate limit → 429 with Retry-After, and the refused request stores nothing', async () => {
    await srv.close();
    srv = await startIntake({ engine: h.engine, logger: silentLogger, host: '127.0.0.1', port: 0, token: TOKEN, ratePerMinute: 6, now: () => h.clock.now() });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await call(srv, { body: json(h.intent()) })).status);
    expect(statuses.every((s) => s === 202)).toBe(true); // burst of 10
    const before = await stored(h);
    const limited = await call(srv, { body: json(h.intent()) });
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatch(/rate limit \(6\/min\)/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await stored(h)).toEqual(before);
    // tokens refill with (clock) time
    await h.clock.advance(10_000);
    expect((await call(srv, { body: json(h.intent()) })).status).toBe(202);
  });

  it('401 is checked before anything else (no token → no rate-limit use, no body read, nothing stored)', async () => {
    const before = await stored(h);
    for (let i = 0; i < 30; i++) expect((await call(srv, { body: 'garbage', token: null })).status).toBe(401);
    expect(await stored(h)).toEqual(before);
    expect((await call(srv, { body: json(h.intent()) })).status).toBe(202);
  });

  it('without INTAKE_TOKEN intake accepts loopback callers; /healthz answers 200', async () => {
    await srv.close();
    srv = await startIntake({ engine: h.engine, logger: silentLogger, host: '127.0.0.1', port: 0, ratePerMinute: 600, now: () => h.clock.now() });
    const a = await call(srv, { body: json(h.intent()), token: null });
    expect(a.status).toBe(202);
    const health = await fetch(`${srv.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', mode: 'paper', broker: 'READY', killActive: false });
  });
});

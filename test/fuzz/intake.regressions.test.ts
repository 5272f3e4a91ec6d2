/**
 * Regressions for the bugs the intake fuzzer (intake.fuzz.test.ts) found. Each one is pinned
 * here with the minimal request that showed it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseIntent } from '../../src/engine/intent.schema.js';
import { silentLogger } from '../../src/engine/ports.js';
import { startIntake, type IntakeServer } from '../../src/http/intake.server.js';
import { type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { baseIntent, send, StoreProbe } from './support.js';

describe('intake fuzz regressions', () => {
  let h: Harness;
  let srv: IntakeServer;
  let probe: StoreProbe;
  const harness = useHarness();
  beforeEach(async () => {
    h = await harness();
    srv = await startIntake({ engine: h.engine, logger: silentLogger, host: '127.0.0.1', port: 0, ratePerMinute: 10_000, now: () => h.clock.now() });
    probe = new StoreProbe(h.dbFile);
  });
  afterEach(async () => {
    probe?.close();
    await srv?.close();
  });

  it('regression (fuzz): a request target that is not a URL (//host:99999/…, //[) is a JSON 400, not a 500', async () => {
    const before = probe.counts();
    for (const path of ['//host:99999/v1/intents', '//[', '//[::1/v1/intents', '//a b/v1/intents'.replace(' ', '%20') + ':x']) {
      const body = Buffer.from(JSON.stringify(baseIntent('FUT', 'reg-url-1', h.clock.now())));
      const a = await send(srv.url, { method: 'POST', path, headers: { 'content-type': 'application/json' }, body });
      expect(a.status, path).toBeLessThan(500);
      expect(a.status, path).toBeGreaterThanOrEqual(400);
      const j = JSON.parse(a.text) as { error: string; issues?: { path: string; message: string }[] };
      expect(j.error, path).toMatch(/path|route/);
    }
    const bad = await send(srv.url, { method: 'POST', path: '//host:99999/v1/intents', headers: { 'content-type': 'application/json' }, body: Buffer.from('{}') });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({ error: expect.stringMatching(/malformed request path/), issues: [{ path: '(request) path', message: expect.any(String) }] });
    expect(probe.counts()).toEqual(before);
    // and the server is fine afterwards
    const ok = await send(srv.url, { method: 'POST', path: '/v1/intents', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(baseIntent('FUT', 'reg-url-2', h.clock.now()))) });
    expect(ok.status).toBe(202);
  });

  it('regression (fuzz): "__proto__" inside evidence.breakdown is refused (zod records drop it silently, value unchecked) — 400, nothing stored', async () => {
    const good = JSON.stringify(baseIntent('FUT', 'reg-proto-1', h.clock.now()));
    const before = probe.counts();
    for (const value of ['{"toString":1}', '0.5', '"not a number"', 'null']) {
      const text = good.replace('"breakdown":{', `"breakdown":{"__proto__":${value},`);
      expect(text).toContain('"__proto__"');
      const a = await send(srv.url, { method: 'POST', path: '/v1/intents', headers: { 'content-type': 'application/json' }, body: Buffer.from(text) });
      expect(a.status, value).toBe(400);
      expect((JSON.parse(a.text) as { issues: unknown[] }).issues, value).toContainEqual({ path: 'evidence.breakdown.__proto__', message: 'evidence.breakdown may not use the key __proto__' });
      // the same through the engine directly (CLI / demo path)
      const direct = await h.engine.submitIntent(JSON.parse(text));
      expect(direct.kind).toBe('invalid');
    }
    expect(probe.counts()).toEqual(before);
    expect(({} as Record<string, unknown>).toString).toBe(Object.prototype.toString);
    // ordinary names that happen to be Object.prototype members stay valid breakdown keys
    const named = parseIntent(JSON.parse(good.replace('"breakdown":{', '"breakdown":{"constructor":0.5,"toString":0.25,')));
    expect(named.ok).toBe(true);
    if (named.ok) expect(named.value.evidence.breakdown).toMatchObject({ constructor: 0.5, toString: 0.25, trend: 0.9 });
  });
});

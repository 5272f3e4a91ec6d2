/**
 * TradingView on the real service start (`loadConfig` → `startService`, as `npm start` does):
 * the env variables switch the route on, load config/tradingview.yaml, and configure the
 * source-address allowlist with X-Forwarded-For believed only from a trusted proxy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimBroker } from '../../src/broker/sim/index.js';
import { loadConfig } from '../../src/config/load.js';
import { seededRandom, silentLogger } from '../../src/engine/ports.js';
import { startService, type Service } from '../../src/service.js';
import { FakeClock } from '../support/fake-clock.js';
import { CHAT_ID, IN_SESSION } from '../support/harness.js';
import { PASSPHRASE, postAlert, TRADINGVIEW_TIMEOUT_MS, tvAlert } from '../support/tradingview.js';

const ROOT = resolve(import.meta.dirname, '../..');
let dir: string | null = null;
let service: Service | null = null;

afterEach(async () => {
  await service?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  service = null;
  dir = null;
});

async function startWith(env: Record<string, string>): Promise<{ url: string; clock: FakeClock }> {
  dir = mkdtempSync(join(tmpdir(), 'phoenix-tv-svc-'));
  const config = loadConfig({ DATABASE_URL: `file:${join(dir, 'phoenix.db')}`, CONSTITUTION_PATH: join(ROOT, 'config/constitution.yaml'), TRADINGVIEW_MAPPING_PATH: join(ROOT, 'config/tradingview.yaml'), ...env }, dir);
  const clock = new FakeClock(IN_SESSION);
  const broker = new SimBroker({ clock, random: seededRandom(3), profile: 'INSTANT', prices: { MES: 6010.25 } });
  service = await startService({ config, clock, random: seededRandom(4), logger: silentLogger, broker, chatId: CHAT_ID, telegramLabel: 'sandbox', intakePort: 0, sweepEveryMs: 0 });
  return { url: service.intake.url, clock };
}

describe('TradingView on the service', () => {
  it('SPEC-3 TradingView: TRADINGVIEW_PASSPHRASE turns the route on with the shipped mapping; without it the route is off', async () => {
    const on = await startWith({ TRADINGVIEW_PASSPHRASE: PASSPHRASE });
    const a = await postAlert(on.url, tvAlert(on.clock.now()));
    expect(a.ms).toBeLessThan(TRADINGVIEW_TIMEOUT_MS);
    expect(a.status).toBe(202);
    expect(a.body).toMatchObject({ state: 'PROPOSED', instrument: { symbol: 'MES', contractMonth: '202612' } });
    await service!.stop();
    service = null;
    rmSync(dir!, { recursive: true, force: true });

    const off = await startWith({});
    expect((await postAlert(off.url, tvAlert(off.clock.now()))).status).toBe(404);
  });

  it('SPEC-3 TradingView: TRADINGVIEW_ALLOWED_IPS=tradingview admits only the published addresses, read from X-Forwarded-For only when the peer is a trusted proxy (right-most untrusted hop)', async () => {
    const { url, clock } = await startWith({ TRADINGVIEW_PASSPHRASE: PASSPHRASE, TRADINGVIEW_ALLOWED_IPS: 'tradingview', TRADINGVIEW_TRUSTED_PROXIES: '127.0.0.1' });
    let t = clock.now();
    const post = (xff?: string) => postAlert(url, tvAlert((t += 1000), { ticker: 'MES1!' }), xff === undefined ? {} : { headers: { 'x-forwarded-for': xff } });
    // the proxy itself (127.0.0.1, no header) is not TradingView
    const direct = await post();
    expect(direct.status).toBe(403);
    expect(direct.body.error).toBe('source address 127.0.0.1 is not on TRADINGVIEW_ALLOWED_IPS');
    // the proxy says the caller is 52.89.214.238: allowed (and gated as usual)
    const tv = await post('52.89.214.238');
    expect(tv.status).toBe(202);
    // a client-written entry on the left is ignored: the proxy appended the real caller last
    expect((await post('52.89.214.238, 203.0.113.9')).status).toBe(403);
    expect((await post('203.0.113.9, 34.212.75.30')).status).toBe(202);
    expect((await post('garbage')).status).toBe(403);
    expect((await post('::ffff:54.218.53.128')).status).toBe(202);
  });

  it('SPEC-3 TradingView: without a trusted proxy, X-Forwarded-For is never believed', async () => {
    const { url, clock } = await startWith({ TRADINGVIEW_PASSPHRASE: PASSPHRASE, TRADINGVIEW_ALLOWED_IPS: '52.89.214.238,34.212.75.30' });
    const a = await postAlert(url, tvAlert(clock.now()), { headers: { 'x-forwarded-for': '52.89.214.238' } });
    expect(a.status).toBe(403);
    expect(a.body.error).toContain('127.0.0.1');
  });
});

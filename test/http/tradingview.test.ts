/**
 * POST /v1/tradingview over real HTTP (SPEC 3): the intake server on port 0 with the harness
 * engine (real SQLite file, SimBroker) and the shipped config/tradingview.yaml. Each answer is
 * timed against TradingView's 3 s limit; the passphrase is checked against every row, the
 * database bytes and every log line.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderCard } from '../../src/bot/render/card.js';
import { visibleText } from '../../src/bot/html.js';
import { envSchema } from '../../src/config/env.schema.js';
import { startIntake, type IntakeServer } from '../../src/http/intake.server.js';
import type { TradingViewOptions } from '../../src/http/tradingview.route.js';
import { cardOf, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { captureLogger, databaseBytes, dumpDatabase, PASSPHRASE, postAlert, readmeTemplate, shippedMapping, TRADINGVIEW_TIMEOUT_MS, tvAlert, type CapturedLogger, type TvAnswer } from '../support/tradingview.js';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { SECRET_ENV } from '../../src/config/env.schema.js';
import { createLogger } from '../../src/runtime/logger.js';

let h: Harness;
let srv: IntakeServer;
let log: CapturedLogger;

async function start(tv: Partial<TradingViewOptions> | null = {}, ratePerMinute = 10_000): Promise<void> {
  srv = await startIntake({
    engine: h.engine,
    logger: log.logger,
    host: '127.0.0.1',
    port: 0,
    ratePerMinute,
    now: () => h.clock.now(),
    ...(tv ? { tradingview: { passphrase: PASSPHRASE, mapping: shippedMapping(), timeZone: 'America/New_York', ...tv } } : {}),
  });
}

const counts = async () => ({ intents: await h.app.db.intent.count(), beads: await h.app.db.bead.count(), cards: await h.app.db.card.count(), alerts: await h.app.db.alert.count() });
const inTime = (a: TvAnswer) => expect(a.ms, `answered in ${a.ms.toFixed(0)} ms`).toBeLessThan(TRADINGVIEW_TIMEOUT_MS);
const cardText = async (intentId: string) => {
  const view = await h.engine.cards.view((await cardOf(h, intentId)).id);
  return visibleText(renderCard(view!).html);
};

const harness = useHarness();
beforeEach(async () => {
  h = await harness();
  log = captureLogger();
});
afterEach(async () => {
  await srv?.close();
});

describe('POST /v1/tradingview', () => {
  it('SPEC-3 TradingView: a JSON alert (application/json) with the right passphrase maps MES1! to MES 202612 ×5 and opens a card through the engine intake, within 3 s', async () => {
    await start();
    const a = await postAlert(srv.url, tvAlert(h.clock.now()));
    inTime(a);
    expect(a.status).toBe(202);
    expect(a.body).toMatchObject({ state: 'PROPOSED', denials: [], instrument: { symbol: 'MES', contractMonth: '202612' } });
    const intent = await intentOf(h, a.body.intentId as string);
    expect(intent.signalId).toBe(a.body.signalId);
    expect(intent.instrument).toEqual({ symbol: 'MES', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 5 });
    const beads = await h.app.db.bead.findMany({ where: { intentId: intent.id } });
    expect(beads.map((b) => b.type)).toEqual(expect.arrayContaining(['GATE', 'INTENT', 'CARD']));
    expect(JSON.parse(beads.find((b) => b.type === 'INTENT')!.payload)).toMatchObject({ source: 'tradingview', outcome: 'PROPOSED' });
  });

  it('SPEC-3 TradingView: the same alert as text/plain (TradingView\'s content type for a message it does not see as JSON) is accepted the same way; text/plain that is not JSON is a clear 400 and stores nothing', async () => {
    await start();
    const plain = await postAlert(srv.url, tvAlert(h.clock.now(), { ticker: 'NQ1!', price: 21010.25 }), { type: 'text/plain; charset=utf-8' });
    inTime(plain);
    expect(plain.status).toBe(202);
    expect(plain.body).toMatchObject({ state: 'PROPOSED', instrument: { symbol: 'MNQ', contractMonth: '202612' } });
    const before = await counts();
    const broken = await postAlert(srv.url, `{"passphrase": "${PASSPHRASE}", "ticker": "MES1!", "price": {{close}}`, { type: 'text/plain' });
    inTime(broken);
    expect(broken.status).toBe(400);
    expect(broken.body.error).toContain('not valid JSON (TradingView sends text/plain when it is not)');
    expect(JSON.stringify(broken.body)).not.toContain(PASSPHRASE); // no parser excerpt of the body
    const other = await postAlert(srv.url, tvAlert(h.clock.now()), { type: 'application/x-www-form-urlencoded' });
    expect(other.status).toBe(400);
    expect(await counts()).toEqual(before);
  });

  it('INV-SECRET-1: a wrong or missing passphrase is 401 and stores nothing; the passphrase (right or wrong) is in no row, no database byte and no log line', async () => {
    await start();
    const wrong = 'WRONG_guess_of_the_passphrase_123';
    const before = await counts();
    for (const body of [tvAlert(h.clock.now(), { passphrase: wrong }), tvAlert(h.clock.now(), { passphrase: undefined }), tvAlert(h.clock.now(), { passphrase: PASSPHRASE.slice(0, -1) }), tvAlert(h.clock.now(), { passphrase: 12345 })]) {
      for (const type of ['application/json', 'text/plain']) {
        const a = await postAlert(srv.url, body, { type });
        inTime(a);
        expect(a.status).toBe(401);
        expect(a.body.error).toMatch(/^passphrase (missing|wrong)/);
      }
    }
    // a bad alert behind a wrong passphrase learns nothing about the mapping
    expect((await postAlert(srv.url, tvAlert(h.clock.now(), { passphrase: wrong, ticker: 'CL1!' }))).status).toBe(401);
    expect(await counts()).toEqual(before);
    // and the right one: stored rows, beads and logs still never hold it
    const ok = await postAlert(srv.url, tvAlert(h.clock.now()));
    expect(ok.status).toBe(202);
    await h.settle();
    const dump = dumpDatabase(h.dbFile);
    expect(dump).toContain(ok.body.intentId as string); // the scan does see the data
    for (const secret of [PASSPHRASE, wrong]) {
      expect(dump).not.toContain(secret);
      expect(databaseBytes(h.dbFile)).not.toContain(secret);
      expect(log.lines.join('\n')).not.toContain(secret);
    }
    expect(log.lines.filter((l) => l.includes('passphrase')).length).toBeGreaterThanOrEqual(9); // the refusals were logged (without it)
  });

  it('INV-SECRET-1: the production logger redacts a passphrase field and cuts the TRADINGVIEW_PASSPHRASE value out of any line', () => {
    expect(SECRET_ENV).toContain('TRADINGVIEW_PASSPHRASE');
    const lines: string[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString('utf8')), cb()) });
    const logger = createLogger('debug', sink, { secrets: [PASSPHRASE] });
    logger.warn({ passphrase: 'a-field-value-xyz', body: { passphrase: 'nested-value-xyz' } }, 'field');
    logger.error({ err: `JSON at position 3: {"passphrase":"${PASSPHRASE}"` }, 'free text');
    const out = lines.join('');
    expect(out).toContain('"free text"');
    for (const s of ['a-field-value-xyz', 'nested-value-xyz', PASSPHRASE]) expect(out).not.toContain(s);
  });

  it('SPEC-3 TradingView: a re-send of the same alert answers 200 with the first intent id and changes nothing (also re-ordered, re-spaced, as text/plain)', async () => {
    await start();
    const body = tvAlert(h.clock.now());
    const first = await postAlert(srv.url, body);
    expect(first.status).toBe(202);
    const before = await counts();
    const again = await postAlert(srv.url, body);
    inTime(again);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ duplicate: true, intentId: first.body.intentId, state: 'PROPOSED', signalId: first.body.signalId });
    const reshaped = JSON.stringify(Object.fromEntries(Object.entries(body).reverse()), null, 4);
    const third = await postAlert(srv.url, reshaped, { type: 'text/plain' });
    expect(third.status).toBe(200);
    expect(third.body.intentId).toBe(first.body.intentId);
    expect(await counts()).toEqual(before);
    // a different alert (one second later) is a new intent
    const next = await postAlert(srv.url, tvAlert(h.clock.now() + 1000, { ticker: 'NQ1!', price: 21010.25 }));
    expect(next.status).toBe(202);
    expect(next.body.intentId).not.toBe(first.body.intentId);
  });

  it('SPEC-3 TradingView: NQ1! proposes an MNQ order (multiplier 2, front month) and the card shows MNQ 202612', async () => {
    await start();
    const a = await postAlert(srv.url, tvAlert(h.clock.now(), { ticker: 'NQ1!', action: 'sell', marketPosition: 'short', positionSize: -1, price: 21010.25 }));
    inTime(a);
    expect(a.status).toBe(202);
    expect(a.body.state, JSON.stringify(a.body.denials)).toBe('PROPOSED');
    const intent = await intentOf(h, a.body.intentId as string);
    expect(intent.instrument).toMatchObject({ symbol: 'MNQ', contractMonth: '202612', multiplier: 2 });
    expect(intent).toMatchObject({ side: 'SELL', entryPrice: 21010.25, stopLoss: 21015.25, takeProfit: 21000.25 });
    expect(await cardText(intent.id)).toContain('SELL 1 MNQ Dec26');
  });

  it('SPEC-3 TradingView: defaults the alert lacks are marked "from template" on the evidence card; what the alert sent is not; an ordinary intent shows no such line', async () => {
    await start();
    const bare = await postAlert(srv.url, tvAlert(h.clock.now()));
    inTime(bare);
    expect(bare.body.fromTemplate).toEqual(['stopLoss', 'takeProfit', 'setupScore', 'breakdown', 'alignment', 'redChecks', 'dvs', 'eqs']);
    expect(await cardText(bare.body.intentId as string)).toContain('🧩 from template: stop, target, setup score, breakdown, alignment, red checks, dvs, eqs (not in the signal)');

    const own = await postAlert(srv.url, tvAlert(h.clock.now(), { ticker: 'NQ1!', price: 21010.25, stopTicks: 16, evidence: { setupScore: 0.7, breakdown: { trend: 0.8 }, alignment: 'HTF up', redChecks: [], eqs: 0.9 } }));
    const text = await cardText(own.body.intentId as string);
    expect(text).toContain('🧩 from template: target, dvs (not in the signal)');
    expect(text).toContain('Alignment: HTF up');

    const plain = await h.engine.submitIntent(h.intent({ instrument: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' }, entryPrice: 200, stopLoss: 190, takeProfit: 220, quantity: 1 }));
    if (plain.kind !== 'accepted' || plain.state !== 'PROPOSED') throw new Error(JSON.stringify(plain));
    expect(await cardText(plain.intentId)).not.toContain('from template');
  });

  it('SPEC-3 TradingView: a strategy exit (marketPosition flat) answers 200 ignored and stores nothing; bad alerts are 400 with every problem and store nothing', async () => {
    await start();
    const before = await counts();
    const exit = await postAlert(srv.url, tvAlert(h.clock.now(), { action: 'sell', marketPosition: 'flat', positionSize: 0 }));
    inTime(exit);
    expect(exit.status).toBe(200);
    expect(exit.body).toMatchObject({ ignored: true });
    const bad = await postAlert(srv.url, tvAlert(h.clock.now(), { ticker: '{{ticker}}', contracts: 'NaN', extra: 1 }));
    inTime(bad);
    expect(bad.status).toBe(400);
    expect((bad.body.issues as { path: string }[]).map((i) => i.path)).toEqual(['ticker', 'contracts', '(body)']);
    const unknown = await postAlert(srv.url, tvAlert(h.clock.now(), { ticker: 'CL1!' }));
    expect(unknown.status).toBe(400);
    const proto = await postAlert(srv.url, `{"passphrase":"${PASSPHRASE}","ticker":"MES1!","action":"buy","price":6010.25,"time":"2026-11-24T15:00:00Z","evidence":{"breakdown":{"__proto__":{"x":1}}}}`);
    expect(proto.status).toBe(400);
    const array = await postAlert(srv.url, '[1,2]');
    expect(array.status).toBe(400);
    expect(await counts()).toEqual(before);
  });

  it("SPEC-3 TradingView: the README's alert template (and its own-fields example) round-trips through the mapping over HTTP", async () => {
    await start();
    const time = new Date(h.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const fill = { ticker: 'MES1!', exchange: 'CME_MINI', interval: '5', 'strategy.order.action': 'buy', 'strategy.order.contracts': '1', 'strategy.position_size': '1', 'strategy.market_position': 'long', close: '6010.25', timenow: time, 'strategy.order.id': 'Long', 'strategy.order.alert_message': '' };
    const t = readmeTemplate('tradingview-alert-template', fill);
    for (const p of ['{{ticker}}', '{{strategy.order.action}}', '{{strategy.order.contracts}}', '{{close}}', '{{timenow}}', '{{strategy.order.id}}', '"passphrase"']) expect(t.raw).toContain(p);
    const a = await postAlert(srv.url, t.filled, { type: 'application/json' });
    inTime(a);
    expect(a.status, JSON.stringify(a.body)).toBe(202);
    expect(a.body).toMatchObject({ state: 'PROPOSED', instrument: { symbol: 'MES', contractMonth: '202612' } });

    const own = readmeTemplate('tradingview-alert-own-fields', { ...fill, ticker: 'NQ1!', close: '21010.25', timenow: time.replace(/00Z$/, '01Z') });
    const b = await postAlert(srv.url, own.filled, { type: 'text/plain' });
    inTime(b);
    expect(b.status, JSON.stringify(b.body)).toBe(202);
    expect(b.body).toMatchObject({ state: 'PROPOSED', instrument: { symbol: 'MNQ', contractMonth: '202612' }, fromTemplate: ['breakdown', 'redChecks'] });
    const intent = await intentOf(h, b.body.intentId as string);
    expect(intent).toMatchObject({ strategy: 'nq-breakout', stopLoss: 21006.25, takeProfit: 21020.25 });
  });

  it('SPEC-3 TradingView: the README lists every environment variable in its configuration table, the new TRADINGVIEW_* ones included', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Safety model'));
    const missing = Object.keys(envSchema.shape).filter((k) => !table.includes(`\`${k}\``));
    expect(missing).toEqual([]);
    for (const k of ['TRADINGVIEW_PASSPHRASE', 'TRADINGVIEW_MAPPING_PATH', 'TRADINGVIEW_ALLOWED_IPS', 'TRADINGVIEW_TRUSTED_PROXIES']) expect(table).toContain(`| \`${k}\``);
  });

  it('SPEC-3 TradingView: a flood of wrong-passphrase posts hits 429 on its own bucket and cannot starve POST /v1/intents', async () => {
    await start({}, 60); // burst 10
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) statuses.push((await postAlert(srv.url, tvAlert(h.clock.now(), { passphrase: `guess-${i}-0123456789abcdef` }))).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual(Array(5).fill(429));
    const local = await fetch(`${srv.url}/v1/intents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(h.intent()) });
    expect(local.status).toBe(202);
  });

  it('SPEC-3 TradingView: off without TRADINGVIEW_PASSPHRASE (404 that says how to turn it on); wrong method is 405', async () => {
    await start(null);
    const a = await postAlert(srv.url, tvAlert(h.clock.now()));
    expect(a.status).toBe(404);
    expect(a.body.error).toContain('set TRADINGVIEW_PASSPHRASE');
    await srv.close();
    await start();
    expect((await fetch(`${srv.url}/v1/tradingview`)).status).toBe(405);
  });
});

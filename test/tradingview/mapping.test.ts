/**
 * The TradingView mapping (config/tradingview.yaml → src/tradingview/map-alert.ts): the shipped
 * file is valid, a broken one stops start-up with file:line problems, and the pure mapping
 * handles tickers, sides, reversals, ticks and defaults the way the README says.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { loadTradingViewMapping } from '../../src/config/tradingview.load.js';
import { parseIntent } from '../../src/engine/intent.schema.js';
import { mapAlert, type MapResult } from '../../src/tradingview/map-alert.js';
import type { TradingViewMapping } from '../../src/tradingview/mapping.schema.js';

const ROOT = resolve(import.meta.dirname, '../..');
const shipped = (): TradingViewMapping => {
  const r = loadTradingViewMapping(join(ROOT, 'config/tradingview.yaml'));
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.value;
};
const base = { ticker: 'MES1!', action: 'buy', contracts: 1, price: 6010.25, time: '2026-11-24T15:00:00Z', marketPosition: 'long' };
const map = (over: Record<string, unknown> = {}, mapping = shipped()): MapResult => mapAlert({ ...base, ...over }, { mapping, timeZone: 'America/New_York' });
const intentOf = (r: MapResult) => {
  if (r.kind !== 'intent') throw new Error(`${r.kind}: ${JSON.stringify(r)}`);
  expect(parseIntent(r.intent).ok).toBe(true); // always the public wire format
  return r.intent;
};

describe('mapping file', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'phoenix-tv-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('SPEC-3 TradingView: the shipped config/tradingview.yaml is valid: MES and ES → MES (×5), MNQ and NQ → MNQ (×2), cme-quarterly roll 8 days', () => {
    const m = shipped();
    expect(m.tickers).toEqual({ MES: 'MES', ES: 'MES', MNQ: 'MNQ', NQ: 'MNQ' });
    expect(m.instruments.MES).toMatchObject({ secType: 'FUT', exchange: 'CME', multiplier: 5, tickSize: 0.25, roll: { rule: 'cme-quarterly', daysBeforeExpiry: 8 } });
    expect(m.instruments.MNQ).toMatchObject({ secType: 'FUT', multiplier: 2, roll: { rule: 'cme-quarterly', daysBeforeExpiry: 8 } });
  });

  it('SPEC-3 TradingView: a broken mapping file stops start-up (fails closed) with every problem at its file:line', () => {
    const file = join(dir, 'tv.yaml');
    writeFileSync(
      file,
      [
        'stop: { ticks: 8 }', // 1
        'target: { points: -4 }', // 2
        'evidence: { setupScore: 0.5, breakdown: {}, alignment: x, redChecks: [], dvs: 1.5, eqs: 0.8 }', // 3
        'instruments:', // 4
        '  MES:', // 5
        '    secType: FUT', // 6
        '    exchange: CME', // 7
        '    tickSize: 0', // 8
        '    roll: { rule: cme-quarterly }', // 9
        'tickers:', // 10
        '  NQ: MNQ', // 11
        'typo: 1', // 12
      ].join('\n'),
    );
    const r = loadTradingViewMapping(file, 'tv.yaml');
    expect(r.ok).toBe(false);
    const problems = !r.ok ? r.problems : [];
    expect(problems).toHaveLength(6);
    expect(problems).toEqual(
      expect.arrayContaining([
        'tv.yaml:2: target.points: target.points must be greater than 0',
        'tv.yaml:3: evidence.dvs: evidence.dvs must be between 0 and 1',
        'tv.yaml:6: instruments.MES.multiplier: futures need a multiplier (MES 5, MNQ 2)', // missing: the line its map starts
        'tv.yaml:8: instruments.MES.tickSize: tickSize must be greater than 0',
        'tv.yaml:11: tickers.NQ: names instrument MNQ, which is not under instruments: (MES)',
        'tv.yaml:12: (root): unknown key(s) typo',
      ]),
    );
    // through the real start-up loader: ConfigError with the same lines, only when the route is on
    const env = { TRADINGVIEW_PASSPHRASE: 'p'.repeat(24), TRADINGVIEW_MAPPING_PATH: file, CONSTITUTION_PATH: join(ROOT, 'config/constitution.yaml'), DATABASE_URL: `file:${join(dir, 'db')}` };
    let err: unknown;
    try {
      loadConfig(env, dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(`${file}:8: instruments.MES.tickSize: tickSize must be greater than 0`);
    expect(() => loadConfig({ ...env, TRADINGVIEW_PASSPHRASE: undefined }, dir)).not.toThrow();
    writeFileSync(file, 'stop: [unclosed\n');
    const y = loadTradingViewMapping(file, 'tv.yaml');
    expect(!y.ok && y.problems[0]).toMatch(/^tv\.yaml:\d+: not valid YAML: /);
    expect(loadTradingViewMapping(join(dir, 'missing.yaml')).ok).toBe(false);
  });

  it('SPEC-3 TradingView: the passphrase is a secret env var (not in the CONFIG digest input) and the mapping is part of the digest', () => {
    const env = { CONSTITUTION_PATH: join(ROOT, 'config/constitution.yaml'), TRADINGVIEW_MAPPING_PATH: join(ROOT, 'config/tradingview.yaml'), DATABASE_URL: 'file:./x.db' };
    const a = loadConfig({ ...env, TRADINGVIEW_PASSPHRASE: 'a'.repeat(24) }, dir);
    const b = loadConfig({ ...env, TRADINGVIEW_PASSPHRASE: 'b'.repeat(24) }, dir);
    expect(a.tradingview?.tickers.NQ).toBe('MNQ');
    expect(a.digest).toBe(b.digest); // a different passphrase does not change (or leak into) the digest
    expect(loadConfig(env, dir).digest).not.toBe(a.digest);
    expect(() => loadConfig({ ...env, TRADINGVIEW_PASSPHRASE: 'short' }, dir)).toThrow(/TRADINGVIEW_PASSPHRASE: must be 16-256 characters/);
    expect(() => loadConfig({ ...env, TRADINGVIEW_ALLOWED_IPS: 'tradingview, 10.0.0.0/8, 300.1.1.1' }, dir)).toThrow(/TRADINGVIEW_ALLOWED_IPS: 300\.1\.1\.1 is not an IP address/);
  });
});

describe('alert → intent', () => {
  it('SPEC-3 TradingView: MES1! buy → MES 202612 ×5 BRACKET at the alert price with stop/target from the instrument defaults, marked from template', () => {
    const i = intentOf(map());
    expect(i.instrument).toEqual({ symbol: 'MES', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 5 });
    expect(i).toMatchObject({ side: 'BUY', quantity: 1, orderType: 'BRACKET', entryPrice: 6010.25, stopLoss: 6008.25, takeProfit: 6014.25, stateAsOf: '2026-11-24T15:00:00Z', strategy: 'tradingview' });
    expect(i.fromTemplate).toEqual(['stopLoss', 'takeProfit', 'setupScore', 'breakdown', 'alignment', 'redChecks', 'dvs', 'eqs']);
    expect(i.signalId).toMatch(/^tv-[0-9a-f]{40}$/);
  });

  it('SPEC-3 TradingView: NQ1!, NQ and CME_MINI:NQ1! sell → MNQ (×2); the side flips the stop and target; alert prices are put on the tick', () => {
    for (const ticker of ['NQ1!', 'NQ', 'CME_MINI:NQ1!', 'nq1!']) {
      const i = intentOf(map({ ticker, action: 'SELL', marketPosition: 'short', price: '21000.6' }));
      expect(i.instrument, ticker).toMatchObject({ symbol: 'MNQ', contractMonth: '202612', multiplier: 2 });
      expect(i, ticker).toMatchObject({ side: 'SELL', entryPrice: 21000.5, stopLoss: 21005.5, takeProfit: 20990.5 });
    }
    expect(intentOf(map({ ticker: 'MESZ2026' })).instrument.contractMonth).toBe('202612');
    expect(intentOf(map({ ticker: 'MES2!' })).instrument.contractMonth).toBe('202703');
  });

  it("SPEC-3 TradingView: the trader's own fields win over the template and are not marked; only what is missing is", () => {
    const i = intentOf(map({ stopTicks: 4, target: 6020.1, evidence: { setupScore: 0.7, dvs: '0.91', breakdown: { trend: 0.8 } }, comment: 'ORB long above VWAP', strategy: 'mes-orb' }));
    expect(i).toMatchObject({ stopLoss: 6009.25, takeProfit: 6020, strategy: 'mes-orb' });
    expect(i.evidence).toEqual({ setupScore: 0.7, breakdown: { trend: 0.8 }, alignment: 'ORB long above VWAP', redChecks: [], dvs: 0.91, eqs: 0.8 });
    expect(i.fromTemplate).toEqual(['redChecks', 'eqs']);
    expect(intentOf(map({ contracts: undefined })).fromTemplate).toContain('quantity');
    expect(intentOf(map({ stopPoints: 1.5 })).stopLoss).toBe(6008.75);
  });

  it('SPEC-3 TradingView: exits are not entries (flat, or a sell that leaves the strategy long); a reversal proposes only the new position', () => {
    expect(map({ action: 'sell', marketPosition: 'flat' }).kind).toBe('exit');
    expect(map({ action: 'sell', marketPosition: 'long', contracts: 1, positionSize: 1 }).kind).toBe('exit');
    expect(map({ action: 'buy', marketPosition: 'short' }).kind).toBe('exit');
    // long 1 → short 1: TradingView says contracts 2, position_size -1
    expect(intentOf(map({ action: 'sell', marketPosition: 'short', contracts: 2, positionSize: -1 })).quantity).toBe(1);
    // pyramiding: contracts 1 while the position becomes 2
    expect(intentOf(map({ contracts: 1, positionSize: 2 })).quantity).toBe(1);
  });

  it('SPEC-3 TradingView: unfilled placeholders, unknown fields, unknown or expired tickers and two stops are refused with their paths', () => {
    const issues = (r: MapResult) => (r.kind === 'invalid' ? r.issues.map((i) => `${i.path}: ${i.message}`) : [`not invalid: ${r.kind}`]);
    expect(issues(map({ action: '{{strategy.order.action}}', price: '{{close}}', foo: 1 }))).toEqual([
      'action: action still holds a TradingView placeholder: the alert was not created from a strategy, or the placeholder is misspelled',
      'price: price still holds a TradingView placeholder: the alert was not created from a strategy, or the placeholder is misspelled',
      '(body): unknown field(s): foo (see README "TradingView" for the template)',
    ]);
    expect(issues(map({ ticker: 'CL1!' }))[0]).toContain('ticker CL1! (root CL) is not under tickers:');
    expect(issues(map({ ticker: 'MESZ2025' }))).toEqual(['ticker: MES 202512 expired on 2025-12-19']);
    expect(issues(map({ ticker: 'MESF2027' }))).toEqual(['ticker: MES is listed for March, June, September and December only (H, M, U, Z)']);
    expect(issues(map({ stop: 6000, stopTicks: 3 }))).toEqual(['stopTicks: give one of stop, stopTicks, stopPoints (got stop and stopTicks)']);
    expect(issues(map({ time: '24/11/2026 10:00' }))[0]).toContain('time must be an ISO-8601 date-time');
    expect(issues(map({ price: 0 }))).toEqual(['price: price must be greater than 0']);
  });

  it('SPEC-3 TradingView: the idempotency key is the canonical alert (key order and spacing do not matter; any field change does)', () => {
    const a = map();
    const reordered = mapAlert(Object.fromEntries(Object.entries(base).reverse()), { mapping: shipped(), timeZone: 'America/New_York' });
    expect(reordered.kind === 'intent' && a.kind === 'intent' && reordered.signalId === a.signalId).toBe(true);
    const later = map({ time: '2026-11-24T15:00:01Z' });
    expect(later.kind === 'intent' && a.kind === 'intent' && later.signalId !== a.signalId).toBe(true);
  });
});

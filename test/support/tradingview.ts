/**
 * Helpers for the TradingView webhook tests: a TradingView-shaped POST (body only, content
 * type application/json or text/plain) timed against TradingView's 3 s limit, alert bodies,
 * a logger that keeps every line, and a full dump of the database for secret scans.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { loadTradingViewMapping } from '../../src/config/tradingview.load.js';
import type { Logger } from '../../src/engine/ports.js';
import type { TradingViewMapping } from '../../src/tradingview/mapping.schema.js';

/** TradingView cancels a webhook that takes longer than this. */
export const TRADINGVIEW_TIMEOUT_MS = 3000;
export const PASSPHRASE = 'tvPass_4f9c2e7a1b8d3c6e5f0a';

export function shippedMapping(): TradingViewMapping {
  const r = loadTradingViewMapping(resolve(import.meta.dirname, '../../config/tradingview.yaml'));
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.value;
}

export interface TvAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  /** wall-clock time until the whole answer was read */
  readonly ms: number;
}

/** POST like TradingView does: the message as the body, no headers of our own. */
export async function postAlert(url: string, body: string | object, opts: { type?: 'application/json' | 'text/plain' | string; headers?: Record<string, string> } = {}): Promise<TvAnswer> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const started = performance.now();
  const res = await fetch(`${url}/v1/tradingview`, { method: 'POST', headers: { 'content-type': opts.type ?? 'application/json', ...opts.headers }, body: text });
  const raw = await res.text();
  const ms = performance.now() - started;
  return { status: res.status, body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {}, ms };
}

/** A strategy alert as the README template fills it (MES1! buy 1 at 6010.25), passphrase included. */
export function tvAlert(atMs: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    passphrase: PASSPHRASE,
    strategy: 'mes-orb',
    ticker: 'MES1!',
    exchange: 'CME_MINI',
    interval: '5',
    action: 'buy',
    contracts: 1,
    positionSize: 1,
    marketPosition: 'long',
    price: 6010.25,
    time: new Date(atMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    orderId: 'Long',
    comment: '',
    ...over,
  };
}

export interface CapturedLogger {
  readonly logger: Logger;
  /** every line as JSON (bindings, object and message), never scrubbed */
  readonly lines: string[];
}

export function captureLogger(bindings: object = {}, lines: string[] = []): CapturedLogger {
  const write = (level: string) => (obj: object, msg?: string) => void lines.push(JSON.stringify({ level, ...bindings, ...obj, msg }));
  const logger: Logger = { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error'), child: (b) => captureLogger({ ...bindings, ...b }, lines).logger };
  return { logger, lines };
}

/** Every row of every table, as text (a second, read-only connection sees what was committed). */
export function dumpDatabase(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[];
    return tables.map((t) => `${t.name}: ${JSON.stringify(db.prepare(`SELECT * FROM "${t.name.replace(/"/g, '""')}"`).all())}`).join('\n');
  } finally {
    db.close();
  }
}

/** The raw bytes of the database and its WAL, as latin1 text (for a plain substring search). */
export function databaseBytes(file: string): string {
  return [file, `${file}-wal`, `${file}-shm`]
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f).toString('latin1'))
    .join('\n');
}

/** The README's TradingView template block after `<!-- marker -->`, placeholders filled as TradingView would. */
export function readmeTemplate(marker: string, fill: Record<string, string>): { raw: string; filled: string } {
  const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
  const at = readme.indexOf(`<!-- ${marker} -->`);
  if (at < 0) throw new Error(`README has no <!-- ${marker} --> block`);
  const m = /```json\n([\s\S]*?)\n```/.exec(readme.slice(at));
  if (!m) throw new Error(`no json block after <!-- ${marker} -->`);
  const raw = m[1]!;
  let filled = raw.replace(/\{\{([^}]+)\}\}/g, (whole, name: string) => {
    if (!(name in fill)) throw new Error(`the test does not fill ${whole}`);
    return fill[name]!;
  });
  filled = filled.replace('PASTE_YOUR_TRADINGVIEW_PASSPHRASE', PASSPHRASE);
  return { raw, filled };
}

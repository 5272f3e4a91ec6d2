/**
 * Intake fuzzing support (issue 9): a raw HTTP client that can send any bytes (chunked or
 * with a content-length), the fast-check generators of bad and borderline intake requests,
 * and the store probes the properties use (row counts straight from the SQLite file).
 *
 * A generated request is a RECIPE (pure data, shrinkable); the bytes are materialised at send
 * time with a fresh signalId, so fast-check replays and shrinking never collide with earlier
 * runs on the same database.
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { parseIntent } from '../../src/engine/intent.schema.js';
import { MAX_BODY_BYTES } from '../../src/http/intake.server.js';

// ---------------------------------------------------------------------------------------------
// HTTP

export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** send the body with Transfer-Encoding: chunked, cut at these byte offsets */
  readonly chunkAt?: readonly number[];
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** transport error instead of an answer (socket reset before any response) */
  readonly transportError?: string;
}

export function makeAgent(maxSockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets });
}

export function send(baseUrl: string, r: RawRequest, agent?: Agent): Promise<RawResponse> {
  return new Promise((resolve) => {
    const u = new URL(baseUrl);
    const chunked = r.chunkAt !== undefined;
    const headers: Record<string, string> = { ...r.headers };
    // Always frame the body: node's client does not chunk GET/DELETE/OPTIONS bodies by default,
    // and an unframed body would be parsed by the server as the next request on the socket.
    if (chunked) headers['transfer-encoding'] = 'chunked';
    else headers['content-length'] = String(r.body.length);
    let settled = false;
    const done = (v: RawResponse) => {
      if (!settled) {
        settled = true;
        resolve(v);
      }
    };
    const req = httpRequest({ host: u.hostname, port: u.port, path: r.path, method: r.method, headers, ...(agent ? { agent } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => done({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), transportError: e.message }));
    });
    // The server may answer (413) and close before the upload ends: EPIPE/ECONNRESET on our
    // side are expected then; a response, if any, still arrives through the callback above.
    req.on('error', (e: NodeJS.ErrnoException) => setTimeout(() => done({ status: 0, headers: {}, text: '', transportError: `${e.code ?? ''} ${e.message}` }), 50));
    req.setTimeout(15_000, () => req.destroy(new Error('client timeout (15 s): the server did not answer')));
    if (!chunked) {
      req.end(r.body);
      return;
    }
    let at = 0;
    for (const cut of [...(r.chunkAt ?? [])].sort((a, b) => a - b)) {
      if (cut <= at || cut >= r.body.length) continue;
      req.write(r.body.subarray(at, cut));
      at = cut;
    }
    req.end(r.body.subarray(at));
  });
}

/** Run `fn` over `items` with at most `width` in flight; results in input order. */
export async function pool<T, R>(items: readonly T[], width: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Store probes (read-only connection on the harness's SQLite file; WAL, so it sees commits)

export interface Counts {
  readonly intents: number;
  readonly beads: number;
  readonly alerts: number;
  readonly cards: number;
  readonly maxSeq: number;
}

export class StoreProbe {
  private readonly db: Database.Database;
  constructor(file: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
  }
  counts(): Counts {
    return this.db
      .prepare(
        `SELECT (SELECT count(*) FROM "Intent") AS intents, (SELECT count(*) FROM "Bead") AS beads,
                (SELECT count(*) FROM "Alert") AS alerts, (SELECT count(*) FROM "Card") AS cards,
                (SELECT coalesce(max(seq), 0) FROM "Bead") AS maxSeq`,
      )
      .get() as Counts;
  }
  beadsAfter(seq: number): { seq: number; type: string; intentId: string | null }[] {
    return this.db.prepare(`SELECT seq, type, intentId FROM "Bead" WHERE seq > ? ORDER BY seq`).all(seq) as { seq: number; type: string; intentId: string | null }[];
  }
  intentIdsNotIn(known: ReadonlySet<string>): string[] {
    return (this.db.prepare(`SELECT id FROM "Intent"`).all() as { id: string }[]).map((r) => r.id).filter((id) => !known.has(id));
  }
  intent(id: string): { id: string; signalId: string; state: string } | undefined {
    return this.db.prepare(`SELECT id, signalId, state FROM "Intent" WHERE id = ?`).get(id) as { id: string; signalId: string; state: string } | undefined;
  }
  close(): void {
    this.db.close();
  }
}

/** The same counts on a PostgreSQL database (issue 18), read around the store under test. */
export class PgStoreProbe {
  constructor(private readonly query: (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>) {}
  async counts(): Promise<Counts> {
    const [r] = await this.query(
      `SELECT (SELECT count(*) FROM "Intent")::int AS intents, (SELECT count(*) FROM "Bead")::int AS beads,
              (SELECT count(*) FROM "Alert")::int AS alerts, (SELECT count(*) FROM "Card")::int AS cards,
              (SELECT coalesce(max(seq), 0) FROM "Bead")::int AS "maxSeq"`,
    );
    return r as unknown as Counts;
  }
  async beadsAfter(seq: number): Promise<{ seq: number; type: string; intentId: string | null }[]> {
    return (await this.query(`SELECT seq::int AS seq, type, "intentId" FROM "Bead" WHERE seq > $1 ORDER BY seq`, [seq])) as { seq: number; type: string; intentId: string | null }[];
  }
  close(): void {}
}

// ---------------------------------------------------------------------------------------------
// Recipes

/** What the test knows about a recipe in advance: must be refused, must be accepted, or either. */
export type Expectation = 'reject' | 'accept' | 'either';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A value written into the JSON text verbatim (numbers JSON.stringify cannot express, nesting). */
interface Raw {
  readonly raw: string;
}

type FieldKind = 'string' | 'number' | 'integer' | 'enum' | 'object' | 'array' | 'boolean';

interface Field {
  readonly path: readonly (string | number)[];
  readonly kind: FieldKind;
  readonly required: boolean;
}

/** The wire format's fields (SPEC 3) with their JSON kinds; base intents fill all of them. */
export const FIELDS: readonly Field[] = [
  { path: ['signalId'], kind: 'string', required: true },
  { path: ['strategy'], kind: 'string', required: true },
  { path: ['instrument'], kind: 'object', required: true },
  { path: ['instrument', 'symbol'], kind: 'string', required: true },
  { path: ['instrument', 'secType'], kind: 'enum', required: true },
  { path: ['instrument', 'exchange'], kind: 'string', required: true },
  { path: ['instrument', 'currency'], kind: 'string', required: true },
  { path: ['instrument', 'contractMonth'], kind: 'string', required: true }, // FUT base
  { path: ['instrument', 'multiplier'], kind: 'number', required: true }, // FUT base
  { path: ['side'], kind: 'enum', required: true },
  { path: ['quantity'], kind: 'integer', required: true },
  { path: ['orderType'], kind: 'enum', required: true },
  { path: ['entryPrice'], kind: 'number', required: true }, // BRACKET base
  { path: ['stopLoss'], kind: 'number', required: true },
  { path: ['takeProfit'], kind: 'number', required: true },
  { path: ['evidence'], kind: 'object', required: true },
  { path: ['evidence', 'setupScore'], kind: 'number', required: true },
  { path: ['evidence', 'breakdown'], kind: 'object', required: true },
  { path: ['evidence', 'breakdown', 'trend'], kind: 'number', required: false },
  { path: ['evidence', 'alignment'], kind: 'string', required: true },
  { path: ['evidence', 'redChecks'], kind: 'array', required: true },
  { path: ['evidence', 'redChecks', 0, 'name'], kind: 'string', required: true },
  { path: ['evidence', 'redChecks', 0, 'passed'], kind: 'boolean', required: true },
  { path: ['evidence', 'dvs'], kind: 'number', required: true },
  { path: ['evidence', 'eqs'], kind: 'number', required: true },
  { path: ['stateHash'], kind: 'string', required: true },
  { path: ['stateAsOf'], kind: 'string', required: true },
  { path: ['ttlSec'], kind: 'integer', required: false },
];

const OBJECT_PATHS: readonly (readonly (string | number)[])[] = [[], ['instrument'], ['evidence'], ['evidence', 'breakdown'], ['evidence', 'redChecks', 0]];

export type Op =
  | { readonly op: 'drop'; readonly field: number }
  | { readonly op: 'retype'; readonly field: number; readonly value: Json }
  | { readonly op: 'rawNumber'; readonly field: number; readonly token: string }
  | { readonly op: 'string'; readonly field: number; readonly value: string }
  | { readonly op: 'protoKey'; readonly at: number; readonly key: string; readonly value: string }
  | { readonly op: 'dupKey'; readonly field: number; readonly value: string; readonly after: boolean }
  | { readonly op: 'wrapArray'; readonly at: number }
  | { readonly op: 'nest'; readonly field: number; readonly depth: number; readonly shape: 'array' | 'object' }
  | { readonly op: 'wrongSide'; readonly which: 'stop' | 'target' | 'flip' }
  | { readonly op: 'borderline'; readonly which: Borderline };

export type Borderline = 'dvs0.80' | 'eqs0.75' | 'qty10000' | 'risk15' | 'ttl30' | 'ttl3600' | 'noTtl' | 'symbol16' | 'strategy64' | 'signal128' | 'checks20' | 'breakdown20' | 'offset' | 'regime' | 'emojiStrategy' | 'mkt' | 'stk';

export type TextOp =
  | { readonly op: 'none' }
  | { readonly op: 'truncate'; readonly frac: number }
  | { readonly op: 'bom' }
  | { readonly op: 'whitespace' }
  | { readonly op: 'garbage'; readonly tail: string }
  | { readonly op: 'padTo'; readonly size: number }
  | { readonly op: 'replace'; readonly text: string }
  | { readonly op: 'badUtf8' };

export interface Recipe {
  readonly base: 'FUT' | 'STK' | 'MKT';
  readonly ops: readonly Op[];
  readonly text: TextOp;
  readonly contentType: string | null;
  readonly route: { readonly method: string; readonly path: string; readonly status: number | 'body' } | null;
  readonly chunks: readonly number[] | null;
  /** re-send the body of an earlier request of the same batch (same signalId) */
  readonly repeatOf: number | null;
}

export interface Materialised {
  readonly req: RawRequest;
  readonly expect: Expectation;
  /** exact status when the recipe determines it (404/405/413, content type) */
  readonly status: number | null;
  readonly signalId: string;
  readonly label: string;
  /** the JSON text we sent (before transport), when it is a JSON document */
  readonly text: string;
}

const RAW_NUMBER_TOKENS = ['1e400', '-1e400', '-0', '1e-400', 'NaN', 'Infinity', '-Infinity', '0x10', '1.', '.5', '01', '+1', '1e9', '999999999.99', '9007199254740993', '1E2', '-0.0', '0e0', '5e-324', '1.7976931348623157e308', '0.80', '0.7999999999999999', '1e-7', '-1', '10000', '10001', '2.5', '1_000'];

const WEIRD_VALUES: readonly Json[] = [null, true, false, '', ' ', '1', 'NaN', 'x', [], {}, [1], { a: 1 }, 0, -1, 1.5, 1e308, -1e-308, 'BUY', 'FUT', 1, 0.5];

const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/json;charset=UTF-16', ' application/json ', 'text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'application/ld+json', 'multipart/form-data; boundary=x', 'text/json', '*/*', ''];

/** Other methods and request targets; `status` is the answer, or 'body' when the route is the intake route after all. */
const ROUTES: readonly { method: string; path: string; status: number | 'body' }[] = [
  { method: 'GET', path: '/v1/intents', status: 405 },
  { method: 'PUT', path: '/v1/intents', status: 405 },
  { method: 'DELETE', path: '/v1/intents', status: 405 },
  { method: 'PATCH', path: '/v1/intents', status: 405 },
  { method: 'OPTIONS', path: '/v1/intents', status: 405 },
  { method: 'POST', path: '/v1/intents/', status: 404 },
  { method: 'POST', path: '/V1/intents', status: 404 },
  { method: 'POST', path: '/v1/intents?dryRun=1', status: 'body' },
  { method: 'POST', path: '/v1/intents/../intents', status: 'body' }, // URL normalises dot segments
  { method: 'POST', path: '/v1/x/%2e%2e/intents', status: 'body' }, // %2e%2e is a dot segment too
  { method: 'POST', path: '//v1/intents', status: 404 }, // authority "v1", path /intents
  { method: 'POST', path: '/v1/intents%00', status: 404 },
  { method: 'POST', path: '//[', status: 400 }, // not a URL at all
  { method: 'POST', path: '//host:99999/v1/intents', status: 400 }, // port out of range: not a URL
  { method: 'POST', path: 'http://evil.example/v1/intents', status: 'body' }, // absolute-form target
  { method: 'POST', path: '/healthz', status: 405 },
  { method: 'GET', path: '/healthz?x=%ZZ', status: 200 },
  { method: 'POST', path: '/', status: 404 },
  { method: 'POST', path: `/${'a'.repeat(4000)}`, status: 404 },
];

/** Strings that break naive code: control chars, emoji, RTL overrides, lone surrogates, NUL, HTML, very long. */
const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', '\u0000', '\u0007\b\f\v', '\r\n', '\t x \t', '🚀📈💥', '👨‍👩‍👧‍👦', '\u202Egnp.exe', '\u200B', '\uFEFF', '\uD800', '\uDFFF', 'a\uD83D', '<b>x</b>&amp;', '"; DROP TABLE "Intent"; --', '${x}', '%s%n', '../../etc/passwd', 'Ω≈ç√∫', '\\', '\\u0000', 'null', '__proto__'),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.integer({ min: 0, max: 4 }).map((k) => 'x'.repeat([17, 65, 129, 301, 5000][k]!)),
);

const fieldIndex = fc.integer({ min: 0, max: FIELDS.length - 1 });

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('drop' as const), field: fieldIndex }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('retype' as const), field: fieldIndex, value: fc.constantFrom(...WEIRD_VALUES) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('rawNumber' as const), field: fieldIndex, token: fc.constantFrom(...RAW_NUMBER_TOKENS) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('string' as const), field: fieldIndex, value: nastyString }), weight: 4 },
  {
    arbitrary: fc.record({
      op: fc.constant('protoKey' as const),
      at: fc.integer({ min: 0, max: OBJECT_PATHS.length - 1 }),
      key: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__', 'valueOf'),
      value: fc.constantFrom('{"polluted":true}', '{"toString":1}', '0.5', 'null', '"x"', '[]', '{"prototype":{"polluted":true}}'),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ op: fc.constant('dupKey' as const), field: fieldIndex, value: fc.constantFrom('null', '"dup"', '0', '-5', '1e400', '{}', '[]', '0.5', '1'), after: fc.boolean() }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('wrapArray' as const), at: fc.integer({ min: 0, max: OBJECT_PATHS.length - 1 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('nest' as const), field: fieldIndex, depth: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constantFrom(1000, 5000, 20000)), shape: fc.constantFrom('array' as const, 'object' as const) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('wrongSide' as const), which: fc.constantFrom('stop' as const, 'target' as const, 'flip' as const) }), weight: 2 },
  {
    arbitrary: fc.record({
      op: fc.constant('borderline' as const),
      which: fc.constantFrom<Borderline>('dvs0.80', 'eqs0.75', 'qty10000', 'risk15', 'ttl30', 'ttl3600', 'noTtl', 'symbol16', 'strategy64', 'signal128', 'checks20', 'breakdown20', 'offset', 'regime', 'emojiStrategy', 'mkt', 'stk'),
    }),
    weight: 4,
  },
);

export const textOpArb: fc.Arbitrary<TextOp> = fc.oneof(
  { arbitrary: fc.constant({ op: 'none' as const }), weight: 12 },
  { arbitrary: fc.record({ op: fc.constant('truncate' as const), frac: fc.double({ min: 0, max: 0.999, noNaN: true }) }), weight: 2 },
  { arbitrary: fc.constant({ op: 'bom' as const }), weight: 1 },
  { arbitrary: fc.constant({ op: 'whitespace' as const }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('garbage' as const), tail: fc.constantFrom('}', ',', 'x', '{}', '\u0000', ' //c', '\n{"a":1}') }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('padTo' as const), size: fc.constantFrom(MAX_BODY_BYTES - 1, MAX_BODY_BYTES, MAX_BODY_BYTES + 1, MAX_BODY_BYTES + 4096, 200_000) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('replace' as const), text: fc.constantFrom('', ' ', 'null', '[]', '[{}]', '"BUY MES"', '42', 'true', '{}', '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}', 'undefined', "{'a':1}", '{"a":1,}', '\uFEFF{}') }), weight: 2 },
  { arbitrary: fc.constant({ op: 'badUtf8' as const }), weight: 1 },
);

export const recipeArb: fc.Arbitrary<Recipe> = fc.record({
  base: fc.constantFrom('FUT' as const, 'STK' as const, 'MKT' as const),
  ops: fc.array(opArb, { maxLength: 3 }),
  text: textOpArb,
  contentType: fc.oneof({ arbitrary: fc.constant('application/json'), weight: 14 }, { arbitrary: fc.constantFrom<string | null>(null, ...CONTENT_TYPES), weight: 2 }),
  route: fc.oneof({ arbitrary: fc.constant(null), weight: 18 }, { arbitrary: fc.constantFrom(...ROUTES), weight: 1 }),
  chunks: fc.oneof({ arbitrary: fc.constant(null), weight: 4 }, { arbitrary: fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 6 }), weight: 1 }),
  repeatOf: fc.oneof({ arbitrary: fc.constant(null), weight: 9 }, { arbitrary: fc.integer({ min: 0, max: 50 }), weight: 1 }),
});

// ---------------------------------------------------------------------------------------------
// Materialisation

export function baseIntent(kind: Recipe['base'], signalId: string, nowMs: number): Record<string, Json> {
  const common = {
    signalId,
    strategy: 'mes-orb',
    evidence: { setupScore: 0.82, breakdown: { trend: 0.9, momentum: 0.7, volume: 0.85 }, alignment: 'HTF up; LTF pullback to VWAP', redChecks: [{ name: 'no tier-1 news within 30 min', passed: true }], dvs: 0.93, eqs: 0.88 },
    stateHash: 'sha256:9f2c',
    stateAsOf: new Date(nowMs).toISOString(),
    ttlSec: 300,
  };
  if (kind === 'STK') {
    return { ...common, strategy: 'aapl-swing', instrument: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' }, side: 'BUY', quantity: 1, orderType: 'LMT', entryPrice: 200, stopLoss: 199, takeProfit: 202 };
  }
  const fut = { symbol: 'MES', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 5 };
  if (kind === 'MKT') return { ...common, instrument: fut, side: 'BUY', quantity: 1, orderType: 'MKT', stopLoss: 6008.0, takeProfit: 6015.0 };
  return { ...common, instrument: fut, side: 'BUY', quantity: 1, orderType: 'BRACKET', entryPrice: 6010.25, stopLoss: 6008.0, takeProfit: 6015.0 };
}

type Path = readonly (string | number)[];

function getAt(doc: Json, path: Path): Json | undefined {
  let cur: Json | undefined = doc;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, Json>)[k];
  }
  return cur;
}

function parentOf(doc: Json, path: Path): { parent: Record<string | number, Json | Raw>; key: string | number } | null {
  if (!path.length) return null;
  const parent = getAt(doc, path.slice(0, -1));
  if (parent === null || typeof parent !== 'object') return null;
  return { parent: parent as Record<string | number, Json | Raw>, key: path[path.length - 1]! };
}

const kindOf = (v: Json | undefined): FieldKind | 'null' | 'undefined' => {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'boolean';
  return 'string';
};
const sameKind = (field: FieldKind, v: Json): boolean => {
  const k = kindOf(v);
  if (field === 'integer') return k === 'number';
  if (field === 'enum') return k === 'string';
  return k === field;
};

/** Serialise, letting Raw values through verbatim (placeholders replaced after stringify). */
function serialise(doc: Json): string {
  const raws: string[] = [];
  const walk = (v: unknown): unknown => {
    if (v && typeof v === 'object' && !Array.isArray(v) && 'raw' in (v as object) && Object.keys(v as object).length === 1) {
      raws.push((v as Raw).raw);
      return `@@RAW${raws.length - 1}@@`;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const text = JSON.stringify(walk(doc));
  return text.replace(/"@@RAW(\d+)@@"/g, (_, i: string) => raws[Number(i)]!);
}

let markerSeq = 0;

/** Put `"key":value` (raw text) first in the object at `path`: a marker member serialise() unwraps. */
function injectKey(doc: Json, path: Path, key: string, value: string): boolean {
  const target = path.length ? getAt(doc, path) : doc;
  if (target === undefined || target === null || typeof target !== 'object' || Array.isArray(target)) return false;
  const marker = `@@KEY${(markerSeq++).toString(36)}@@`;
  const obj = target as Record<string, Json | Raw>;
  const entries = Object.entries(obj);
  for (const k of Object.keys(obj)) delete obj[k];
  obj[marker] = { raw: `${JSON.stringify(key)}:${value}` } as Raw;
  for (const [k, v] of entries) obj[k] = v;
  return true;
}

const HARMLESS_BREAKDOWN_KEYS = new Set(['constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__', 'valueOf']);

/**
 * Build the bytes for a recipe. `signalId` is fresh per send; `repeatBody` replaces the body
 * with an earlier one (duplicate signalId → 409 unless the first was refused).
 */
export function materialise(r: Recipe, signalId: string, nowMs: number, repeat: Materialised | null): Materialised {
  const labels: string[] = [r.base];
  // Expectations: per field path (a later op on the same field, or on a parent, replaces what
  // an earlier op did, so its expectation replaces the earlier one too) plus whole-request ones.
  const SEP = '\u0001';
  const keyOf = (path: Path) => path.join(SEP);
  const fieldExp = new Map<string, Expectation>();
  const shadowed = new Set<string>(); // fields with a later duplicate key: that value wins
  const dupBefore = new Set<string>(); // fields with an earlier duplicate: still present if the field is dropped
  const CROSS = new Set(['side', 'orderType', 'entryPrice', 'stopLoss', 'takeProfit']);
  const setExp = (path: Path, e: Expectation) => {
    const k = keyOf(path);
    for (const other of [...fieldExp.keys()]) if (other === k || other.startsWith(k + SEP)) fieldExp.delete(other);
    // stop/target/side/entry are judged together: touching any of them may repair a wrong side
    if (CROSS.has(String(path[0]))) for (const other of fieldExp.keys()) if (other.startsWith('@cross')) fieldExp.set(other, 'either');
    fieldExp.set(k, shadowed.has(k) ? 'either' : e);
  };
  const global: Expectation[] = [];
  let status: number | null = null;
  let text: string;
  let sentSignal = signalId;
  if (repeat) {
    text = repeat.text;
    sentSignal = repeat.signalId;
    global.push('either'); // 409 when the first was accepted; the first may have been refused for its transport alone
    labels.push('repeat');
  } else {
    const doc = baseIntent(r.base, signalId, nowMs) as Record<string, Json | Raw>;
    let wrapRoot = false;
    for (const o of r.ops) {
      const f = 'field' in o ? FIELDS[o.field]! : null;
      switch (o.op) {
        case 'drop': {
          const p = parentOf(doc as Json, f!.path);
          if (!p || Array.isArray(p.parent) || !(p.key in p.parent)) break;
          delete p.parent[p.key];
          labels.push(`drop ${f!.path.join('.')}`);
          const ins = doc.instrument as Record<string, unknown> | undefined;
          const futOnly = f!.path[0] === 'instrument' && (f!.path[1] === 'contractMonth' || f!.path[1] === 'multiplier');
          const optional = !f!.required || (f!.path[0] === 'entryPrice' && doc.orderType === 'MKT') || (futOnly && ins?.secType !== 'FUT');
          setExp(f!.path, optional || dupBefore.has(keyOf(f!.path)) ? 'either' : 'reject');
          break;
        }
        case 'retype': {
          const p = parentOf(doc as Json, f!.path);
          if (!p) break;
          p.parent[p.key] = structuredClone(o.value);
          labels.push(`retype ${f!.path.join('.')}=${JSON.stringify(o.value)}`);
          setExp(f!.path, sameKind(f!.kind, o.value) ? 'either' : 'reject');
          break;
        }
        case 'rawNumber': {
          const p = parentOf(doc as Json, f!.path);
          if (!p) break;
          p.parent[p.key] = { raw: o.token };
          labels.push(`raw ${f!.path.join('.')}=${o.token}`);
          let v: unknown;
          try {
            v = JSON.parse(o.token);
          } catch {
            setExp(f!.path, 'reject'); // not JSON at all (until a later op replaces this value)
            break;
          }
          setExp(f!.path, typeof v === 'number' && Number.isFinite(v) && (f!.kind === 'number' || f!.kind === 'integer') ? 'either' : 'reject');
          break;
        }
        case 'string': {
          const p = parentOf(doc as Json, f!.path);
          if (!p) break;
          p.parent[p.key] = o.value;
          labels.push(`string ${f!.path.join('.')}=${JSON.stringify(o.value.slice(0, 24))}${o.value.length > 24 ? `…(${o.value.length})` : ''}`);
          setExp(f!.path, f!.kind === 'string' || f!.kind === 'enum' ? 'either' : 'reject');
          break;
        }
        case 'protoKey': {
          const at = OBJECT_PATHS[o.at]!;
          if (!injectKey(doc as Json, at, o.key, o.value)) break;
          labels.push(`key ${at.join('.') || '(root)'}.${o.key}=${o.value}`);
          // Only the breakdown record takes arbitrary keys; a number 0..1 under an ordinary
          // name is a valid breakdown entry. Everything else is an unknown field (400).
          const isBreakdown = at.length === 2 && at[1] === 'breakdown';
          setExp([...at, `@key:${o.key}`], isBreakdown && HARMLESS_BREAKDOWN_KEYS.has(o.key) && o.value === '0.5' ? 'either' : 'reject');
          break;
        }
        case 'dupKey': {
          const p = parentOf(doc as Json, f!.path);
          if (!p || Array.isArray(p.parent) || !(p.key in p.parent)) break;
          const parentPath = f!.path.slice(0, -1);
          const key = String(p.key);
          labels.push(`dup ${f!.path.join('.')}=${o.value} ${o.after ? 'after' : 'before'}`);
          if (o.after) {
            // the duplicate comes last, so it wins over the field and over any later edit of it
            p.parent[`@@DUP${(markerSeq++).toString(36)}@@`] = { raw: `${JSON.stringify(key)}:${o.value}` } as Raw;
            let v: unknown = null;
            try {
              v = JSON.parse(o.value);
            } catch {
              global.push('reject'); // 1e400 is valid JSON, but keep the rule general
              break;
            }
            setExp(f!.path, sameKind(f!.kind, v as Json) && !(typeof v === 'number' && !Number.isFinite(v)) ? 'either' : 'reject');
            shadowed.add(keyOf(f!.path));
          } else if (injectKey(doc as Json, parentPath, key, o.value)) {
            setExp([...parentPath, `@dup:${key}`], 'either'); // the original comes last and wins
            dupBefore.add(keyOf(f!.path));
          }
          break;
        }
        case 'wrapArray': {
          const at = OBJECT_PATHS[o.at]!;
          if (!at.length) {
            labels.push('wrap (root) in []');
            wrapRoot = true;
            global.push('reject');
          } else {
            const p = parentOf(doc as Json, at);
            if (!p) break;
            p.parent[p.key] = [p.parent[p.key] as Json];
            labels.push(`wrap ${at.join('.')} in []`);
            setExp(at, 'reject');
          }
          break;
        }
        case 'nest': {
          const p = parentOf(doc as Json, f!.path);
          if (!p) break;
          const raw = o.shape === 'array' ? `${'['.repeat(o.depth)}1${']'.repeat(o.depth)}` : `${'{"a":'.repeat(o.depth)}1${'}'.repeat(o.depth)}`;
          p.parent[p.key] = { raw };
          labels.push(`nest ${f!.path.join('.')} ${o.shape}×${o.depth}`);
          // no field takes a nested array/object — except {"a":1} as a breakdown record
          const breakdownRecord = f!.path.join('.') === 'evidence.breakdown' && o.shape === 'object' && o.depth === 1;
          setExp(f!.path, breakdownRecord ? 'either' : 'reject');
          break;
        }
        case 'wrongSide': {
          labels.push(`wrong side: ${o.which}`);
          const entry = typeof doc.entryPrice === 'number' ? doc.entryPrice : null;
          const stop = doc.stopLoss;
          const target = doc.takeProfit;
          if (typeof stop !== 'number' || typeof target !== 'number' || (doc.side !== 'BUY' && doc.side !== 'SELL')) break;
          const long = doc.side === 'BUY';
          let field: string;
          if (o.which === 'stop') {
            doc.stopLoss = long ? (entry ?? target) + 1 : Math.max(0.01, (entry ?? target) - 1);
            field = 'stopLoss';
          } else if (o.which === 'target') {
            doc.takeProfit = long ? Math.max(0.01, (entry ?? stop) - 1) : (entry ?? stop) + 1;
            field = 'takeProfit';
          } else {
            doc.side = long ? 'SELL' : 'BUY';
            field = 'side';
          }
          // two wrong-side edits may cancel out (wrong target, then flip the side): only a lone one must fail
          const earlier = [...fieldExp.keys()].some((k) => k.startsWith('@cross'));
          setExp([field], 'either');
          fieldExp.set(`@cross${SEP}${fieldExp.size}`, earlier ? 'either' : 'reject');
          break;
        }
        case 'borderline': {
          labels.push(`borderline ${o.which}`);
          for (const path of applyBorderline(doc, o.which)) setExp(path, 'accept');
          break;
        }
      }
    }
    text = serialise(doc as Json).replace(/"@@(?:KEY|DUP)[a-z0-9]+@@":/g, '');
    if (wrapRoot) text = `[${text}]`;
  }
  const worst = (xs: Iterable<Expectation>): Expectation => {
    let e: Expectation = 'accept';
    for (const x of xs) {
      if (x === 'reject') return 'reject';
      if (x === 'either') e = 'either';
    }
    return e;
  };
  let expect: Expectation = worst([...global, ...fieldExp.values()]);
  const worse = (e: Expectation) => {
    expect = worst([expect, e]);
  };

  // text-level mutations
  let body: Buffer;
  switch (r.text.op) {
    case 'none':
      body = Buffer.from(text, 'utf8');
      break;
    case 'truncate': {
      const cut = Math.floor(text.trimEnd().length * r.text.frac);
      text = text.slice(0, cut);
      body = Buffer.from(text, 'utf8');
      labels.push(`truncate@${cut}`);
      // a proper prefix of one JSON object is never valid JSON; a prefix of "{…}garbage" may be
      worse(schemaVerdict(text) === 'not-json' ? 'reject' : 'either');
      break;
    }
    case 'bom':
      text = `\uFEFF${text}`;
      body = Buffer.from(text, 'utf8');
      labels.push('BOM');
      worse('reject');
      break;
    case 'whitespace':
      text = ` \n\t${text}\r\n `;
      body = Buffer.from(text, 'utf8');
      labels.push('whitespace');
      break;
    case 'garbage':
      text = `${text}${r.text.tail}`;
      body = Buffer.from(text, 'utf8');
      labels.push(`garbage ${JSON.stringify(r.text.tail)}`);
      worse(/^\s*$/.test(r.text.tail) ? 'either' : 'reject');
      break;
    case 'padTo': {
      const size = r.text.size;
      const len = Buffer.byteLength(text, 'utf8');
      if (len < size) text = text + ' '.repeat(size - len);
      body = Buffer.from(text, 'utf8');
      labels.push(`padTo ${size} (${body.length} bytes)`);
      if (body.length > MAX_BODY_BYTES) {
        status = 413;
        expect = 'reject';
      }
      break;
    }
    case 'replace':
      text = r.text.text;
      body = Buffer.from(text, 'utf8');
      labels.push(`replace ${JSON.stringify(text)}`);
      expect = 'reject'; // none of these is an intent
      break;
    case 'badUtf8': {
      // an invalid UTF-8 sequence inside the alignment string: decoded as U+FFFD
      const b = Buffer.from(text, 'utf8');
      const at = b.indexOf(Buffer.from('HTF up'));
      body = at >= 0 ? Buffer.concat([b.subarray(0, at), Buffer.from([0xff, 0xc3, 0x28]), b.subarray(at)]) : b;
      text = body.toString('utf8');
      labels.push('invalid UTF-8 bytes');
      break;
    }
  }
  if (body.length > MAX_BODY_BYTES) status = 413;

  const headers: Record<string, string> = {};
  if (r.contentType !== null) headers['content-type'] = r.contentType;
  const ctype = (r.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (ctype !== 'application/json') {
    labels.push(`content-type ${JSON.stringify(r.contentType)}`);
    status = 400;
    expect = 'reject';
  }
  let method = 'POST';
  let path = '/v1/intents';
  if (r.route) {
    method = r.route.method;
    path = r.route.path;
    labels.push(`${method} ${path.slice(0, 40)}`);
    if (r.route.status !== 'body') {
      // the route is decided before the content type and the body are looked at
      status = r.route.status;
      expect = status === 200 ? 'either' : 'reject';
    }
  }
  if (r.chunks) labels.push(`chunked@${r.chunks.join(',')}`);
  return {
    req: { method, path, headers, body, ...(r.chunks ? { chunkAt: r.chunks } : {}) },
    expect,
    status,
    signalId: sentSignal,
    label: labels.join(' | '),
    text,
  };
}

/** Apply a borderline-valid edit; returns the paths it set (none when an earlier op removed the place). */
function applyBorderline(doc: Record<string, Json | Raw>, which: Borderline): Path[] {
  const isObj = (v: unknown): v is Record<string, Json> => v !== null && typeof v === 'object' && !Array.isArray(v) && !('raw' in v);
  const ev = doc.evidence;
  const ins = doc.instrument;
  switch (which) {
    case 'dvs0.80':
      if (!isObj(ev)) return [];
      ev.dvs = 0.8; // minDvs 0.80: "DVS < 0.80" rejects, exactly 0.80 passes
      return [['evidence', 'dvs']];
    case 'eqs0.75':
      if (!isObj(ev)) return [];
      ev.eqs = 0.75;
      return [['evidence', 'eqs']];
    case 'qty10000':
      doc.quantity = 10_000; // the schema's maximum (the gates then refuse it: position limit)
      return [['quantity']];
    case 'risk15':
      if (doc.orderType === 'MKT' || !isObj(ins) || ins.secType !== 'FUT' || doc.side !== 'BUY' || doc.entryPrice !== 6010.25) return [];
      doc.stopLoss = 6007.25; // (6010.25 − 6007.25) × 5 = $15.00, exactly the cap
      return [['stopLoss']];
    case 'ttl30':
      doc.ttlSec = 30;
      return [['ttlSec']];
    case 'ttl3600':
      doc.ttlSec = 3600;
      return [['ttlSec']];
    case 'noTtl':
      delete doc.ttlSec;
      return [['ttlSec']];
    case 'symbol16':
      if (!isObj(ins) || ins.secType !== 'STK') return [];
      ins.symbol = 'BRK.B-A/X Y12345'; // 16 characters, every allowed kind
      return [['instrument', 'symbol']];
    case 'strategy64':
      doc.strategy = 's'.repeat(64);
      return [['strategy']];
    case 'signal128':
      if (typeof doc.signalId !== 'string' || !/^[A-Za-z0-9._:-]{1,100}$/.test(doc.signalId)) return [];
      doc.signalId = `${doc.signalId}.`.padEnd(128, 'x');
      return [['signalId']];
    case 'checks20':
      if (!isObj(ev)) return [];
      ev.redChecks = Array.from({ length: 20 }, (_, i) => ({ name: `check ${i} ✓ ${'n'.repeat(100)}`, passed: i % 2 === 0 }));
      return [['evidence', 'redChecks']];
    case 'breakdown20':
      if (!isObj(ev)) return [];
      ev.breakdown = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}${'·'.repeat(30)}`, i / 19]));
      return [['evidence', 'breakdown']];
    case 'offset': {
      const t = typeof doc.stateAsOf === 'string' ? Date.parse(doc.stateAsOf) : NaN;
      if (!Number.isFinite(t)) return [];
      doc.stateAsOf = new Date(t).toISOString().replace('Z', '+00:00');
      return [['stateAsOf']];
    }
    case 'regime':
      doc.regime = 'range';
      return [['regime']];
    case 'emojiStrategy':
      doc.strategy = '🚀 orb «mes» <b>&amp;</b> \u202E';
      return [['strategy']];
    case 'mkt':
      doc.orderType = 'MKT';
      delete doc.entryPrice;
      return [['orderType'], ['entryPrice']];
    case 'stk':
      return [];
  }
}

/** The schema's own verdict on a JSON text (differential check of the HTTP layer). */
export function schemaVerdict(text: string): 'valid' | 'invalid' | 'not-json' {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return 'not-json';
  }
  return parseIntent(raw).ok ? 'valid' : 'invalid';
}

/**
 * Intake fuzzing (issue 9, BUNNY): property-based, against the REAL HTTP intake (node:http on
 * 127.0.0.1, port 0) with a real harness engine (SQLite file, FakeClock, SimBroker).
 *
 * Generated requests mutate a valid intent (drop / duplicate / retype fields, raw number
 * tokens like 1e400 and -0, unicode / emoji / control characters / lone surrogates, very long
 * strings, deep nesting, arrays for objects, prototype-pollution keys, duplicate keys, BOMs,
 * truncation, bodies around the 64 KiB limit, wrong content types and routes, chunked uploads
 * cut anywhere — also inside a UTF-8 sequence) or are borderline valid (DVS exactly 0.80,
 * quantity 10000, risk exactly the cap …). Properties:
 *   - the server never crashes and never answers 5xx; the process never throws
 *   - every 4xx is JSON with an error message (400s list their issues)
 *   - a refused request stores NOTHING (Intent, Bead, Alert, Card rows unchanged)
 *   - accepted ones are well-formed: {intentId, state PROPOSED|CANCELLED, denials}
 *   - the HTTP answer agrees with the schema's own verdict on the bytes sent
 * Seeded (FUZZ_SEED, default below) so CI is reproducible; the seed is printed on failure.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/engine/audit.usecase.js';
import { silentLogger } from '../../src/engine/ports.js';
import { MAX_BODY_BYTES, startIntake, type IntakeServer } from '../../src/http/intake.server.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { usePostgres } from '../support/postgres.js';
import { baseIntent, makeAgent, materialise, PgStoreProbe, pool, recipeArb, schemaVerdict, send, StoreProbe, type Materialised, type RawResponse, type Recipe } from './support.js';

const SEED = Number(process.env.FUZZ_SEED ?? 9_2026_11);
const pg = usePostgres();
const BATCH = 25;
const RUNS = Number(process.env.FUZZ_RUNS ?? 400); // 400 × 25 = 10,000 requests
const WIDTH = 8; // requests in flight at once
const TOKEN = 'fuzz-intake-token-0123456789abcdef';

const seedNote = (what: string) => `${what} failed — reproduce with FUZZ_SEED=${SEED} (fast-check prints the seed and path of the counterexample above)`;

async function assertSeeded<T>(what: string, prop: fc.IAsyncProperty<T>, params: fc.Parameters<T>): Promise<void> {
  try {
    await fc.assert(prop, { seed: SEED, ...params });
  } catch (e) {
    console.error(seedNote(what));
    throw e;
  }
}

interface Json202 {
  intentId?: unknown;
  state?: unknown;
  denials?: unknown;
  shadow?: unknown;
}

/** Problems with one answer (empty = fine). */
function answerProblems(m: Materialised, a: RawResponse, opts: { auth?: 'ok' | 'bad' } = {}): string[] {
  const p: string[] = [];
  if (a.transportError || a.status === 0) return [`no HTTP answer: ${a.transportError ?? 'status 0'}`];
  if (a.status >= 500) p.push(`5xx: ${a.status} ${a.text.slice(0, 200)}`);
  if (!/^application\/json/.test(String(a.headers['content-type'] ?? ''))) p.push(`content-type of the answer is ${String(a.headers['content-type'])}`);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(a.text) as Record<string, unknown>;
  } catch {
    return [...p, `answer is not JSON: ${JSON.stringify(a.text.slice(0, 200))}`];
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return [...p, `answer is not a JSON object: ${a.text.slice(0, 200)}`];
  if (a.status >= 400) {
    if (typeof body.error !== 'string' || body.error.length < 10) p.push(`4xx without a clear error message: ${a.text.slice(0, 200)}`);
  }
  if (a.status === 400) {
    const issues = body.issues;
    if (!Array.isArray(issues) || issues.length === 0) p.push(`400 without issues: ${a.text.slice(0, 200)}`);
    else for (const i of issues as { path?: unknown; message?: unknown }[]) if (typeof i?.path !== 'string' || typeof i?.message !== 'string' || i.message.length < 3) p.push(`malformed issue ${JSON.stringify(i)}`);
  }
  if (a.status === 202) {
    const b = body as Json202;
    if (typeof b.intentId !== 'string' || !/^int_[A-Za-z0-9_-]+$/.test(b.intentId)) p.push(`202 without a proper intentId: ${a.text}`);
    if (b.state !== 'PROPOSED' && b.state !== 'CANCELLED') p.push(`202 with state ${String(b.state)}`);
    if (!Array.isArray(b.denials)) p.push('202 without denials[]');
    else {
      if ((b.state === 'CANCELLED') !== (b.denials.length > 0)) p.push(`202 state ${String(b.state)} with ${b.denials.length} denials`);
      for (const d of b.denials as Record<string, unknown>[]) if (typeof d.code !== 'string' || typeof d.gate !== 'string' || typeof d.message !== 'string') p.push(`malformed denial ${JSON.stringify(d)}`);
    }
    const extra = Object.keys(body).filter((k) => !['intentId', 'state', 'denials', 'shadow'].includes(k));
    if (extra.length) p.push(`202 with unexpected keys ${extra.join(',')}`);
  }
  if (a.status === 409 && (typeof body.intentId !== 'string' || typeof body.state !== 'string')) p.push(`409 without the first intentId/state: ${a.text}`);
  if (a.status === 413 && m.req.body.length <= MAX_BODY_BYTES) p.push(`413 for a body of ${m.req.body.length} bytes (limit ${MAX_BODY_BYTES})`);
  if (opts.auth) {
    // the token/rate-limit property checks the exact status against its own model
    if (opts.auth === 'bad' && a.status !== 401) p.push(`wrong/missing token answered ${a.status}, not 401`);
    return p;
  }
  if (a.status === 401 || a.status === 429) p.push(`unexpected ${a.status} (token and rate limit are not in play here)`);
  if (m.status !== null && a.status !== m.status) p.push(`expected status ${m.status}, got ${a.status}`);
  if (m.expect === 'reject' && !(a.status >= 400 && a.status < 500 && a.status !== 409)) p.push(`a request that must be refused got ${a.status}`);
  if (m.expect === 'accept' && a.status !== 202 && a.status !== 409) p.push(`a valid request got ${a.status}: ${a.text.slice(0, 300)}`);
  // differential: the HTTP answer agrees with the schema's verdict on the bytes that were sent
  const plain = m.req.method === 'POST' && m.req.path === '/v1/intents' && (m.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === 'application/json' && m.req.body.length <= MAX_BODY_BYTES;
  if (plain) {
    const verdict = schemaVerdict(m.req.body.toString('utf8'));
    if (verdict !== 'valid' && a.status !== 400) p.push(`schema says ${verdict}, HTTP answered ${a.status}`);
    if (verdict === 'valid' && a.status !== 202 && a.status !== 409) p.push(`schema says valid, HTTP answered ${a.status}: ${a.text.slice(0, 300)}`);
  }
  return p;
}

interface BoundaryIntent {
  quantity: number;
  orderType: string;
  entryPrice?: number;
  stopLoss: number;
  instrument: { multiplier?: number };
  evidence: { dvs: number; eqs: number };
}

/**
 * Oracle for the recipes that must be accepted (valid base + borderline edits, in session, no
 * kill, nothing open): the exact intake denials the default constitution gives at its limits.
 * DVS exactly 0.80 and EQS exactly 0.75 pass ("< minimum" refuses); risk exactly $15.00 passes
 * ("> cap" refuses); quantity 10000 is over the position limit of 1 (and, at these prices, over
 * the $100,000 order notional cap); a MKT order has no bounded risk (its stop bounds the notional).
 */
function boundaryDenials(i: BoundaryIntent): string[] {
  const codes: string[] = [];
  if (i.quantity > 1) codes.push('POSITION_LIMIT');
  if (i.entryPrice === undefined) codes.push('RISK_UNDEFINED');
  else if (Math.round(Math.abs(i.entryPrice - i.stopLoss) * i.quantity * (i.instrument.multiplier ?? 1) * 100) > 1500) codes.push('RISK_PER_TRADE');
  if (Math.round((i.entryPrice ?? i.stopLoss) * i.quantity * (i.instrument.multiplier ?? 1) * 100) > 100_000 * 100) codes.push('ORDER_NOTIONAL');
  if (i.evidence.dvs < 0.8 || i.evidence.eqs < 0.75) codes.push('QUALITY');
  return codes.sort();
}

function protoKeys(): string {
  return Object.getOwnPropertyNames(Object.prototype).sort().join(',');
}

describe('intake fuzzing (real HTTP, real engine)', () => {
  let h: Harness;
  let srv: IntakeServer;
  let probe: StoreProbe;
  const agent = makeAgent(WIDTH);
  const crashes: unknown[] = [];
  const onCrash = (e: unknown) => crashes.push(e);
  const PROTO = protoKeys();
  let sent = 0;
  let signalSeq = 0;
  const statusTally = new Map<number, number>();
  const outcomes = new Map<string, number>(); // 202 state(denial codes) → count

  beforeAll(async () => {
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    h = await makeHarness({ seed: SEED });
    srv = await startIntake({ engine: h.engine, logger: silentLogger, host: '127.0.0.1', port: 0, ratePerMinute: 1_000_000, now: () => h.clock.now() });
    probe = new StoreProbe(h.dbFile);
  });
  afterAll(async () => {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    agent.destroy();
    probe?.close();
    await srv?.close();
    await h?.close();
  });

  it(`≥ 10,000 generated bad or borderline requests: no crash, no 5xx, JSON 4xx with a message, nothing stored when refused, accepted ones well-formed (seed ${SEED})`, async () => {
    const started = Date.now();
    const accepted = new Set<string>(); // every intentId answered 202
    let batches = 0;
    await assertSeeded(
      'intake fuzz',
      fc.asyncProperty(fc.array(recipeArb, { minLength: BATCH, maxLength: BATCH }), async (recipes: Recipe[]) => {
        const now = h.clock.now();
        const batch: Materialised[] = [];
        for (const [i, r] of recipes.entries()) {
          const repeat = r.repeatOf !== null && i > 0 ? batch[r.repeatOf % i]! : null;
          batch.push(materialise(r, `fz-${SEED}-${++signalSeq}`, now, repeat));
        }
        const before = probe.counts();
        const answers = await pool(batch, WIDTH, (m) => send(srv.url, m.req, agent));
        sent += answers.length;
        const problems: string[] = [];
        const acceptedNow = new Set<string>();
        answers.forEach((a, i) => {
          statusTally.set(a.status, (statusTally.get(a.status) ?? 0) + 1);
          const m = batch[i]!;
          for (const p of answerProblems(m, a)) problems.push(`#${i} [${m.label}] ${p}`);
          if (a.status === 202) {
            const j = JSON.parse(a.text) as { intentId: string; state: string; denials?: { code: string }[] };
            const id = j.intentId;
            const codes = (j.denials ?? []).map((d) => d.code).sort();
            const key = `${j.state}${codes.length ? `(${codes.join('+')})` : ''}`;
            outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
            if (m.expect === 'accept') {
              const want = boundaryDenials(JSON.parse(m.req.body.toString('utf8')) as BoundaryIntent);
              if (want.join() !== codes.join()) problems.push(`#${i} [${m.label}] gates at the boundary: expected denials [${want.join(', ')}], got [${codes.join(', ')}]`);
            }
            if (accepted.has(id) || acceptedNow.has(id)) problems.push(`#${i} intentId ${id} handed out twice`);
            acceptedNow.add(id);
          }
          if (a.status === 409) {
            const id = (JSON.parse(a.text) as { intentId: string }).intentId;
            const row = probe.intent(id);
            if (!row) problems.push(`#${i} 409 names intent ${id} that is not stored`);
            else {
              let sig: unknown;
              try {
                sig = (JSON.parse(m.req.body.toString('utf8')) as { signalId?: unknown }).signalId;
              } catch {
                sig = undefined;
              }
              if (typeof sig === 'string' && row.signalId !== sig.trim()) problems.push(`#${i} 409 names intent ${id} of signal ${row.signalId}, not ${sig}`);
            }
          }
        });
        // Storage: exactly the accepted intents were stored, and every new bead/alert belongs to one.
        const after = probe.counts();
        if (acceptedNow.size === 0) {
          const { maxSeq: _a, ...b } = before;
          const { maxSeq: _b, ...c } = after;
          if (JSON.stringify(b) !== JSON.stringify(c)) problems.push(`nothing was accepted but rows changed: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
        } else {
          if (after.intents - before.intents !== acceptedNow.size) problems.push(`${acceptedNow.size} accepted but ${after.intents - before.intents} intents stored`);
          for (const b of probe.beadsAfter(before.maxSeq)) if (!b.intentId || !acceptedNow.has(b.intentId)) problems.push(`bead #${b.seq} ${b.type} for ${b.intentId ?? '(none)'} was written by a request that was not accepted`);
          for (const id of acceptedNow) if (!probe.intent(id)) problems.push(`202 intent ${id} is not stored`);
        }
        for (const id of acceptedNow) accepted.add(id);
        // the server keeps answering (every 10th batch: /healthz reads the whole status), and
        // nothing leaked into Object.prototype
        if (++batches % 10 === 0) {
          const health = await send(srv.url, { method: 'GET', path: '/healthz', headers: {}, body: Buffer.alloc(0) }, agent);
          if (health.status !== 200) problems.push(`/healthz answered ${health.status} ${health.transportError ?? ''}`);
        }
        if (protoKeys() !== PROTO || ({} as Record<string, unknown>).polluted !== undefined) problems.push('Object.prototype was polluted');
        if (crashes.length) problems.push(`uncaught: ${String(crashes[0])}`);
        if (problems.length && process.env.FUZZ_DEBUG) console.error(batch.map((m, i) => `#${i} ${answers[i]!.status} ${answers[i]!.transportError ?? ''} ${m.req.method} ${m.req.path.slice(0, 30)} ${m.req.body.length}B ${m.label}`).join('\n'));
        if (problems.length) throw new Error(`${problems.length} problem(s):\n${problems.slice(0, 20).join('\n')}`);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    const secs = (Date.now() - started) / 1000;
    const tally = [...statusTally.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ');
    console.log(`intake fuzz: ${sent} requests in ${secs.toFixed(1)} s (seed ${SEED}): ${tally}; accepted: ${[...outcomes.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}×${n}`).join(' ')}`);
    expect(sent).toBeGreaterThanOrEqual(RUNS * BATCH);
    if (RUNS * BATCH >= 10_000) expect(sent).toBeGreaterThanOrEqual(10_000);
    // both sides were exercised: plenty refused, and some accepted (PROPOSED or CANCELLED)
    expect(statusTally.get(400) ?? 0).toBeGreaterThan(sent / 4);
    expect(statusTally.get(202) ?? 0).toBeGreaterThan(0);
    expect(statusTally.get(413) ?? 0).toBeGreaterThan(0);
    expect(crashes).toEqual([]);
    // exactly the intents we were told about (202) are stored
    expect(probe.intentIdsNotIn(accepted)).toEqual([]);
    expect(probe.counts().intents).toBe(accepted.size);
    // everything that was stored is a valid, unbroken audit chain (weird strings included)
    const audit = await verifyAudit(h.app.store);
    expect(audit.firstBreak).toBeNull();
    expect(audit.ok).toBe(true);
  }, 180_000);

  it('bodies at the 64 KiB boundary: 65,536 bytes are read (202), 65,537 bytes are 413; a declared oversize is refused unread', async () => {
    const pad = (size: number) => {
      const text = JSON.stringify(baseIntent('FUT', `fz-edge-${++signalSeq}`, h.clock.now()));
      return Buffer.from(text + ' '.repeat(size - Buffer.byteLength(text)));
    };
    const before = probe.counts();
    const at = await send(srv.url, { method: 'POST', path: '/v1/intents', headers: { 'content-type': 'application/json' }, body: pad(MAX_BODY_BYTES) }, agent);
    expect(at.status).toBe(202);
    const mid = probe.counts();
    expect(mid.intents).toBe(before.intents + 1);
    const over = await send(srv.url, { method: 'POST', path: '/v1/intents', headers: { 'content-type': 'application/json' }, body: pad(MAX_BODY_BYTES + 1) });
    expect(over.status).toBe(413);
    expect((JSON.parse(over.text) as { error: string }).error).toMatch(/64 KiB/);
    const chunkedOver = await send(srv.url, { method: 'POST', path: '/v1/intents', headers: { 'content-type': 'application/json' }, body: pad(MAX_BODY_BYTES + 1), chunkAt: [1000, 40_000, 65_000] });
    expect(chunkedOver.status).toBe(413);
    const { maxSeq: _m, ...a } = mid;
    const { maxSeq: _n, ...b } = probe.counts();
    expect(b).toEqual(a);
  });

  it('a multi-byte character split across chunks is decoded whole (the body is decoded once, not per chunk)', async () => {
    const doc = baseIntent('FUT', `fz-utf8-${++signalSeq}`, h.clock.now());
    doc.strategy = 'orb 🚀 «mes»';
    const body = Buffer.from(JSON.stringify(doc));
    const rocket = body.indexOf(Buffer.from('🚀'));
    const a = await send(srv.url, { method: 'POST', path: '/v1/intents', headers: { 'content-type': 'application/json' }, body, chunkAt: [rocket + 1, rocket + 2, rocket + 3] });
    expect(a.status).toBe(202);
    const id = (JSON.parse(a.text) as { intentId: string }).intentId;
    const row = await h.app.db.intent.findUniqueOrThrow({ where: { id } });
    expect(row.strategy).toBe('orb 🚀 «mes»');
  });
});

describe('intake fuzzing: bearer token and rate limit (401/429)', () => {
  let h: Harness;
  let probe: StoreProbe;
  const RATE = 60; // per minute: one token per 1,000 ms; burst max(10, 60/6) = 10
  const BURST = 10;

  beforeAll(async () => {
    h = await makeHarness({ seed: SEED + 1 });
    probe = new StoreProbe(h.dbFile);
  });
  afterAll(async () => {
    probe?.close();
    await h?.close();
  });

  type Auth = 'good' | 'none' | 'wrong' | 'basic' | 'lower' | 'spaces' | 'prefix' | 'suffix' | 'empty' | 'unicode';
  const authHeader = (a: Auth): string | null => {
    switch (a) {
      case 'good':
        return `Bearer ${TOKEN}`;
      case 'lower':
        return `bearer ${TOKEN}`; // the scheme is case-insensitive (RFC 7235)
      case 'spaces':
        return `Bearer    ${TOKEN}  `;
      case 'none':
        return null;
      case 'wrong':
        return `Bearer ${TOKEN.replace(/.$/, 'X')}`;
      case 'basic':
        return `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`;
      case 'prefix':
        return `Bearer ${TOKEN.slice(0, -1)}`;
      case 'suffix':
        return `Bearer ${TOKEN}0`;
      case 'empty':
        return 'Bearer ';
      case 'unicode':
        return `Bearer ${TOKEN.slice(0, -1)}é`;
    }
  };
  const authOk = (a: Auth) => a === 'good' || a === 'lower' || a === 'spaces';

  type Step = { kind: 'send'; auth: Auth; valid: boolean } | { kind: 'wait'; ms: number };
  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('send' as const), auth: fc.constant<Auth>('good'), valid: fc.boolean() }), weight: 12 },
    { arbitrary: fc.record({ kind: fc.constant('send' as const), auth: fc.constantFrom<Auth>('none', 'wrong', 'basic', 'lower', 'spaces', 'prefix', 'suffix', 'empty', 'unicode'), valid: fc.boolean() }), weight: 6 },
    { arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.constantFrom(0, 500, 1000, 2500, 10_000, 60_000) }), weight: 1 },
  );

  it(`model-based: wrong/missing token → 401 before anything else (no rate-limit use); over the bucket → 429 with Retry-After; neither stores anything (seed ${SEED})`, async () => {
    let total = 0;
    const tally = new Map<number, number>();
    await assertSeeded(
      'auth/rate fuzz',
      fc.asyncProperty(fc.array(stepArb, { minLength: 5, maxLength: 30 }), async (steps: Step[]) => {
        let t = 0; // the bucket's own clock
        const srv = await startIntake({ engine: h.engine, logger: silentLogger, host: '127.0.0.1', port: 0, token: TOKEN, ratePerMinute: RATE, now: () => t });
        let tokens = BURST;
        let last = 0;
        try {
          for (const [i, s] of steps.entries()) {
            if (s.kind === 'wait') {
              t += s.ms;
              continue;
            }
            const headers: Record<string, string> = { 'content-type': 'application/json' };
            const auth = authHeader(s.auth);
            if (auth !== null) headers.authorization = auth;
            const body = Buffer.from(s.valid ? JSON.stringify(baseIntent('STK', `fz-auth-${SEED}-${++total}`, h.clock.now())) : '{"signalId":');
            const m: Materialised = { req: { method: 'POST', path: '/v1/intents', headers, body }, expect: s.valid ? 'accept' : 'reject', status: null, signalId: '', label: `${s.auth}/${s.valid ? 'valid' : 'truncated'}`, text: body.toString() };
            const before = probe.counts();
            const a = await send(srv.url, m.req);
            tally.set(a.status, (tally.get(a.status) ?? 0) + 1);
            const where = `step ${i} (${m.label}, t=${t} ms, model tokens ${tokens.toFixed(2)})`;
            // model: the bucket is only consulted for authenticated requests
            let expected: number[];
            if (!authOk(s.auth)) expected = [401];
            else {
              tokens = Math.min(BURST, tokens + ((t - last) * RATE) / 60_000);
              last = t;
              if (tokens < 1) expected = [429];
              else {
                tokens -= 1;
                expected = s.valid ? [202] : [400];
              }
            }
            if (!expected.includes(a.status)) throw new Error(`${where}: expected ${expected.join('/')}, got ${a.status} ${a.text.slice(0, 200)}`);
            const problems = answerProblems(m, a, { auth: authOk(s.auth) ? 'ok' : 'bad' });
            if (problems.length) throw new Error(`${where}: ${problems.join('; ')}`);
            if (a.status === 429) {
              const retry = Number(a.headers['retry-after']);
              if (!(Number.isInteger(retry) && retry >= 1)) throw new Error(`${where}: 429 without a sane Retry-After (${String(a.headers['retry-after'])})`);
              if (!/rate limit/.test((JSON.parse(a.text) as { error: string }).error)) throw new Error(`${where}: 429 message does not say rate limit`);
            }
            if (a.status === 401 && !/token/i.test((JSON.parse(a.text) as { error: string }).error)) throw new Error(`${where}: 401 message does not mention the token`);
            const after = probe.counts();
            if (a.status !== 202 && JSON.stringify(after) !== JSON.stringify(before)) throw new Error(`${where}: ${a.status} but rows changed ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
            if (a.status === 202 && after.intents !== before.intents + 1) throw new Error(`${where}: 202 but ${after.intents - before.intents} intents stored`);
          }
        } finally {
          await srv.close();
        }
      }),
      { numRuns: 60, endOnFailure: true },
    );
    const n = [...tally.values()].reduce((x, y) => x + y, 0);
    console.log(`auth/rate fuzz: ${n} requests: ${[...tally.entries()].sort((a, b) => a[0] - b[0]).map(([s, k]) => `${s}×${k}`).join(' ')}`);
    expect(tally.get(401) ?? 0).toBeGreaterThan(0);
    expect(tally.get(429) ?? 0).toBeGreaterThan(0);
    expect(tally.get(202) ?? 0).toBeGreaterThan(0);
  }, 120_000);
});

describe('intake fuzzing: concurrent duplicates of one signalId (every store adapter)', () => {
  for (const adapter of ['sqlite', 'prisma', 'postgres'] as const) {
    it(`${adapter}: N identical requests at once → exactly one 202, the rest 409 naming it; one intent stored, one INTENT bead (seed ${SEED})`, async () => {
      const url = adapter === 'postgres' ? await pg().createDatabase() : null;
      const h = await makeHarness({ seed: SEED + 2, env: url ? { DATABASE_URL: url } : { STORE_ADAPTER: adapter } });
      const srv = await startIntake({ engine: h.engine, logger: silentLogger, host: '127.0.0.1', port: 0, ratePerMinute: 1_000_000, now: () => h.clock.now() });
      const probe = url ? new PgStoreProbe((sql, params) => pg().query(new URL(url).pathname.slice(1), sql, params)) : new StoreProbe(h.dbFile);
      const agent = makeAgent(16);
      let seq = 0;
      try {
        await assertSeeded(
          `concurrent duplicates (${adapter})`,
          fc.asyncProperty(fc.integer({ min: 2, max: 16 }), fc.constantFrom('FUT' as const, 'STK' as const, 'MKT' as const), async (n, base) => {
            const body = Buffer.from(JSON.stringify(baseIntent(base, `fz-dup-${adapter}-${SEED}-${++seq}`, h.clock.now())));
            const before = await probe.counts();
            const answers = await Promise.all(Array.from({ length: n }, () => send(srv.url, { method: 'POST', path: '/v1/intents', headers: { 'content-type': 'application/json' }, body }, agent)));
            const statuses = answers.map((a) => a.status);
            const ok = answers.filter((a) => a.status === 202);
            if (ok.length !== 1 || statuses.filter((s) => s === 409).length !== n - 1) throw new Error(`expected one 202 and ${n - 1}×409, got ${statuses.join(',')}: ${answers.map((a) => a.text.slice(0, 120)).join(' | ')}`);
            const id = (JSON.parse(ok[0]!.text) as { intentId: string }).intentId;
            for (const a of answers.filter((x) => x.status === 409)) if ((JSON.parse(a.text) as { intentId: string }).intentId !== id) throw new Error(`409 names another intent: ${a.text}`);
            const after = await probe.counts();
            if (after.intents !== before.intents + 1) throw new Error(`${after.intents - before.intents} intents stored`);
            const intentBeads = (await probe.beadsAfter(before.maxSeq)).filter((b) => b.type === 'INTENT');
            if (intentBeads.length !== 1 || intentBeads[0]!.intentId !== id) throw new Error(`INTENT beads: ${JSON.stringify(intentBeads)}`);
          }),
          { numRuns: 25, endOnFailure: true },
        );
        expect((await verifyAudit(h.app.store)).ok).toBe(true);
      } finally {
        agent.destroy();
        probe.close();
        await srv.close();
        await h.close();
      }
    }, 60_000);
  }
});

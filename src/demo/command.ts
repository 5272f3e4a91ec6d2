/**
 * `phoenix demo` (SPEC 2): posts mock signals to the RUNNING service's intake
 * (`http://INTAKE_HOST:INTAKE_PORT/v1/intents`, bearer INTAKE_TOKEN when set), a short burst
 * that shows every case once, then one every few seconds until Ctrl+C (or `--count`), and
 * prints one line per intent with the answer (state, denials, or the 400's problems).
 * When nothing answers it says how to start the service in demo mode.
 */
import { resolve } from 'node:path';
import { envSchema } from '../config/env.schema.js';
import { readDotEnv } from '../config/load.js';
import type { CliContext } from '../cli/context.js';
import { DEFAULT_BURST, SignalGenerator, type DemoSignal } from './signals.js';

export const DEMO_START_HINT = 'CONSTITUTION_PATH=config/constitution.demo.yaml npm start';

export interface DemoIo {
  out(line: string): void;
  err(line: string): void;
}

export type DemoFetch = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{ status: number; text(): Promise<string> }>;

export interface DemoOptions {
  readonly io: DemoIo;
  readonly env: Record<string, string | undefined>;
  readonly cwd: string;
  readonly args: readonly string[];
  readonly fetch?: DemoFetch;
  /** wall clock for stateAsOf (default Date.now) */
  readonly now?: () => number;
  /** Ctrl+C */
  readonly signal?: AbortSignal;
}

export class DemoUsageError extends Error {}

export interface DemoArgs {
  readonly seed: number;
  readonly everyMs: number;
  /** total intents to send; null = until stopped */
  readonly count: number | null;
  readonly burst: number;
  readonly stale: boolean;
  readonly print: boolean;
}

/** "3s", "500ms", "1m", or a plain number of seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new DemoUsageError(`--every needs a duration like 3s, 500ms or 1m (got ${text})`);
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}

export function parseDemoArgs(args: readonly string[]): DemoArgs {
  const value = (name: string): string | undefined => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const v = args[i + 1];
    if (v === undefined || v.startsWith('--')) throw new DemoUsageError(`${name} needs a value`);
    return v;
  };
  const whole = (name: string, min: number): number | undefined => {
    const v = value(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new DemoUsageError(`${name} needs a whole number ≥ ${min} (got ${v})`);
    return n;
  };
  const known = new Set(['--seed', '--every', '--count', '--burst', '--no-stale', '--print']);
  for (const a of args) if (a.startsWith('--') && !known.has(a)) throw new DemoUsageError(`unknown option ${a}`);
  const every = value('--every');
  return {
    seed: whole('--seed', 0) ?? 1,
    everyMs: every === undefined ? 3000 : parseDuration(every),
    count: whole('--count', 1) ?? null,
    burst: whole('--burst', 0) ?? DEFAULT_BURST,
    stale: !args.includes('--no-stale'),
    print: args.includes('--print'),
  };
}

function intakeTarget(env: Record<string, string | undefined>, cwd: string): { base: string; token: string | undefined } {
  const raw: Record<string, string | undefined> = { ...readDotEnv(resolve(cwd, '.env')), ...env };
  const shape = envSchema.shape;
  const get = <K extends 'INTAKE_HOST' | 'INTAKE_PORT' | 'INTAKE_TOKEN'>(k: K) => {
    const r = shape[k].safeParse(raw[k] === '' ? undefined : raw[k]);
    if (!r.success) throw new DemoUsageError(`${k}: ${r.error.issues[0]?.message ?? 'invalid'} (run npx phoenix doctor)`);
    return r.data;
  };
  const host = get('INTAKE_HOST') as string;
  const port = get('INTAKE_PORT') as number;
  const client = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return { base: `http://${client.includes(':') ? `[${client}]` : client}:${port}`, token: get('INTAKE_TOKEN') as string | undefined };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((done) => {
    if (ms <= 0 || signal?.aborted) return done();
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), done()), { once: true });
  });

/** Poll /healthz until no kill flag is active (or the run is stopped, or the service is gone). */
async function waitForNoKill(fetchFn: DemoFetch, base: string, headers: Record<string, string>, everyMs: number, signal?: AbortSignal): Promise<void> {
  while (!signal?.aborted) {
    await sleep(everyMs, signal);
    try {
      const res = await fetchFn(`${base}/healthz`, { headers, signal: AbortSignal.timeout(3000) });
      const h = JSON.parse(await res.text()) as { killActive?: unknown };
      if (!h.killActive) return;
    } catch {
      return; // the next post reports it
    }
  }
}

function notRunning(io: DemoIo, base: string, why: string): number {
  io.err(`Phoenix is not running at ${base} (${why}).`);
  io.err('Start it in demo mode in another terminal, then run the demo again:');
  io.err(`  ${DEMO_START_HINT}`);
  io.err('(the demo constitution keeps every limit and opens the session windows; every card says DEMO)');
  return 1;
}

const networkReason = (e: unknown): string => {
  const err = e as Error & { cause?: { code?: string } };
  if (err.name === 'TimeoutError') return 'no answer';
  return err.cause?.code === 'ECONNREFUSED' ? 'connection refused' : (err.cause?.code ?? err.message);
};

interface Tally {
  proposed: number;
  cancelled: number;
  invalid: number;
  other: number;
}

/** One line per answer. Returns 'stop' when going on makes no sense (401). */
function describe(s: DemoSignal, status: number, body: Record<string, unknown>, tally: Tally): { line: string; stop?: boolean; notes: string[] } {
  const n = `#${String(s.index + 1).padStart(2, '0')}`;
  const purpose = s.onPurpose ? `  [on purpose: ${s.onPurpose}]` : '';
  const head = `${n} ${s.label} →`;
  const notes: string[] = [];
  if (status === 202) {
    const state = String(body.state ?? '?');
    const denials = Array.isArray(body.denials) ? (body.denials as { code?: unknown; message?: unknown }[]) : [];
    if (state === 'PROPOSED') tally.proposed++;
    else tally.cancelled++;
    const why = denials.length ? `  ${denials.map((d) => `${String(d.code)}: ${String(d.message)}`).join('; ')}` : state === 'PROPOSED' ? '  (card sent: tap APPROVE or PASS)' : '';
    if (denials.some((d) => d.code === 'STATE_CONFLICT')) notes.push('   note: a stale state sets a 5-minute kill flag: new entries answer KILL_ACTIVE until it lapses (or /resume, phoenix resume)');
    if (denials.some((d) => d.code === 'SESSION_CLOSED')) notes.push(`   note: the service enforces the US session; for the demo restart it with ${DEMO_START_HINT}`);
    return { line: `${head} 202 ${state} ${String(body.intentId ?? '')}${why}${purpose}`, notes };
  }
  if (status === 400) {
    tally.invalid++;
    const issues = Array.isArray(body.issues) ? (body.issues as { path?: unknown; message?: unknown }[]) : [];
    const list = issues.length ? issues.map((i) => `${String(i.path)}: ${String(i.message)}`).join('; ') : String(body.error ?? '');
    return { line: `${head} 400 invalid, nothing stored: ${list}${purpose}`, notes };
  }
  tally.other++;
  if (status === 401) {
    return { line: `${head} 401 ${String(body.error ?? 'unauthorized')}`, stop: true, notes: ['   set INTAKE_TOKEN to the same value the service runs with (or unset it on both for loopback-only intake)'] };
  }
  if (status === 409) return { line: `${head} 409 duplicate signalId: already ${String(body.state ?? '?')} as ${String(body.intentId ?? '?')}`, notes };
  if (status === 429) return { line: `${head} 429 ${String(body.error ?? 'over the intake rate limit')}`, notes };
  return { line: `${head} ${status} ${String(body.error ?? '')}`, notes };
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  const { io } = opts;
  const fetchFn: DemoFetch = opts.fetch ?? ((url, init) => fetch(url, init));
  const now = opts.now ?? (() => Date.now());
  let a: DemoArgs;
  let target: { base: string; token: string | undefined };
  try {
    a = parseDemoArgs(opts.args);
    target = intakeTarget(opts.env, opts.cwd);
  } catch (e) {
    if (e instanceof DemoUsageError) {
      io.err(e.message);
      io.err('usage: phoenix demo [--seed N] [--every 3s] [--count N] [--burst N] [--no-stale] [--print]');
      return 2;
    }
    throw e;
  }
  const gen = new SignalGenerator({ seed: a.seed, ...(a.stale ? {} : { staleAt: null }) });

  if (a.print) {
    for (let i = 0; i < (a.count ?? a.burst); i++) io.out(JSON.stringify(gen.next(now()).body));
    return 0;
  }

  // Is the service there? (and does it run the demo constitution?)
  // with INTAKE_TOKEN, /healthz shows its detail only to a caller that carries it
  const auth: Record<string, string> = target.token ? { authorization: `Bearer ${target.token}` } : {};
  let health: Record<string, unknown>;
  try {
    const res = await fetchFn(`${target.base}/healthz`, { headers: auth, signal: AbortSignal.timeout(3000) });
    health = JSON.parse(await res.text()) as Record<string, unknown>;
    if (res.status === 503 && (health.status === 'starting' || health.status === 'down')) return notRunning(io, target.base, 'it is still starting; try again in a few seconds');
    // ready: ok, degraded (e.g. broker down: intents are still answered), or up (no detail without the token)
    if (res.status !== 200 || !['ok', 'degraded', 'up'].includes(String(health.status))) return notRunning(io, target.base, `GET /healthz answered ${res.status}, not as Phoenix`);
  } catch (e) {
    return notRunning(io, target.base, networkReason(e));
  }
  const stopText = a.count === null ? 'Ctrl+C stops' : `${a.count} in all`;
  io.out(`Phoenix demo: posting mock signals to ${target.base}/v1/intents (seed ${a.seed}; ${Math.min(a.burst, a.count ?? Infinity)} at once, then one every ${a.everyMs / 1000} s; ${stopText})`);
  if (health.status === 'up') io.out('service: running (it shows its mode only to callers with its INTAKE_TOKEN)');
  else io.out(`service: ${String(health.mode ?? '?').toUpperCase()} mode, broker ${String(health.broker ?? '?')}${health.demo ? ', DEMO constitution' : ''}${health.killActive ? ', KILL FLAG ACTIVE (entries will be blocked)' : ''}${health.status === 'degraded' ? ` — DEGRADED: ${Array.isArray(health.reasons) ? health.reasons.map(String).join('; ') : ''}` : ''}`);
  if (!health.demo && health.status !== 'up') io.out(`note: the service runs its regular constitution: outside 09:35–15:50 New York time every intent is CANCELLED (SESSION_CLOSED). For the demo: ${DEMO_START_HINT}`);
  io.out('');

  const tally: Tally = { proposed: 0, cancelled: 0, invalid: 0, other: 0 };
  let sent = 0;
  let code = 0;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(target.token ? { authorization: `Bearer ${target.token}` } : {}) };
  while (!opts.signal?.aborted && (a.count === null || sent < a.count)) {
    if (sent >= a.burst) {
      await sleep(a.everyMs, opts.signal);
      if (opts.signal?.aborted) break;
    }
    const s = gen.next(now());
    let status: number;
    let body: Record<string, unknown> = {};
    try {
      const res = await fetchFn(`${target.base}/v1/intents`, { method: 'POST', headers, body: JSON.stringify(s.body), signal: AbortSignal.timeout(10_000) });
      status = res.status;
      const text = await res.text();
      try {
        body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        body = { error: text.slice(0, 200) };
      }
    } catch (e) {
      io.out('');
      code = notRunning(io, target.base, `stopped answering: ${networkReason(e)}`);
      break;
    }
    sent++;
    const d = describe(s, status, body, tally);
    io.out(d.line);
    for (const n of d.notes) io.out(n);
    if (d.stop) {
      code = 1;
      break;
    }
    // An endless stream waits for the stale-state kill flag to lapse instead of printing
    // five minutes of KILL_ACTIVE (a finite --count run shows them: that is the gate working).
    const denials = Array.isArray(body.denials) ? (body.denials as { code?: unknown }[]) : [];
    if (a.count === null && denials.some((x) => x.code === 'STATE_CONFLICT')) {
      io.out('   waiting for the kill flag to lapse before sending more (or lift it now: /resume, phoenix resume)');
      await waitForNoKill(fetchFn, target.base, auth, Math.max(a.everyMs, 2000), opts.signal);
    }
  }
  io.out('');
  io.out(`sent ${sent}: ${tally.proposed} PROPOSED, ${tally.cancelled} CANCELLED, ${tally.invalid} invalid (400)${tally.other ? `, ${tally.other} other` : ''}`);
  return code;
}

/** The `phoenix demo` row of the CLI table: Ctrl+C ends the stream and prints the tally. */
export async function demoCommand(ctx: CliContext, args: string[]): Promise<number> {
  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  process.once('SIGINT', onInterrupt);
  try {
    // CliContext keeps its environment private; the demo needs only the INTAKE_* values.
    return await runDemo({ io: ctx.io, env: ctx['env'] as Record<string, string | undefined>, cwd: ctx['cwd'] as string, args, signal: stop.signal });
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}

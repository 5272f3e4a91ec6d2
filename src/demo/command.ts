/**
 * `phoenix demo` (SPEC 2, issue 16): posts mock signals to the running DEMO service's intake
 * (`npm start -- --demo`: the demo constitution on its own database, data/demo/; never the real
 * setup, which it refuses), a short burst that shows every case once, then one every few
 * seconds, and stops after `--count` (default 40, about two minutes). One line per intent with
 * the answer (state, denials, or the 400's problems). The deliberately stale signal comes last:
 * the stale-state kill flag it sets pauses entries for 5 minutes, and the demo says until when
 * instead of showing minutes of KILL_ACTIVE; a kill flag already active when it starts is waited
 * for visibly (or, with no end, named with how to lift it).
 */
import { resolve } from 'node:path';
import { envSchema } from '../config/env.schema.js';
import { readDotEnv } from '../config/load.js';
import type { CliContext } from '../cli/context.js';
import { clockTime } from '../engine/index.js';
import { DEMO_START } from './data-dir.js';
import { adminStatus, authHeaders, networkReason, notRunning, reachDemoService, sleep, waitForKillToLapse, type DemoFetch, type DemoIo, type Target } from './demo-service.js';
import { DEFAULT_BURST, SignalGenerator, type DemoSignal } from './signals.js';

export type { DemoFetch, DemoIo } from './demo-service.js';

/** How the demo service is started (shown in every hint). */
export const DEMO_START_HINT = DEMO_START;

/** signals sent when --count is not given: about two minutes at the default pace */
export const DEFAULT_COUNT = 40;

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
  /** how often a long wait says it is still waiting (default 30 s) */
  readonly progressEveryMs?: number;
}

export class DemoUsageError extends Error {}

export interface DemoArgs {
  readonly seed: number;
  readonly everyMs: number;
  /** total intents to send */
  readonly count: number;
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
    count: whole('--count', 1) ?? DEFAULT_COUNT,
    burst: whole('--burst', 0) ?? DEFAULT_BURST,
    stale: !args.includes('--no-stale'),
    print: args.includes('--print'),
  };
}

function intakeTarget(env: Record<string, string | undefined>, cwd: string): Target {
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
  let target: Target;
  try {
    a = parseDemoArgs(opts.args);
    target = intakeTarget(opts.env, opts.cwd);
  } catch (e) {
    if (e instanceof DemoUsageError) {
      io.err(e.message);
      io.err('usage: phoenix demo [--count 40] [--every 3s] [--seed N] [--burst N] [--no-stale] [--print]');
      return 2;
    }
    throw e;
  }
  // the stale one (which pauses entries for minutes) is the last signal, not one in the middle
  const gen = new SignalGenerator({ seed: a.seed, staleAt: a.stale ? a.count - 1 : null });

  if (a.print) {
    for (let i = 0; i < a.count; i++) io.out(JSON.stringify(gen.next(now()).body));
    return 0;
  }

  const reached = await reachDemoService(fetchFn, target, io, opts.cwd, opts.signal);
  if (reached.kind === 'refused') {
    for (const l of reached.lines) io.err(l);
    return reached.code;
  }
  const f = reached.admin.service;
  const h = reached.admin.health;
  const tz = f.constitution.timeZone;
  const burst = Math.min(a.burst, a.count);
  const seconds = ((a.count - burst) * a.everyMs) / 1000;
  const pace = burst >= a.count ? 'all at once' : `${burst} at once, then one every ${a.everyMs / 1000} s${seconds >= 1 ? `: about ${seconds >= 90 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds)} s`}` : ''}`;
  io.out(`Phoenix demo: ${a.count} mock signals to ${target.base}/v1/intents (seed ${a.seed}; ${pace}; Ctrl+C stops)`);
  io.out(`service: the DEMO service (${f.mode.toUpperCase()} mode, constitution "${f.constitution.name}", broker ${f.broker.name} ${h.broker}, its own database data/demo/)${h.status === 'degraded' ? ` — DEGRADED: ${h.reasons.join('; ')}` : ''}`);
  if (!(await waitForKillToLapse(fetchFn, target, reached.admin, io, opts.signal, opts.progressEveryMs))) return opts.signal?.aborted ? 0 : 1;
  io.out('');

  const tally: Tally = { proposed: 0, cancelled: 0, invalid: 0, other: 0 };
  let sent = 0;
  let code = 0;
  let stalePause = false;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...authHeaders(target) };
  while (!opts.signal?.aborted && sent < a.count) {
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
      const gone = notRunning(target.base, `stopped answering: ${networkReason(e)}`);
      for (const l of gone.kind === 'refused' ? gone.lines : []) io.err(l);
      code = 1;
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
    const denials = Array.isArray(body.denials) ? (body.denials as { code?: unknown }[]) : [];
    if (denials.some((x) => x.code === 'STATE_CONFLICT')) stalePause = true;
  }
  io.out('');
  io.out(`sent ${sent}: ${tally.proposed} PROPOSED, ${tally.cancelled} CANCELLED, ${tally.invalid} invalid (400)${tally.other ? `, ${tally.other} other` : ''}`);
  if (stalePause) {
    // say until when the stale-state kill flag pauses entries (the service knows; ask it)
    let until: number | null = null;
    try {
      const r = await adminStatus(fetchFn, target);
      const ends = (r.admin?.status.kills ?? []).map((k) => k.expiresAt).filter((x): x is number => x !== null);
      until = ends.length ? Math.max(...ends) : null;
    } catch {
      /* the service went away: the general sentence below is still true */
    }
    io.out(`The stale signal set a kill flag: new entries answer KILL_ACTIVE${until !== null ? ` until ${clockTime(until, tz)}` : ' for 5 minutes'}; it lapses by itself, /resume (or npx phoenix resume --demo) lifts it now.`);
  }
  if (tally.proposed) io.out('Cards still open wait in the chat until they expire: approve or pass them there. The demo service keeps running until Ctrl+C in its terminal.');
  io.out('Everything here went to the demo\'s own database (data/demo/); your real setup was not touched.');
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

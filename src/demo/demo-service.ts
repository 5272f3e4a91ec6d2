/**
 * `phoenix demo` and the service it feeds (issue 16): it posts only to the DEMO service (started
 * with `npm start -- --demo`, on its own data directory), never to the real setup, and it says
 * what it is waiting for instead of going quiet: the service still starting, a kill flag that
 * lapses at a known time (the stale-state pause). It learns all of that from
 * GET /v1/admin/status (src/http/admin.route.ts), authenticated like intake.
 */
import { displayPath } from '../config/load.js';
import { clockTime } from '../engine/index.js';
import { parseAdminStatus, type AdminStatus } from '../http/admin.schema.js';
import { DEMO_START } from './data-dir.js';

export interface DemoIo {
  out(line: string): void;
  err(line: string): void;
}

export type DemoFetch = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{ status: number; text(): Promise<string> }>;

export interface Target {
  readonly base: string;
  readonly token: string | undefined;
}

export const authHeaders = (t: Target): Record<string, string> => (t.token ? { authorization: `Bearer ${t.token}` } : {});

/** A wait that ends early on Ctrl+C, and leaves no listener behind either way. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((done) => {
    if (ms <= 0 || signal?.aborted) return done();
    const onAbort = () => {
      clearTimeout(timer);
      done();
    };
    // without the removal every wait would leave an 'abort' listener on the one Ctrl+C signal:
    // the 11th is Node's MaxListenersExceededWarning (what `phoenix demo` printed before)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      done();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const networkReason = (e: unknown): string => {
  const err = e as Error & { cause?: { code?: string } };
  if (err.name === 'TimeoutError') return 'no answer';
  return err.cause?.code === 'ECONNREFUSED' ? 'connection refused' : (err.cause?.code ?? err.message);
};

export type Reached = { kind: 'demo'; admin: AdminStatus } | { kind: 'refused'; code: number; lines: string[] };

export function notRunning(base: string, why: string): Reached {
  return {
    kind: 'refused',
    code: 1,
    lines: [
      `Phoenix is not running at ${base} (${why}).`,
      'Start the demo service in another terminal, then run the demo again:',
      `  ${DEMO_START}`,
      '(the demo constitution on its own database, data/demo/: every card says DEMO, and your real data is never touched)',
    ],
  };
}

/** GET /v1/admin/status once. */
export async function adminStatus(fetchFn: DemoFetch, t: Target): Promise<{ status: number; admin: AdminStatus | null; body: Record<string, unknown> }> {
  const res = await fetchFn(`${t.base}/v1/admin/status`, { headers: authHeaders(t), signal: AbortSignal.timeout(3000) });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  return { status: res.status, admin: res.status === 200 ? parseAdminStatus(body) : null, body };
}

/**
 * Reach the demo service: it answers, it is the demo (its own data directory), it has finished
 * starting (waits up to `startWaitMs`, saying so).
 */
export async function reachDemoService(fetchFn: DemoFetch, t: Target, io: DemoIo, cwd: string, signal?: AbortSignal, startWaitMs = 30_000): Promise<Reached> {
  const deadline = Date.now() + startWaitMs;
  let said = false;
  for (;;) {
    let r;
    try {
      r = await adminStatus(fetchFn, t);
    } catch (e) {
      return notRunning(t.base, networkReason(e));
    }
    if (r.status === 401) {
      return { kind: 'refused', code: 1, lines: [`The service at ${t.base} refused the demo's INTAKE_TOKEN (401 ${String(r.body.error ?? '')}).`, 'Set INTAKE_TOKEN to the same value the service runs with (or unset it on both for loopback-only intake).'] };
    }
    if (!r.admin) {
      return { kind: 'refused', code: 1, lines: [`${t.base} answered GET /v1/admin/status with ${r.status}, not as this version of Phoenix.`, `Stop it, and start the demo service: ${DEMO_START}`] };
    }
    const f = r.admin.service;
    if (!f.demoData) {
      return {
        kind: 'refused',
        code: 1,
        lines: [
          `The service at ${t.base} is your real setup (database ${displayPath(f.database, cwd)}, constitution "${f.constitution.name}"): the demo never posts to it.`,
          `Stop it (Ctrl+C in its terminal) and start the demo service, which keeps its own database (data/demo/): ${DEMO_START}`,
        ],
      };
    }
    const h = r.admin.health;
    if (h.status !== 'starting') return { kind: 'demo', admin: r.admin };
    if (Date.now() >= deadline || signal?.aborted) return notRunning(t.base, `it is still starting after ${Math.round(startWaitMs / 1000)} s: ${h.reasons.join('; ')}`);
    if (!said) io.out(`waiting for the demo service to finish starting (${h.reasons.join('; ')})…`);
    said = true;
    await sleep(500, signal);
  }
}

const mmss = (ms: number) => {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/**
 * Kill flags on the demo service before the first signal: one that lapses by itself (the
 * stale-state pause) is waited for visibly, with the time left; one that does not (a /halt)
 * stops the demo with how to lift it. Returns false when the demo should not go on.
 */
export async function waitForKillToLapse(fetchFn: DemoFetch, t: Target, first: AdminStatus, io: DemoIo, signal?: AbortSignal, progressEveryMs = 30_000): Promise<boolean> {
  let admin = first;
  let lastSaid = 0;
  for (;;) {
    const kills = admin.status.kills;
    if (!kills.length) return true;
    const tz = admin.service.constitution.timeZone;
    const forever = kills.find((k) => k.expiresAt === null);
    if (forever) {
      io.out(`A kill flag is active on the demo service with no end (${forever.reason}, set by ${forever.setBy}): every new entry would answer KILL_ACTIVE.`);
      io.out('Lift it in the chat with /resume (or: npx phoenix resume --demo), then run the demo again.');
      return false;
    }
    const until = Math.max(...kills.map((k) => k.expiresAt ?? 0));
    const left = until - admin.at;
    if (Date.now() - lastSaid >= progressEveryMs || lastSaid === 0) {
      io.out(
        lastSaid === 0
          ? `A kill flag pauses new entries on the demo service until ${clockTime(until, tz)} (${kills.map((k) => k.reason).join('; ')}): waiting for it to lapse, ${mmss(left)} left. Ctrl+C stops; /resume (or npx phoenix resume --demo) lifts it now.`
          : `  still waiting for the kill flag to lapse: ${mmss(left)} left`,
      );
      lastSaid = Date.now();
    }
    await sleep(Math.min(2000, Math.max(200, left)), signal);
    if (signal?.aborted) return false;
    try {
      const r = await adminStatus(fetchFn, t);
      if (!r.admin) return true; // the first post reports what is wrong
      admin = r.admin;
    } catch {
      return true; // the first post reports it
    }
  }
}

/**
 * How the CLI finds the RUNNING service (issue 16), so `phoenix status`, `doctor` and
 * `intent submit` tell what runs instead of what their own shell would start.
 *
 * Where it looks: the intake address of this shell's configuration (`.env` + environment,
 * INTAKE_HOST/INTAKE_PORT), then the address the last start recorded in the database
 * (SystemState `service.endpoint`, read through src/store/inspect.ts on SQLite or PostgreSQL:
 * a service started with another INTAKE_PORT in its own shell is found too). What it asks: GET /v1/admin/status with this shell's INTAKE_TOKEN.
 * Whom it trusts: only a Phoenix whose database is this shell's database file: another
 * Phoenix on the port (the demo service on data/demo/, a test's service) is named, not used.
 */
import { existsSync, realpathSync } from 'node:fs';
import { checkEnv } from '../config/env.check.js';
import { displayPath, mergedEnv } from '../config/load.js';
import { KV } from '../engine/index.js';
import { parseAdminStatus, type AdminStatus } from '../http/admin.schema.js';
import { isPostgresUrl } from '../store/db-path.js';
import { databaseName, databaseTarget, openReader, type DatabaseTarget } from '../store/inspect.js';
import { clientHost, type FetchLike } from './doctor.checks.js';

export type ServiceLookup =
  | { readonly kind: 'running'; readonly base: string; readonly token: string | undefined; readonly admin: AdminStatus; readonly database: string }
  | {
      readonly kind: 'absent';
      /** this shell's database: the file (absolute), or the PostgreSQL URL without its password */
      readonly database: string;
      /** a Phoenix answered but cannot be used from here (other database, token): not "not running" */
      readonly unreachable: boolean;
      /** a Phoenix refused this shell's INTAKE_TOKEN: it may well run on this database */
      readonly tokenRefused: boolean;
      /** why, one line each */
      readonly notes: readonly string[];
    };

export interface LookupOptions {
  /** this shell's environment (the `.env` file in `cwd` is read under it, as the service does) */
  readonly env: Record<string, string | undefined>;
  readonly cwd: string;
  readonly fetch?: FetchLike;
  readonly timeoutMs?: number;
}

const bracket = (host: string) => (host.includes(':') ? `[${host}]` : host);

/** `http://0.0.0.0:8787` (a bind address) → where a client on this machine reaches it. */
function clientBase(url: string): string | null {
  try {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const to = host === '::' ? '::1' : clientHost(host);
    return `http://${bracket(to)}:${u.port}`;
  } catch {
    return null;
  }
}

/** The intake address the last start recorded in the database, if any. */
async function recordedEndpoint(target: DatabaseTarget): Promise<string | null> {
  if (target.kind === 'sqlite' && !existsSync(target.file)) return null;
  try {
    const reader = await openReader(target);
    try {
      const value = await reader.kvGet(KV.serviceEndpoint);
      const url = value ? (JSON.parse(value) as { url?: unknown }).url : undefined;
      return typeof url === 'string' ? url : null;
    } finally {
      await reader.close();
    }
  } catch {
    return null; // never started, not readable, or the server does not answer: nothing recorded
  }
}

/** A database as a person reads it: a file relative to `cwd` when inside it, a PostgreSQL URL (no password) as it is. */
export const shownDatabase = (database: string, cwd: string): string => (isPostgresUrl(database) ? database : displayPath(database, cwd));

const real = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
};

/** Find the service running on this shell's database. */
export async function findService(opts: LookupOptions): Promise<ServiceLookup> {
  const raw = mergedEnv(opts.env, opts.cwd);
  const { view: env } = checkEnv(raw); // best effort: an invalid value falls back to its default
  const target = databaseTarget(env.DATABASE_URL, opts.cwd);
  const database = databaseName(target);
  const token = env.INTAKE_TOKEN;
  const fetchFn: FetchLike = opts.fetch ?? ((url, init) => fetch(url, init));
  const bases = [`http://${bracket(clientHost(env.INTAKE_HOST))}:${env.INTAKE_PORT}`];
  const recorded = await recordedEndpoint(target);
  const fromDb = recorded ? clientBase(recorded) : null;
  if (fromDb && !bases.includes(fromDb)) bases.push(fromDb);

  const notes: string[] = [];
  let unreachable = false;
  let tokenRefused = false;
  for (const base of bases) {
    let status: number;
    let text: string;
    try {
      const res = await fetchFn(`${base}/v1/admin/status`, { ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}), signal: AbortSignal.timeout(opts.timeoutMs ?? 2000) });
      status = res.status;
      text = await res.text();
    } catch {
      notes.push(`nothing answers at ${base}${base === fromDb ? ' (where the last start on this database listened)' : ''}`);
      continue;
    }
    if (status === 401) {
      unreachable = true;
      tokenRefused = true;
      notes.push(`a Phoenix at ${base} refused this shell's INTAKE_TOKEN${token ? '' : ' (none is set here)'}: set INTAKE_TOKEN (in .env or the environment) to the value the service runs with`);
      continue;
    }
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON: not Phoenix's admin answer */
    }
    const admin = status === 200 ? parseAdminStatus(body) : null;
    if (!admin) {
      notes.push(`${base} answered GET /v1/admin/status with ${status}, not as this version of Phoenix (an older Phoenix, or another program)`);
      continue;
    }
    if (real(admin.service.database) !== real(database)) {
      unreachable = true;
      const what = admin.service.demoData ? 'the DEMO service, on its own database' : 'a Phoenix on another database';
      notes.push(`${base} is ${what} (${shownDatabase(admin.service.database, opts.cwd)})${admin.service.demoData ? ': add --demo to talk to it' : ''}`);
      continue;
    }
    return { kind: 'running', base, token, admin, database };
  }
  return { kind: 'absent', database, unreachable, tokenRefused, notes };
}

/** The one line every command prints when it falls back to the database. */
export function fallbackLine(found: Extract<ServiceLookup, { kind: 'absent' }>, cwd: string, what = 'showing the database'): string {
  const lead = found.unreachable ? 'No service reachable on this database' : 'Service not running';
  return `${lead} — ${what} (${shownDatabase(found.database, cwd)}).`;
}

export interface IntentAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** POST the intent to the running service's /v1/admin/intents (the CLI's source). */
export async function postIntent(found: Extract<ServiceLookup, { kind: 'running' }>, raw: unknown, fetchFn: FetchLike = (url, init) => fetch(url, init)): Promise<IntentAnswer> {
  const res = await fetchFn(`${found.base}/v1/admin/intents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(found.token ? { authorization: `Bearer ${found.token}` } : {}) },
    body: JSON.stringify(raw),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { error: text.slice(0, 200) };
  }
  return { status: res.status, body };
}

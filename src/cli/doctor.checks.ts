/**
 * `phoenix doctor` checks (SPEC 2): each is a small function of its inputs (the environment
 * view, and injected network probes / fetch) returning one CheckResult: a status, a one-line
 * summary, and the problems found with their fixes. Nothing here prints; doctor.ts renders
 * and redacts. No check ever puts a secret into its result on purpose (the renderer redacts
 * them anyway, as a second line of defence).
 */
import { accessSync, constants, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { checkEnv } from '../config/env.check.js';
import { ENV_FIXES, type Env } from '../config/env.schema.js';
import { ConfigError, displayPath, loadConfig, mergedEnv } from '../config/load.js';
import { ChainVerifier, type StoredBead } from '../engine/beads.js';
import { beadFromRow, type Row } from '../store/sqlite.rows.js';
import { listMigrations, pendingMigrations } from '../store/migrate.js';
import { usdAmount } from '../engine/people-time.js';

// ---------------------------------------------------------------------------------------
// Results

export type CheckStatus = 'OK' | 'WARN' | 'FAIL' | 'SKIP';

export interface Finding {
  readonly problem: string;
  readonly fix?: string;
  /** source lines with a caret (a YAML error), printed under the problem */
  readonly excerpt?: readonly string[];
}

export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  /** one line: what was found */
  readonly summary: string;
  /** problems (WARN/FAIL) with their fixes */
  readonly findings: readonly Finding[];
  /** facts worth knowing that are not problems */
  readonly notes: readonly string[];
}

const result = (name: string, status: CheckStatus, summary: string, findings: Finding[] = [], notes: string[] = []): CheckResult => ({ name, status, summary, findings, notes });
export const ok = (name: string, summary: string, notes: string[] = []) => result(name, 'OK', summary, [], notes);
export const warn = (name: string, summary: string, findings: Finding[], notes: string[] = []) => result(name, 'WARN', summary, findings, notes);
export const fail = (name: string, summary: string, findings: Finding[], notes: string[] = []) => result(name, 'FAIL', summary, findings, notes);
export const skip = (name: string, why: string) => result(name, 'SKIP', why);

// ---------------------------------------------------------------------------------------
// The environment as doctor sees it: best effort, so one bad value does not hide the rest.

export interface DoctorEnv {
  /** every variable parsed; an invalid one falls back to its default (and is listed in `invalid`) */
  readonly env: Env;
  readonly invalid: ReadonlySet<string>;
  /** the merged raw values (.env file, then the environment; empty = unset) */
  readonly raw: Readonly<Record<string, string | undefined>>;
}

export function readDoctorEnv(source: Record<string, string | undefined>, cwd: string): DoctorEnv {
  const raw = mergedEnv(source, cwd);
  const { view, invalid } = checkEnv(raw);
  return { env: view, invalid, raw };
}

/** A check that needs a variable that does not parse is skipped (the configuration line says why). */
export function needs(name: string, e: DoctorEnv, keys: readonly (keyof Env)[]): CheckResult | null {
  const bad = keys.filter((k) => e.invalid.has(k));
  return bad.length ? skip(name, `not checked: ${bad.join(', ')} ${bad.length > 1 ? 'are' : 'is'} invalid (see configuration)`) : null;
}

const isLoopbackHost = (h: string) => h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
const isAnyHost = (h: string) => h === '0.0.0.0' || h === '::';
/** where a client on this machine reaches a server bound to `host` */
export const clientHost = (host: string) => (isAnyHost(host) ? '127.0.0.1' : host);
const hostPort = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

// ---------------------------------------------------------------------------------------
// configuration

export function checkConfig(source: Record<string, string | undefined>, cwd: string): CheckResult {
  const name = 'configuration';
  try {
    const c = loadConfig(source, cwd);
    const e = c.env;
    const notes = [`constitution ${displayPath(c.constitutionPath, cwd)} ("${c.constitution.name}"), digest ${c.digest.slice(0, 12)}`];
    if (c.constitution.demo) notes.push('DEMO constitution: session windows always open; every card and /status says DEMO');
    if (!c.constitution.session.enforce && !c.constitution.demo) notes.push('session windows are NOT enforced by this constitution');
    if (e.TRADING_MODE === 'live') notes.push('LIVE mode: real money (IBKR_ALLOW_LIVE=true)');
    return ok(name, `environment and constitution valid (${e.TRADING_MODE.toUpperCase()} mode, broker ${e.BROKER}, ${e.TELEGRAM_BOT_TOKEN ? 'Telegram' : 'sandbox Telegram'})`, notes);
  } catch (err) {
    if (!(err instanceof ConfigError)) return fail(name, `configuration could not be read: ${(err as Error).message}`, [{ problem: (err as Error).message, fix: 'check that the files named above are readable' }]);
    // the very problems `npm start` prints, each with its fix
    const findings = err.issues.map((p) => ({ problem: `${p.where}: ${p.problem}`, fix: p.fix, ...(p.excerpt ? { excerpt: p.excerpt } : {}) }));
    return fail(name, `${findings.length} problem${findings.length > 1 ? 's' : ''}: Phoenix will not start`, findings);
  }
}

// ---------------------------------------------------------------------------------------
// database

const MIGRATE_FIX = 'run npm start once (it applies pending migrations) or npm run db:migrate';

export interface DatabaseCheck {
  readonly result: CheckResult;
  readonly file: string;
  /** the file exists, opens, and its schema is current (the audit check may read it) */
  readonly usable: boolean;
}

/** `file:./data/phoenix.db` → absolute path, relative paths from `cwd` (as the service resolves them). */
export function databaseFile(databaseUrl: string, cwd: string): string {
  const p = databaseUrl.slice('file:'.length).split('?')[0] ?? '';
  return isAbsolute(p) ? p : resolve(cwd, p);
}

function writableDir(dir: string): { ok: true } | { ok: false; problem: string; fix: string } {
  // Walk up to the first existing ancestor: the service creates missing directories.
  let d = dir;
  while (!existsSync(d)) {
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  let st;
  try {
    st = statSync(d);
  } catch (e) {
    return { ok: false, problem: `${d} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, fix: 'point DATABASE_URL at a directory this user can write' };
  }
  if (!st.isDirectory()) return { ok: false, problem: `${d} is a file, not a directory`, fix: 'point DATABASE_URL at a path inside a directory, e.g. file:./data/phoenix.db' };
  if (d !== dir) {
    try {
      accessSync(d, constants.W_OK);
      return { ok: true };
    } catch {
      return { ok: false, problem: `${dir} does not exist and ${d} is not writable, so it cannot be created`, fix: `create ${dir} and give the service user write access (chown/chmod), or point DATABASE_URL elsewhere` };
    }
  }
  // The directory exists: prove it by writing (access() says yes to root on a read-only mount).
  const probe = resolve(d, `.phoenix-doctor-${process.pid}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
    return { ok: true };
  } catch (e) {
    return { ok: false, problem: `${d} is not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): SQLite also writes its -wal and -shm files there`, fix: `give the service user write access to ${d} (chown/chmod), or point DATABASE_URL at a writable directory` };
  }
}

export function checkDatabase(e: DoctorEnv, cwd: string): DatabaseCheck {
  const name = 'database';
  const skipped = needs(name, e, ['DATABASE_URL']);
  const file = databaseFile(e.env.DATABASE_URL, cwd);
  if (skipped) return { result: skipped, file, usable: false };
  const shown = displayPath(file, cwd);
  const dirOk = writableDir(dirname(file));
  if (!dirOk.ok) return { result: fail(name, `${shown}: directory not usable`, [dirOk]), file, usable: false };
  if (!existsSync(file)) {
    const n = listMigrations().length;
    return { result: warn(name, `${shown} does not exist yet`, [{ problem: `no database file yet (${n} migration${n === 1 ? '' : 's'} to apply)`, fix: `${MIGRATE_FIX}; it creates ${shown}` }]), file, usable: false };
  }
  try {
    if (statSync(file).isDirectory()) return { result: fail(name, `${shown} is a directory`, [{ problem: `${shown} is a directory, not a database file`, fix: 'point DATABASE_URL at a file, e.g. file:./data/phoenix.db' }]), file, usable: false };
    accessSync(file, constants.R_OK | constants.W_OK);
  } catch (err) {
    return { result: fail(name, `${shown} is not writable`, [{ problem: `${shown} cannot be written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, fix: `give the service user read/write access to ${shown} (chown/chmod)` }]), file, usable: false };
  }
  let journal: string;
  let pending: string[];
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      journal = String(db.pragma('journal_mode', { simple: true }));
      db.prepare('SELECT count(*) FROM sqlite_master').get(); // reads the header: "not a database" shows here
    } finally {
      db.close();
    }
    pending = pendingMigrations(file);
  } catch (err) {
    return {
      result: fail(name, `${shown} cannot be opened`, [{ problem: `SQLite: ${(err as Error).message}`, fix: 'restore the file from a backup, or point DATABASE_URL at a new file (npm start creates and migrates it)' }]),
      file,
      usable: false,
    };
  }
  const total = listMigrations().length;
  const findings: Finding[] = [];
  if (pending.length) findings.push({ problem: `${pending.length} of ${total} migration${total === 1 ? '' : 's'} not applied: ${pending.join(', ')} (the schema is older than this code)`, fix: MIGRATE_FIX });
  const walOk = journal.toLowerCase() === 'wal';
  if (pending.length === total) {
    // nothing applied yet: a new (empty) file, which the first start migrates
    return { result: warn(name, `${shown}: empty database (no migrations applied yet)`, [{ problem: `${total} migration${total === 1 ? '' : 's'} to apply`, fix: MIGRATE_FIX }]), file, usable: false };
  }
  if (pending.length) return { result: fail(name, `${shown}: schema out of date`, findings), file, usable: false };
  if (!walOk) {
    return {
      result: warn(name, `${shown}: journal mode ${journal}, not WAL`, [{ problem: `journal mode is ${journal}: readers would block the writer`, fix: 'npm start switches it to WAL; if it stays, keep the file on a local disk (WAL needs shared memory, not a network share)' }]),
      file,
      usable: true,
    };
  }
  return { result: ok(name, `${shown}: opens, WAL, ${total}/${total} migrations applied`), file, usable: true };
}

// ---------------------------------------------------------------------------------------
// audit chain (quick: the last N beads)

export function checkAuditChain(file: string, lastN = 1000): CheckResult {
  const name = 'audit chain';
  const db = new Database(file, { readonly: true, fileMustExist: true });
  let rows: StoredBead[];
  let total: number;
  try {
    total = Number((db.prepare('SELECT COUNT(*) AS n FROM "Bead"').get() as { n: number }).n);
    rows = (db.prepare('SELECT * FROM "Bead" ORDER BY seq DESC LIMIT ?').all(lastN) as Row[]).reverse().map(beadFromRow);
  } finally {
    db.close();
  }
  const first = rows[0];
  if (!first) return ok(name, 'no beads yet (empty audit log)');
  // the window starts after the bead before the first one read (the genesis for bead #1)
  const v = new ChainVerifier(first.seq === 1 ? undefined : { seq: first.seq - 1, hash: first.prevHash, hashVersion: first.hashVersion });
  for (const b of rows) {
    const br = v.push(b);
    if (br) {
      return fail(name, `BROKEN at bead #${br.seq} (${br.type}, id ${br.id})`, [
        { problem: br.problem, fix: 'run phoenix audit verify for the full report; the database refuses UPDATE/DELETE on beads, so this is direct file tampering or corruption: keep the file for investigation and restore from a backup' },
      ]);
    }
  }
  const scope = rows.length === total ? `all ${total} beads` : `last ${rows.length} of ${total} beads`;
  return ok(name, `${scope} verified${rows.length === total ? '' : ' (full walk: phoenix audit verify)'}`);
}

// ---------------------------------------------------------------------------------------
// broker

export type TcpProbe = (host: string, port: number, timeoutMs: number) => Promise<{ ok: true } | { ok: false; code: string }>;

export type IbkrProbeResult =
  | { readonly ok: true; readonly accounts: readonly string[]; readonly serverVersion: number; readonly netLiquidation?: number }
  | { readonly ok: false; readonly message: string; readonly accounts: readonly string[] };

export type IbkrProbe = (opts: { host: string; port: number; clientId: number; timeoutMs: number }) => Promise<IbkrProbeResult>;

/** The adapter's pure account helpers, injected (src/broker/ibkr is its own module). */
export interface AccountRules {
  pickAccount(managed: readonly string[], configured: string | undefined): { ok: true; accountId: string } | { ok: false; code: string; detail: string };
  checkAccountForMode(accountId: string, mode: Env['TRADING_MODE'], allowLive: boolean): { ok: true } | { ok: false; code: string; detail: string };
}

export interface BrokerDeps {
  readonly tcpProbe: TcpProbe;
  /** null when the IBKR adapter is not available: TCP reachability only */
  readonly ibkrProbe: IbkrProbe | null;
  readonly accountRules: AccountRules | null;
  readonly timeoutMs: number;
}

/** The doctor's own API client id, so it never collides with the running service's session. */
export const doctorClientId = (serviceClientId: number) => (serviceClientId + 1000) % 2147483647;

const GATEWAY_FIX =
  'start IB Gateway (or TWS) and log in; enable the API in Configure → Settings → API → Settings ("Enable ActiveX and Socket Clients"), check the socket port (IB Gateway 4002 paper / 4001 live, TWS 7497 / 7496) matches IB_PORT, and add this machine to Trusted IPs';

const SIM_ACCOUNT = 'DU0000001';

export async function checkBroker(e: DoctorEnv, deps: BrokerDeps): Promise<CheckResult> {
  const name = 'broker';
  const env = e.env;
  const mode = env.TRADING_MODE;
  if (env.BROKER === 'sim') {
    const skipped = needs(name, e, ['BROKER', 'TRADING_MODE', 'SIM_PROFILE', 'SIM_SEED']);
    if (skipped) return skipped;
    const base = `simulated broker (${env.SIM_PROFILE}, seed ${env.SIM_SEED}): always reachable, account ${SIM_ACCOUNT} (paper)`;
    if (mode === 'live') return fail(name, base, [{ problem: 'TRADING_MODE=live with the simulator: it has no real account', fix: 'use TRADING_MODE=paper with BROKER=sim, or BROKER=ibkr for live trading' }]);
    if (mode === 'observe') return ok(name, `${base}; OBSERVE mode never sends orders`);
    return ok(name, `${base} matches PAPER`);
  }
  const skipped = needs(name, e, ['IB_HOST', 'IB_PORT', 'IB_CLIENT_ID', 'TRADING_MODE']);
  if (skipped) return skipped;
  const where = hostPort(env.IB_HOST, env.IB_PORT);
  const notes: string[] = [];
  if (mode === 'paper' && (env.IB_PORT === 4001 || env.IB_PORT === 7496)) notes.push(`IB_PORT ${env.IB_PORT} is the default port of a LIVE login (paper: 4002 IB Gateway, 7497 TWS)`);
  if (mode === 'live' && (env.IB_PORT === 4002 || env.IB_PORT === 7497)) notes.push(`IB_PORT ${env.IB_PORT} is the default port of a PAPER login (live: 4001 IB Gateway, 7496 TWS)`);

  const tcp = await deps.tcpProbe(env.IB_HOST, env.IB_PORT, deps.timeoutMs);
  if (!tcp.ok) {
    const what =
      tcp.code === 'ECONNREFUSED'
        ? `nothing listens on ${where} (connection refused)`
        : tcp.code === 'TIMEOUT'
          ? `no answer from ${where} within ${(deps.timeoutMs / 1000).toFixed(1)} s`
          : tcp.code === 'ENOTFOUND' || tcp.code === 'EAI_AGAIN'
            ? `IB_HOST ${env.IB_HOST} does not resolve (${tcp.code})`
            : `cannot connect to ${where} (${tcp.code})`;
    const fix = tcp.code === 'ENOTFOUND' || tcp.code === 'EAI_AGAIN' ? 'set IB_HOST to the machine running IB Gateway (usually 127.0.0.1)' : tcp.code === 'TIMEOUT' ? `check IB_HOST and any firewall between here and ${where}; then: ${GATEWAY_FIX}` : GATEWAY_FIX;
    return fail(name, `IB Gateway/TWS not reachable at ${where}`, [{ problem: what, fix }], notes);
  }
  if (!deps.ibkrProbe || !deps.accountRules) {
    return warn(name, `${where} accepts TCP connections; accounts not checked`, [{ problem: 'the IBKR adapter is not available in this build, so the API handshake and the account were not checked', fix: 'run npm ci; then phoenix doctor again' }], notes);
  }
  const clientId = doctorClientId(env.IB_CLIENT_ID);
  const probe = await deps.ibkrProbe({ host: env.IB_HOST, port: env.IB_PORT, clientId, timeoutMs: Math.max(deps.timeoutMs, 4000) });
  notes.push(`doctor connected read-only as API client id ${clientId} (the service uses ${env.IB_CLIENT_ID})`);
  if (!probe.ok) {
    const m = probe.message;
    const fix = /\b326\b/.test(m)
      ? `another program uses API client id ${clientId}: stop it, or change IB_CLIENT_ID`
      : /\b502\b/.test(m)
        ? GATEWAY_FIX
        : `${where} accepts TCP but did not complete the IB API handshake: is it IB Gateway/TWS, logged in, with the API enabled? ${GATEWAY_FIX}`;
    return fail(name, `IB API handshake with ${where} failed`, [{ problem: m, fix }], notes);
  }
  const accounts = probe.accounts;
  const list = accounts.length ? accounts.join(', ') : '(none)';
  const pick = deps.accountRules.pickAccount(accounts, env.IB_ACCOUNT);
  const base = `IB Gateway/TWS at ${where} (server version ${probe.serverVersion}), managed accounts ${list}`;
  if (!pick.ok) {
    const fix =
      pick.code === 'ACCOUNT_NOT_MANAGED'
        ? `set IB_ACCOUNT to one of ${list}, or log in to the gateway with the user that owns ${env.IB_ACCOUNT ?? 'it'}`
        : pick.code === 'AMBIGUOUS_ACCOUNT'
          ? `set IB_ACCOUNT to one of ${list}`
          : 'log in to IB Gateway with a user that has a trading account';
    return fail(name, base, [{ problem: `${pick.code}: ${pick.detail}`, fix }], notes);
  }
  const nl = probe.netLiquidation !== undefined ? `, net liquidation ${usdAmount(probe.netLiquidation)}` : '';
  if (mode === 'observe') return ok(name, `${base}; account ${pick.accountId}${nl}; OBSERVE mode never sends orders`, notes);
  const guard = deps.accountRules.checkAccountForMode(pick.accountId, mode, env.IBKR_ALLOW_LIVE);
  if (!guard.ok) {
    const fix =
      guard.code === 'PAPER_REQUIRES_DU_ACCOUNT'
        ? 'log in to IB Gateway with your PAPER trading user (account DU…, port 4002) — or, for real money, TRADING_MODE=live with IBKR_ALLOW_LIVE=true'
        : guard.code === 'LIVE_NOT_ALLOWED'
          ? 'set IBKR_ALLOW_LIVE=true deliberately to trade real money, or use TRADING_MODE=paper'
          : 'log in to IB Gateway with your LIVE user (account U…, port 4001), or use TRADING_MODE=paper';
    return fail(name, `${base}; account ${pick.accountId} does not match ${mode.toUpperCase()}`, [{ problem: `${guard.code}: ${guard.detail}`, fix }], notes);
  }
  return ok(name, `${base}; account ${pick.accountId} matches ${mode.toUpperCase()}${nl}`, notes);
}

// ---------------------------------------------------------------------------------------
// Telegram

export type FetchLike = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{ status: number; text(): Promise<string> }>;

export type TelegramAnswer =
  | { readonly kind: 'ok'; readonly result: unknown }
  | { readonly kind: 'api'; readonly status: number; readonly description: string; readonly retryAfter?: number }
  | { readonly kind: 'network'; readonly code: string }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'not-bot-api'; readonly status: number };

export const DEFAULT_TELEGRAM_ROOT = 'https://api.telegram.org';

/**
 * One Bot API call. The URL holds the token, so nothing derived from the URL or from the
 * fetch error text is returned: only status codes, Telegram's description and error codes.
 */
export async function telegramCall(fetchFn: FetchLike, root: string, token: string, method: string, params: Record<string, unknown>, timeoutMs: number): Promise<TelegramAnswer> {
  let res;
  try {
    res = await fetchFn(`${root}/bot${token}/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params), signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string }; code?: string };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return { kind: 'timeout' };
    const code = e.cause?.code ?? e.code;
    return { kind: 'network', code: typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? code : 'network error' };
  }
  type Body = { ok?: unknown; result?: unknown; description?: unknown; parameters?: { retry_after?: unknown } };
  let body: Body | null;
  try {
    body = JSON.parse(await res.text()) as Body | null;
  } catch {
    body = null;
  }
  if (!body || typeof body !== 'object' || typeof body.ok !== 'boolean') return { kind: 'not-bot-api', status: res.status };
  if (body.ok) return { kind: 'ok', result: body.result };
  const retry = body.parameters?.retry_after;
  return { kind: 'api', status: res.status, description: typeof body.description === 'string' ? body.description : `error ${res.status}`, ...(typeof retry === 'number' ? { retryAfter: retry } : {}) };
}

export interface TelegramDeps {
  readonly fetch: FetchLike;
  readonly timeoutMs: number;
}

export interface TelegramBotCheck {
  readonly result: CheckResult;
  /** getMe worked: the other Telegram checks may call the API */
  readonly reachable: boolean;
}

const REACH_FIX = 'check that this server can make outbound HTTPS requests to api.telegram.org (DNS, firewall, proxy), or set TELEGRAM_API_ROOT to a reachable Bot API server';
const TOKEN_FIX = 'token revoked or wrong: get a new one from @BotFather (/mybots → your bot → API Token) and set TELEGRAM_BOT_TOKEN';

function answerFinding(a: Exclude<TelegramAnswer, { kind: 'ok' }>, root: string, method: string): Finding {
  switch (a.kind) {
    case 'timeout':
      return { problem: `cannot reach Telegram at ${root}: no answer to ${method}`, fix: REACH_FIX };
    case 'network':
      return { problem: `cannot reach Telegram at ${root} (${a.code})`, fix: REACH_FIX };
    case 'not-bot-api':
      return { problem: `${root} answered ${method} with HTTP ${a.status} but not as a Bot API server`, fix: 'check TELEGRAM_API_ROOT (unset it for https://api.telegram.org)' };
    case 'api':
      if (a.status === 401 || a.status === 404) return { problem: `Telegram refused the bot token (${a.status} ${a.description})`, fix: TOKEN_FIX };
      if (a.status === 429) return { problem: `Telegram rate limit on ${method} (${a.description})`, fix: `wait ${a.retryAfter ?? 'a few'} s and run phoenix doctor again` };
      return { problem: `Telegram answered ${method} with ${a.status} ${a.description}`, fix: a.status >= 500 ? 'Telegram-side trouble: try again in a minute (Phoenix retries by itself)' : 'see the description above' };
  }
}

export const telegramRoot = (env: Env) => env.TELEGRAM_API_ROOT ?? DEFAULT_TELEGRAM_ROOT;

export async function checkTelegramBot(e: DoctorEnv, deps: TelegramDeps): Promise<TelegramBotCheck> {
  const name = 'telegram';
  const env = e.env;
  if (e.invalid.has('TELEGRAM_BOT_TOKEN') || e.invalid.has('TELEGRAM_API_ROOT')) return { result: needs(name, e, ['TELEGRAM_BOT_TOKEN', 'TELEGRAM_API_ROOT'])!, reachable: false };
  const token = env.TELEGRAM_BOT_TOKEN;
  if (!token) {
    const where = `http://${hostPort(clientHost(env.SANDBOX_HOST), env.SANDBOX_PORT)}/`;
    return {
      result: ok(name, `sandbox mode (no TELEGRAM_BOT_TOKEN): cards go to the local sandbox console at ${where}`, ['for real Telegram set TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID and TELEGRAM_APPROVERS']),
      reachable: false,
    };
  }
  const root = telegramRoot(env);
  const a = await telegramCall(deps.fetch, root, token, 'getMe', {}, deps.timeoutMs);
  if (a.kind !== 'ok') {
    const f = answerFinding(a, root, 'getMe');
    const status = a.kind === 'api' && a.status >= 500 ? 'WARN' : 'FAIL';
    return { result: result(name, status, a.kind === 'api' && (a.status === 401 || a.status === 404) ? 'bot token refused' : `Telegram not usable via ${root}`, [f]), reachable: false };
  }
  const me = (a.result ?? {}) as { id?: unknown; username?: unknown; is_bot?: unknown };
  return { result: ok(name, `bot @${String(me.username ?? '?')} (id ${String(me.id ?? '?')}) via ${root}`), reachable: true };
}

interface WebhookInfoResult {
  url?: string;
  pending_update_count?: number;
  last_error_date?: number;
  last_error_message?: string;
}

export async function checkTelegramUpdates(e: DoctorEnv, deps: TelegramDeps, reachable: boolean, now: number): Promise<CheckResult> {
  const name = 'telegram updates';
  const env = e.env;
  const token = env.TELEGRAM_BOT_TOKEN;
  if (!token) return ok(name, 'sandbox mode: the bot long-polls the local sandbox');
  if (!reachable) return skip(name, 'not checked: the bot API is not usable (see telegram)');
  const root = telegramRoot(env);
  const a = await telegramCall(deps.fetch, root, token, 'getWebhookInfo', {}, deps.timeoutMs);
  if (a.kind !== 'ok') return warn(name, 'getWebhookInfo failed', [answerFinding(a, root, 'getWebhookInfo')]);
  const info = (a.result ?? {}) as WebhookInfoResult;
  const registered = info.url ?? '';
  const pending = info.pending_update_count ?? 0;
  const notes = [`${pending} update${pending === 1 ? '' : 's'} waiting at Telegram`];
  const lastError = info.last_error_message
    ? `last webhook delivery error${info.last_error_date ? ` ${Math.max(0, Math.round((now / 1000 - info.last_error_date) / 60))} min ago` : ''}: ${info.last_error_message}`
    : null;
  const want = env.TELEGRAM_WEBHOOK_URL;
  if (want) {
    if (!registered) return warn(name, `webhook mode: no webhook registered yet (want ${want})`, [{ problem: 'Telegram has no webhook for this bot', fix: 'Phoenix registers it at start (setWebhook); if Phoenix is running, look in its log for "Telegram setWebhook failed"' }], notes);
    if (registered !== want) {
      return warn(name, `webhook mode: the registered webhook is not TELEGRAM_WEBHOOK_URL`, [{ problem: `registered ${registered}, configured ${want}`, fix: 'Phoenix re-registers its URL at start (setWebhook); if something else registered the other URL, give each deployment its own bot — or unset TELEGRAM_WEBHOOK_URL to use long polling' }], notes);
    }
    if (lastError) return warn(name, `webhook mode: ${registered}`, [{ problem: lastError, fix: `check that ${want} reaches this server (public HTTPS with a valid certificate, forwarded to TELEGRAM_WEBHOOK_PORT ${env.TELEGRAM_WEBHOOK_PORT}), or unset TELEGRAM_WEBHOOK_URL to use long polling` }], notes);
    return ok(name, `webhook mode: registered ${registered} matches TELEGRAM_WEBHOOK_URL`, notes);
  }
  if (registered) {
    return warn(name, 'long polling, but a webhook is registered for this bot', [
      {
        problem: `webhook ${registered} is registered: while it is, long polling (getUpdates) is refused${lastError ? `; ${lastError}` : ''}`,
        fix: 'it will be removed at start (deleteWebhook); if another program uses that webhook, give Phoenix its own bot — or set TELEGRAM_WEBHOOK_URL to that URL to run in webhook mode',
      },
    ], notes);
  }
  return ok(name, 'long polling (no webhook registered)', notes);
}

export async function checkTelegramChat(e: DoctorEnv, deps: TelegramDeps, reachable: boolean): Promise<CheckResult> {
  const name = 'telegram chat';
  const env = e.env;
  const skipped = needs(name, e, ['TELEGRAM_CHAT_ID', 'TELEGRAM_APPROVERS', 'TELEGRAM_ADMINS', 'TELEGRAM_VIEWERS']);
  if (skipped) return skipped;
  const roles = `approvers ${env.TELEGRAM_APPROVERS.length}, admins ${env.TELEGRAM_ADMINS.length}, viewers ${env.TELEGRAM_VIEWERS.length}`;
  if (!env.TELEGRAM_BOT_TOKEN) {
    return ok(name, `sandbox chat ${env.TELEGRAM_CHAT_ID ?? '-1001001'} with the console users approver 1001, admin 1002 and stranger 666`);
  }
  const findings: Finding[] = [];
  let status: CheckStatus = 'OK';
  const chatId = env.TELEGRAM_CHAT_ID;
  if (!chatId) {
    status = 'FAIL';
    findings.push({ problem: 'TELEGRAM_CHAT_ID is not set: cards and alerts have nowhere to go', fix: ENV_FIXES.TELEGRAM_CHAT_ID! });
  }
  if (!env.TELEGRAM_APPROVERS.length) {
    status = 'FAIL';
    findings.push({ problem: 'TELEGRAM_APPROVERS is empty: nobody can approve a card', fix: ENV_FIXES.TELEGRAM_APPROVERS! });
  }
  if (!env.TELEGRAM_ADMINS.length) {
    if (status === 'OK') status = 'WARN';
    findings.push({ problem: 'TELEGRAM_ADMINS is empty: /resume, /flatten and /audit cannot be used from Telegram (only from the CLI)', fix: ENV_FIXES.TELEGRAM_ADMINS! });
  }
  const known = new Set([...env.TELEGRAM_APPROVERS, ...env.TELEGRAM_ADMINS, ...env.TELEGRAM_VIEWERS]);
  if (chatId && !chatId.startsWith('-') && !known.has(chatId)) {
    if (status === 'OK') status = 'WARN';
    findings.push({ problem: `TELEGRAM_CHAT_ID ${chatId} is a private chat with a user who has no role`, fix: 'in a private chat the chat id is the user id: add it to TELEGRAM_APPROVERS/ADMINS, or use the group chat id (negative)' });
  }
  let chatLine = chatId ? `chat ${chatId}` : 'no chat';
  if (chatId && reachable) {
    const a = await telegramCall(deps.fetch, telegramRoot(env), env.TELEGRAM_BOT_TOKEN, 'getChat', { chat_id: chatId }, deps.timeoutMs);
    if (a.kind === 'ok') {
      const c = (a.result ?? {}) as { type?: unknown; title?: unknown; username?: unknown; first_name?: unknown };
      chatLine = `chat ${chatId} (${String(c.type ?? '?')} "${String(c.title ?? c.username ?? c.first_name ?? '')}")`;
    } else if (a.kind === 'api' && a.status === 404) {
      chatLine = `chat ${chatId} (this Bot API server cannot look chats up)`;
    } else if (a.kind === 'api' && (a.status === 400 || a.status === 403)) {
      status = 'FAIL';
      findings.push({ problem: `the bot cannot reach chat ${chatId}: ${a.description}`, fix: 'add the bot to the group (or send it /start in a private chat), then check TELEGRAM_CHAT_ID: groups are negative, supergroups start with -100' });
    } else {
      if (status === 'OK') status = 'WARN';
      findings.push(answerFinding(a as Exclude<TelegramAnswer, { kind: 'ok' }>, telegramRoot(env), 'getChat'));
    }
  }
  return result(name, status, `${chatLine}; ${roles}`, findings);
}

// ---------------------------------------------------------------------------------------
// intake

export type ListenProbe = (host: string, port: number) => Promise<{ ok: true } | { ok: false; code: string }>;

export interface IntakeDeps {
  readonly fetch: FetchLike;
  readonly listenProbe: ListenProbe;
  readonly timeoutMs: number;
}

export async function checkIntake(e: DoctorEnv, deps: IntakeDeps): Promise<CheckResult> {
  const name = 'intake';
  const skipped = needs(name, e, ['INTAKE_HOST', 'INTAKE_PORT']);
  if (skipped) return skipped;
  const { INTAKE_HOST: host, INTAKE_PORT: port } = e.env;
  const where = hostPort(host, port);
  const url = `http://${hostPort(clientHost(host), port)}/healthz`;
  let answered: { status: number; body: string } | null = null;
  try {
    // with INTAKE_TOKEN the service shows its detail only to callers that carry it
    const token = e.env.INTAKE_TOKEN;
    const res = await deps.fetch(url, { ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}), signal: AbortSignal.timeout(deps.timeoutMs) });
    answered = { status: res.status, body: await res.text() };
  } catch {
    answered = null; // refused, reset or silent: the listen probe below tells free from taken
  }
  if (answered) {
    type Health = { status?: unknown; mode?: unknown; broker?: unknown; demo?: unknown; killActive?: unknown; reasons?: unknown };
    let h: Health | null;
    try {
      h = JSON.parse(answered.body) as Health | null;
    } catch {
      h = null;
    }
    // /healthz: 200 ok|degraded when ready, 503 starting|stopping; only up|down without our token
    if (h && typeof h.mode === 'string' && [200, 503].includes(answered.status) && ['ok', 'degraded', 'starting', 'stopping'].includes(String(h.status))) {
      const notes = [];
      if (h.demo) notes.push('the running service uses the DEMO constitution');
      if (h.killActive) notes.push('a kill flag is active (phoenix status)');
      const running = `Phoenix is running at http://${where} (${h.mode.toUpperCase()} mode, broker ${String(h.broker ?? '?')})`;
      if (h.status === 'ok') return ok(name, running, notes);
      const reasons = Array.isArray(h.reasons) ? h.reasons.map(String).join('; ') : '';
      return warn(name, `${running}, ${String(h.status)}`, [{ problem: `GET /healthz says ${String(h.status)}${reasons ? `: ${reasons}` : ''}`, fix: h.status === 'degraded' ? 'see phoenix status and the runbooks for the reasons named' : 'wait for it to finish starting (or stopping), then run doctor again' }], notes);
    }
    if (answered.status === 403 && /INTAKE_TOKEN is not set/.test(String((h as { error?: unknown } | null)?.error ?? ''))) {
      return warn(name, `a Phoenix without INTAKE_TOKEN runs at http://${where}; it answers only requests addressed to 127.0.0.1, localhost or [::1]`, [{ problem: `GET /healthz for ${where} answered 403`, fix: 'set INTAKE_HOST=127.0.0.1 (this machine only), or set INTAKE_TOKEN on the service to accept other host names' }]);
    }
    if (h && (h.status === 'up' || h.status === 'down') && Object.keys(h).length === 1) {
      return warn(name, `a Phoenix with INTAKE_TOKEN runs at http://${where} (${h.status}); it shows no detail without its token`, [{ problem: 'the running service did not accept this INTAKE_TOKEN (or none is set here)', fix: 'set INTAKE_TOKEN to the value the service runs with' }]);
    }
    return fail(name, `${where} is used by another program`, [{ problem: `GET /healthz on ${where} answered ${answered.status}, not as Phoenix`, fix: 'stop that program, or set INTAKE_PORT to a free port' }]);
  }
  const l = await deps.listenProbe(host, port);
  if (l.ok) return ok(name, `${where} is free: npm start will listen there (POST /v1/intents)`);
  switch (l.code) {
    case 'EADDRINUSE':
      return fail(name, `${where} is in use by another program`, [{ problem: `port ${port} is taken and does not answer GET /healthz`, fix: 'stop that program (or a hung Phoenix), or set INTAKE_PORT to a free port' }]);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return fail(name, `INTAKE_HOST ${host} is not an address of this machine`, [{ problem: `cannot listen on ${where} (${l.code})`, fix: ENV_FIXES.INTAKE_HOST! }]);
    case 'EACCES':
      return fail(name, `no permission to listen on ${where}`, [{ problem: `ports below 1024 need extra privileges (${l.code})`, fix: 'use a port above 1023, e.g. INTAKE_PORT=8787' }]);
    default:
      return fail(name, `cannot listen on ${where} (${l.code})`, [{ problem: `listen failed: ${l.code}`, fix: 'check INTAKE_HOST and INTAKE_PORT' }]);
  }
}

export function checkIntakeAuth(e: DoctorEnv): CheckResult {
  const name = 'intake auth';
  const skipped = needs(name, e, ['INTAKE_HOST', 'INTAKE_TOKEN']);
  if (skipped) return skipped;
  const { INTAKE_HOST: host, INTAKE_TOKEN: token } = e.env;
  if (token) return ok(name, `bearer token required (INTAKE_TOKEN is set; ${token.length} characters, not shown)`);
  if (isLoopbackHost(host)) return ok(name, `no INTAKE_TOKEN: intake on ${host} accepts requests from this machine only`);
  return warn(name, `no INTAKE_TOKEN while intake listens on ${host}`, [
    {
      problem: `INTAKE_HOST=${host} is reachable from other machines, but without INTAKE_TOKEN every remote request is refused (401): only this machine can submit`,
      fix: 'set INTAKE_TOKEN=$(openssl rand -hex 24) and send Authorization: Bearer $INTAKE_TOKEN — or INTAKE_HOST=127.0.0.1 if only local strategies submit',
    },
  ]);
}

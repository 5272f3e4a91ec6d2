/**
 * `phoenix doctor` checks (SPEC 2): each is a small function of its inputs (the environment
 * view, and injected network probes / fetch) returning one CheckResult: a status, a one-line
 * summary, and the problems found with their fixes. Nothing here prints; doctor.ts renders
 * and redacts. No check ever puts a secret into its result on purpose (the renderer redacts
 * them anyway, as a second line of defence).
 *
 * This file: the result helpers, the environment view, and the config, database and audit-chain
 * checks; the broker, Telegram and intake checks live in doctor.broker.ts, doctor.telegram.ts and
 * doctor.intake.ts.
 */
import { accessSync, constants, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { checkEnv } from '../config/env.check.js';
import type { Env } from '../config/env.schema.js';
import { ConfigError, displayPath, loadConfig, mergedEnv } from '../config/load.js';
import { ChainVerifier } from '../engine/index.js';
import { redactPostgresUrl } from '../store/db-path.js';
import { databaseTarget, openReader, type DatabaseTarget, type SchemaFacts } from '../store/inspect.js';
import { listMigrations } from '../store/migrate.js';

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

export const result = (name: string, status: CheckStatus, summary: string, findings: Finding[] = [], notes: string[] = []): CheckResult => ({ name, status, summary, findings, notes });
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

export const isLoopbackHost = (h: string) => h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
const isAnyHost = (h: string) => h === '0.0.0.0' || h === '::';
/** where a client on this machine reaches a server bound to `host` */
export const clientHost = (host: string) => (isAnyHost(host) ? '127.0.0.1' : host);
export const hostPort = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

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
  readonly target: DatabaseTarget;
  /** the database exists, opens, and its schema is current (the audit check may read it) */
  readonly usable: boolean;
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

/** Migrations pending, none applied, or all applied: the schema part of the database check. */
function schemaVerdict(name: string, shown: string, facts: SchemaFacts): { result: CheckResult; usable: boolean } | null {
  const { pending, total } = facts;
  if (pending.length === total) {
    // nothing applied yet: a new (empty) database, which the first start migrates
    return { result: warn(name, `${shown}: empty database (no migrations applied yet)`, [{ problem: `${total} migration${total === 1 ? '' : 's'} to apply`, fix: MIGRATE_FIX }]), usable: false };
  }
  if (pending.length) {
    const problem = `${pending.length} of ${total} migration${total === 1 ? '' : 's'} not applied: ${pending.join(', ')} (the schema is older than this code)`;
    return { result: fail(name, `${shown}: schema out of date`, [{ problem, fix: MIGRATE_FIX }]), usable: false };
  }
  return null;
}

/** A PostgreSQL server (issue 18): it answers, and the schema is current. */
async function checkPostgres(name: string, target: Extract<DatabaseTarget, { kind: 'postgres' }>): Promise<DatabaseCheck> {
  const shown = redactPostgresUrl(target.url);
  let facts: SchemaFacts;
  try {
    const reader = await openReader(target);
    try {
      facts = await reader.schema();
    } finally {
      await reader.close();
    }
  } catch (err) {
    const why = (err as Error).message.split(target.url).join(shown);
    return { result: fail(name, `${shown} cannot be reached`, [{ problem: `PostgreSQL: ${why}`, fix: 'check that the server runs and that DATABASE_URL names it right (host, port, user, password, database)' }]), target, usable: false };
  }
  const verdict = schemaVerdict(name, shown, facts);
  if (verdict) return { ...verdict, target };
  return { result: ok(name, `${shown}: connects, ${facts.total}/${facts.total} migrations applied`), target, usable: true };
}

export async function checkDatabase(e: DoctorEnv, cwd: string): Promise<DatabaseCheck> {
  const name = 'database';
  const skipped = needs(name, e, ['DATABASE_URL']);
  const target = databaseTarget(e.env.DATABASE_URL, cwd);
  if (skipped) return { result: skipped, target, usable: false };
  if (target.kind === 'postgres') return checkPostgres(name, target);
  const file = target.file;
  const shown = displayPath(file, cwd);
  const dirOk = writableDir(dirname(file));
  if (!dirOk.ok) return { result: fail(name, `${shown}: directory not usable`, [dirOk]), target, usable: false };
  if (!existsSync(file)) {
    const n = listMigrations().length;
    return { result: warn(name, `${shown} does not exist yet`, [{ problem: `no database file yet (${n} migration${n === 1 ? '' : 's'} to apply)`, fix: `${MIGRATE_FIX}; it creates ${shown}` }]), target, usable: false };
  }
  try {
    if (statSync(file).isDirectory()) return { result: fail(name, `${shown} is a directory`, [{ problem: `${shown} is a directory, not a database file`, fix: 'point DATABASE_URL at a file, e.g. file:./data/phoenix.db' }]), target, usable: false };
    accessSync(file, constants.R_OK | constants.W_OK);
  } catch (err) {
    return { result: fail(name, `${shown} is not writable`, [{ problem: `${shown} cannot be written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, fix: `give the service user read/write access to ${shown} (chown/chmod)` }]), target, usable: false };
  }
  let facts: SchemaFacts;
  try {
    const reader = await openReader(target);
    try {
      facts = await reader.schema();
    } finally {
      await reader.close();
    }
  } catch (err) {
    return {
      result: fail(name, `${shown} cannot be opened`, [{ problem: `SQLite: ${(err as Error).message}`, fix: 'restore the file from a backup, or point DATABASE_URL at a new file (npm start creates and migrates it)' }]),
      target,
      usable: false,
    };
  }
  const verdict = schemaVerdict(name, shown, facts);
  if (verdict) return { ...verdict, target };
  const journal = facts.journalMode ?? '';
  if (journal.toLowerCase() !== 'wal') {
    return {
      result: warn(name, `${shown}: journal mode ${journal}, not WAL`, [{ problem: `journal mode is ${journal}: readers would block the writer`, fix: 'npm start switches it to WAL; if it stays, keep the file on a local disk (WAL needs shared memory, not a network share)' }]),
      target,
      usable: true,
    };
  }
  return { result: ok(name, `${shown}: opens, WAL, ${facts.total}/${facts.total} migrations applied`), target, usable: true };
}

// ---------------------------------------------------------------------------------------
// audit chain (quick: the last N beads)

export async function checkAuditChain(target: DatabaseTarget, lastN = 1000): Promise<CheckResult> {
  const name = 'audit chain';
  const reader = await openReader(target);
  let tail: Awaited<ReturnType<typeof reader.beadTail>>;
  try {
    tail = await reader.beadTail(lastN);
  } finally {
    await reader.close();
  }
  const { total, beads: rows } = tail;
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

/** The fetch the network checks use (injected: tests answer it). */
export type FetchLike = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{ status: number; text(): Promise<string> }>;

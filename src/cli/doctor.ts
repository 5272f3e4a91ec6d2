/**
 * `phoenix doctor` (SPEC 2): checks configuration, the running service (issue 16: its broker is
 * the one checked), database, audit chain, broker, Telegram and intake, and prints one line per check (OK / WARN / FAIL / SKIP) with each problem and its
 * fix indented under it, then a summary. Exit 0 when nothing FAILed, 1 otherwise.
 *
 * The checks live in doctor.checks.ts (+ doctor.broker/telegram/intake.ts) as small functions of their inputs; this file supplies
 * the real probes (fetch, TCP connect, listen, the IBKR adapter), runs them, and renders the
 * report with every secret redacted (bot token, intake token, webhook secret), whatever
 * text they ended up in.
 */
import net from 'node:net';
import { SECRET_ENV } from '../config/env.schema.js';
import { loadConfig } from '../config/load.js';
import { silentLogger } from '../engine/index.js';
import { systemClock } from '../runtime/system-clock.js';
import type { CliContext, CliIo } from './context.js';
import { asServiceRuns, checkService } from './doctor.service.js';
import { findService } from './service-client.js';
import { checkBroker, type AccountRules, type IbkrProbe, type TcpProbe } from './doctor.broker.js';
import { checkAuditChain, checkConfig, checkDatabase, readDoctorEnv, skip, type CheckResult, type FetchLike } from './doctor.checks.js';
import { checkIntake, checkIntakeAuth, type ListenProbe } from './doctor.intake.js';
import { checkTelegramBot, checkTelegramChat, checkTelegramUpdates } from './doctor.telegram.js';

export interface DoctorDeps {
  readonly fetch: FetchLike;
  readonly tcpProbe: TcpProbe;
  readonly listenProbe: ListenProbe;
  /** null: TCP reachability only (no adapter) */
  readonly ibkr: (() => Promise<{ probe: IbkrProbe; rules: AccountRules } | null>) | null;
  readonly now: () => number;
  /** per network step (Telegram calls, TCP connect); the IB handshake gets at least 4 s */
  readonly timeoutMs: number;
}

export interface DoctorOptions {
  readonly env: Record<string, string | undefined>;
  readonly cwd: string;
  /** verify the last N beads (0 = skip the audit check) */
  readonly beads?: number;
  readonly deps?: Partial<DoctorDeps>;
}

export interface DoctorReport {
  readonly results: readonly CheckResult[];
  readonly exitCode: number;
  /** the rendered, redacted report */
  readonly lines: readonly string[];
}

// --- real probes

export const tcpProbe: TcpProbe = (host, port, timeoutMs) =>
  new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (r: { ok: true } | { ok: false; code: string }) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, code: 'TIMEOUT' }), timeoutMs);
    socket.once('connect', () => done({ ok: true }));
    socket.once('error', (e: NodeJS.ErrnoException) => done({ ok: false, code: e.code ?? 'ERROR' }));
  });

export const listenProbe: ListenProbe = (host, port) =>
  new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, code: e.code ?? 'ERROR' }));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve({ ok: true })));
  });

/** The IBKR adapter, read-only: OBSERVE mode (never submits), its own client id, short timeouts. */
async function loadIbkr(): Promise<{ probe: IbkrProbe; rules: AccountRules } | null> {
  let mod: typeof import('../broker/ibkr/index.js');
  try {
    mod = await import('../broker/ibkr/index.js');
  } catch {
    return null;
  }
  const probe: IbkrProbe = async ({ host, port, clientId, timeoutMs }) => {
    const broker = new mod.IbkrBroker({
      host,
      port,
      clientId,
      mode: 'observe',
      allowLive: false,
      clock: systemClock,
      logger: silentLogger,
      connectTimeoutMs: timeoutMs,
      requestTimeoutMs: 3000,
      reconnect: { maxAttempts: 0 },
    });
    try {
      await broker.connect();
      const nl = broker.health().account?.netLiquidation;
      return { ok: true, accounts: [...broker.managedAccounts], serverVersion: broker.serverVersion, ...(nl !== undefined ? { netLiquidation: nl } : {}) };
    } catch (e) {
      return { ok: false, message: (e as Error).message, accounts: [...broker.managedAccounts] };
    } finally {
      await broker.disconnect().catch(() => {});
    }
  };
  return { probe, rules: { pickAccount: mod.pickAccount, checkAccountForMode: mod.checkAccountForMode } };
}

const realFetch: FetchLike = (url, init) => fetch(url, init);

export const DEFAULT_DEPS: DoctorDeps = { fetch: realFetch, tcpProbe, listenProbe, ibkr: loadIbkr, now: () => Date.now(), timeoutMs: 5000 };

// --- rendering

/** Replace every secret (and the secret half of a bot token) wherever it appears. */
export function redactor(raw: Readonly<Record<string, string | undefined>>): (s: string) => string {
  const secrets = new Set<string>();
  for (const k of SECRET_ENV) {
    const v = raw[k];
    if (!v) continue;
    secrets.add(v);
    if (k === 'TELEGRAM_BOT_TOKEN') {
      const half = v.slice(v.indexOf(':') + 1);
      if (half.length >= 8) secrets.add(half);
    }
    if (v.length >= 8) secrets.add(encodeURIComponent(v));
  }
  const list = [...secrets].sort((a, b) => b.length - a.length);
  return (s) => list.reduce((acc, secret) => acc.split(secret).join('[redacted]'), s);
}

const NAME_WIDTH = 17;

export function renderReport(results: readonly CheckResult[], cwd: string): { lines: string[]; exitCode: number } {
  const lines = [`Phoenix doctor (${cwd})`, ''];
  for (const r of results) {
    lines.push(`${r.status.padEnd(5)} ${r.name.padEnd(NAME_WIDTH)} ${r.summary}`);
    for (const f of r.findings) {
      lines.push(`        problem: ${f.problem}`);
      for (const l of f.excerpt ?? []) lines.push(`                 ${l}`);
      if (f.fix) lines.push(`        fix:     ${f.fix}`);
    }
    for (const n of r.notes) lines.push(`        note:    ${n}`);
  }
  const count = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  const failed = count('FAIL');
  const warned = count('WARN');
  const skipped = count('SKIP');
  const verdict = failed
    ? `fix the FAIL lines above, then run phoenix doctor again`
    : warned
      ? 'Phoenix can start; read the WARN lines'
      : 'all good: npm start';
  lines.push('', `${results.length} checks: ${count('OK')} OK, ${warned} WARN, ${failed} FAIL${skipped ? `, ${skipped} SKIP` : ''} — ${verdict}`);
  return { lines, exitCode: failed ? 1 : 0 };
}

// --- running

export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const deps: DoctorDeps = { ...DEFAULT_DEPS, ...opts.deps };
  const e = readDoctorEnv(opts.env, opts.cwd);
  const config = checkConfig(opts.env, opts.cwd);
  const db = await checkDatabase(e, opts.cwd);
  const beads = opts.beads ?? 1000;
  const audit = async (): Promise<CheckResult> => {
    if (beads <= 0) return skip('audit chain', 'not checked (--beads 0)');
    if (!db.usable) return skip('audit chain', 'not checked: the database is not usable (see database)');
    try {
      return await checkAuditChain(db.target, beads);
    } catch (err) {
      return skip('audit chain', `not checked: ${(err as Error).message}`);
    }
  };
  const tg = { fetch: deps.fetch, timeoutMs: deps.timeoutMs };
  // the running service (issue 16): its own broker is what doctor checks, not this shell's idea of it
  const found = await findService({ env: opts.env, cwd: opts.cwd, fetch: deps.fetch, timeoutMs: Math.min(deps.timeoutMs, 2000) });
  const service = checkService(found, () => loadConfig(opts.env, opts.cwd), opts.cwd);
  const be = found.kind === 'running' ? asServiceRuns(e, found.admin.service) : e;
  const ibkr = be.env.BROKER === 'ibkr' && deps.ibkr ? await deps.ibkr() : null;
  const [brokerChecked, telegram, intake] = await Promise.all([
    checkBroker(be, { tcpProbe: deps.tcpProbe, ibkrProbe: ibkr?.probe ?? null, accountRules: ibkr?.rules ?? null, timeoutMs: Math.min(deps.timeoutMs, 2500) }),
    (async () => {
      const bot = await checkTelegramBot(e, tg);
      const [updates, chat] = await Promise.all([checkTelegramUpdates(e, tg, bot.reachable, deps.now()), checkTelegramChat(e, tg, bot.reachable)]);
      return [bot.result, updates, chat];
    })(),
    checkIntake(e, { fetch: deps.fetch, listenProbe: deps.listenProbe, timeoutMs: Math.min(deps.timeoutMs, 1500) }),
  ]);
  const broker = found.kind === 'running' ? { ...brokerChecked, notes: [...brokerChecked.notes, `checked as the running service uses it (broker ${found.admin.service.broker.name}, ${found.admin.service.mode.toUpperCase()} mode), whatever this shell's configuration says`] } : brokerChecked;
  const results = [config, service, db.result, await audit(), broker, ...telegram, intake, checkIntakeAuth(e)];
  const redact = redactor(e.raw);
  const { lines, exitCode } = renderReport(results, opts.cwd);
  return { results, exitCode, lines: lines.map(redact) };
}

/** The `phoenix doctor` row of the CLI table. */
export async function doctorCommand(ctx: CliContext, args: string[]): Promise<number> {
  const i = args.indexOf('--beads');
  const beads = i >= 0 ? Number(args[i + 1]) : 1000;
  if (!Number.isInteger(beads) || beads < 0) {
    ctx.io.err('--beads needs a whole number (0 skips the audit check)');
    return 2;
  }
  // CliContext keeps the environment it was given private; doctor needs the raw values
  // (it must run when they do not validate), so it reads them through an index access.
  const env = ctx.env as Record<string, string | undefined>;
  const cwd = ctx.cwd as string;
  return printDoctor(ctx.io, { env, cwd, beads });
}

export async function printDoctor(io: Pick<CliIo, 'out'>, opts: DoctorOptions): Promise<number> {
  const report = await runDoctor(opts);
  for (const l of report.lines) io.out(l);
  return report.exitCode;
}

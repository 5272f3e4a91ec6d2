/**
 * Spawning the REAL service the way `npm start` runs it (package.json "start", replayed with
 * the repository's tsx and absolute source paths, because the working directory is a bare temp
 * dir holding only a copy of config/), with an otherwise EMPTY environment (PATH, HOME and
 * whatever the test passes). Shared by the test/e2e files that spawn the service (and a few others for freePort/until).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inheritedFaketime } from '../support/faketime.js';
import { readmeIntentBody, readmeTimestamp } from '../support/fixtures.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const SANDBOX_CHAT = -1001001;

/** The node arguments of package.json's "start" script with absolute paths. */
export function npmStartArgs(): string[] {
  const script = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const words = script.trim().split(/\s+/);
  const req = createRequire(join(repoRoot, 'package.json'));
  const abs = (w: string) => (w.startsWith('-') ? w : join(repoRoot, w));
  if (words[0] === 'tsx') return [req.resolve('tsx/cli'), ...words.slice(1).map(abs)];
  if (words[0] !== 'node') throw new Error(`npm start runs something this test does not know how to replay: ${script}`);
  const args: string[] = [];
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if ((w === '--import' || w === '--loader') && words[i + 1]) args.push(w, pathToFileURL(req.resolve(words[++i]!)).href);
    else args.push(abs(w));
  }
  return args;
}

/** A port nobody listens on right now (the OS picks it). */
export { freePort } from '../support/ports.js';

/** true when something accepts connections on 127.0.0.1:port. */
export function portBusy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** Poll `probe` every `everyMs` until it returns a value other than undefined, or fail after `timeoutMs`. */
export async function until<T>(probe: () => Promise<T | undefined> | T | undefined, opts: { timeoutMs: number; everyMs?: number; label: string }): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.label}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 100));
  }
}

export interface RunningService {
  readonly child: ChildProcess;
  readonly dir: string;
  /** http://127.0.0.1:PORT (no path) */
  readonly intakeUrl: string;
  /** the printed sandbox console address, e.g. http://127.0.0.1:8788/ ('' with TELEGRAM_BOT_TOKEN: no sandbox) */
  readonly consoleUrl: string;
  /** the service's own clock (pinned with `clockAt`, else the wall clock), epoch ms */
  now(): number;
  stdout(): string;
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * true while a process of group `pgid` still runs (zombies waiting to be reaped do not count).
 * Linux /proc: `process.kill(-pgid, 0)` alone would also count zombies.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') return true;
    } catch {
      /* gone meanwhile */
    }
  }
  return false;
}

/** Debian's libfaketime front end: pins a child's wall clock without touching production code. */
export const FAKETIME = '/usr/bin/faketime';

export interface StartOptions {
  readonly timeoutMs?: number;
  /**
   * Start the service's wall clock at this instant (ISO, UTC) and let it run from there, so a
   * test that depends on New York hours gets the same answer at any hour of any day. Uses
   * `faketime` (apt package faketime, installed by .ci/run); a missing binary is a failure.
   */
  readonly clockAt?: string;
  /** run in this directory (kept on stop: the caller owns it) instead of a fresh temp copy */
  readonly dir?: string;
  /** arguments after `npm start --`, e.g. ['--demo'] */
  readonly args?: readonly string[];
}

/** A temp directory holding a copy of config/, as a new install has it. */
export function freshInstallDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-console-'));
  cpSync(join(repoRoot, 'config'), join(dir, 'config'), { recursive: true });
  return dir;
}

/** `faketime` arguments that start a child's wall clock at `at` (epoch ms) and let it run. */
export function faketimeArgs(at: number): string[] {
  if (!existsSync(FAKETIME)) throw new Error(`${FAKETIME} is missing: apt-get install -y faketime (.ci/run installs it)`);
  // "@" = start the clock at that instant and let it tick; -f = the faketime spec format
  return ['-f', `@${new Date(at).toISOString().slice(0, 19).replace('T', ' ')}`];
}

/**
 * `npx phoenix ARGS` as a real process (bin/phoenix.mjs) in `cwd` with an otherwise EMPTY
 * environment, its clock started at `clockAt` (epoch ms) when given.
 */
export function runPhoenixCli(args: readonly string[], opts: { cwd: string; env?: Record<string, string>; clockAt?: number; timeoutMs?: number }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const bin = join(repoRoot, 'bin', 'phoenix.mjs');
  const [cmd, argv] = opts.clockAt === undefined ? [process.execPath, [bin, ...args]] : [FAKETIME, [...faketimeArgs(opts.clockAt), process.execPath, bin, ...args]];
  const child = spawn(cmd, argv, {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? opts.cwd, ...(opts.clockAt !== undefined ? { TZ: 'UTC' } : inheritedFaketime()), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`phoenix ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 60_000} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export class StartError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

/**
 * Start the service in a fresh temp dir (copy of config/) and resolve once it has printed its
 * intake and sandbox console lines (only the intake line when env has TELEGRAM_BOT_TOKEN). Rejects (and cleans up) if it exits first or takes longer
 * than `timeoutMs`.
 */
export function startService(env: Record<string, string>, opts: StartOptions = {}): Promise<RunningService> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const owned = opts.dir === undefined;
  const dir = opts.dir ?? freshInstallDir();
  let cmd = process.execPath;
  let args = [...npmStartArgs(), ...(opts.args ?? [])];
  const spawnedAt = Date.now();
  const clockAt = opts.clockAt ? Date.parse(opts.clockAt) : undefined;
  if (opts.clockAt) {
    if (!Number.isFinite(clockAt)) throw new Error(`clockAt ${opts.clockAt} is not an ISO time`);
    args = [...faketimeArgs(clockAt!), cmd, ...args];
    cmd = FAKETIME;
  }
  const now = () => (clockAt === undefined ? Date.now() : clockAt + (Date.now() - spawnedAt));
  const child = spawn(cmd, args, {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? dir, ...(opts.clockAt ? { TZ: 'UTC' } : inheritedFaketime()), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group: stop() ends the service and anything it spawned, nothing else
  });
  let out = '';
  let err = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.pid && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 5_000);
      await exited;
      // With clockAt the child is faketime, which dies at the signal while the service it runs
      // is still shutting down (its intake may answer for a moment): wait for the whole group.
      const deadline = Date.now() + 10_000;
      while (groupAlive(child.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      clearTimeout(timer);
    }
    if (owned) rmSync(dir, { recursive: true, force: true });
  };
  return new Promise<RunningService>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      void stop().then(() => reject(new StartError(`${why}\nstdout:\n${out}\nstderr:\n${err}`, out + err)));
    };
    const timer = setTimeout(() => fail(`the service printed no intake/console lines within ${timeoutMs} ms`), timeoutMs);
    const check = () => {
      const intake = /intake:\s+(http:\/\/\S+)\/v1\/intents/.exec(out)?.[1];
      // with a bot token there is no sandbox (the test runs its own Bot API at TELEGRAM_API_ROOT)
      const consoleUrl = env.TELEGRAM_BOT_TOKEN ? '' : /SANDBOX chat:\s+(http:\/\/\S+)/.exec(out)?.[1];
      if (!intake || consoleUrl === undefined || !out.includes('stop:')) return;
      clearTimeout(timer);
      child.removeListener('exit', onExit);
      resolve({ child, dir, intakeUrl: intake, consoleUrl, now, stdout: () => out, stderr: () => err, stop });
    };
    const onExit = (code: number | null) => fail(`the service exited early with ${code}`);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      check();
    });
    child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.once('exit', onExit);
  });
}

/** The README's curl intent (same JSON), with a unique signalId and a stateAsOf fresh on the service's clock. */
export function readmeIntent(over: Record<string, unknown> = {}, nowMs = Date.now()): Record<string, unknown> {
  return readmeIntentBody(`readme-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`, readmeTimestamp(nowMs), over);
}

export interface IntentAnswer {
  intentId: string;
  state: string;
  denials: { gate: string; code: string; message: string }[];
}

/** POST /v1/intents like the README's curl. */
export async function submitIntent(intakeUrl: string, intent: Record<string, unknown>): Promise<{ status: number; body: IntentAnswer }> {
  const res = await fetch(`${intakeUrl}/v1/intents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(intent) });
  return { status: res.status, body: (await res.json()) as IntentAnswer };
}

export interface ChatMessage {
  message_id: number;
  from_bot: boolean;
  text: string;
  edits: number;
  reply_markup?: { inline_keyboard: { text: string; callback_data?: string }[][] };
}

/** GET /sandbox/api/chat?chatId=… on the console server. */
export async function chatMessages(consoleUrl: string, chatId = SANDBOX_CHAT): Promise<ChatMessage[]> {
  const res = await fetch(new URL(`/sandbox/api/chat?chatId=${chatId}`, consoleUrl));
  if (!res.ok) throw new Error(`GET /sandbox/api/chat answered ${res.status}`);
  return ((await res.json()) as { messages: ChatMessage[] }).messages;
}

export const buttonTexts = (m: ChatMessage | undefined): string[] => m?.reply_markup?.inline_keyboard.flat().map((b) => b.text) ?? [];

/** The entry point without npm start's build step: node --import tsx src/main.ts (absolute paths). */
export function mainArgs(): string[] {
  const req = createRequire(join(repoRoot, 'package.json'));
  return ['--import', pathToFileURL(req.resolve('tsx')).href, join(repoRoot, 'src/main.ts')];
}

/**
 * Run a Phoenix entry point (node `args`) in `cwd` with only these variables (plus PATH, HOME =
 * cwd and the suite's faketime) until it exits: for starts that must fail closed. Rejects, with
 * its output, when it is still running after `timeoutMs` (it started instead).
 */
export function runToExit(what: string, args: readonly string[], cwd: string, env: Record<string, string>, timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: { PATH: process.env.PATH ?? '', HOME: cwd, ...inheritedFaketime(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not exit within ${timeoutMs} ms: it started instead of failing closed\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

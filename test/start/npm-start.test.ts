/**
 * `npm start` on a fresh machine (SPEC 2): the service starts with NO environment beyond
 * PATH and HOME, in a directory that only has config/, creates ./data/phoenix.db, serves
 * /healthz, and answers the README's curl intent with 202. Uses the fixed default port
 * 8787 — no other test may use it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const BASE = 'http://127.0.0.1:8787';

let child: ChildProcess | undefined;
let dir: string;
let stdout = '';
let stderr = '';

/**
 * The node arguments of package.json's "start" script (`node --import tsx src/main.ts`, or
 * the older `tsx src/main.ts`), with the repository's tsx and absolute source paths: the
 * working directory is a bare temp dir without node_modules.
 */
function npmStartArgs(): string[] {
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

function waitForIntakeLine(p: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no intake line within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`)), timeoutMs);
    const check = () => {
      const line = stdout.split('\n').find((l) => /intake:\s+http:\/\/\S+\/v1\/intents/.test(l));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    };
    p.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      check();
    });
    p.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    p.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`service exited early with ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    });
  });
}

describe('npm start', () => {
  let intakeLine = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'phoenix-start-'));
    cpSync(join(repoRoot, 'config'), join(dir, 'config'), { recursive: true });
    // exactly what `npm start` runs (package.json "start"), with an otherwise EMPTY environment;
    // tsx is resolved from the repository because the working directory has no node_modules
    child = spawn(process.execPath, npmStartArgs(), {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? dir },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group: afterAll stops the service (and anything it spawned), nothing else
    });
    intakeLine = await waitForIntakeLine(child, 25_000);
  }, 30_000);

  afterAll(async () => {
    const p = child;
    if (p?.pid && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      try {
        process.kill(-p.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-p.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 5_000);
      await exited;
      clearTimeout(timer);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 15_000);

  it('prints the intake line, creates ./data/phoenix.db in the working directory, and /healthz answers 200', async () => {
    expect(intakeLine).toContain(`${BASE}/v1/intents`);
    expect(stdout).toMatch(/Phoenix is running \(PAPER mode, sim broker\)/);
    expect(stdout).toMatch(/INTAKE_TOKEN not set: intake accepts requests from this machine only/);
    expect(existsSync(join(dir, 'data', 'phoenix.db'))).toBe(true);
    const res = await fetch(`${BASE}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'ok', mode: 'paper', killActive: false });
  });

  it('the README curl intent (same JSON, POSTed with fetch) answers 202 {intentId, state, denials}; outside the session it says when the next window opens', async () => {
    const intent = {
      signalId: `readme-${process.pid}-${Date.now()}`,
      strategy: 'mes-orb',
      instrument: { symbol: 'MES', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 5 },
      side: 'BUY',
      quantity: 1,
      orderType: 'BRACKET',
      entryPrice: 6010.25,
      stopLoss: 6008.0,
      takeProfit: 6015.0,
      evidence: { setupScore: 0.82, breakdown: { trend: 0.9, momentum: 0.7, volume: 0.85 }, alignment: 'HTF up; LTF pullback to VWAP', redChecks: [{ name: 'no tier-1 news within 30 min', passed: true }], dvs: 0.93, eqs: 0.88 },
      stateHash: 'sha256:9f2c0a',
      stateAsOf: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), // as `date -u +%Y-%m-%dT%H:%M:%SZ`
      ttlSec: 300,
    };
    const res = await fetch(`${BASE}/v1/intents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(intent) });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { intentId: string; state: string; denials: { gate: string; code: string; message: string }[] };
    expect(Object.keys(body).sort()).toEqual(['denials', 'intentId', 'state']);
    expect(body.intentId).toMatch(/^int_/);
    expect(['PROPOSED', 'CANCELLED']).toContain(body.state);
    if (body.state === 'CANCELLED') {
      expect(body.denials.map((d) => d.code)).toEqual(['SESSION_CLOSED']);
      expect(body.denials[0]!.message).toMatch(/^session closed: .+; next window opens \w{3},? \d{2}:\d{2} E[SD]T$/);
    } else {
      expect(body.denials).toEqual([]);
    }
    // idempotent on signalId, also here
    const again = await fetch(`${BASE}/v1/intents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(intent) });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { intentId: string }).intentId).toBe(body.intentId);
  });
});

/**
 * Start-up time and idle memory of the real service (SPEC 16, issue 17): spawn it exactly as
 * `npm start` does (package.json "start": the compiled JavaScript, scripts/start.mjs), in an
 * empty temp directory with an empty environment, time until the ready banner, then read its
 * resident memory after it has idled.
 *
 * Same run, alternating with it on the same machine load: the same source through tsx
 * (`node --import tsx src/main.ts`, how `npm start` ran before issue 17), the yardstick for
 * what running compiled JavaScript saves. Each figure is the median of BENCH_STARTUP_RUNS
 * (default 3) starts of each. Times exclude the `npm` CLI itself (it adds its own start-up).
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { freePort, npmStartArgs } from '../test/e2e/service.js';
import { percentile, type BenchRow } from './stats.js';

const root = join(import.meta.dirname, '..');

/** Before issue 17 (bench/results.md of 2026-11-23: `node --import tsx src/main.ts`, Prisma loaded). */
export const BEFORE = { startupS: 0.887, idleMiB: 135 } as const;

interface Start {
  readonly readyS: number;
  readonly idleMiB: number;
}

async function startOnce(args: string[], idleMs: number): Promise<Start> {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-bench-start-'));
  cpSync(join(root, 'config'), join(dir, 'config'), { recursive: true });
  const env = { PATH: process.env.PATH ?? '', HOME: dir, INTAKE_PORT: String(await freePort()), SANDBOX_PORT: String(await freePort()), LOG_LEVEL: 'warn' };
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no ready banner within 30 s:\n${out}`)), 30_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('Phoenix is running')) {
          clearTimeout(timer);
          resolve(performance.now() - t0);
        }
      });
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      child.on('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
    });
    await new Promise((r) => setTimeout(r, idleMs));
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    return { readyS: readyMs / 1000, idleMiB: rssKb / 1024 };
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchStartup(idleMs = 5000, runs = Number(process.env.BENCH_STARTUP_RUNS ?? 3)): Promise<BenchRow[]> {
  const tsx = pathToFileURL(createRequire(join(root, 'package.json')).resolve('tsx')).href;
  const variants = { npm: npmStartArgs(), tsx: ['--import', tsx, join(root, 'src', 'main.ts')] };
  const got: Record<keyof typeof variants, Start[]> = { npm: [], tsx: [] };
  for (let i = 0; i < runs; i++) {
    got.npm.push(await startOnce(variants.npm, idleMs));
    got.tsx.push(await startOnce(variants.tsx, idleMs));
  }
  const med = (k: keyof typeof variants, f: keyof Start) => percentile(got[k].map((s) => s[f]), 50);
  process.stderr.write(`start-up: ${JSON.stringify(got)}\n`);
  const [readyA, readyB, idleA, idleB] = [med('npm', 'readyS'), med('tsx', 'readyS'), med('npm', 'idleMiB'), med('tsx', 'idleMiB')];
  return [
    {
      name: `start-up, npm start (spawn → ready banner, empty environment; median of ${runs})`,
      value: readyA,
      unit: 's',
      baseline: `same code via tsx ${readyB.toFixed(2)} s; before issue 17 ${BEFORE.startupS} s`,
      ratio: readyA / readyB,
      target: '≤ 1 s',
    },
    {
      name: `idle RSS after ${idleMs / 1000} s, npm start (median of ${runs})`,
      value: idleA,
      unit: 'MiB',
      baseline: `same code via tsx ${idleB.toFixed(0)} MiB; before issue 17 ${BEFORE.idleMiB} MB`,
      ratio: idleA / idleB,
      target: '≤ 100 MB (95 MiB)',
    },
  ];
}

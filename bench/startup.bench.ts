/**
 * Start-up time and idle memory of the real service (SPEC 16): spawn it exactly as
 * `npm start` does, in an empty temp directory with an empty environment, time until the
 * ready banner, then read its resident memory after it has idled.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { BenchRow } from './stats.js';

const root = join(import.meta.dirname, '..');

export async function benchStartup(idleMs = 5000): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-bench-start-'));
  cpSync(join(root, 'config'), join(dir, 'config'), { recursive: true });
  const env = { PATH: process.env.PATH ?? '', HOME: dir, INTAKE_PORT: '18787', SANDBOX_PORT: '18788', LOG_LEVEL: 'warn' };
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href, join(root, 'src', 'main.ts')], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
    return [
      { name: 'start-up (spawn → ready banner, empty environment)', value: readyMs / 1000, unit: 's', target: '≤ 2 s' },
      { name: `idle RSS after ${idleMs / 1000} s`, value: rssKb / 1024, unit: 'MB', target: '≤ 150 MB' },
    ];
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Shared by the configuration tests: a temp working directory holding a copy of the real
 * config/constitution.yaml (edited per test by replacing its real lines, so the line numbers
 * and excerpts in the messages are the ones an operator would see), and the real loader.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, type AppConfig } from '../../src/config/load.js';
import type { ConfigProblem } from '../../src/config/problems.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const REAL_CONSTITUTION = readFileSync(join(repoRoot, 'config/constitution.yaml'), 'utf8');

/** The real constitution with each [from, to] replaced once; fails the test if `from` is not in it. */
export function edited(...swaps: [string, string][]): string {
  let text = REAL_CONSTITUTION;
  for (const [from, to] of swaps) {
    if (!text.includes(from)) throw new Error(`the constitution has no "${from}" to replace`);
    text = text.replace(from, to);
  }
  return text;
}

/** 1-based line of the first line containing `needle` in `text`. */
export function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`no line contains "${needle}"`);
  return i + 1;
}

export class ConfigDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'phoenix-config-'));
  constructor() {
    mkdirSync(join(this.dir, 'config'));
    this.constitution(REAL_CONSTITUTION);
  }
  constitution(text: string): void {
    writeFileSync(join(this.dir, 'config/constitution.yaml'), text);
  }
  /** the real loader, with this directory as the working directory (only `env` in the environment) */
  load(env: Record<string, string> = {}): AppConfig {
    return loadConfig({ DATABASE_URL: `file:${join(this.dir, 'data/phoenix.db')}`, ...env }, this.dir);
  }
  /** every problem of one load, or [] when it loads */
  problems(env: Record<string, string> = {}): ConfigProblem[] {
    try {
      this.load(env);
    } catch (e) {
      if (e instanceof ConfigError) return [...e.issues];
      throw e;
    }
    return [];
  }
  /** the message `npm start` would print */
  message(env: Record<string, string> = {}): string {
    try {
      this.load(env);
    } catch (e) {
      if (e instanceof ConfigError) return e.message;
      throw e;
    }
    return '';
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The fields of a problem as one line, for readable assertions. */
export const lines = (ps: readonly ConfigProblem[]): string[] => ps.map((p) => `${p.where}: ${p.problem} → ${p.fix}`);

/** Raw validator wording that must never reach an operator. */
export const RAW_ZOD = /Invalid input|Too (small|big)|expected (number|string|object|boolean)|received |Unrecognized key|Invalid (string|option)|must match pattern/;

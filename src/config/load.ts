/**
 * Configuration loading: environment (+ optional .env) and the constitution YAML, all
 * validated before anything connects anywhere. Fails closed with every problem and its fix.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { constitutionSchema, type Constitution } from '../engine/constitution.js';
import { canonicalJson } from '../engine/canonical.js';
import type { TradingViewMapping } from '../tradingview/mapping.schema.js';
import { envSchema, SECRET_ENV, type Env } from './env.schema.js';
import { loadTradingViewMapping } from './tradingview.load.js';

export interface AppConfig {
  readonly env: Env;
  readonly constitution: Constitution;
  readonly constitutionPath: string;
  /** the TradingView mapping (config/tradingview.yaml), loaded when TRADINGVIEW_PASSPHRASE is set */
  readonly tradingview?: TradingViewMapping;
  /** sha256 over the non-secret settings and the constitution (CONFIG bead) */
  readonly digest: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Phoenix will not start: ${problems.length} configuration problem${problems.length > 1 ? 's' : ''}\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parse a .env file (KEY=value, # comments, optional quotes). Existing variables win. */
export function readDotEnv(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const raw of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2] ?? '';
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}

export function loadConstitution(path: string): { ok: true; value: Constitution } | { ok: false; problems: string[] } {
  if (!existsSync(path)) return { ok: false, problems: [`CONSTITUTION_PATH: ${path} does not exist (copy config/constitution.yaml from the repository)`] };
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    return { ok: false, problems: [`${path}: not valid YAML: ${(e as Error).message.split('\n')[0]}`] };
  }
  const r = constitutionSchema.safeParse(doc ?? {});
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, problems: r.error.issues.map((i) => `${path}: ${i.path.join('.') || '(root)'}: ${i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')}` : i.message}`) };
}

export function loadConfig(source: Record<string, string | undefined> = process.env, cwd = process.cwd()): AppConfig {
  const merged: Record<string, string | undefined> = { ...readDotEnv(resolve(cwd, '.env')), ...source };
  // Empty strings mean "not set" (service files often carry KEY= lines).
  for (const k of Object.keys(merged)) if (merged[k] === '') delete merged[k];
  const problems: string[] = [];
  const envResult = envSchema.safeParse(merged);
  if (!envResult.success) {
    for (const i of envResult.error.issues) problems.push(`${i.path.join('.') || 'environment'}: ${i.message}`);
  }
  const constitutionPath = resolve(cwd, merged.CONSTITUTION_PATH ?? 'config/constitution.yaml');
  const c = loadConstitution(constitutionPath);
  if (!c.ok) problems.push(...c.problems);
  // The TradingView route is on only with a passphrase; then its mapping must be valid too.
  let tradingview: TradingViewMapping | undefined;
  if (merged.TRADINGVIEW_PASSPHRASE) {
    const mappingPath = merged.TRADINGVIEW_MAPPING_PATH ?? 'config/tradingview.yaml';
    const t = loadTradingViewMapping(resolve(cwd, mappingPath), mappingPath);
    if (t.ok) tradingview = t.value;
    else problems.push(...t.problems);
  }
  if (problems.length || !envResult.success || !c.ok) throw new ConfigError(problems);
  const env = envResult.data;
  const publicEnv = Object.fromEntries(Object.entries(env).filter(([k]) => !(SECRET_ENV as readonly string[]).includes(k)));
  const digest = createHash('sha256').update(canonicalJson({ env: publicEnv, constitution: c.value, ...(tradingview ? { tradingview } : {}) })).digest('hex');
  return { env, constitution: c.value, constitutionPath, digest, ...(tradingview ? { tradingview } : {}) };
}

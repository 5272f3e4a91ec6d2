/**
 * Configuration loading: environment (+ optional .env) and the constitution YAML, all
 * validated before anything connects anywhere. Fails closed with every problem and its fix.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { canonicalJson, defaultConstitution, timeOrNull, windowContains, windowLabel, type AlertLevels, type Constitution } from '../engine/index.js';
import type { TradingViewMapping } from '../tradingview/mapping.schema.js';
import { DEFAULT_ALERTS_CONFIG, loadAlertLevels } from './alerts.load.js';
import { checkConstitution, type ConstitutionCheck } from './constitution.load.js';
import { checkEnv, type EnvCheck } from './env.check.js';
import { SECRET_ENV, type Env } from './env.schema.js';
import { problemLine, type ConfigProblem } from './problems.js';
import { loadTradingViewMapping } from './tradingview.load.js';

export interface AppConfig {
  readonly env: Env;
  readonly constitution: Constitution;
  readonly constitutionPath: string;
  /** the TradingView mapping (config/tradingview.yaml), loaded when TRADINGVIEW_PASSPHRASE is set */
  readonly tradingview?: TradingViewMapping;
  /** notification level per alert type (config/alerts.yaml); absent or missing type = on */
  readonly alerts?: AlertLevels;
  /** sha256 over the non-secret settings and the constitution (CONFIG bead) */
  readonly digest: string;
}

/** Every configuration problem at once, each with its fix (the message is what `npm start` prints). */
export class ConfigError extends Error {
  /** one line per problem: `where: problem → fix` */
  readonly problems: readonly string[];
  constructor(readonly issues: readonly ConfigProblem[]) {
    const n = issues.length;
    const body = issues.map((p) => [`  - ${problemLine(p)}`, ...(p.excerpt ?? []).map((l) => `      ${l}`)].join('\n'));
    super(`Phoenix will not start: ${n} configuration problem${n === 1 ? '' : 's'}\n${body.join('\n')}`);
    this.name = 'ConfigError';
    this.problems = issues.map(problemLine);
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

/** The constitution file alone: its value, or every problem as one line (`where: problem → fix`). */
export function loadConstitution(path: string): { ok: true; value: Constitution } | { ok: false; problems: string[] } {
  const c = checkConstitution(path);
  return c.ok ? { ok: true, value: c.value } : { ok: false, problems: c.problems.map(problemLine) };
}

const MAPPING_FIX = 'correct it: the comments in config/tradingview.yaml explain every field (or unset TRADINGVIEW_PASSPHRASE to turn the TradingView route off)';
/** A mapping problem line (`file:line: path: message`) as a ConfigProblem. */
function mappingProblem(line: string): ConfigProblem {
  const cut = line.indexOf(': ');
  return cut < 0 ? { where: 'TRADINGVIEW_MAPPING_PATH', problem: line, fix: MAPPING_FIX } : { where: line.slice(0, cut), problem: line.slice(cut + 2), fix: MAPPING_FIX };
}

const ALERTS_FIX = 'correct it: config/alerts.yaml explains the levels (on, silent, off); CRITICAL types are always on';
/** An alert-levels problem line (`file:line: message`) as a ConfigProblem. */
function alertsProblem(line: string): ConfigProblem {
  const cut = line.indexOf(': ');
  return cut < 0 ? { where: 'ALERTS_CONFIG_PATH', problem: line, fix: ALERTS_FIX } : { where: line.slice(0, cut), problem: line.slice(cut + 2), fix: ALERTS_FIX };
}

/** relative to the working directory when inside it, else absolute */
export const displayPath = (file: string, cwd: string): string => {
  const rel = relative(cwd, file);
  return !rel || rel.startsWith('..') || isAbsolute(rel) ? file : rel;
};

/** The environment merged as the service reads it: `.env` under the existing variables; empty = unset. */
export function mergedEnv(source: Record<string, string | undefined>, cwd: string): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = { ...readDotEnv(resolve(cwd, '.env')), ...source };
  for (const k of Object.keys(merged)) if (merged[k] === '' || merged[k] === undefined) delete merged[k];
  return merged;
}

/**
 * Rules between the environment and the constitution: real money never runs on the demo
 * constitution or with session windows switched off. Looks at the parsed YAML, so it is
 * reported in the same round as any other problem of the file.
 */
function crossProblems(mode: Env['TRADING_MODE'] | undefined, raw: unknown, file: string): ConfigProblem[] {
  if (mode !== 'live' || !raw || typeof raw !== 'object') return [];
  const doc = raw as { demo?: unknown; session?: { enforce?: unknown } };
  if (doc.demo === true) return [{ where: 'CONSTITUTION_PATH', problem: `TRADING_MODE=live with the DEMO constitution ${file} (its session windows are always open)`, fix: 'point CONSTITUTION_PATH at config/constitution.yaml for real money, or use TRADING_MODE=paper for the demo' }];
  if (doc.session && typeof doc.session === 'object' && doc.session.enforce === false) return [{ where: `constitution session.enforce (${file})`, problem: 'is false (session windows not enforced) but TRADING_MODE=live', fix: 'set session.enforce: true for real money, or use TRADING_MODE=paper' }];
  return [];
}

/**
 * IB Gateway's restart window against the constitution: the gateway must not be restarting at
 * the flatten deadline (positions could not be closed). Only with BROKER=ibkr. Reads the
 * parsed YAML, so it is reported in the same round as any other problem of the file (a
 * flattenAt that is itself invalid is reported as that).
 */
function gatewayProblems(env: EnvCheck, c: ConstitutionCheck): ConfigProblem[] {
  const w = env.invalid.has('IB_RESTART_WINDOW') ? null : env.view.IB_RESTART_WINDOW;
  if (env.view.BROKER !== 'ibkr' || env.invalid.has('BROKER') || !w) return [];
  const session = c.raw && typeof c.raw === 'object' ? (c.raw as { session?: unknown }).session : undefined;
  const given = session && typeof session === 'object' ? (session as { flattenAt?: unknown }).flattenAt : undefined;
  const flattenAt = given === undefined ? defaultConstitution().session.flattenAt : given;
  const at = timeOrNull(flattenAt);
  if (at === null || !windowContains(w, at)) return [];
  return [{ where: 'IB_RESTART_WINDOW', problem: `is ${windowLabel(w)}, which holds the ${String(flattenAt)} flatten deadline (constitution session.flattenAt): the gateway would be restarting when Phoenix must close positions`, fix: 'move the gateway\'s daily auto-restart (IB Gateway: Configure → Settings → Lock and Exit) and IB_RESTART_WINDOW outside trading hours, e.g. IB_RESTART_WINDOW=23:45-00:05' }];
}

/**
 * Environment and constitution, checked in one round before anything connects anywhere: throws
 * one ConfigError listing every problem with its fix.
 */
export function loadConfig(source: Record<string, string | undefined> = process.env, cwd = process.cwd()): AppConfig {
  const merged = mergedEnv(source, cwd);
  const env = checkEnv(merged);
  const constitutionPath = resolve(cwd, merged.CONSTITUTION_PATH ?? 'config/constitution.yaml');
  const file = displayPath(constitutionPath, cwd);
  const c = checkConstitution(constitutionPath, file);
  const mode = env.invalid.has('TRADING_MODE') ? undefined : env.view.TRADING_MODE;
  const problems = [...env.problems, ...(c.ok ? [] : c.problems), ...crossProblems(mode, c.raw, file), ...gatewayProblems(env, c)];
  // The TradingView route is on only with a passphrase; then its mapping must be valid too.
  let tradingview: TradingViewMapping | undefined;
  if (merged.TRADINGVIEW_PASSPHRASE) {
    const mappingPath = merged.TRADINGVIEW_MAPPING_PATH ?? 'config/tradingview.yaml';
    const t = loadTradingViewMapping(resolve(cwd, mappingPath), mappingPath);
    if (t.ok) tradingview = t.value;
    else problems.push(...t.problems.map(mappingProblem));
  }
  // Notification levels: checked in the same round (a CRITICAL type set off or silent is refused).
  const alertsPath = merged.ALERTS_CONFIG_PATH ?? DEFAULT_ALERTS_CONFIG;
  const levels = loadAlertLevels(resolve(cwd, alertsPath), alertsPath, merged.ALERTS_CONFIG_PATH !== undefined);
  if (!levels.ok) problems.push(...levels.problems.map(alertsProblem));
  if (problems.length || !env.env || !c.ok || !levels.ok) throw new ConfigError(problems);
  const alerts = levels.value;
  const publicEnv = Object.fromEntries(Object.entries(env.env).filter(([k]) => !(SECRET_ENV as readonly string[]).includes(k)));
  const digest = createHash('sha256').update(canonicalJson({ env: publicEnv, constitution: c.value, ...(tradingview ? { tradingview } : {}), ...(Object.keys(alerts).length ? { alerts } : {}) })).digest('hex');
  return { env: env.env, constitution: c.value, constitutionPath, digest, alerts, ...(tradingview ? { tradingview } : {}) };
}

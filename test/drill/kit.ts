/**
 * What the crash drill (drill.ts: one process on SQLite) and the failover drill (failover.ts: a
 * desk of processes on PostgreSQL) share: the seeded draws, the install directory with the
 * drill constitution, Phoenix spawned as a real child (`node --import tsx src/main.ts`) with
 * the drill environment, the intents they post, the sandbox chat they approve in, and the
 * audit-chain check. Each drill keeps its own schedule, kill kinds and report.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { verifyAudit } from '../../src/engine/audit.usecase.js';
import type { Random } from '../../src/engine/ports.js';
import type { Store } from '../../src/engine/store.port.js';
import { inheritedFaketime } from '../support/faketime.js';
import { pathToFileURL } from 'node:url';

export { freePort } from '../support/ports.js';

export const ACCOUNT = 'DU1234567';
export const CHAT = -1001001;
export const APPROVER = 1001;

export interface Product {
  readonly symbol: 'MES' | 'AAPL' | 'MSFT';
  readonly instrument: Record<string, unknown>;
  readonly side: 'BUY' | 'SELL';
  readonly quantity: number;
  readonly entryPrice: number;
  readonly stopLoss: number;
  readonly takeProfit: number;
  /** the market price at which the entry (a LMT) fills and neither exit triggers */
  readonly base: number;
  /** prices that fill the target / the stop */
  readonly targetHit: number;
  readonly stopHit: number;
}

export const PRODUCTS: readonly Product[] = [
  { symbol: 'MES', instrument: { symbol: 'MES', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 5 }, side: 'BUY', quantity: 1, entryPrice: 6010.25, stopLoss: 6008, takeProfit: 6015, base: 6010.25, targetHit: 6015.5, stopHit: 6007.75 },
  { symbol: 'AAPL', instrument: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' }, side: 'BUY', quantity: 4, entryPrice: 200, stopLoss: 199, takeProfit: 203, base: 200, targetHit: 203.5, stopHit: 198.5 },
  { symbol: 'MSFT', instrument: { symbol: 'MSFT', secType: 'STK', exchange: 'SMART', currency: 'USD' }, side: 'SELL', quantity: 2, entryPrice: 420, stopLoss: 421, takeProfit: 415, base: 420, targetHit: 414.5, stopHit: 421.5 },
];

// === seeded draws

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

export function pick<T>(r: Random, items: readonly T[]): T {
  const x = items[Math.floor(r.next() * items.length)];
  if (x === undefined) throw new Error('pick from an empty list');
  return x;
}

/** One key drawn by weight (in the object's key order). */
export function weighted<T extends string>(r: Random, weights: Record<T, number>): T {
  const entries = Object.entries(weights) as [T, number][];
  const total = entries.reduce((a, [, w]) => a + Math.max(0, w), 0);
  let x = r.next() * total;
  for (const [k, w] of entries) {
    x -= Math.max(0, w);
    if (x < 0) return k;
  }
  return entries[entries.length - 1]![0];
}

export const between = (r: Random, lo: number, hi: number) => lo + Math.floor(r.next() * (hi - lo + 1));

// === the install directory and the child process

/** The demo constitution with limits raised so the gates never block the drill's traffic. */
export function drillConstitutionYaml(demoYaml: string): string {
  const c = parseYaml(demoYaml) as Record<string, Record<string, unknown>>;
  c.name = 'crash-drill' as never;
  c.limits = {
    ...c.limits,
    dailyLossCapUsd: 1_000_000,
    maxConsecutiveLosses: 1_000_000,
    maxTradesPerDay: 1_000_000,
    maxPositionPerInstrument: 1_000_000,
    maxRiskPerTradeUsd: 1_000,
    minNetLiquidationUsd: 1,
  };
  // a SUBMITTED entry the gateway never acknowledged becomes STALLED at the first sweep after 5 s
  c.approval = { ...c.approval, stallAfterSec: 5 };
  return `# Crash drill: the demo constitution with limits raised (test/drill/drill.ts)\n${stringifyYaml(c)}`;
}

/** A temp install: a copy of config/ with config/constitution.drill.yaml, and an empty data/. */
export function drillInstall(repoRoot: string, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cpSync(join(repoRoot, 'config'), join(dir, 'config'), { recursive: true });
  writeFileSync(join(dir, 'config', 'constitution.drill.yaml'), drillConstitutionYaml(readFileSync(join(repoRoot, 'config', 'constitution.demo.yaml'), 'utf8')));
  mkdirSync(join(dir, 'data'), { recursive: true });
  return dir;
}

export interface PhoenixChildEnv {
  readonly ibPort: number;
  readonly clientId: number;
  readonly databaseUrl: string;
  readonly intakePort: number;
  readonly botToken: string;
  readonly telegramApiRoot: string;
  /** anything more (or overriding) for this drill */
  readonly extra?: Record<string, string>;
}

/**
 * Phoenix as `npm start` runs it (src/main.ts through tsx) in `dir`, BROKER=ibkr in paper mode
 * against the drill's gateway, Telegram through the drill's sandbox, an otherwise empty
 * environment; in its own process group, so a kill signals nothing else.
 */
export function spawnPhoenix(repoRoot: string, dir: string, e: PhoenixChildEnv): ChildProcess {
  const req = createRequire(join(repoRoot, 'package.json'));
  const loader = pathToFileURL(join(req.resolve('tsx/package.json'), '..', 'dist', 'loader.mjs')).href;
  return spawn(process.execPath, ['--import', loader, join(repoRoot, 'src', 'main.ts')], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? dir,
      ...inheritedFaketime(),
      BROKER: 'ibkr',
      TRADING_MODE: 'paper',
      IB_HOST: '127.0.0.1',
      IB_PORT: String(e.ibPort),
      IB_CLIENT_ID: String(e.clientId),
      IB_ACCOUNT: ACCOUNT,
      CONSTITUTION_PATH: 'config/constitution.drill.yaml',
      DATABASE_URL: e.databaseUrl,
      INTAKE_PORT: String(e.intakePort),
      TELEGRAM_BOT_TOKEN: e.botToken,
      TELEGRAM_API_ROOT: e.telegramApiRoot,
      TELEGRAM_CHAT_ID: String(CHAT),
      TELEGRAM_APPROVERS: String(APPROVER),
      LOG_LEVEL: 'warn',
      ...e.extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group: nothing else is ever signalled
  });
}

/** SIGKILL the child's process group if it still runs; resolves when it has exited. */
export async function killGroup<T>(proc: ChildProcess, exited: Promise<T>): Promise<T> {
  if (proc.exitCode === null && proc.signalCode === null && proc.pid) {
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  return exited;
}

// === intake and the sandbox chat

/** A bracket intent for one product, as a signal source would POST it. */
export function drillIntent(p: Product, signalId: string, stateHash: string, ttlSec: number, breakdown: Record<string, number>): Record<string, unknown> {
  return {
    signalId,
    strategy: 'drill-orb',
    instrument: p.instrument,
    side: p.side,
    quantity: p.quantity,
    orderType: 'BRACKET',
    entryPrice: p.entryPrice,
    stopLoss: p.stopLoss,
    takeProfit: p.takeProfit,
    evidence: { setupScore: 0.82, breakdown, alignment: 'drill', redChecks: [{ name: 'no tier-1 news', passed: true }], dvs: 0.93, eqs: 0.88 },
    stateHash,
    stateAsOf: new Date().toISOString(),
    ttlSec,
  };
}

export interface IntakeBook {
  /** posted, outcome unknown (a kill during intake): re-POSTed after the next start */
  readonly pending: Map<string, Record<string, unknown>>;
  /** intent ids the intake answered 202 for */
  readonly accepted202: Set<string>;
  readonly violate: (where: string, what: string) => void;
}

/** POST one intent to an intake; 202/409 give the intent, anything else is a violation, no answer is null. */
export async function postIntent(intakeUrl: string, body: Record<string, unknown>, book: IntakeBook, detail = 300): Promise<{ intentId: string; state: string; status: number } | null> {
  const signalId = String(body.signalId);
  book.pending.set(signalId, body);
  try {
    const res = await fetch(`${intakeUrl}/v1/intents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(8000) });
    const j = (await res.json()) as { intentId?: string; state?: string; issues?: unknown };
    book.pending.delete(signalId);
    if ((res.status === 202 || res.status === 409) && j.intentId) {
      if (res.status === 202) book.accepted202.add(j.intentId);
      return { intentId: j.intentId, state: j.state ?? '?', status: res.status };
    }
    book.violate('intake', `POST ${signalId} answered ${res.status} ${JSON.stringify(j).slice(0, detail)}`);
    return null;
  } catch {
    return null; // killed mid-request: outcome unknown until the next start
  }
}

export interface SandboxMessage {
  message_id: number;
  text: string;
  from_bot?: boolean;
  reply_markup?: { inline_keyboard: Array<Array<{ text: string; callback_data?: string }>> };
}

/** The drill chat as the sandbox console shows it. */
export async function chatMessages(apiRoot: string): Promise<SandboxMessage[]> {
  const res = await fetch(`${apiRoot}/sandbox/api/chat?chatId=${CHAT}`, { signal: AbortSignal.timeout(5000) });
  const j = (await res.json()) as { messages?: SandboxMessage[] };
  return j.messages ?? [];
}

/** The card message of an intent with its APPROVE button, once the bot has sent it (null after `timeoutMs`). */
export async function waitCard(apiRoot: string, intentId: string, timeoutMs: number): Promise<{ messageId: number; approve: string } | null> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const msgs = await chatMessages(apiRoot).catch(() => [] as SandboxMessage[]);
    for (const m of msgs) {
      if (!m.from_bot || !m.text.includes(`intent ${intentId}`)) continue;
      const approve = m.reply_markup?.inline_keyboard.flat().find((b) => b.callback_data?.startsWith('v1:a:'))?.callback_data;
      if (approve) return { messageId: m.message_id, approve };
    }
    await sleep(40);
  }
  return null;
}

/** The approver taps a button; the callback query id, or null when the tap did not go through. */
export async function tapAs(apiRoot: string, messageId: number, data: string): Promise<string | null> {
  try {
    const res = await fetch(`${apiRoot}/sandbox/api/tap`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: APPROVER, chatId: CHAT, messageId, data }),
      signal: AbortSignal.timeout(5000),
    });
    const j = (await res.json()) as { ok: boolean; callbackQueryId?: string; error?: string };
    return j.ok && j.callbackQueryId ? j.callbackQueryId : null;
  } catch {
    return null;
  }
}

// === checks and the report

/** INV-AUDIT-CHAIN-1 on the store, and that verify walked every bead the snapshot counted. */
export async function checkAuditChain(where: string, store: Store, beadCount: number, violate: (where: string, what: string) => void): Promise<void> {
  const audit = await verifyAudit(store);
  if (!audit.ok) violate(where, `INV-AUDIT-CHAIN-1: chain broken at ${JSON.stringify(audit.firstBreak)}`);
  if (audit.count < beadCount) violate(where, `verifyAudit walked ${audit.count} of ${beadCount} beads`);
}

/** "a 3, b 1" of the non-zero counts, or "—". */
export const counts = (o: Record<string, number>): string =>
  Object.entries(o)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '—';

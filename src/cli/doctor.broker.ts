/**
 * `phoenix doctor`: the broker check (SPEC 2) — the gateway port answers, the API handshake works, the
 * account matches the mode.
 */
import type { Env } from '../config/env.schema.js';
import { usdAmount } from '../engine/index.js';
import { fail, hostPort, needs, ok, warn, type CheckResult, type DoctorEnv } from './doctor.checks.js';

export type TcpProbe = (host: string, port: number, timeoutMs: number) => Promise<{ ok: true } | { ok: false; code: string }>;

export type IbkrProbeResult =
  | { readonly ok: true; readonly accounts: readonly string[]; readonly serverVersion: number; readonly netLiquidation?: number }
  | { readonly ok: false; readonly message: string; readonly accounts: readonly string[] };

export type IbkrProbe = (opts: { host: string; port: number; clientId: number; timeoutMs: number }) => Promise<IbkrProbeResult>;

/** The adapter's pure account helpers, injected (src/broker/ibkr is its own module). */
export interface AccountRules {
  pickAccount(managed: readonly string[], configured: string | undefined): { ok: true; accountId: string } | { ok: false; code: string; detail: string };
  checkAccountForMode(accountId: string, mode: Env['TRADING_MODE'], allowLive: boolean): { ok: true } | { ok: false; code: string; detail: string };
}

export interface BrokerDeps {
  readonly tcpProbe: TcpProbe;
  /** null when the IBKR adapter is not available: TCP reachability only */
  readonly ibkrProbe: IbkrProbe | null;
  readonly accountRules: AccountRules | null;
  readonly timeoutMs: number;
}

/** The doctor's own API client id, so it never collides with the running service's session. */
export const doctorClientId = (serviceClientId: number) => (serviceClientId + 1000) % 2147483647;

const GATEWAY_FIX =
  'start IB Gateway (or TWS) and log in; enable the API in Configure → Settings → API → Settings ("Enable ActiveX and Socket Clients"), check the socket port (IB Gateway 4002 paper / 4001 live, TWS 7497 / 7496) matches IB_PORT, and add this machine to Trusted IPs';

const SIM_ACCOUNT = 'DU0000001';

export async function checkBroker(e: DoctorEnv, deps: BrokerDeps): Promise<CheckResult> {
  const name = 'broker';
  const env = e.env;
  const mode = env.TRADING_MODE;
  if (env.BROKER === 'sim') {
    const skipped = needs(name, e, ['BROKER', 'TRADING_MODE', 'SIM_PROFILE', 'SIM_SEED']);
    if (skipped) return skipped;
    const base = `simulated broker (${env.SIM_PROFILE}, seed ${env.SIM_SEED}): always reachable, account ${SIM_ACCOUNT} (paper)`;
    if (mode === 'live') return fail(name, base, [{ problem: 'TRADING_MODE=live with the simulator: it has no real account', fix: 'use TRADING_MODE=paper with BROKER=sim, or BROKER=ibkr for live trading' }]);
    if (mode === 'observe') return ok(name, `${base}; OBSERVE mode never sends orders`);
    return ok(name, `${base} matches PAPER`);
  }
  const skipped = needs(name, e, ['IB_HOST', 'IB_PORT', 'IB_CLIENT_ID', 'TRADING_MODE']);
  if (skipped) return skipped;
  const where = hostPort(env.IB_HOST, env.IB_PORT);
  const notes: string[] = [];
  if (mode === 'paper' && (env.IB_PORT === 4001 || env.IB_PORT === 7496)) notes.push(`IB_PORT ${env.IB_PORT} is the default port of a LIVE login (paper: 4002 IB Gateway, 7497 TWS)`);
  if (mode === 'live' && (env.IB_PORT === 4002 || env.IB_PORT === 7497)) notes.push(`IB_PORT ${env.IB_PORT} is the default port of a PAPER login (live: 4001 IB Gateway, 7496 TWS)`);

  const tcp = await deps.tcpProbe(env.IB_HOST, env.IB_PORT, deps.timeoutMs);
  if (!tcp.ok) {
    const what =
      tcp.code === 'ECONNREFUSED'
        ? `nothing listens on ${where} (connection refused)`
        : tcp.code === 'TIMEOUT'
          ? `no answer from ${where} within ${(deps.timeoutMs / 1000).toFixed(1)} s`
          : tcp.code === 'ENOTFOUND' || tcp.code === 'EAI_AGAIN'
            ? `IB_HOST ${env.IB_HOST} does not resolve (${tcp.code})`
            : `cannot connect to ${where} (${tcp.code})`;
    const fix = tcp.code === 'ENOTFOUND' || tcp.code === 'EAI_AGAIN' ? 'set IB_HOST to the machine running IB Gateway (usually 127.0.0.1)' : tcp.code === 'TIMEOUT' ? `check IB_HOST and any firewall between here and ${where}; then: ${GATEWAY_FIX}` : GATEWAY_FIX;
    return fail(name, `IB Gateway/TWS not reachable at ${where}`, [{ problem: what, fix }], notes);
  }
  if (!deps.ibkrProbe || !deps.accountRules) {
    return warn(name, `${where} accepts TCP connections; accounts not checked`, [{ problem: 'the IBKR adapter is not available in this build, so the API handshake and the account were not checked', fix: 'run npm ci; then phoenix doctor again' }], notes);
  }
  const clientId = doctorClientId(env.IB_CLIENT_ID);
  const probe = await deps.ibkrProbe({ host: env.IB_HOST, port: env.IB_PORT, clientId, timeoutMs: Math.max(deps.timeoutMs, 4000) });
  notes.push(`doctor connected read-only as API client id ${clientId} (the service uses ${env.IB_CLIENT_ID})`);
  if (!probe.ok) {
    const m = probe.message;
    const fix = /\b326\b/.test(m)
      ? `another program uses API client id ${clientId}: stop it, or change IB_CLIENT_ID`
      : /\b502\b/.test(m)
        ? GATEWAY_FIX
        : `${where} accepts TCP but did not complete the IB API handshake: is it IB Gateway/TWS, logged in, with the API enabled? ${GATEWAY_FIX}`;
    return fail(name, `IB API handshake with ${where} failed`, [{ problem: m, fix }], notes);
  }
  const accounts = probe.accounts;
  const list = accounts.length ? accounts.join(', ') : '(none)';
  const pick = deps.accountRules.pickAccount(accounts, env.IB_ACCOUNT);
  const base = `IB Gateway/TWS at ${where} (server version ${probe.serverVersion}), managed accounts ${list}`;
  if (!pick.ok) {
    const fix =
      pick.code === 'ACCOUNT_NOT_MANAGED'
        ? `set IB_ACCOUNT to one of ${list}, or log in to the gateway with the user that owns ${env.IB_ACCOUNT ?? 'it'}`
        : pick.code === 'AMBIGUOUS_ACCOUNT'
          ? `set IB_ACCOUNT to one of ${list}`
          : 'log in to IB Gateway with a user that has a trading account';
    return fail(name, base, [{ problem: `${pick.code}: ${pick.detail}`, fix }], notes);
  }
  const nl = probe.netLiquidation !== undefined ? `, net liquidation ${usdAmount(probe.netLiquidation)}` : '';
  if (mode === 'observe') return ok(name, `${base}; account ${pick.accountId}${nl}; OBSERVE mode never sends orders`, notes);
  const guard = deps.accountRules.checkAccountForMode(pick.accountId, mode, env.IBKR_ALLOW_LIVE);
  if (!guard.ok) {
    const fix =
      guard.code === 'PAPER_REQUIRES_DU_ACCOUNT'
        ? 'log in to IB Gateway with your PAPER trading user (account DU…, port 4002) — or, for real money, TRADING_MODE=live with IBKR_ALLOW_LIVE=true'
        : guard.code === 'LIVE_NOT_ALLOWED'
          ? 'set IBKR_ALLOW_LIVE=true deliberately to trade real money, or use TRADING_MODE=paper'
          : 'log in to IB Gateway with your LIVE user (account U…, port 4001), or use TRADING_MODE=paper';
    return fail(name, `${base}; account ${pick.accountId} does not match ${mode.toUpperCase()}`, [{ problem: `${guard.code}: ${guard.detail}`, fix }], notes);
  }
  return ok(name, `${base}; account ${pick.accountId} matches ${mode.toUpperCase()}${nl}`, notes);
}

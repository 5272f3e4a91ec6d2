/**
 * `phoenix doctor`: the intake checks (SPEC 2) — the port can be listened on and the token rules fit
 * the address.
 */
import { ENV_FIXES } from '../config/env.schema.js';
import { clientHost, fail, hostPort, isLoopbackHost, needs, ok, warn, type CheckResult, type DoctorEnv, type FetchLike } from './doctor.checks.js';

export type ListenProbe = (host: string, port: number) => Promise<{ ok: true } | { ok: false; code: string }>;

export interface IntakeDeps {
  readonly fetch: FetchLike;
  readonly listenProbe: ListenProbe;
  readonly timeoutMs: number;
}

export async function checkIntake(e: DoctorEnv, deps: IntakeDeps): Promise<CheckResult> {
  const name = 'intake';
  const skipped = needs(name, e, ['INTAKE_HOST', 'INTAKE_PORT']);
  if (skipped) return skipped;
  const { INTAKE_HOST: host, INTAKE_PORT: port } = e.env;
  const where = hostPort(host, port);
  const url = `http://${hostPort(clientHost(host), port)}/healthz`;
  let answered: { status: number; body: string } | null = null;
  try {
    // with INTAKE_TOKEN the service shows its detail only to callers that carry it
    const token = e.env.INTAKE_TOKEN;
    const res = await deps.fetch(url, { ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}), signal: AbortSignal.timeout(deps.timeoutMs) });
    answered = { status: res.status, body: await res.text() };
  } catch {
    answered = null; // refused, reset or silent: the listen probe below tells free from taken
  }
  if (answered) {
    type Health = { status?: unknown; mode?: unknown; broker?: unknown; demo?: unknown; killActive?: unknown; reasons?: unknown };
    let h: Health | null;
    try {
      h = JSON.parse(answered.body) as Health | null;
    } catch {
      h = null;
    }
    // /healthz: 200 ok|degraded when ready, 503 starting|stopping; only up|down without our token
    if (h && typeof h.mode === 'string' && [200, 503].includes(answered.status) && ['ok', 'degraded', 'starting', 'stopping'].includes(String(h.status))) {
      const notes = [];
      if (h.demo) notes.push('the running service uses the DEMO constitution');
      if (h.killActive) notes.push('a kill flag is active (phoenix status)');
      const running = `Phoenix is running at http://${where} (${h.mode.toUpperCase()} mode, broker ${String(h.broker ?? '?')})`;
      if (h.status === 'ok') return ok(name, running, notes);
      const reasons = Array.isArray(h.reasons) ? h.reasons.map(String).join('; ') : '';
      return warn(name, `${running}, ${String(h.status)}`, [{ problem: `GET /healthz says ${String(h.status)}${reasons ? `: ${reasons}` : ''}`, fix: h.status === 'degraded' ? 'see phoenix status and the runbooks for the reasons named' : 'wait for it to finish starting (or stopping), then run doctor again' }], notes);
    }
    if (answered.status === 403 && /INTAKE_TOKEN is not set/.test(String((h as { error?: unknown } | null)?.error ?? ''))) {
      return warn(name, `a Phoenix without INTAKE_TOKEN runs at http://${where}; it answers only requests addressed to 127.0.0.1, localhost or [::1]`, [{ problem: `GET /healthz for ${where} answered 403`, fix: 'set INTAKE_HOST=127.0.0.1 (this machine only), or set INTAKE_TOKEN on the service to accept other host names' }]);
    }
    if (h && (h.status === 'up' || h.status === 'down') && Object.keys(h).length === 1) {
      return warn(name, `a Phoenix with INTAKE_TOKEN runs at http://${where} (${h.status}); it shows no detail without its token`, [{ problem: 'the running service did not accept this INTAKE_TOKEN (or none is set here)', fix: 'set INTAKE_TOKEN to the value the service runs with' }]);
    }
    return fail(name, `${where} is used by another program`, [{ problem: `GET /healthz on ${where} answered ${answered.status}, not as Phoenix`, fix: 'stop that program, or set INTAKE_PORT to a free port' }]);
  }
  const l = await deps.listenProbe(host, port);
  if (l.ok) return ok(name, `${where} is free: npm start will listen there (POST /v1/intents)`);
  switch (l.code) {
    case 'EADDRINUSE':
      return fail(name, `${where} is in use by another program`, [{ problem: `port ${port} is taken and does not answer GET /healthz`, fix: 'stop that program (or a hung Phoenix), or set INTAKE_PORT to a free port' }]);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return fail(name, `INTAKE_HOST ${host} is not an address of this machine`, [{ problem: `cannot listen on ${where} (${l.code})`, fix: ENV_FIXES.INTAKE_HOST! }]);
    case 'EACCES':
      return fail(name, `no permission to listen on ${where}`, [{ problem: `ports below 1024 need extra privileges (${l.code})`, fix: 'use a port above 1023, e.g. INTAKE_PORT=8787' }]);
    default:
      return fail(name, `cannot listen on ${where} (${l.code})`, [{ problem: `listen failed: ${l.code}`, fix: 'check INTAKE_HOST and INTAKE_PORT' }]);
  }
}

export function checkIntakeAuth(e: DoctorEnv): CheckResult {
  const name = 'intake auth';
  const skipped = needs(name, e, ['INTAKE_HOST', 'INTAKE_TOKEN']);
  if (skipped) return skipped;
  const { INTAKE_HOST: host, INTAKE_TOKEN: token } = e.env;
  if (token) return ok(name, `bearer token required (INTAKE_TOKEN is set; ${token.length} characters, not shown)`);
  if (isLoopbackHost(host)) return ok(name, `no INTAKE_TOKEN: intake on ${host} accepts requests from this machine only`);
  return warn(name, `no INTAKE_TOKEN while intake listens on ${host}`, [
    {
      problem: `INTAKE_HOST=${host} is reachable from other machines, but without INTAKE_TOKEN every remote request is refused (401): only this machine can submit`,
      fix: 'set INTAKE_TOKEN=$(openssl rand -hex 24) and send Authorization: Bearer $INTAKE_TOKEN — or INTAKE_HOST=127.0.0.1 if only local strategies submit',
    },
  ]);
}

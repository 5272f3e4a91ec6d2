/**
 * `phoenix doctor` and the RUNNING service (issue 16). A doctor that checks only its own shell
 * says "all good" about a dead broker the service was started with elsewhere; so it asks the
 * service (service-client.ts) and
 *   - reports the service itself: what it runs and whether an entry can be sent now (a broker
 *     that is not READY is a FAIL: nothing can be sent until it is back);
 *   - checks the broker the SERVICE uses (its BROKER, IB_HOST/IB_PORT, account, mode), not the
 *     one this shell's configuration names.
 */
import type { AppConfig } from '../config/load.js';
import type { ServiceFacts } from '../http/admin.schema.js';
import { dayClockTime } from '../engine/index.js';
import { displayPath } from '../config/load.js';
import { fail, ok, warn, type CheckResult, type DoctorEnv } from './doctor.checks.js';
import { shownDatabase, type ServiceLookup } from './service-client.js';
import { configDifferences } from './status.command.js';

const NAME = 'service';

const GATEWAY_FIX = 'start IB Gateway (or TWS) and log in with the API enabled on the port the service uses; then npx phoenix reconnect (or restart the service)';

export function checkService(found: ServiceLookup, load: () => AppConfig, cwd: string): CheckResult {
  if (found.kind === 'absent') {
    const summary = `not running on this database (${shownDatabase(found.database, cwd)}): the checks below use this shell's configuration (.env and the environment)`;
    if (found.unreachable) return warn(NAME, summary, found.notes.map((n) => ({ problem: n })));
    return ok(NAME, summary, [...found.notes]);
  }
  const f = found.admin.service;
  const b = found.admin.status.broker;
  const where = f.broker.host ? ` at ${f.broker.host}:${f.broker.port}` : '';
  const summary = `running at ${found.base} (${f.mode.toUpperCase()} mode, constitution "${f.constitution.name}"${f.constitution.demo ? ' DEMO' : ''}, broker ${b.name}${where} ${b.state})`;
  const notes = [
    `pid ${f.pid}, up since ${dayClockTime(f.startedAt, f.constitution.timeZone)}, database ${shownDatabase(f.database, cwd)}${f.demoData ? ' (the DEMO service, on its own data)' : ''}, constitution file ${displayPath(f.constitution.path, cwd)}`,
    ...configDifferences(load, f, cwd),
  ];
  if (b.state !== 'READY' || !b.canSubmit) {
    const problem = `the service's broker ${b.name}${where} is ${b.state}${b.state === 'READY' ? ' but refuses entries' : ''}${b.detail ? ` (${b.detail})` : ''}: no entry can be sent until it is back`;
    return fail(NAME, summary, [{ problem, fix: b.name === 'ibkr' ? GATEWAY_FIX : 'restart the service (npm start); phoenix status shows what it reports' }], notes);
  }
  const h = found.admin.health;
  if (h.status !== 'ok') return warn(NAME, `${summary}, ${h.status}`, [{ problem: `the service says ${h.status}${h.reasons.length ? `: ${h.reasons.join('; ')}` : ''}`, fix: h.status === 'degraded' ? 'see phoenix status and the runbooks for the reasons named' : 'wait for it to finish starting (or stopping), then run doctor again' }], notes);
  return ok(NAME, summary, notes);
}

/**
 * The doctor's environment view with the broker settings the service runs with, so the broker
 * check probes the service's gateway (and its account against its mode).
 */
export function asServiceRuns(e: DoctorEnv, f: ServiceFacts): DoctorEnv {
  if (f.broker.name !== 'sim' && f.broker.name !== 'ibkr') return e;
  const env = {
    ...e.env,
    BROKER: f.broker.name,
    TRADING_MODE: f.mode,
    ...(f.broker.host !== undefined ? { IB_HOST: f.broker.host } : {}),
    ...(f.broker.port !== undefined ? { IB_PORT: f.broker.port } : {}),
    ...(f.broker.clientId !== undefined ? { IB_CLIENT_ID: f.broker.clientId } : {}),
    IB_ACCOUNT: f.broker.account,
  } as DoctorEnv['env'];
  const invalid = new Set([...e.invalid].filter((k) => !['BROKER', 'TRADING_MODE', 'IB_HOST', 'IB_PORT', 'IB_CLIENT_ID', 'IB_ACCOUNT'].includes(k)));
  return { env, invalid, raw: e.raw };
}

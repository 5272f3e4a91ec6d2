/**
 * `phoenix status` (issue 16): the RUNNING service's own status (its constitution, its broker
 * and that broker's state), asked over /v1/admin/status; when no service runs on this database,
 * the database's view, said so on the first line, with what the last start ran.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, displayPath, type AppConfig } from '../config/load.js';
import type { ServiceFacts } from '../http/admin.schema.js';
import { dayClockTime, type StatusSnapshot } from '../engine/index.js';
import type { CliContext } from './context.js';
import { isPostgresUrl } from '../store/db-path.js';
import { fallbackLine, shownDatabase, type ServiceLookup } from './service-client.js';
import { renderStatusText } from './status.text.js';

type Running = Extract<ServiceLookup, { kind: 'running' }>;

/** "Service: running at … — pid, since, database" */
export function serviceLine(found: Running, cwd: string): string {
  const f = found.admin.service;
  const since = dayClockTime(f.startedAt, f.constitution.timeZone);
  return `Service: running at ${found.base} — pid ${f.pid}, up since ${since}, database ${shownDatabase(f.database, cwd)}${f.demoData ? ' (the DEMO service, on its own data)' : ''}`;
}

/** What this shell's configuration would start, where it differs from what runs (one note, or none). */
export function configDifferences(load: () => AppConfig, f: ServiceFacts, cwd: string): string[] {
  let c: AppConfig;
  try {
    c = load();
  } catch (e) {
    if (e instanceof ConfigError) return ["note: this shell's configuration does not load (phoenix doctor lists why); shown is what the service runs"];
    throw e;
  }
  const diff: string[] = [];
  if (resolve(c.constitutionPath) !== resolve(f.constitution.path)) diff.push(`constitution "${c.constitution.name}" (${displayPath(c.constitutionPath, cwd)}) instead of "${f.constitution.name}" (${displayPath(f.constitution.path, cwd)})`);
  if (c.env.TRADING_MODE !== f.mode) diff.push(`${c.env.TRADING_MODE.toUpperCase()} mode instead of ${f.mode.toUpperCase()}`);
  if (c.env.BROKER !== f.broker.name) diff.push(`broker ${c.env.BROKER} instead of ${f.broker.name}`);
  return diff.length ? [`note: this shell's configuration (.env + environment) would start ${diff.join(', ')}; shown is what the service runs`] : [];
}

interface LastStart {
  readonly at: number;
  readonly mode: string;
  readonly broker: string;
  readonly constitution: string;
}

/** The database's view, marked as such: mode, constitution and broker as the last start recorded them. */
function databaseView(s: StatusSnapshot, last: LastStart | null): StatusSnapshot {
  const broker = { name: last?.broker ?? s.broker.name, state: 'DISCONNECTED' as const, canSubmit: false, account: null, detail: 'not connected: the service is not running' };
  if (!last) return { ...s, broker };
  const mode = (['observe', 'paper', 'live'] as const).find((m) => m === last.mode) ?? s.mode;
  return { ...s, mode, constitution: last.constitution, demo: s.demo && last.constitution === s.constitution, broker };
}

export async function statusCommand(ctx: CliContext): Promise<number> {
  const found = await ctx.service();
  if (found.kind === 'running') {
    ctx.io.out(serviceLine(found, ctx.cwd));
    for (const n of configDifferences(() => ctx.config(), found.admin.service, ctx.cwd)) ctx.io.out(n);
    ctx.io.out(renderStatusText(found.admin.status, found.admin.service.constitution.timeZone));
    return 0;
  }
  ctx.io.out(fallbackLine(found, ctx.cwd));
  for (const n of found.notes) ctx.io.out(`  ${n}`);
  if (!isPostgresUrl(found.database) && !existsSync(found.database)) {
    ctx.io.out('  no database there yet: npm start creates it (nothing has run on this configuration)');
    return 0;
  }
  const app = await ctx.app();
  const s = await app.engine.status();
  const bead = await app.store.tx((tx) => tx.beads.latestOfType('CONFIG'));
  const last = bead ? ({ at: bead.ts, ...(JSON.parse(bead.payload) as Omit<LastStart, 'at'>) } as LastStart) : null;
  const tz = ctx.config().constitution.session.timeZone;
  ctx.io.out(last ? `  last start: ${dayClockTime(last.at, tz)}, constitution "${last.constitution}", ${last.mode.toUpperCase()} mode, broker ${last.broker}` : '  last start: none recorded in this database');
  ctx.io.out(renderStatusText(databaseView(s, last), tz));
  return 0;
}

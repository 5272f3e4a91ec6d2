/**
 * The CLI command table: one row per command drives dispatch and `phoenix help`.
 */
import { AnchorArgError, auditVerify } from './audit.verify.js';
import type { CliContext } from './context.js';
import { intentSubmit, readIntentSource } from './intent.submit.js';
import { statusCommand } from './status.command.js';
import { doctorCommand } from './doctor.js';
import { demoCommand } from '../demo/command.js';
import { killText } from '../present/kill.text.js';
import { reconnectText } from '../present/reconnect.text.js';
import { stalledResolveText } from '../present/stalled.text.js';

export interface CliCommand {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  run(ctx: CliContext, args: string[]): Promise<number>;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
  return v;
}

/** Every value of a repeatable flag. */
function flags(args: string[], name: string): string[] {
  const out: string[] = [];
  args.forEach((a, i) => {
    if (a !== name) return;
    const v = args[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
    out.push(v);
  });
  return out;
}

export class UsageError extends Error {}

export const COMMANDS: readonly CliCommand[] = [
  {
    name: 'intent submit',
    usage: 'phoenix intent submit FILE|-',
    summary: 'submit an intent (JSON) to the running service: the same validation and gates as HTTP intake (no service: checked and stored here, said so)',
    async run(ctx, args) {
      const src = args[0];
      if (!src) throw new UsageError('give a file name, or - to read standard input');
      return intentSubmit(ctx, await readIntentSource(ctx, src));
    },
  },
  {
    name: 'audit verify',
    usage: 'phoenix audit verify [--anchor FILE|SEQ:HASH]…',
    summary: 'walk the hash chain and name the first broken link, then check it against anchors outside the database (default: the anchor journal) for truncation, re-written beads and forged appends',
    async run(ctx, args) {
      const rest = args.filter((a, i) => a !== '--anchor' && args[i - 1] !== '--anchor');
      if (rest.length) throw new UsageError(`unknown argument ${rest[0]}`);
      try {
        return await auditVerify(ctx, flags(args, '--anchor'));
      } catch (e) {
        if (e instanceof AnchorArgError) throw new UsageError(e.message);
        throw e;
      }
    },
  },
  {
    name: 'audit export',
    usage: 'phoenix audit export [--intent ID] [--since ISO-TIME]',
    summary: 'print beads as JSON lines (one intent\'s full history, or everything since a time)',
    async run(ctx, args) {
      const intentId = flag(args, '--intent');
      const sinceText = flag(args, '--since');
      const since = sinceText === undefined ? undefined : Date.parse(sinceText);
      if (since !== undefined && Number.isNaN(since)) throw new UsageError(`--since must be an ISO time like 2026-11-23T14:00:00Z (got ${sinceText})`);
      let n = 0;
      for await (const line of (await ctx.app()).engine.audit.export({ ...(intentId ? { intentId } : {}), ...(since !== undefined ? { since } : {}) })) {
        ctx.io.out(line);
        n++;
      }
      if (n) return 0;
      // nothing to export is not success for a named intent: a typo must not look like an empty history
      if (intentId) {
        ctx.io.err(`no intent ${intentId} in this database (no beads for it): check the id (phoenix status lists open ones; ids look like int_…)`);
        return 1;
      }
      ctx.io.err(since !== undefined ? `no beads since ${sinceText}` : 'no beads yet');
      return 0;
    },
  },
  {
    name: 'status',
    usage: 'phoenix status',
    summary: 'the running service: mode, constitution, broker, kill flags, open positions, P&L today, pending cards, heartbeat, outbox (no service: the database, said so)',
    run: (ctx) => statusCommand(ctx),
  },
  {
    name: 'intent resolve-stalled',
    usage: 'phoenix intent resolve-stalled INTENT --checked "what you checked at the broker"',
    summary: 'close a STALLED entry the broker cannot answer for, after checking TWS yourself (audited; RB-003)',
    async run(ctx, args) {
      const id = args[0];
      const note = flag(args, '--checked');
      if (!id || id.startsWith('--') || !note) throw new UsageError('give the intent id and --checked "what you saw at the broker"');
      const r = await (await ctx.app()).engine.resolveStalled(id, ctx.operator(), note);
      (r.ok ? ctx.io.out : ctx.io.err)(stalledResolveText(r));
      return r.ok ? 0 : 1;
    },
  },
  {
    name: 'halt',
    usage: 'phoenix halt [reason]',
    summary: 'set the kill flag now: new entries blocked, exits allowed (works while Telegram is down)',
    async run(ctx, args) {
      const { engine } = await ctx.app();
      const r = await engine.halt(ctx.operator(), args.join(' ') || 'halted from the command line');
      ctx.io.out(killText(r, engine.info.timeZone));
      return r.ok ? 0 : 1;
    },
  },
  {
    name: 'resume',
    usage: 'phoenix resume [--yes]',
    summary: 'lift every active kill flag (asks for confirmation)',
    async run(ctx, args) {
      if (!args.includes('--yes') && !(await ctx.io.confirm('Lift every active kill flag and allow new entries?'))) {
        ctx.io.out('Not confirmed; nothing changed.');
        return 1;
      }
      const { engine } = await ctx.app();
      const r = await engine.resume(ctx.operator());
      ctx.io.out(killText(r, engine.info.timeZone));
      return r.ok ? 0 : 1;
    },
  },
  {
    name: 'reconnect',
    usage: 'phoenix reconnect',
    summary: 'ask the running service to try the broker again (after a human fixed IB Gateway)',
    async run(ctx) {
      const r = await (await ctx.app()).engine.requestReconnect(ctx.operator());
      ctx.io.out(reconnectText(r));
      return r.ok ? 0 : 1;
    },
  },
  {
    name: 'doctor',
    usage: 'phoenix doctor [--beads N]',
    summary: 'check configuration, database, audit chain, broker, Telegram and intake; print each problem with its fix',
    run: (ctx, args) => doctorCommand(ctx, args),
  },
  {
    name: 'demo',
    usage: 'phoenix demo [--count 40] [--every 3s] [--seed N]',
    summary: 'post mock signals to the DEMO service (npm start -- --demo: its own database data/demo/, never your real one) and stop after --count (also --burst N, --no-stale, --print)',
    run: (ctx, args) => demoCommand(ctx, args),
  },
];

export function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  return [
    'Phoenix operator CLI',
    '',
    ...COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    '',
    'status, doctor and intent submit ask the running service (GET /v1/admin/status, with INTAKE_TOKEN when set).',
    'Add --demo to any command to work on the demo\'s own data (data/demo/), as `npm start -- --demo` runs it.',
    '',
  ].join('\n');
}

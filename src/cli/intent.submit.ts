/**
 * `phoenix intent submit FILE|-` (issue 16): the intent goes to the RUNNING service
 * (POST /v1/admin/intents), so it is gated by the constitution and broker that service runs,
 * not by this shell's. With no service on this database it is checked and stored in-process,
 * with this shell's configuration, and stderr says so first; its card is sent when the
 * service starts. A Phoenix that refuses this shell's INTAKE_TOKEN gets nothing (it may be the
 * service on this database). Standard output is one JSON line either way.
 *
 * Exit: 0 accepted (PROPOSED or CANCELLED with denials), 1 invalid or refused, 3 duplicate.
 */
import { readFileSync } from 'node:fs';
import { displayPath } from '../config/load.js';
import type { CliContext } from './context.js';
import { fallbackLine, postIntent } from './service-client.js';

type Issue = { path?: unknown; message?: unknown };

function invalid(ctx: CliContext, issues: readonly Issue[]): number {
  ctx.io.err(`invalid intent (${issues.length} problem${issues.length === 1 ? '' : 's'}); nothing stored:`);
  for (const i of issues) ctx.io.err(`  ${String(i.path)}: ${String(i.message)}`);
  return 1;
}

export async function intentSubmit(ctx: CliContext, text: string): Promise<number> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    ctx.io.err(`malformed JSON: ${(e as Error).message}`);
    return 1;
  }
  const found = await ctx.service();
  if (found.kind === 'running') {
    const f = found.admin.service;
    ctx.io.err(`sent to the running service at ${found.base} (constitution "${f.constitution.name}", ${f.mode.toUpperCase()} mode, broker ${f.broker.name} ${found.admin.status.broker.state})`);
    let a;
    try {
      a = await postIntent(found, raw);
    } catch (e) {
      ctx.io.err(`the service at ${found.base} did not answer (${(e as Error).message}): whether it stored the intent is unknown; phoenix status shows it, and sending the same signalId again is safe (409)`);
      return 1;
    }
    const b = a.body;
    if (a.status === 202) {
      ctx.io.out(JSON.stringify({ intentId: b.intentId, state: b.state, denials: b.denials }));
      return 0;
    }
    if (a.status === 409) {
      ctx.io.out(JSON.stringify({ duplicate: true, intentId: b.intentId, state: b.state }));
      return 3;
    }
    if (a.status === 400 && Array.isArray(b.issues)) return invalid(ctx, b.issues as Issue[]);
    ctx.io.err(`the service refused it (${a.status}): ${String(b.error ?? '')}`);
    return 1;
  }

  if (found.tokenRefused) {
    // it may be the service on this very database: storing behind its back would gate the intent with this shell's rules
    ctx.io.err('Nothing submitted: a Phoenix is running but refused this shell\'s INTAKE_TOKEN.');
    for (const n of found.notes) ctx.io.err(`  ${n}`);
    return 1;
  }
  const config = ctx.config();
  ctx.io.err(fallbackLine(found, ctx.cwd, `checking the intent with this shell's configuration (constitution "${config.constitution.name}", ${displayPath(config.constitutionPath, ctx.cwd)}) and storing it in the database`));
  for (const n of found.notes) ctx.io.err(`  ${n}`);
  const result = await (await ctx.app()).engine.submitIntent(raw, 'cli');
  if (result.kind === 'invalid') return invalid(ctx, result.issues);
  if (result.kind === 'duplicate') {
    ctx.io.out(JSON.stringify({ duplicate: true, intentId: result.intentId, state: result.state }));
    return 3;
  }
  if (result.state === 'PROPOSED') ctx.io.err('  its card is sent when the service starts (and only while the intent is still valid)');
  ctx.io.out(JSON.stringify({ intentId: result.intentId, state: result.state, denials: result.denials }));
  return 0;
}

/** The file (or standard input for `-`). */
export async function readIntentSource(ctx: CliContext, src: string): Promise<string> {
  return src === '-' ? ctx.io.readStdin() : readFileSync(src, 'utf8');
}

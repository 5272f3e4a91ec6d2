/**
 * Command arguments are untrusted input: parsed with zod, refused with a clear message.
 *
 * A strategy name follows the intent wire format's `strategy` rule (intent.schema: trimmed,
 * 1–64 characters) plus the registry's (printable: no control characters, so no line
 * breaks) — exactly the names an intent can carry and the registry can hold.
 */
import { z } from 'zod';
import { intentSchema } from '../engine/index.js';

export const strategyNameSchema = intentSchema.shape.strategy.refine(
  // eslint-disable-next-line no-control-regex
  (name) => !/[\u0000-\u001f\u007f]/.test(name),
  'strategy must be printable characters on one line',
);

export type ArgResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/** `/promote NAME`: the whole argument is the name (names may contain spaces). */
export function parseStrategyArg(command: string, raw: string): ArgResult<string> {
  if (!raw.trim()) return { ok: false, message: `Which strategy? Usage: /${command} STRATEGY — /strategies lists them.` };
  const r = strategyNameSchema.safeParse(raw);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, message: `Invalid strategy name: ${r.error.issues.map((i) => i.message).join('; ')}. Usage: /${command} STRATEGY` };
}

const demoteSchema = z.object({ name: strategyNameSchema, reason: z.string().max(200, 'the reason is longer than 200 characters') });

/** `/demote NAME` with an optional reason on the following line(s). */
export function parseDemoteArgs(raw: string): ArgResult<{ name: string; reason: string }> {
  const text = raw.replace(/\r\n?/g, '\n').trim();
  const cut = text.indexOf('\n');
  const name = cut < 0 ? text : text.slice(0, cut);
  const reason = cut < 0 ? '' : text.slice(cut + 1).replace(/\s+/g, ' ').trim();
  if (!name.trim()) return { ok: false, message: 'Which strategy? Usage: /demote STRATEGY (a reason may follow on the next line) — /strategies lists them.' };
  const r = demoteSchema.safeParse({ name, reason });
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, message: `Invalid /demote: ${r.error.issues.map((i) => i.message).join('; ')}. Usage: /demote STRATEGY` };
}

/** /halt and /resume (SPEC 4, 12), worded once for every transport. */
import { clockTime, type KillFlag, type KillOutcome } from '../engine/index.js';
import { notAllowedText } from './not-allowed.text.js';

/** `timeZone`: the constitution's session time zone (a stale-state pause says until when in it). */
export function killText(o: KillOutcome, timeZone: string): string {
  switch (o.code) {
    case 'HALTED':
      return `Halted. New entries are blocked (exits still allowed). Reason: ${o.reason}`;
    case 'RESUMED':
      return `Resumed: ${o.cleared} kill flag(s) lifted.${stillActive(o.remaining, timeZone)}`;
    case 'NOTHING_LIFTED':
      return o.remaining.length ? `No manual kill flag was active; nothing lifted.${stillActive(o.remaining, timeZone)}` : 'No kill flag was active; nothing changed.';
    case 'NOT_ALLOWED':
      return notAllowedText(o);
  }
}

/** The stale-state pauses /resume may not lift (SPEC 4: they end by expiry or a fresh state). */
function stillActive(remaining: readonly KillFlag[], timeZone: string): string {
  if (!remaining.length) return '';
  const stale = remaining.map((k) => `stale-state pause (${k.reason}) until ${k.expiresAt !== null ? clockTime(k.expiresAt, timeZone) : 'a fresh state'}`);
  return ` Still active (not lifted by /resume; it ends on its own or with a fresh market state): ${stale.join('; ')}.`;
}

/**
 * "Did you mean …?" for configuration typos: the known name closest to a misspelt one, or
 * undefined when none is close enough to be a guess worth printing. Pure (no I/O).
 */
import { closestMatch } from 'leven';

/** Up to a third of the letters may differ (two in short words: swapped letters); case is ignored; a unique prefix also counts. */
export function didYouMean(word: string, known: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const sameLetters = known.find((k) => k.toLowerCase() === lower);
  if (sameLetters) return sameLetters;
  const prefix = known.filter((k) => k.toLowerCase().startsWith(lower) || lower.startsWith(k.toLowerCase()));
  if (prefix.length === 1 && Math.min(word.length, prefix[0]!.length) >= 4) return prefix[0];
  const maxDistance = word.length <= 3 ? 1 : Math.min(4, Math.max(2, Math.floor(word.length / 3)));
  const lowered = known.map((k) => k.toLowerCase());
  const hit = closestMatch(lower, lowered, { maxDistance });
  return hit === undefined ? undefined : known[lowered.indexOf(hit)];
}

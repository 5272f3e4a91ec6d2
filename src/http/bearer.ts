/** `Authorization: Bearer …` against INTAKE_TOKEN, in constant time (intake and admin routes). */
import { timingSafeEqual } from 'node:crypto';

export function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!.trim());
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

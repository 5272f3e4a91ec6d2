/**
 * src/present words the engine's typed outcomes in plain text, once, for every transport: the
 * bot escapes and styles these strings, the CLI prints them. The engine returns data only.
 */
import type { NotAllowed } from '../engine/index.js';

/** "Not allowed: admin role needed." / "Not allowed: approver or admin role needed." */
export const notAllowedText = (o: Pick<NotAllowed, 'needs'>): string => `Not allowed: ${o.needs.join(' or ')} role needed.`;

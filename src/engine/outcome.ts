/**
 * Shared pieces of the engine's command outcomes. Outcomes are data, never English: the
 * transports word them (src/present for the shared plain-text wording; the bot styles it).
 */
import type { Role } from './domain.js';

/** The actor lacks a role the command needs (an ACCESS_DENIED bead is written where the SPEC asks). */
export type NotAllowed = { readonly ok: false; readonly code: 'NOT_ALLOWED'; readonly needs: readonly Role[] };

export const notAllowed = (...needs: Role[]): NotAllowed => ({ ok: false, code: 'NOT_ALLOWED', needs });

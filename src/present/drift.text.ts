/** Resolving a drift (/drift buttons), in plain words once for every transport. */
import type { DriftOutcome } from '../engine/index.js';

/** "Drift POSITION_COUNT marked ACKNOWLEDGED by @alice." */
export function driftText(o: DriftOutcome): string {
  switch (o.code) {
    case 'RESOLVED':
      return `Drift ${o.drift.type} marked ${o.drift.resolution} by ${o.drift.resolvedBy}.`;
    case 'NOT_ALLOWED':
      // drift has its own wording of the refusal (the bot says it before asking the engine too)
      return 'Not allowed: only approvers and admins resolve drift.';
    case 'UNKNOWN_RESOLUTION':
      return `Unknown resolution; use one of ${o.allowed.join(', ')}.`;
    case 'UNKNOWN_DRIFT':
      return 'Unknown drift.';
    case 'ALREADY_RESOLVED':
      return `Already resolved (${o.drift.resolution}) by ${o.drift.resolvedBy ?? 'someone'}; nothing changed.`;
    case 'RESOLVED_CONCURRENTLY':
      return 'Resolved concurrently by someone else; nothing changed.';
  }
}

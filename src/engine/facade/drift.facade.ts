/** Reconciliation drifts (SPEC 8): the unresolved list, one drift, and a human's resolution. */
import type { EngineContext } from '../context.js';
import type { Actor } from '../domain.js';
import { escalateDrifts, getDrift, listUnresolvedDrifts, resolveDrift, type DriftOutcome, type DriftResolution, type UnresolvedDrift } from '../drift.usecase.js';

export class DriftFacade {
  readonly #ctx: EngineContext;

  constructor(ctx: EngineContext) {
    this.#ctx = ctx;
  }

  list(): Promise<UnresolvedDrift[]> {
    return listUnresolvedDrifts(this.#ctx);
  }
  get(driftId: string): Promise<UnresolvedDrift | null> {
    return getDrift(this.#ctx, driftId);
  }
  /** approver+; `note` says what was checked */
  resolve(driftId: string, resolution: DriftResolution, note: string, actor: Actor): Promise<DriftOutcome> {
    return resolveDrift(this.#ctx, driftId, resolution, note, actor);
  }
  /** the drift-escalation job: unresolved past the limit → alert, once; returns the ids escalated */
  escalate(): Promise<string[]> {
    return escalateDrifts(this.#ctx);
  }
}

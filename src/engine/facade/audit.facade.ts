/** The audit chain (SPEC 16): verify it (optionally against anchors) and export it as JSON lines. */
import { exportAudit, verifyAudit, type AnchorInput, type VerifyReport } from '../audit.usecase.js';
import type { EngineContext } from '../context.js';

export class AuditFacade {
  readonly #ctx: EngineContext;

  constructor(ctx: EngineContext) {
    this.#ctx = ctx;
  }

  verify(opts: { readonly anchors?: AnchorInput } = {}): Promise<VerifyReport> {
    return verifyAudit(this.#ctx.store, opts);
  }
  /** one JSON line per bead: of an intent, or since a time, or everything */
  export(opts: { intentId?: string; since?: number } = {}): AsyncGenerator<string> {
    return exportAudit(this.#ctx.store, opts);
  }
}

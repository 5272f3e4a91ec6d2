/** The audit chain (SPEC 16): verify it (optionally against anchors) and export it as JSON lines. */
import { exportAudit, verifyAudit, type AnchorInput, type VerifyReport } from '../audit.usecase.js';
import type { EngineContext } from '../context.js';

export class AuditFacade {
  constructor(private readonly ctx: EngineContext) {}

  verify(opts: { readonly anchors?: AnchorInput } = {}): Promise<VerifyReport> {
    return verifyAudit(this.ctx.store, opts);
  }
  /** one JSON line per bead: of an intent, or since a time, or everything */
  export(opts: { intentId?: string; since?: number } = {}): AsyncGenerator<string> {
    return exportAudit(this.ctx.store, opts);
  }
}

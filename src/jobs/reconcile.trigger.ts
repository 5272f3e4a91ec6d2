/**
 * ReconcileCoordinator: every way a reconciliation starts goes through here so none is lost
 * and the 12-per-minute limit holds (SPEC 8).
 * - `request(reason)`: the engine's onReconcileNeeded hook (fills, rejects, cancels,
 *   reconnects). Debounced: a burst of events becomes one full run `debounceMs` later, and
 *   never earlier than the rate limit allows.
 * - `run(reason, scope)`: periodic jobs and on-demand checks; waits for the rate limit
 *   instead of being refused, runs one at a time.
 * The engine's `reconcileNow` enforces the spacing too, for callers that bypass this class.
 */
import type { Cancel, Engine, Logger, ReconcileResult, ReconcileScope } from '../engine/index.js';

export interface CoordinatorOptions {
  /** wait after a triggering event before reconciling (coalesces bursts), default 2 s */
  readonly debounceMs?: number;
}

export class ReconcileCoordinator {
  private readonly debounceMs: number;
  private pending = new Set<string>();
  private timer: Cancel | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly sleepers = new Set<() => void>();
  private stopped = false;
  /** last result of a run that actually ran */
  last: ReconcileResult | null = null;

  constructor(
    private readonly engine: Engine,
    private readonly logger: Logger,
    opts: CoordinatorOptions = {},
  ) {
    this.debounceMs = opts.debounceMs ?? 2_000;
  }

  /** Something happened at the broker: reconcile soon (debounced, rate limited). */
  request(reason: string): void {
    if (this.stopped) return;
    this.pending.add(reason);
    if (this.timer) return;
    const now = this.engine.now();
    const at = Math.max(now + this.debounceMs, this.engine.nextReconcileAllowedAt());
    this.timer = this.engine.clock.schedule(at - now, () => {
      this.timer = null;
      const reasons = [...this.pending].join(', ');
      this.pending.clear();
      this.run(`after ${reasons}`, 'full').catch((e: Error) => this.logger.error({ err: e.message }, 'triggered reconciliation failed'));
    });
  }

  /** Run a reconciliation as soon as the rate limit allows; one at a time. */
  run(reason: string, scope: ReconcileScope = 'full'): Promise<ReconcileResult> {
    const next = this.chain.then(() => this.runNow(reason, scope));
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Resolves when no reconciliation started through this coordinator is running. */
  async idle(): Promise<void> {
    await this.chain;
  }

  /** ms since the last run that actually ran (Infinity if none). */
  sinceLastRun(): number {
    return this.last ? this.engine.now() - this.last.at : Infinity;
  }

  private async runNow(reason: string, scope: ReconcileScope): Promise<ReconcileResult> {
    for (let attempt = 0; ; attempt++) {
      const wait = this.engine.nextReconcileAllowedAt() - this.engine.now();
      if (wait > 0 && !this.stopped) await this.sleep(wait);
      const r = await this.engine.reconcileNow(reason, { scope });
      if (r.ran) this.last = r;
      if (r.skipped !== 'RATE_LIMITED' || this.stopped || attempt >= 3) return r;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.sleepers.delete(done);
        cancel();
        resolve();
      };
      const cancel = this.engine.clock.schedule(ms, done);
      this.sleepers.add(done);
    });
  }

  stop(): void {
    this.stopped = true;
    this.timer?.();
    this.timer = null;
    for (const wake of [...this.sleepers]) wake();
  }
}

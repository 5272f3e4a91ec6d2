/**
 * Test helpers that reach past the engine facade (through src/engine/testing.ts), for tests
 * outside test/engine that need a variant engine or an engine hook. Tests of engine internals
 * (test/engine/**) may use `internalsOf` directly; everything else goes through here.
 */
import type { Engine, EngineDeps, ReconcileReason } from '../../src/engine/index.js';
import { engineWith, internalsOf } from '../../src/engine/testing.js';

export { engineWith };

/** The deps an engine was built with (its ports and configuration), to build a second one on them. */
export function depsOf(engine: Engine): EngineDeps {
  const { lastKnownAccount: _account, notify: _notify, reconcileSoon: _soon, brokerEventsApplied: _applied, ...deps } = internalsOf(engine);
  return deps;
}

/** What the engine does after a fill, reject, cancel or reconnect: ask its listeners for a reconciliation. */
export function engineAsksToReconcile(engine: Engine, reason: ReconcileReason): void {
  internalsOf(engine).reconcileSoon(reason);
}

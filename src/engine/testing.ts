/**
 * Test-only access to an Engine's private context, for unit tests of engine internals
 * (test/engine/**) and test helpers (test/support/**) that set up a state the facade cannot
 * reach, e.g. `transition(internalsOf(engine), tx, …)`. Lint: nothing outside test/ imports
 * this module (scripts/lint-engine.mjs).
 */
import type { EngineContext, EngineDeps } from './context.js';
import { Engine } from './engine.js';
import { internalsOf as contextOf } from './facade/internals.js';

export type { EngineContext } from './context.js';

/** The context the engine's use cases share (the same object, not a copy). */
export function internalsOf(engine: Engine): EngineContext {
  return contextOf(engine);
}

/**
 * A second Engine on the same deps with some replaced (a failing store, a dying broker). It
 * shares the original's hooks: its commits wake the original's listeners (card senders,
 * reconciliation), as a context spread `{ ...ctx, store }` did.
 */
export function engineWith(engine: Engine, over: Partial<EngineDeps>): Engine {
  const base = contextOf(engine);
  const fork = new Engine({ ...base, ...over });
  const ctx = contextOf(fork);
  ctx.lastKnownAccount = base.lastKnownAccount;
  ctx.notify = () => base.notify();
  ctx.reconcileSoon = (reason) => base.reconcileSoon(reason);
  if (base.brokerEventsApplied) ctx.brokerEventsApplied = () => base.brokerEventsApplied!();
  return fork;
}

/**
 * The engine's context, kept off the public facade: the Engine registers it here when it is
 * built, and only src/engine/testing.ts (for unit tests of engine internals) reads it back.
 * Not exported by src/engine/index.ts.
 */
import type { EngineContext } from '../context.js';

const contexts = new WeakMap<object, EngineContext>();

export function registerInternals(engine: object, ctx: EngineContext): void {
  contexts.set(engine, ctx);
}

export function internalsOf(engine: object): EngineContext {
  const ctx = contexts.get(engine);
  if (!ctx) throw new Error('not an Engine');
  return ctx;
}

/**
 * Engine errors, grouped by what the caller should do. Expected business outcomes (a gate
 * denial, a refused tap) are returned as values, not thrown; these are for misuse and
 * invariant violations.
 */
export class EngineError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'EngineError';
  }
}

/** A compare-and-set lost a race: the transaction is rolled back and nothing changed. */
export class ConcurrentChangeError extends EngineError {
  constructor(what: string) {
    super('CONCURRENT_CHANGE', `${what} changed concurrently; nothing was done`);
  }
}

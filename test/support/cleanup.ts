/**
 * The shared "make it in the test, close it after" setup, registered once per describe scope:
 *
 *     let h: Harness | undefined;
 *     const harness = useHarness();          // one afterEach, registered here
 *     it('…', async () => { h = await harness({ connect: false }); … });
 *
 * replaces `afterEach(async () => { await h?.close(); h = undefined; })` in every file. The
 * afterEach closes EVERYTHING the factory made during the test, last made first (a test that
 * restarts on the same database file closes the new harness before the old one), and each at
 * most once: a test may still close one itself (a "crash", a restart) without a double close.
 */
import { afterEach } from 'vitest';
import { makeHarness, type Harness } from './harness.js';

export interface Closable {
  close(): unknown;
}

/**
 * Wraps a factory so that what it makes is closed after each test. Registers the afterEach in
 * the describe scope it is called from (call it at the top of that scope, not inside a test).
 * The hook order among several afterEach of one scope follows vitest (the last registered runs
 * first): register this where the file used to close the thing, relative to its other hooks.
 */
export function closeAfterEach<A extends unknown[], T extends Closable>(make: (...args: A) => Promise<T>): (...args: A) => Promise<T> {
  const made: T[] = [];
  afterEach(async () => {
    for (const thing of made.splice(0).reverse()) await thing.close();
  });
  return async (...args: A) => {
    const thing = await make(...args);
    const close = thing.close.bind(thing);
    let closed = false;
    let result: unknown;
    // once: a test that closes it itself (crash, restart) is not closed again by the hook
    (thing as Closable).close = () => {
      if (!closed) {
        closed = true;
        result = close();
      }
      return result;
    };
    made.push(thing);
    return thing;
  };
}

/** `makeHarness`, closed after each test (see the header). */
export function useHarness(): typeof makeHarness;
export function useHarness<A extends unknown[]>(make: (...args: A) => Promise<Harness>): (...args: A) => Promise<Harness>;
export function useHarness(make: (...args: never[]) => Promise<Harness> = makeHarness) {
  return closeAfterEach(make);
}

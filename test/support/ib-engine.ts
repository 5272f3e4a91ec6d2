/**
 * A real Phoenix engine (SQLite file, FakeClock) on the real IbkrBroker — @stoqey/ib over a TCP
 * socket to the TWS wire-protocol test server on 127.0.0.1. The adapter keeps the wall clock (its
 * pacer and timeouts run in real time); the engine's clock is fake.
 */
import { IbkrBroker, type IbkrBrokerOptions } from '../../src/broker/ibkr/index.js';
import { silentLogger, type Clock } from '../../src/engine/ports.js';
import type { FakeClock } from './fake-clock.js';
import { makeHarness, type Harness } from './harness.js';
import { TwsTestServer, type TwsTestServerOptions } from './tws/index.js';

export const IB_ACCOUNT = 'DU1234567';

export const wallClock: Clock = {
  now: () => Date.now(),
  schedule: (ms, fn) => {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(t);
  },
};

export interface IbEngine {
  readonly h: Harness;
  readonly server: TwsTestServer;
  readonly broker: IbkrBroker;
  /** a TWS round trip, then every event it produced applied by the engine */
  settle(): Promise<void>;
  close(): Promise<void>;
}

type HarnessOptions = NonNullable<Parameters<typeof makeHarness>[0]>;

let clientSeq = 60;

export interface IbEngineOptions {
  constitution?: HarnessOptions['constitution'];
  server?: TwsTestServerOptions;
  connect?: boolean;
  /** the engine's environment (e.g. IB_RESTART_WINDOW) and its FakeClock start */
  env?: Record<string, string>;
  clockStart?: string;
  /** adapter options over the defaults; gets the engine's FakeClock (e.g. for inRestartWindow) */
  broker?: (clock: FakeClock) => Partial<IbkrBrokerOptions>;
}

export async function makeIbEngine(opts: IbEngineOptions = {}): Promise<IbEngine> {
  const server = new TwsTestServer({ accounts: [IB_ACCOUNT], ...opts.server });
  const port = await server.start();
  let broker!: IbkrBroker;
  const h = await makeHarness({
    ...(opts.constitution ? { constitution: opts.constitution } : {}),
    ...(opts.connect === false ? { connect: false } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.clockStart ? { clockStart: opts.clockStart } : {}),
    broker: (clock) => {
      broker = new IbkrBroker({ host: '127.0.0.1', port, clientId: clientSeq++, account: IB_ACCOUNT, mode: 'paper', allowLive: false, clock: wallClock, logger: silentLogger, connectTimeoutMs: 3000, requestTimeoutMs: 3000, accountCheckTimeoutMs: 2000, commissionWaitMs: 200, reconnect: { maxAttempts: 3, baseDelayMs: 30, maxDelayMs: 200 }, ...opts.broker?.(clock) });
      return broker;
    },
  });
  return {
    h,
    server,
    broker,
    async settle() {
      if (broker.health().state === 'READY') await broker.sync();
      await h.settle();
    },
    async close() {
      await h.close();
      await server.close();
    },
  };
}

/** Poll (wall clock) until `probe` holds. */
export async function until(probe: () => boolean | Promise<boolean>, what = 'condition', ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Test rig: a TwsTestServer on 127.0.0.1 (ephemeral port) + an IbkrBroker pointed at it, with
 * small timeouts/backoffs so the suite stays fast. Records every broker event and every
 * decoder error (505) so files can assert the protocol stays clean.
 */
import '../../support/no-external-network.js';
import type {
  BracketRequest,
  BrokerEvent,
  ConnectionState,
  Instrument,
  SubmitPermit,
} from '../../../src/engine/broker.port.js';
import type { Clock, Logger } from '../../../src/engine/ports.js';
import { silentLogger } from '../../../src/engine/ports.js';
import { IbkrBroker, type IbkrBrokerOptions } from '../../../src/broker/ibkr/index.js';
import { TwsTestServer, type TwsTestServerOptions } from '../../support/tws/index.js';

export const realClock: Clock = {
  now: () => Date.now(),
  schedule: (ms, fn) => {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(t);
  },
};

/** Set IBKR_TEST_LOG=1 to see the adapter's logs. */
export function testLogger(): Logger {
  if (!process.env.IBKR_TEST_LOG) return silentLogger;
  const mk = (bindings: object): Logger => ({
    debug: () => undefined,
    info: (o, m) => console.log('[info]', m, JSON.stringify({ ...bindings, ...o })),
    warn: (o, m) => console.log('[warn]', m, JSON.stringify({ ...bindings, ...o })),
    error: (o, m) => console.log('[error]', m, JSON.stringify({ ...bindings, ...o })),
    child: (b) => mk({ ...bindings, ...b }),
  });
  return mk({});
}

export const MES: Instrument = Object.freeze({
  symbol: 'MES',
  secType: 'FUT',
  exchange: 'CME',
  currency: 'USD',
  contractMonth: '202612',
  multiplier: 5,
});

export const AAPL: Instrument = Object.freeze({
  symbol: 'AAPL',
  secType: 'STK',
  exchange: 'SMART',
  currency: 'USD',
  multiplier: 1,
});

export function permitFor(orderRef: string): SubmitPermit {
  return { tokenId: `tok-${orderRef}`, intentId: orderRef, evidenceHash: 'e'.repeat(64), usedAt: Date.now() };
}

export function mesBracket(orderRef: string, over: Partial<BracketRequest> = {}): BracketRequest {
  return {
    orderRef,
    instrument: MES,
    side: 'BUY',
    quantity: 1,
    entryType: 'MKT',
    stopPrice: 5990,
    targetPrice: 6010,
    ...over,
  };
}

export function aaplBracket(orderRef: string, over: Partial<BracketRequest> = {}): BracketRequest {
  return {
    orderRef,
    instrument: AAPL,
    side: 'BUY',
    quantity: 10,
    entryType: 'MKT',
    stopPrice: 185,
    targetPrice: 195,
    ...over,
  };
}

/** Every 505 (decoder underrun / unprocessed data) seen by any rig in this test file. */
const decoderErrors: BrokerEvent[] = [];
export function decoderErrorsSeen(): readonly BrokerEvent[] {
  return decoderErrors;
}

export interface Rig {
  readonly server: TwsTestServer;
  readonly broker: IbkrBroker;
  readonly events: BrokerEvent[];
  connectionEvents(): Extract<BrokerEvent, { kind: 'connection' }>[];
  waitForEvent<K extends BrokerEvent['kind']>(
    pred: (e: Extract<BrokerEvent, { kind: K }>) => boolean,
    kind: K,
    timeoutMs?: number,
  ): Promise<Extract<BrokerEvent, { kind: K }>>;
  waitForState(state: ConnectionState, timeoutMs?: number): Promise<void>;
  /** another adapter against the same server (e.g. a restarted process) */
  newBroker(over?: Partial<IbkrBrokerOptions>): { broker: IbkrBroker; events: BrokerEvent[] };
  close(): Promise<void>;
}

export interface RigOptions {
  server?: TwsTestServerOptions;
  broker?: Partial<IbkrBrokerOptions>;
  connect?: boolean;
  /** reuse a running server */
  existing?: TwsTestServer;
}

export async function makeRig(opts: RigOptions = {}): Promise<Rig> {
  const server = opts.existing ?? new TwsTestServer(opts.server);
  const port = await server.start();
  const brokers: IbkrBroker[] = [];
  const build = (over: Partial<IbkrBrokerOptions> = {}): { broker: IbkrBroker; events: BrokerEvent[] } => {
    const broker = new IbkrBroker({
      host: '127.0.0.1',
      port,
      clientId: 17,
      mode: 'paper',
      allowLive: false,
      clock: realClock,
      logger: testLogger(),
      connectTimeoutMs: 2000,
      requestTimeoutMs: 3000,
      accountCheckTimeoutMs: 2000,
      commissionWaitMs: 300,
      reconnect: { maxAttempts: 3, baseDelayMs: 30, maxDelayMs: 200 },
      ...opts.broker,
      ...over,
    });
    const events: BrokerEvent[] = [];
    broker.onEvent((e) => {
      events.push(e);
      if (e.kind === 'error' && e.code === 505) decoderErrors.push(e);
    });
    brokers.push(broker);
    return { broker, events };
  };
  const { broker, events } = build();
  const rig: Rig = {
    server,
    broker,
    events,
    connectionEvents: () => events.filter((e): e is Extract<BrokerEvent, { kind: 'connection' }> => e.kind === 'connection'),
    waitForEvent: (pred, kind, timeoutMs = 3000) =>
      waitFor(
        () => events.find((e) => e.kind === kind && pred(e as never)) as never,
        timeoutMs,
        `event ${kind}`,
      ),
    waitForState: async (state, timeoutMs = 3000) => {
      await waitFor(() => broker.health().state === state || undefined, timeoutMs, `state ${state}`);
    },
    newBroker: (over) => build(over),
    close: async () => {
      for (const b of brokers) await b.disconnect();
      await server.close();
    },
  };
  if (opts.connect ?? true) await broker.connect();
  return rig;
}

/** Poll until `fn` returns a truthy value. */
export async function waitFor<T>(fn: () => T | undefined | false | null, timeoutMs = 3000, what = 'condition'): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Rejection of a promise, or fail if it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the promise to reject');
}

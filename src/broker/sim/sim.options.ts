/** What a SimBroker is built with, and what it tells the simulator about its own book. */
import type { BrokerFill, BrokerOrder, BrokerPosition, Clock, ConnectionState, Logger, Random } from '../../engine/index.js';
import type { SimBookPersistence } from './sim.persist.js';
import type { SimProfile } from './sim.profiles.js';

export interface SimBrokerOptions {
  readonly clock: Clock;
  /** seeded in tests (`seededRandom(seed)`); only REALISTIC/ADVERSARIAL draw from it */
  readonly random: Random;
  readonly profile: SimProfile;
  /** default 'DU0000001' (a paper account id) */
  readonly accountId?: string;
  /** USD, default 25,000 */
  readonly netLiquidation?: number;
  /** last price per symbol: market fills and stop/target triggers */
  readonly prices?: Readonly<Record<string, number>>;
  /** symbols qualify() and placements refuse with NO_SECURITY */
  readonly unknownSymbols?: readonly string[];
  /** where listener exceptions are reported (default silent) */
  readonly logger?: Logger;
  /**
   * Like the IBKR adapter after a reconnect (open/completed orders, then executions): events
   * produced while the connection was down are delivered when it comes back — the latest status
   * of each order first, then the executions. Default false: they are lost.
   */
  readonly replayOnReconnect?: boolean;
  /**
   * Like IBKR's reqExecutions, `executions()` reports only executions at or after this time
   * (e.g. the start of the trading day); default: all of them.
   */
  readonly executionsSince?: (now: number) => number;
  /**
   * Where the book is kept across restarts (the service: Phoenix's database, sim.persist.ts).
   * Loaded at the first connect; every change is saved. Default: memory only.
   */
  readonly persistence?: SimBookPersistence;
}

/** What the broker itself holds, whatever the connection or injected spoofs say (simulator checks). */
export interface SimTruth {
  /** every order ever placed, in placement order */
  readonly orders: readonly BrokerOrder[];
  /** every execution, in execution order */
  readonly executions: readonly BrokerFill[];
  /** the real net positions of the session's account (flat ones left out) */
  readonly positions: readonly BrokerPosition[];
  readonly accountId: string;
  readonly state: ConnectionState;
}

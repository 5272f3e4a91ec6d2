/**
 * The BrokerPort contract, run against the IBKR adapter (real @stoqey/ib client) talking to the
 * TWS wire-protocol test server over a real socket on 127.0.0.1. One fresh server per case.
 */
import '../../support/no-external-network.js';
import { IbkrBroker } from '../../../src/broker/ibkr/index.js';
import { silentLogger } from '../../../src/engine/ports.js';
import { TwsTestServer } from '../../support/tws/index.js';
import { realClock } from './harness.js';
import { runBrokerContract } from '../contract.js';

runBrokerContract('IbkrBroker over the TWS test server', async () => {
  const server = new TwsTestServer();
  const port = await server.start();
  const broker = new IbkrBroker({
    host: '127.0.0.1',
    port,
    clientId: 21,
    mode: 'paper',
    allowLive: false,
    clock: realClock,
    logger: silentLogger,
    connectTimeoutMs: 2000,
    requestTimeoutMs: 3000,
    accountCheckTimeoutMs: 2000,
    commissionWaitMs: 300,
    reconnect: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 200 },
  });
  return {
    broker,
    // a REQ_CURRENT_TIME round trip: everything TWS sent before its answer has been handled
    settle: () => broker.sync(),
    movePrice: async (symbol, price) => {
      server.movePrice(symbol, price);
      await broker.sync();
    },
    close: async () => {
      await broker.disconnect();
      await server.close();
    },
  };
});

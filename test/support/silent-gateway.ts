/**
 * A TCP listener on 127.0.0.1 standing in for IB Gateway that counts connections and never
 * answers: a start that must fail closed is proven not to have connected (`connections` is 0).
 * `useSilentGateway()` opens a fresh one before each test of its scope and closes it after.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, beforeEach } from 'vitest';

export interface SilentGateway {
  readonly port: number;
  /** connections accepted since this test's gateway opened */
  readonly connections: number;
}

export function useSilentGateway(): SilentGateway {
  let server: Server;
  let port = 0;
  let connections = 0;
  beforeEach(async () => {
    connections = 0;
    server = createServer((s) => {
      connections++;
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  afterEach(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });
  return {
    get port() {
      return port;
    },
    get connections() {
      return connections;
    },
  };
}

import net, { connect as namedConnect } from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import {
  ExternalNetworkBlockedError,
  installNoExternalNetwork,
  isLoopbackHost,
} from '../../support/no-external-network.js';
import { makeRig, rejectionOf } from './harness.js';

describe('INV-IBKR-MOCK-1', () => {
  it('INV-IBKR-MOCK-1: loopback detection', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', 'tws.localhost', '::ffff:127.0.0.1', undefined, '']) {
      expect(isLoopbackHost(h)).toBe(true);
    }
    for (const h of ['10.255.255.1', '192.168.1.10', '8.8.8.8', 'gdc1.ibllc.com', 'ndc1.ibllc.com', 'api.telegram.org', '::2', '128.0.0.1']) {
      expect(isLoopbackHost(h)).toBe(false);
    }
  });

  it('INV-IBKR-MOCK-1: connects to non-loopback hosts throw synchronously, before any packet leaves', () => {
    installNoExternalNetwork(); // idempotent (already installed by the harness import)
    const attempts: Array<() => unknown> = [
      () => net.connect({ host: '10.255.255.1', port: 4002 }),
      () => net.connect(4001, '10.255.255.1'),
      () => net.createConnection({ host: 'gdc1.ibllc.com', port: 4001 }),
      () => new net.Socket().connect({ host: 'ndc1.ibllc.com', port: 7496 }),
      () => new net.Socket().connect(7497, '192.168.1.10'),
      () => tls.connect({ host: 'api.ibkr.com', port: 443 }),
      () => tls.connect(443, 'api.telegram.org'),
      () => namedConnect({ host: '10.255.255.1', port: 4002 }), // ESM named import is patched too
    ];
    for (const attempt of attempts) {
      let thrown: unknown;
      try {
        const sock = attempt() as net.Socket;
        sock.destroy();
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(ExternalNetworkBlockedError);
      expect((thrown as Error).message).toMatch(/^INV-IBKR-MOCK-1: blocked outbound connection/);
    }
  });

  it('INV-IBKR-MOCK-1: fetch() to an external host fails fast with the guard as the cause', async () => {
    const t0 = Date.now();
    const err = await rejectionOf(fetch('http://10.255.255.1:4002/'));
    expect(Date.now() - t0).toBeLessThan(500);
    expect((err as Error & { cause?: unknown }).cause).toBeInstanceOf(ExternalNetworkBlockedError);
  });

  it('INV-IBKR-MOCK-1: loopback connects still work', async () => {
    const server = net.createServer((s) => s.end('hi'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const data = await new Promise<string>((resolve, reject) => {
      const c = net.connect({ host: '127.0.0.1', port }, () => undefined);
      c.on('data', (d) => resolve(d.toString()));
      c.on('error', reject);
    });
    expect(data).toBe('hi');
    server.close();
  });

  it('INV-IBKR-MOCK-1: the IBKR adapter pointed at a non-loopback host fails fast and goes DOWN', async () => {
    for (const host of ['10.255.255.1', 'gdc1.ibllc.com']) {
      const rig = await makeRig({ connect: false, broker: { host, port: 4002, connectTimeoutMs: 10_000 } });
      try {
        const t0 = Date.now();
        const err = await rejectionOf(rig.broker.connect());
        expect(Date.now() - t0).toBeLessThan(500);
        expect(err.message).toMatch(/INV-IBKR-MOCK-1: blocked outbound connection/);
        expect(rig.broker.health()).toMatchObject({ state: 'DOWN', canSubmit: false });
      } finally {
        await rig.close();
      }
    }
  });
});

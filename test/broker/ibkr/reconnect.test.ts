import { afterAll, describe, expect, it } from 'vitest';
import { BrokerUnavailableError } from '../../../src/engine/broker.port.js';
import { decoderErrorsSeen, makeRig, mesBracket, permitFor, rejectionOf, sleep, waitFor, type Rig } from './harness.js';
import { closeAfterEach } from '../../support/cleanup.js';

const POLICY = { maxAttempts: 3, baseDelayMs: 30, maxDelayMs: 200 };
/** 30 + 60 + 120 ms */
const TOTAL_BACKOFF = 30 + 60 + 120;

describe('INV-IBKR-RECONNECT-1', () => {
  let rig: Rig | undefined;
  const newRig = closeAfterEach(makeRig);
  afterAll(() => expect(decoderErrorsSeen()).toEqual([]));

  it('INV-IBKR-RECONNECT-1: after a drop with the gateway refusing, exactly 3 reconnect attempts, then DOWN (attempt 3), and no 4th attempt', async () => {
    rig = await newRig({ broker: { reconnect: POLICY } });
    const server = rig.server;
    const before = server.connectionAttempts;
    expect(before).toBe(1);

    server.refuseConnections(true);
    server.dropConnections();
    const down = await rig.waitForEvent((e) => e.state === 'DOWN', 'connection', 5000);
    expect(down.attempt).toBe(3);
    expect(down.detail).toMatch(/reconnect failed after 3 attempts/);
    expect(server.connectionAttempts - before).toBe(3);
    expect(server.refusedConnections).toBe(3);

    // every disconnect / attempt is an event carrying the attempt number (IBKR_SESSION beads)
    const seq = rig
      .connectionEvents()
      .filter((e) => e.state !== 'READY')
      .map((e) => `${e.state}:${e.attempt ?? '-'}`);
    expect(seq).toEqual([
      'CONNECTING:-',
      'DISCONNECTED:0',
      'CONNECTING:1',
      'DISCONNECTED:1',
      'CONNECTING:2',
      'DISCONNECTED:2',
      'CONNECTING:3',
      'DISCONNECTED:3',
      'DOWN:3',
    ]);

    // stays down: no fourth attempt even after 5× the whole backoff
    await sleep(5 * TOTAL_BACKOFF);
    expect(server.connectionAttempts - before).toBe(3);
    expect(rig.broker.health()).toMatchObject({ state: 'DOWN', canSubmit: false });
    const err = await rejectionOf(rig.broker.placeBracket(mesBracket('while-down'), permitFor('while-down')));
    expect(err).toBeInstanceOf(BrokerUnavailableError);

    // a human connect() re-arms it
    server.refuseConnections(false);
    await rig.broker.connect();
    expect(rig.broker.health()).toMatchObject({ state: 'READY', canSubmit: true });
    expect(server.connectionAttempts - before).toBe(4);
  });

  it('INV-IBKR-RECONNECT-1: gateway gone (ECONNREFUSED) also stops after 3 attempts', async () => {
    rig = await newRig({ broker: { reconnect: POLICY } });
    await rig.server.stop();
    const down = await rig.waitForEvent((e) => e.state === 'DOWN', 'connection', 5000);
    expect(down.attempt).toBe(3);
    const attempts = rig.connectionEvents().filter((e) => e.state === 'CONNECTING' && (e.attempt ?? 0) > 0);
    expect(attempts.map((e) => e.attempt)).toEqual([1, 2, 3]);
    await sleep(5 * TOTAL_BACKOFF);
    expect(rig.connectionEvents().filter((e) => e.state === 'CONNECTING' && (e.attempt ?? 0) > 0)).toHaveLength(3);
    // restart + human connect
    await rig.server.restart();
    await rig.broker.connect();
    await waitFor(() => rig?.broker.health().state === 'READY', 2000, 'READY');
  });

  it('INV-IBKR-RECONNECT-1: the initial connect does not retry on its own (clear error, DOWN)', async () => {
    rig = await newRig({ connect: false, broker: { reconnect: POLICY, connectTimeoutMs: 300 } });
    rig.server.refuseConnections(true);
    const err = await rejectionOf(rig.broker.connect());
    expect(err).toBeInstanceOf(BrokerUnavailableError);
    expect(err.message).toMatch(/IBKR connect to 127\.0\.0\.1:\d+ clientId 17 failed/);
    expect(rig.broker.health().state).toBe('DOWN');
    await sleep(5 * TOTAL_BACKOFF);
    expect(rig.server.connectionAttempts).toBe(1);
  });

  it('INV-IBKR-RECONNECT-1: a second adapter with the same clientId is refused (326) with a clear message; the first stays READY', async () => {
    rig = await newRig();
    const twin = rig.newBroker();
    const err = await rejectionOf(twin.broker.connect());
    expect(err.message).toMatch(/326/);
    expect(twin.broker.health().state).toBe('DOWN');
    expect(rig.broker.health().state).toBe('READY');
  });

  it('INV-IBKR-RECONNECT-1: no nextValidId within connectTimeoutMs → DOWN with a clear message', async () => {
    const net = await import('node:net');
    // a TCP server that accepts and never answers the handshake
    const mute = net.createServer(() => undefined);
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', () => r()));
    const port = (mute.address() as { port: number }).port;
    try {
      rig = await newRig({ connect: false, broker: { port, connectTimeoutMs: 200 } });
      const t0 = Date.now();
      const err = await rejectionOf(rig.broker.connect());
      expect(Date.now() - t0).toBeLessThan(1500);
      expect(err.message).toMatch(/no nextValidId within 200 ms/);
      expect(rig.broker.health()).toMatchObject({ state: 'DOWN', canSubmit: false });
    } finally {
      await rig?.close();
      rig = undefined;
      mute.close();
    }
  });
});

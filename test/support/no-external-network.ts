/**
 * INV-IBKR-MOCK-1: no test touches a real IBKR (or any other non-loopback host).
 *
 * Importing this module patches `net.Socket.prototype.connect` (which every TCP/TLS client in
 * Node goes through: net.connect, tls.connect, http, undici/fetch, @stoqey/ib) plus
 * `net.connect` / `net.createConnection` / `tls.connect`, so that a connect to any host other
 * than 127.0.0.1 / ::1 / localhost throws synchronously, before DNS or any packet leaves.
 * Unix sockets / named pipes (`path`) stay allowed.
 *
 * Wire it for every test file with vitest `setupFiles`:
 *   // vitest.config.ts
 *   test: { setupFiles: ['test/support/no-external-network.ts'], … }
 */
import net from 'node:net';
import tls from 'node:tls';
import { syncBuiltinESMExports } from 'node:module';

export class ExternalNetworkBlockedError extends Error {
  constructor(
    readonly host: string,
    readonly port: number | string | undefined,
  ) {
    super(`INV-IBKR-MOCK-1: blocked outbound connection to ${host}:${port ?? '?'} (tests may only connect to loopback)`);
    this.name = 'ExternalNetworkBlockedError';
  }
}

/** 127.0.0.0/8, ::1, ::ffff:127.x, localhost (and *.localhost). */
export function isLoopbackHost(host: string | undefined | null): boolean {
  if (host === undefined || host === null || host === '') return true; // Node defaults to localhost
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

interface Target {
  host: string | undefined;
  port: number | string | undefined;
  path: string | undefined;
}

/** Where a connect call is going, for every argument shape Node accepts. */
function targetOf(args: readonly unknown[]): Target {
  let a0 = args[0];
  // net.connect() passes its normalized [options, cb] array to socket.connect()
  if (Array.isArray(a0)) a0 = a0[0];
  if (a0 !== null && typeof a0 === 'object') {
    const o = a0 as { host?: string; hostname?: string; port?: number | string; path?: string };
    return { host: o.host ?? o.hostname, port: o.port, path: o.path };
  }
  if (typeof a0 === 'number' || (typeof a0 === 'string' && /^\d+$/.test(a0))) {
    const host = typeof args[1] === 'string' ? args[1] : undefined;
    return { host, port: a0, path: undefined };
  }
  if (typeof a0 === 'string') return { host: undefined, port: undefined, path: a0 }; // IPC path
  return { host: undefined, port: undefined, path: undefined };
}

function check(args: readonly unknown[]): void {
  const t = targetOf(args);
  if (t.path !== undefined) return;
  if (!isLoopbackHost(t.host)) throw new ExternalNetworkBlockedError(t.host ?? '', t.port);
}

const FLAG = Symbol.for('phoenix.noExternalNetwork');
type Patched = { [FLAG]?: { restore: () => void } };

/** Install the guard (idempotent). Returns a function that removes it. */
export function installNoExternalNetwork(): () => void {
  const g = globalThis as Patched;
  const existing = g[FLAG];
  if (existing) return existing.restore;

  const proto = net.Socket.prototype as unknown as { connect: (...a: unknown[]) => unknown };
  const origProtoConnect = proto.connect;
  const origNetConnect = net.connect;
  const origCreateConnection = net.createConnection;
  const origTlsConnect = tls.connect;

  proto.connect = function patchedConnect(this: unknown, ...args: unknown[]) {
    check(args);
    return origProtoConnect.apply(this, args);
  };
  const wrap = <F extends (...a: never[]) => unknown>(orig: F): F =>
    function patched(this: unknown, ...args: unknown[]) {
      check(args);
      return (orig as unknown as (...a: unknown[]) => unknown).apply(this, args);
    } as unknown as F;
  net.connect = wrap(origNetConnect);
  net.createConnection = wrap(origCreateConnection);
  tls.connect = wrap(origTlsConnect);
  syncBuiltinESMExports();

  const restore = (): void => {
    proto.connect = origProtoConnect;
    net.connect = origNetConnect;
    net.createConnection = origCreateConnection;
    tls.connect = origTlsConnect;
    syncBuiltinESMExports();
    delete g[FLAG];
  };
  g[FLAG] = { restore };
  return restore;
}

export const uninstallNoExternalNetwork = (): void => {
  (globalThis as Patched)[FLAG]?.restore();
};

installNoExternalNetwork();

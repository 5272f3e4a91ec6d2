/**
 * Loopback names, shared by the config (SANDBOX_HOST), the intake server and the sandbox.
 * A socket from 127.0.0.1 proves nothing about who asked: a web page on attacker.example can
 * resolve its own name to 127.0.0.1 (DNS rebinding) and then talk to a local server "same
 * origin". The Host header still carries attacker.example, so servers that trust loopback
 * also check that the Host names loopback.
 */

/** Bind addresses that keep a server on this machine. */
export const LOOPBACK_BIND_HOSTS = ['127.0.0.1', 'localhost', '::1'] as const;

/** Host names (as written in a Host header or URL) that can only mean this machine. */
const LOOPBACK_HOST_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function isLoopbackBindHost(host: string): boolean {
  return (LOOPBACK_BIND_HOSTS as readonly string[]).includes(host.toLowerCase());
}

/** A socket's remote address is this machine (IPv4 127/8, IPv6 ::1, IPv4-mapped 127/8). */
export function isLoopbackAddress(addr: string | undefined): boolean {
  return !!addr && (addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.'));
}

export interface HostHeader {
  /** lower-cased; IPv6 keeps its brackets */
  readonly name: string;
  /** null when the header names no port */
  readonly port: number | null;
}

/** Parse a Host header value (`name`, `name:port`, `[v6]`, `[v6]:port`); null when malformed. */
export function parseHostHeader(value: string | undefined): HostHeader | null {
  if (!value) return null;
  const m = /^(\[[0-9a-f:.]+\]|[^\s:[\]/@]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!m) return null;
  const port = m[2] === undefined ? null : Number(m[2]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { name: m[1]!.toLowerCase(), port };
}

/** The Host names this machine: 127.0.0.1, localhost or [::1], with any port or none. */
export function isLoopbackHostHeader(value: string | undefined): boolean {
  const h = parseHostHeader(value);
  return !!h && LOOPBACK_HOST_NAMES.has(h.name);
}

/** The Host names this machine AND the given port (a missing port means 80, as in HTTP). */
export function isLoopbackHostFor(value: string | undefined, port: number): boolean {
  const h = parseHostHeader(value);
  return !!h && LOOPBACK_HOST_NAMES.has(h.name) && (h.port ?? 80) === port;
}

/** An Origin header that is a page served from this machine on the given port (http only). */
export function isLoopbackOriginFor(origin: string, port: number): boolean {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false; // includes the opaque "null" origin (sandboxed frames, file://)
  }
  if (u.protocol !== 'http:' || u.username || u.password || u.pathname !== '/' || u.search || u.hash) return false;
  return LOOPBACK_HOST_NAMES.has(u.hostname.toLowerCase()) && Number(u.port || 80) === port;
}

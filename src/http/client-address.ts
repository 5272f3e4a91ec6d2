/**
 * Who is calling, for the TradingView source-address allowlist.
 *
 * The socket's peer address is the caller, unless the peer is a configured trusted proxy
 * (TRADINGVIEW_TRUSTED_PROXIES, e.g. the TLS reverse proxy on this machine): then the caller
 * is the right-most X-Forwarded-For entry that is not itself a trusted proxy. Entries left of
 * it were written by the client and prove nothing; an X-Forwarded-For from anyone who is not
 * a trusted proxy is ignored entirely.
 */
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

/** TradingView's published webhook source addresses (TradingView help, 2026; they may change). */
export const TRADINGVIEW_ADDRESSES = ['52.89.214.238', '34.212.75.30', '54.218.53.128', '52.32.178.7'] as const;

/** `::ffff:1.2.3.4` (IPv4 on a dual-stack socket) → `1.2.3.4`. */
export function normalizeAddress(addr: string): string {
  const a = addr.trim().toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  return mapped ? mapped[1]! : a;
}

/** One allowlist entry: an address, a CIDR block, or `tradingview` (the published four). */
export function addressEntryProblem(entry: string): string | null {
  if (entry.toLowerCase() === 'tradingview') return null;
  const [ip, bits, extra] = entry.split('/');
  const family = isIP(ip ?? '');
  if (!family || extra !== undefined) return `${entry} is not an IP address or CIDR block (like 52.89.214.238 or 10.0.0.0/8)`;
  if (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128))) return `${entry} has an invalid prefix length`;
  return null;
}

/** Comma-separated entries, `tradingview` expanded. */
export function expandAddressList(entries: readonly string[]): string[] {
  return entries.flatMap((e) => (e.toLowerCase() === 'tradingview' ? [...TRADINGVIEW_ADDRESSES] : [e]));
}

export function toBlockList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const e of expandAddressList(entries)) {
    const [ip, bits] = e.split('/');
    const type = isIP(ip!) === 6 ? 'ipv6' : 'ipv4';
    if (bits !== undefined) list.addSubnet(ip!, Number(bits), type);
    else list.addAddress(ip!, type);
  }
  return list;
}

export function listHas(list: BlockList, addr: string): boolean {
  const a = normalizeAddress(addr);
  const family = isIP(a);
  return family !== 0 && list.check(a, family === 6 ? 'ipv6' : 'ipv4');
}

/** The caller's address (see the header comment for the proxy rule). */
export function clientAddress(req: IncomingMessage, trustedProxies: BlockList | null): string {
  const peer = normalizeAddress(req.socket.remoteAddress ?? '');
  if (!trustedProxies || !listHas(trustedProxies, peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : header ?? '')
    .split(',')
    .map((h) => normalizeAddress(h))
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (!isIP(hop)) return hop; // garbage where an address should be: never matches the allowlist
    if (!listHas(trustedProxies, hop)) return hop;
  }
  return peer;
}

/**
 * Who may talk to the sandbox (INV-SANDBOX-PAPER-1). The console API has no login: any user id
 * may send or tap. So only this machine's own pages and programs may reach it:
 *   - Host must name loopback (127.0.0.1, localhost, [::1]) with the sandbox's own port: a page
 *     on attacker.example that rebinds its name to 127.0.0.1 still sends Host: attacker.example;
 *   - Origin, when a browser sends one, must be the sandbox's own (loopback, same port): a
 *     cross-site form or fetch carries the attacker's origin;
 *   - console API POSTs must be application/json: browsers send text/plain, form and multipart
 *     cross-site without asking (no CORS preflight); JSON needs a preflight we never answer.
 * The Bot API routes (grammY, alert sender) pass the first two as well: they call
 * http://127.0.0.1:PORT and send no Origin.
 */
import type { IncomingMessage } from 'node:http';
import { isLoopbackHostFor, isLoopbackOriginFor } from '../runtime/loopback.js';

export interface Refusal {
  readonly status: number;
  readonly description: string;
}

/** null when the request may proceed; else why not (403). */
export function refuseForeign(req: IncomingMessage, port: number): Refusal | null {
  const host = req.headers.host;
  if (!isLoopbackHostFor(host, port)) {
    return { status: 403, description: `Forbidden: the sandbox answers only requests for 127.0.0.1:${port}, localhost:${port} or [::1]:${port} (got Host: ${host ?? 'none'})` };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !isLoopbackOriginFor(origin, port)) {
    return { status: 403, description: `Forbidden: requests from other web pages are refused (Origin: ${origin}); open the console at http://127.0.0.1:${port}/` };
  }
  return null;
}

/** null when a console API POST carries JSON; else 415. */
export function refuseNonJson(req: IncomingMessage): Refusal | null {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') return null;
  return { status: 415, description: `Unsupported Media Type: console API POSTs must be content-type application/json (got ${type || 'none'})` };
}

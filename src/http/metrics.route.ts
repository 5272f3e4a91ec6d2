/**
 * GET /metrics (SPEC 17): Prometheus text format, authenticated like intake.
 *   with INTAKE_TOKEN     Authorization: Bearer $INTAKE_TOKEN, else 401 (a scraper sets
 *                         `authorization: { credentials: … }` in prometheus.yml)
 *   without INTAKE_TOKEN  this machine only: loopback peer (else 401) and a loopback Host
 *                         header (else 403, checked before any route: DNS rebinding)
 * The numbers say how much trading happens and when the desk reacts: not for the world.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLoopbackAddress } from '../runtime/loopback.js';
import { send } from './respond.js';

/** What renders the exposition (src/metrics/metrics.ts PhoenixMetrics). */
export interface MetricsSource {
  render(): Promise<{ readonly contentType: string; readonly body: string }>;
}

export async function metricsRoute(req: IncomingMessage, res: ServerResponse, o: { metrics: MetricsSource | undefined; token: string | undefined; tokenMatches: (header: string | undefined) => boolean }): Promise<void> {
  req.resume();
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'use GET /metrics' }, { allow: 'GET' });
  if (o.token) {
    if (!o.tokenMatches(req.headers.authorization)) return send(res, 401, { error: 'missing or wrong bearer token (Authorization: Bearer $INTAKE_TOKEN)' }, { 'www-authenticate': 'Bearer' });
  } else if (!isLoopbackAddress(req.socket.remoteAddress)) {
    return send(res, 401, { error: 'INTAKE_TOKEN is not set, so /metrics answers this machine (loopback) only' });
  }
  if (!o.metrics) return send(res, 404, { error: 'metrics are not collected by this server' });
  const { contentType, body } = await o.metrics.render();
  res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

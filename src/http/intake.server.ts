/**
 * Intake HTTP server (SPEC 3): POST /v1/intents, POST /v1/tradingview (tradingview.route.ts),
 * GET /healthz (health.ts), GET /metrics (metrics.route.ts, same auth as intake) and the operator CLI's
 * /v1/admin/* (admin.route.ts) on node:http.
 * Every answer is JSON with a clear message; bad input changes nothing. The codes below are
 * /v1/intents'; the TradingView route's (passphrase in the body, 200 for a re-send) are in its file.
 *   202 {intentId, state, denials}   accepted (PROPOSED, or CANCELLED with the gate denials)
 *   400 {error, issues[]}            malformed JSON, wrong content type, validation issues
 *   401                              missing/wrong bearer token (or remote caller without INTAKE_TOKEN)
 *   403                              no INTAKE_TOKEN and a Host that is not loopback (DNS rebinding)
 *   409 {intentId, state}            signalId already seen: nothing duplicated
 *   413                              body over 64 KiB
 *   429                              over the intake rate limit (Retry-After)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Engine, Logger } from '../engine/index.js';
import { isLoopbackHostHeader } from '../runtime/loopback.js';
import { adminRoute, type AdminOptions } from './admin.route.js';
import { tokenMatches } from './bearer.js';
import { healthAnswer, minimalHealth } from './health.js';
import { metricsRoute, type MetricsSource } from './metrics.route.js';
import { submitIntentBody } from './intent.submit.js';
import { refusedCaller, refusedOverRate, send } from './respond.js';
import { tradingViewRoute, type TradingViewOptions } from './tradingview.route.js';
import { TokenBucket } from '../runtime/token-bucket.js';
import { Readiness, type ReadinessView } from './readiness.js';

export { MAX_BODY_BYTES } from './respond.js';

export interface IntakeOptions {
  readonly engine: Engine;
  readonly logger: Logger;
  readonly host: string;
  readonly port: number;
  readonly token?: string;
  readonly ratePerMinute: number;
  readonly now?: () => number;
  /** what /healthz waits for (the service: bot, alert sender, jobs); default nothing */
  readonly readiness?: ReadinessView;
  /** POST /v1/tradingview, on when given (TRADINGVIEW_PASSPHRASE and its mapping file) */
  readonly tradingview?: TradingViewOptions;
  /** GET /metrics (Prometheus text format) */
  readonly metrics?: MetricsSource;
  /** /v1/admin/* for the operator CLI (admin.route.ts), on when given (the service) */
  readonly admin?: AdminOptions;
}

export interface IntakeServer {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

export async function startIntake(opts: IntakeOptions): Promise<IntakeServer> {
  const now = opts.now ?? Date.now;
  const bucket = TokenBucket.perMinute(now, opts.ratePerMinute, Math.max(10, Math.ceil(opts.ratePerMinute / 6)));
  const readiness = opts.readiness ?? Readiness.none();
  // Its own bucket: the public TradingView route must not be able to starve /v1/intents.
  const tradingView = opts.tradingview
    ? tradingViewRoute(opts.tradingview, { engine: opts.engine, logger: opts.logger, bucket: TokenBucket.perMinute(now, opts.ratePerMinute, Math.max(10, Math.ceil(opts.ratePerMinute / 6))), ratePerMinute: opts.ratePerMinute })
    : null;
  const admin = opts.admin ? adminRoute(opts.admin, { engine: opts.engine, logger: opts.logger, ...(opts.token ? { token: opts.token } : {}), readiness, bucket, ratePerMinute: opts.ratePerMinute }) : null;
  const server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      opts.logger.error({ err: e.message }, 'intake request failed');
      send(res, 500, { error: 'internal error; nothing was stored for this request' });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The request target is untrusted: `//host:99999/x` or `//[` make new URL() throw, which
    // must be a 400 like any other bad input, not a 500 (found by test/fuzz/intake.fuzz.test.ts).
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://intake');
    } catch {
      req.resume();
      return send(res, 400, { error: 'malformed request path; use POST /v1/intents or GET /healthz', issues: [{ path: '(request) path', message: 'not a valid request path' }] });
    }
    // TradingView authenticates in the body (passphrase) and reaches Phoenix through a reverse
    // proxy under the public host name, so neither the bearer token nor the loopback Host rule
    // applies to it: a forged browser request cannot get past the passphrase either.
    if (url.pathname === '/v1/tradingview') {
      if (tradingView) return tradingView(req, res);
      req.resume();
      return send(res, 404, { error: 'TradingView intake is off: set TRADINGVIEW_PASSPHRASE (see the README section "TradingView")' });
    }
    // Without a token, loopback is the only protection, and a browser can be made to send a
    // loopback request for a foreign name (DNS rebinding): the Host header must name loopback too.
    if (!opts.token && !isLoopbackHostHeader(req.headers.host)) {
      req.resume();
      const message = `INTAKE_TOKEN is not set, so intake answers only requests addressed to 127.0.0.1, localhost or [::1] (got Host: ${req.headers.host ?? 'none'}); set INTAKE_TOKEN to accept other host names`;
      return send(res, 403, { error: message, issues: [{ path: '(header) host', message }] });
    }
    if (url.pathname === '/metrics') return metricsRoute(req, res, { metrics: opts.metrics, token: opts.token, tokenMatches: (h) => !!opts.token && tokenMatches(h, opts.token) });
    if (url.pathname.startsWith('/v1/admin/')) {
      if (admin) return admin(req, res, url);
      req.resume();
      return send(res, 404, { error: 'no admin routes on this server' });
    }
    if (url.pathname === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'use GET /healthz' }, { allow: 'GET' });
      const engine = opts.engine;
      const answer = healthAnswer({ now: engine.now(), readiness, snapshot: await engine.health(), broker: engine.brokerHealth() });
      // With a token, a caller without it learns up/down only (a load balancer needs no more).
      if (opts.token && !tokenMatches(req.headers.authorization, opts.token)) {
        const m = minimalHealth(answer);
        return send(res, m.code, m.body);
      }
      return send(res, answer.code, answer.body);
    }
    if (url.pathname !== '/v1/intents') return send(res, 404, { error: `no route ${url.pathname}; use POST /v1/intents, POST /v1/tradingview, GET /healthz or GET /metrics` });
    if (req.method !== 'POST') return send(res, 405, { error: 'use POST /v1/intents' }, { allow: 'POST' });

    const words = { wrongToken: 'missing or wrong bearer token (Authorization: Bearer $INTAKE_TOKEN)', notLoopback: 'INTAKE_TOKEN is not set, so intake accepts requests from this machine (loopback) only' };
    if (refusedCaller(req, res, opts.token, words)) return;
    if (refusedOverRate(req, res, bucket, opts.ratePerMinute)) return;
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      req.resume();
      return send(res, 400, { error: `content type must be application/json (got ${type || 'none'})`, issues: [{ path: '(header) content-type', message: `must be application/json (got ${type || 'none'})` }] });
    }
    return submitIntentBody(req, res, opts.engine, opts.logger, { source: 'http', closeOn413: true });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    server,
    url: `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

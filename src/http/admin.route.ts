/**
 * The operator's line into the RUNNING service (issue 16): `phoenix status`, `phoenix doctor`
 * and `phoenix intent submit` ask the service itself, so they tell what runs (its constitution,
 * its broker and that broker's state) instead of what their own shell would start.
 *
 *   GET  /v1/admin/status    200 {phoenix, at, service, health, status}: what runs (version, pid,
 *                            since, database file, constitution, mode, broker and its address,
 *                            demo data directory), /healthz's answer and the status snapshot
 *   POST /v1/admin/intents   an intent from the CLI: the same validation and gates as
 *                            /v1/intents (source `cli` in its INTENT bead), same answers
 *                            (202, 400 with issues, 409 duplicate, 413, 429)
 *
 * Authenticated like intake: with INTAKE_TOKEN a bearer token; without it callers on this
 * machine only (the server has already refused a Host that is not loopback). The answers hold
 * no secret: no token, no passphrase, no anchor URL.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Engine, Logger } from '../engine/index.js';
import { ADMIN_API, type ServiceFacts } from './admin.schema.js';
import { healthAnswer } from './health.js';
import type { TokenBucket } from '../runtime/token-bucket.js';
import type { ReadinessView } from './readiness.js';
import { submitIntentBody } from './intent.submit.js';
import { refusedCaller, refusedOverRate, send } from './respond.js';

export interface AdminOptions {
  /** what this process runs (the service fixes it at start-up, once intake is bound) */
  readonly facts: () => ServiceFacts;
}

interface AdminDeps {
  readonly engine: Engine;
  readonly logger: Logger;
  readonly token?: string;
  readonly readiness: ReadinessView;
  /** the intake's bucket: CLI intents count against the same rate limit */
  readonly bucket: TokenBucket;
  readonly ratePerMinute: number;
}

export function adminRoute(opts: AdminOptions, deps: AdminDeps): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  const { engine } = deps;
  return async (req, res, url) => {
    const words = {
      wrongToken: 'missing or wrong bearer token (Authorization: Bearer $INTAKE_TOKEN): the admin routes need the token intake runs with',
      notLoopback: 'INTAKE_TOKEN is not set, so the admin routes answer callers on this machine (loopback) only',
    };
    if (refusedCaller(req, res, deps.token, words)) return;

    if (url.pathname === '/v1/admin/status') {
      if (req.method !== 'GET') {
        req.resume();
        return send(res, 405, { error: 'use GET /v1/admin/status' }, { allow: 'GET' });
      }
      const now = engine.now();
      const broker = engine.brokerHealth();
      const health = healthAnswer({ now, readiness: deps.readiness, snapshot: await engine.health(), broker });
      return send(res, 200, { phoenix: ADMIN_API, at: now, service: opts.facts(), health: health.body, status: await engine.status() });
    }

    if (url.pathname === '/v1/admin/intents') {
      if (req.method !== 'POST') {
        req.resume();
        return send(res, 405, { error: 'use POST /v1/admin/intents' }, { allow: 'POST' });
      }
      if (refusedOverRate(req, res, deps.bucket, deps.ratePerMinute)) return;
      return submitIntentBody(req, res, engine, deps.logger, { source: 'cli', closeOn413: false });
    }

    req.resume();
    return send(res, 404, { error: `no admin route ${url.pathname}; use GET /v1/admin/status or POST /v1/admin/intents` });
  };
}

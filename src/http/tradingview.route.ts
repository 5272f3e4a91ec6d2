/**
 * POST /v1/tradingview (SPEC 3): TradingView alert webhooks. TradingView cannot send headers
 * of its own, so the secret is a `passphrase` field in the body; the body arrives as
 * `application/json` (a valid JSON message) or `text/plain`; TradingView gives up after 3 s.
 *
 *   202 {intentId, state, denials, signalId, …}  mapped and run through the same engine intake
 *                                                 and gates as /v1/intents (PROPOSED or CANCELLED)
 *   202 {state: "PENDING", signalId}              the engine did not answer within `answerWithinMs`
 *                                                 (default 2 s): it finishes in the background
 *   200 {duplicate: true, intentId, state}        a re-send of an alert already taken: nothing changes
 *   200 {ignored: true, reason}                   a strategy exit (Phoenix's stop/target manage exits)
 *   400 {error, issues[]}                         not JSON, not an object, or the alert does not map
 *   401                                           passphrase missing or wrong (nothing else is read)
 *   403                                           source address not on TRADINGVIEW_ALLOWED_IPS
 *   413 / 429                                     body over 64 KiB / over the intake rate limit
 *
 * The passphrase is compared in constant time and then dropped: it is not part of the mapped
 * intent, the idempotency key, any row, bead or log line (INV-SECRET-1).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BlockList } from 'node:net';
import type { Engine, IntakeResult, Logger } from '../engine/index.js';
import { mapAlert } from '../tradingview/map-alert.js';
import type { TradingViewMapping } from '../tradingview/mapping.schema.js';
import { clientAddress, listHas, toBlockList } from './client-address.js';
import type { TokenBucket } from '../runtime/token-bucket.js';
import { readBody, refusedOverRate, send } from './respond.js';

/** TradingView cancels a webhook after 3 s; answer well before, whatever the engine is doing. */
export const DEFAULT_ANSWER_WITHIN_MS = 2000;

export interface TradingViewOptions {
  readonly passphrase: string;
  readonly mapping: TradingViewMapping;
  /** the exchange time zone for the futures roll date (the constitution's) */
  readonly timeZone: string;
  /** addresses/CIDR blocks (or `tradingview`) allowed to post; empty = anyone with the passphrase */
  readonly allowedIps?: readonly string[];
  /** reverse proxies whose X-Forwarded-For is believed */
  readonly trustedProxies?: readonly string[];
  readonly answerWithinMs?: number;
}

interface RouteDeps {
  readonly engine: Engine;
  readonly logger: Logger;
  readonly bucket: TokenBucket;
  readonly ratePerMinute: number;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
export function passphraseMatches(given: unknown, expected: string): boolean {
  return typeof given === 'string' && timingSafeEqual(digest(given), digest(expected));
}

/** Own `__proto__` keys anywhere: refused (zod and plain objects would drop them silently). */
function hasProtoKey(v: unknown, depth = 0): boolean {
  if (v === null || typeof v !== 'object' || depth > 20) return false;
  if (!Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, '__proto__')) return true;
  return Object.values(v).some((x) => hasProtoKey(x, depth + 1));
}

const bad = (res: ServerResponse, path: string, message: string) => send(res, 400, { error: message, issues: [{ path, message }] });

export function tradingViewRoute(opts: TradingViewOptions, deps: RouteDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const allowed = opts.allowedIps?.length ? toBlockList(opts.allowedIps) : null;
  const proxies: BlockList | null = opts.trustedProxies?.length ? toBlockList(opts.trustedProxies) : null;
  const within = opts.answerWithinMs ?? DEFAULT_ANSWER_WITHIN_MS;
  const log = deps.logger.child({ component: 'tradingview' });

  return async (req, res) => {
    if (req.method !== 'POST') return send(res, 405, { error: 'use POST /v1/tradingview (the TradingView webhook URL)' }, { allow: 'POST' });
    if (allowed) {
      const from = clientAddress(req, proxies);
      if (!listHas(allowed, from)) {
        req.resume();
        log.warn({ from }, 'tradingview webhook refused: source address not allowed');
        return send(res, 403, { error: `source address ${from} is not on TRADINGVIEW_ALLOWED_IPS` });
      }
    }
    if (refusedOverRate(req, res, deps.bucket, deps.ratePerMinute)) return;
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json' && type !== 'text/plain') {
      req.resume();
      return bad(res, '(header) content-type', `content type must be application/json or text/plain, as TradingView sends (got ${type || 'none'})`);
    }
    const body = await readBody(req);
    if (!body.ok) return send(res, body.status, { error: body.error, ...(body.status === 400 ? { issues: [{ path: '(body)', message: body.error }] } : {}) }, body.status === 413 ? { connection: 'close' } : {});
    let raw: unknown;
    try {
      raw = JSON.parse(body.text);
    } catch {
      // No parser text in the answer: it may quote the body, passphrase included.
      const message = !body.text.trim()
        ? 'empty body: paste the alert message template from the README ("TradingView") into the alert'
        : type === 'text/plain'
          ? 'the alert message is not valid JSON (TradingView sends text/plain when it is not): paste the template from the README ("TradingView") and keep the quotes and commas; only numbers such as {{close}} go unquoted'
          : 'malformed JSON: the alert message is not valid JSON';
      return bad(res, '(body)', message);
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return bad(res, '(body)', 'the alert message must be a JSON object like the README template');
    const { passphrase, ...alert } = raw as Record<string, unknown>;
    if (!passphraseMatches(passphrase, opts.passphrase)) {
      log.warn({ from: clientAddress(req, proxies), given: passphrase === undefined ? 'none' : 'wrong' }, 'tradingview webhook refused: passphrase');
      return send(res, 401, { error: `passphrase ${passphrase === undefined ? 'missing' : 'wrong'}: the alert message needs "passphrase": the value of TRADINGVIEW_PASSPHRASE` });
    }
    if (hasProtoKey(alert)) return bad(res, '(body)', 'the alert message may not use the key __proto__');

    const mapped = mapAlert(alert, { mapping: opts.mapping, timeZone: opts.timeZone });
    if (mapped.kind === 'invalid') return send(res, 400, { error: `the alert does not map onto an intent: ${mapped.issues.length} problem${mapped.issues.length > 1 ? 's' : ''}`, issues: mapped.issues });
    if (mapped.kind === 'exit') {
      log.info({ signalId: mapped.signalId }, 'tradingview exit alert ignored');
      return send(res, 200, { ignored: true, signalId: mapped.signalId, reason: mapped.reason });
    }
    const { intent, signalId } = mapped;
    const work = deps.engine.submitIntent(intent, 'tradingview');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), within)));
    const first = await Promise.race([work, late]).finally(() => clearTimeout(timer));
    if (first === 'late') {
      // Accept now, gate after: the same engine path finishes in the background; a re-send
      // meanwhile waits for it and is answered as a duplicate.
      work.then(
        (r) => logResult(log, signalId, r, 'tradingview alert finished after the answer'),
        (e: Error) => log.error({ signalId, err: e.message }, 'tradingview alert failed after it was acknowledged'),
      );
      log.warn({ signalId, afterMs: within }, 'tradingview alert acknowledged before the engine answered');
      return send(res, 202, { state: 'PENDING', signalId, message: `accepted; the gates did not answer within ${within} ms and finish in the background (re-sends are recognised by signalId)` });
    }
    const r = first;
    logResult(log, signalId, r, 'tradingview alert');
    switch (r.kind) {
      case 'invalid':
        return send(res, 400, { error: `the mapped intent is invalid: ${r.issues.length} problem${r.issues.length > 1 ? 's' : ''} (check the alert's prices and config/tradingview.yaml)`, issues: r.issues });
      case 'duplicate':
        return send(res, 200, { duplicate: true, intentId: r.intentId, state: r.state, signalId, message: 'this alert was already received (TradingView re-send); nothing was duplicated' });
      case 'accepted':
        return send(res, 202, {
          intentId: r.intentId,
          state: r.state,
          denials: r.denials,
          signalId,
          instrument: { symbol: intent.instrument.symbol, ...(intent.instrument.contractMonth ? { contractMonth: intent.instrument.contractMonth } : {}) },
          fromTemplate: intent.fromTemplate ?? [],
          ...(r.shadow ? { shadow: true } : {}),
        });
    }
  };
}

function logResult(log: Logger, signalId: string, r: IntakeResult, msg: string): void {
  if (r.kind === 'accepted') log.info({ signalId, intentId: r.intentId, state: r.state, denials: r.denials.map((d) => d.code) }, msg);
  else if (r.kind === 'duplicate') log.info({ signalId, intentId: r.intentId, duplicate: true }, msg);
  else log.warn({ signalId, issues: r.issues.map((i) => i.path) }, msg);
}

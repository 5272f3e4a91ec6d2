/**
 * The bot webhook on a desk follower (issue 18, SPEC 17): Telegram (through the desk's load
 * balancer) may post an update to any process; a follower checks the webhook secret, stores the
 * update in the database (src/store/pg.relay.ts) and answers 200 at once. The leader's bot takes
 * it from there (src/bot/runner.ts), so only the leader acts and answers: one bot, one send
 * budget per chat, one broker session. Same path, port and secret as the leader's own webhook
 * server, which replaces this one when this process takes over.
 *
 *   200  stored (or already stored: Telegram re-delivered it)
 *   401  wrong or missing X-Telegram-Bot-Api-Secret-Token
 *   400  not a Telegram update (JSON object with a non-negative integer update_id)
 *   404  another path or method; 413 body over 64 KiB; 503 the database did not take it
 *        (Telegram retries the update later)
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Clock, Logger } from '../engine/index.js';
import { readBody, send } from './respond.js';

export interface RelayInbox {
  put(update: { readonly update_id: number }, receivedBy: string, at: number): Promise<boolean>;
}

export interface TelegramRelayServer {
  readonly port: number;
  readonly path: string;
  close(): Promise<void>;
}

const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/** What a follower needs of an update to store it; the leader's bot parses the rest. */
const UpdateShape = z.looseObject({ update_id: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER) });

const digest = (s: string) => createHash('sha256').update(s).digest();
const secretMatches = (given: unknown, secret: string) => typeof given === 'string' && timingSafeEqual(digest(given), digest(secret));

export async function startTelegramRelay(o: {
  readonly webhook: { readonly url: string; readonly secret: string; readonly port: number; readonly host?: string };
  readonly inbox: RelayInbox;
  readonly holder: string;
  readonly clock: Clock;
  readonly logger: Logger;
}): Promise<TelegramRelayServer> {
  const path = new URL(o.webhook.url).pathname || '/';
  const log = o.logger.child({ component: 'telegram-relay' });
  const server = http.createServer((req, res) => {
    void handle(req, res).catch((e: Error) => {
      log.error({ err: e.message }, 'webhook relay failed');
      send(res, 500, { error: 'internal error' });
    });
  });
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://relay.local');
    if (req.method !== 'POST' || url.pathname !== path) {
      req.resume();
      return send(res, 404, { error: 'not found' });
    }
    if (!secretMatches(req.headers[SECRET_HEADER], o.webhook.secret)) {
      req.resume();
      return send(res, 401, { error: 'secret token is wrong' });
    }
    const body = await readBody(req);
    if (!body.ok) return send(res, body.status, { error: body.error });
    let json: unknown;
    try {
      json = JSON.parse(body.text);
    } catch {
      return send(res, 400, { error: 'body is not JSON' });
    }
    const update = UpdateShape.safeParse(json);
    if (!update.success) return send(res, 400, { error: 'not a Telegram update (update_id missing or not a non-negative integer)' });
    try {
      const fresh = await o.inbox.put(update.data, o.holder, o.clock.now());
      log.debug({ updateId: update.data.update_id, fresh }, 'update relayed to the leader');
    } catch (e) {
      log.warn({ err: (e as Error).message, updateId: update.data.update_id }, 'webhook relay: the database did not take the update (Telegram retries)');
      return send(res, 503, { error: 'database unavailable' });
    }
    send(res, 200, { ok: true });
  }
  server.on('clientError', (_e, socket) => socket.destroy());
  const host = o.webhook.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.webhook.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ host, port, path }, 'follower: Telegram webhook relayed to the leader through the database');
  return {
    port,
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

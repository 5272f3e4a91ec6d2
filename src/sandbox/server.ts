/**
 * Sandbox Bot API server: a local stand-in for api.telegram.org that the real grammY bot
 * talks to via `client.apiRoot`, plus a user-side API (in-process and under /sandbox/api)
 * and a web console at `/`.
 *
 *   const sandbox = await startSandbox();
 *   const bot = new Bot('123:abc', { client: { apiRoot: sandbox.apiRoot } });
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { setMaxListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ApiError } from './api-error.js';
import { findMethod } from './bot-methods.js';
import { handleConsoleApi } from './console-api.js';
import { renderConsolePage } from './console-page.js';
import { SandboxCore, type CallRecord, type SandboxOptions } from './core.js';
import type { Fault, Outage } from './faults.js';
import { readParams, sendHtml, sendJson, sleep } from './http-util.js';
import { normalizeParams } from './params.js';
import { refuseForeign } from './request-guard.js';
import { isLoopbackBindHost } from '../runtime/loopback.js';
import type { SandboxClock } from './rate-limit.js';
import type { SandboxMessage, WaitOptions } from './state.js';
import type { TgChat, TgChatType, TgUpdate } from './types.js';
import { createUser, type SandboxUser, type SandboxUserInit } from './user-client.js';
import type { WebhookInfo } from './webhook.js';

export type { CallRecord, ConsoleUser, SandboxOptions } from './core.js';
export type { Fault, FaultKind, Outage } from './faults.js';
export type { RateLimitConfig, SandboxClock } from './rate-limit.js';
export type { CallbackAnswer, SandboxMessage, WaitOptions } from './state.js';
export type * from './types.js';
export type { SandboxUser, SandboxUserInit } from './user-client.js';
export type { WebhookInfo } from './webhook.js';
export { ERR } from './api-error.js';
export { SUPPORTED_METHODS } from './bot-methods.js';
export { BOT_FIRST_NAME, BOT_USERNAME } from './core.js';

export interface Sandbox {
  /** base URL for grammY's `client.apiRoot` (no trailing slash) */
  readonly apiRoot: string;
  /** the web console page */
  readonly url: string;
  readonly port: number;
  readonly clock: SandboxClock;
  /** every bot call, in arrival order; status/ok are filled in when it completes */
  readonly calls: CallRecord[];
  /** push faults here; they are consumed in order by matching calls */
  readonly faults: Fault[];
  /** fail every matching call until `until` (clock ms) or until setOutage(undefined) */
  setOutage(outage: Outage | undefined): void;
  user(init: SandboxUserInit): SandboxUser;
  /** the messages of a chat, oldest first, in their current state */
  chat(chatId: number): SandboxMessage[];
  /** first truthy value of `predicate`, re-checked on every state change */
  waitFor<T>(predicate: () => T | undefined | null | false, options?: WaitOptions): Promise<T>;
  addChat(chat: { id: number; type?: TgChatType; title?: string; first_name?: string; username?: string }): TgChat;
  /** updates queued for the bot and not yet confirmed */
  pendingUpdates(): TgUpdate[];
  webhookInfo(): WebhookInfo;
  /** forget chats, messages, callbacks, calls, faults, commands, webhook and rate state */
  reset(): void;
  close(): Promise<void>;
}

const STATUS_TEXT: Record<number, string> = {
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

type ReplyBody = { ok: boolean; description?: string } & Record<string, unknown>;

const BOT_ROUTE = /^\/bot([^/]+)\/([^/?]+)\/?$/;

async function handleBotCall(
  core: SandboxCore,
  token: string,
  methodName: string,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  signal: AbortSignal,
): Promise<void> {
  const method = findMethod(methodName);
  const record: CallRecord = {
    method: method?.name ?? methodName,
    payload: {},
    at: core.clock.now(),
    status: 0,
    ok: false,
    pending: true,
  };
  core.calls.push(record);
  core.state.notify();
  const reply = (status: number, body: ReplyBody): void => {
    if (signal.aborted || res.destroyed) return; // nobody left to answer
    record.status = status;
    record.ok = body.ok;
    if (body.description !== undefined) record.description = body.description;
    sendJson(res, status, body);
  };
  try {
    if (core.options.token !== undefined && token !== core.options.token) throw new ApiError(401, 'Unauthorized');
    record.payload = normalizeParams(await readParams(req, url));
    if (!method) throw new ApiError(404, 'Not Found: method not found');

    const fault = core.faults.next(method.name);
    switch (fault?.kind) {
      case '429': {
        const n = Math.max(1, Math.ceil(fault.retryAfter ?? 1));
        throw new ApiError(429, `Too Many Requests: retry after ${n}`, { retry_after: n });
      }
      case '5xx': {
        const status = fault.status ?? 502;
        throw new ApiError(status, STATUS_TEXT[status] ?? `Server Error ${status}`);
      }
      case 'timeout':
        // hold the request until the client gives up or the sandbox closes
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          else signal.addEventListener('abort', () => resolve(), { once: true });
        });
        return;
      case 'network':
        req.socket.destroy();
        return;
      case 'delay':
        await sleep(fault.delayMs ?? 1000, signal);
        break;
      default:
        break;
    }
    const result = await method.h(core, { params: record.payload, token, signal });
    reply(200, { ok: true, result });
  } catch (err) {
    if (err instanceof ApiError) reply(err.code, err.toJSON());
    else reply(500, { ok: false, error_code: 500, description: `Internal Server Error: ${(err as Error).message}` });
  } finally {
    record.pending = false;
    core.state.notify();
  }
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const host = opts.host ?? '127.0.0.1';
  // INV-SANDBOX-PAPER-1: no login, so never reachable from another machine
  if (!isLoopbackBindHost(host)) throw new Error(`sandbox host ${host} is not loopback: the sandbox has no login and listens only on 127.0.0.1, localhost or ::1`);
  const core = new SandboxCore(opts);
  // one listener per in-flight request; many concurrent calls are normal, not a leak
  setMaxListeners(0, core.closing.signal);
  let port = 0; // known once listening; every request arrives after that

  const server = http.createServer((req, res) => {
    // `signal` aborts when this client goes away or the whole sandbox closes
    const gone = new AbortController();
    const onClosing = (): void => gone.abort();
    core.closing.signal.addEventListener('abort', onClosing, { once: true });
    res.on('close', () => {
      core.closing.signal.removeEventListener('abort', onClosing);
      if (!res.writableFinished) gone.abort();
    });
    const signal = gone.signal;
    const refused = refuseForeign(req, port);
    if (refused) {
      req.resume();
      sendJson(res, refused.status, { ok: false, error_code: refused.status, description: refused.description, error: refused.description });
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://sandbox.local');
    } catch {
      // `//[` and the like: a bad request, not an exception that would end the process
      sendJson(res, 400, { ok: false, error_code: 400, description: 'Bad Request: malformed request path' });
      return;
    }
    const path = url.pathname;
    const bot = BOT_ROUTE.exec(path);
    let work: Promise<void>;
    if (bot) {
      let token: string;
      try {
        token = decodeURIComponent(bot[1] as string);
      } catch {
        sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' }); // %E0 and the like
        return;
      }
      work = handleBotCall(core, token, bot[2] as string, req, res, url, signal);
    } else if (path.startsWith('/sandbox/api/')) {
      work = handleConsoleApi(core, path.slice('/sandbox/api/'.length), req, res, url, signal);
    } else if ((path === '/' || path === '/index.html') && (req.method === 'GET' || req.method === 'HEAD')) {
      sendHtml(res, renderConsolePage(core.consoleConfig));
      return;
    } else {
      sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      return;
    }
    // a bug in a handler must never take the sandbox down
    work.catch((err: unknown) => {
      sendJson(res, 500, { ok: false, error_code: 500, description: `Internal Server Error: ${String(err)}` });
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  const apiRoot = `http://${hostForUrl}:${port}`;
  let closed: Promise<void> | undefined;

  return {
    apiRoot,
    url: `${apiRoot}/`,
    port,
    clock: core.clock,
    calls: core.calls,
    faults: core.faults.queue,
    setOutage: (outage) => core.faults.setOutage(outage),
    user: (init) => createUser(core, init),
    chat: (chatId) => core.state.snapshot(chatId),
    waitFor: (predicate, options) => core.state.waitFor(predicate, options),
    addChat: (chat) => {
      core.addChat(chat);
      return { ...(core.state.getChat(chat.id) as TgChat) };
    },
    pendingUpdates: () => core.updates.peek(100),
    webhookInfo: () => core.webhook.info(),
    reset: () => core.reset(),
    close() {
      closed ??= new Promise<void>((resolve) => {
        core.closing.abort();
        core.webhook.close();
        core.state.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/**
 * `/sandbox/api/*`: the user-side API over HTTP, for the web console (and anything else
 * that is not in-process). Every input is validated with zod; bad input is a 400 with a
 * readable JSON error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { SandboxCore } from './core.js';
import { readBody, sendJson } from './http-util.js';
import { refuseNonJson } from './request-guard.js';
import { createUser, type SandboxUser } from './user-client.js';

const chatId = z.coerce.number().int().refine((n) => n !== 0, 'chatId must not be 0');
const userId = z.coerce.number().int().positive();

/** `since`: only what changed after that state version (the console's incremental update) */
const ChatQuery = z.object({ chatId, since: z.coerce.number().int().min(0).optional() });
const EventsQuery = z.object({
  since: z.coerce.number().int().min(0).default(0),
  timeout: z.coerce.number().min(0).max(30).default(25),
});
const AnswerQuery = z.object({
  id: z.string().min(1),
  waitMs: z.coerce.number().int().min(0).max(30_000).default(0),
});
const SendBody = z.object({
  userId,
  chatId,
  text: z.string().min(1, 'text must not be empty').max(4096),
  firstName: z.string().min(1).max(64).optional(),
  username: z.string().min(1).max(32).optional(),
});
const TapBody = z.object({
  userId,
  chatId,
  messageId: z.coerce.number().int().positive(),
  data: z.string().min(1),
  /** send the data even if no button carries it (a forged press) */
  raw: z.boolean().optional(),
  firstName: z.string().min(1).max(64).optional(),
});

class BadInput extends Error {}

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const detail = r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
  throw new BadInput(detail);
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  try {
    return JSON.parse(text === '' ? '{}' : text);
  } catch {
    throw new BadInput('body must be JSON');
  }
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** A user for an HTTP call: known sandbox users keep their names; console labels name the rest. */
function userFor(core: SandboxCore, id: number, firstName?: string, username?: string): SandboxUser {
  const known = core.state.users.get(id);
  const label = core.consoleConfig.users.find((u) => u.id === id)?.label;
  const first = firstName ?? known?.first_name ?? (label ? capitalize(label) : undefined);
  const name = username ?? known?.username;
  return createUser(core, {
    id,
    ...(first ? { first_name: first } : {}),
    ...(name ? { username: name } : {}),
  });
}

/** Resolve when the state version passes `since`, after `timeoutMs`, or on abort. */
function waitForVersion(core: SandboxCore, since: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
  if (core.state.version > since || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      off();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const off = core.state.onChange(() => {
      if (core.state.version > since) done();
    });
    const timer = setTimeout(done, timeoutMs);
    signal.addEventListener('abort', done, { once: true });
  });
}

export async function handleConsoleApi(
  core: SandboxCore,
  route: string,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  signal: AbortSignal,
): Promise<void> {
  const query = Object.fromEntries(url.searchParams);
  const notJson = req.method === 'POST' ? refuseNonJson(req) : null;
  if (notJson) {
    req.resume();
    sendJson(res, notJson.status, { ok: false, error: notJson.description });
    return;
  }
  try {
    if (req.method === 'GET' && route === 'config') {
      sendJson(res, 200, { ok: true, ...core.consoleConfig, bot: core.botFrom(core.options.token ?? '') });
    } else if (req.method === 'GET' && route === 'chat') {
      const q = parse(ChatQuery, query);
      const changes = q.since === undefined ? { full: true, messages: core.state.snapshot(q.chatId), removed: [] } : core.state.changesSince(q.chatId, q.since);
      sendJson(res, 200, {
        ok: true,
        chatId: q.chatId,
        chat: core.state.getChat(q.chatId) ?? null,
        version: core.state.version,
        ...changes,
      });
    } else if (req.method === 'GET' && route === 'events') {
      const q = parse(EventsQuery, query);
      await waitForVersion(core, q.since, q.timeout * 1000, signal);
      sendJson(res, 200, { ok: true, version: core.state.version });
    } else if (req.method === 'GET' && route === 'answer') {
      const q = parse(AnswerQuery, query);
      const get = () => core.state.callbacks.get(q.id)?.answer;
      if (!get() && q.waitMs > 0) {
        await core.state.waitFor(get, { timeoutMs: q.waitMs }).catch(() => undefined);
      }
      const answer = get();
      sendJson(res, 200, { ok: true, answered: answer !== undefined, answer: answer ?? null });
    } else if (req.method === 'POST' && route === 'send') {
      const b = parse(SendBody, await jsonBody(req));
      const message = userFor(core, b.userId, b.firstName, b.username).send(b.chatId, b.text);
      sendJson(res, 200, { ok: true, message });
    } else if (req.method === 'POST' && route === 'tap') {
      const b = parse(TapBody, await jsonBody(req));
      const user = userFor(core, b.userId, b.firstName);
      let callbackQueryId: string;
      try {
        callbackQueryId = b.raw
          ? user.tapRaw(b.chatId, b.messageId, b.data)
          : user.tap(b.chatId, b.messageId, b.data);
      } catch (err) {
        throw new BadInput((err as Error).message);
      }
      sendJson(res, 200, { ok: true, callbackQueryId });
    } else {
      sendJson(res, 404, { ok: false, error: `no console route ${req.method ?? ''} /sandbox/api/${route}` });
    }
  } catch (err) {
    if (err instanceof BadInput) sendJson(res, 400, { ok: false, error: err.message });
    else throw err;
  }
}

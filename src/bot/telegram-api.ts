/**
 * Every grammY client Phoenix talks to Telegram with is built (or guarded) here, and this is
 * the ONE place Telegram errors are made secret-free (SAFE-6, INV-SECRET-1).
 *
 * grammY builds request URLs as `${apiRoot}/bot${token}/${method}`; when fetch fails
 * (connection refused, reset, DNS, an unreachable root) the error it throws carries that URL,
 * token included, in its message and stack, and grammY keeps it as `HttpError.error`. From
 * there it used to reach pino, kv `telegram.lastError`, outbox rows, /status in the chat and
 * append-only HEARTBEAT beads. `redactErrors` is installed as the INNERMOST transformer of
 * every client, right above grammY's fetch: whatever is thrown below it is replaced by a new
 * error (fresh stack, no `cause`) whose text has the secrets cut out, keeping only what
 * callers classify by (HttpError vs other, the errno `code`, "timed out"). Everything above
 * (auto-retry, our transports, loggers, the database) only ever sees the redacted error.
 */
import { Api, HttpError, type Transformer } from 'grammy';

export const REDACTED = '[redacted]';

/** Any bot token in a URL path, also one we were not told about. */
const TOKEN_IN_URL = /bot\d+:[A-Za-z0-9_-]+/g;

/** The strings to cut out for a token (+ other secrets): the token, its secret half, URL-encoded forms. */
export function secretsFor(token: string, extra: readonly (string | undefined)[] = []): string[] {
  const out = new Set<string>();
  const add = (s: string | undefined) => {
    if (!s || s.length < 6) return; // too short to be a secret; would shred ordinary words
    out.add(s);
    out.add(encodeURIComponent(s));
  };
  add(token);
  add(token.split(':')[1]);
  for (const s of extra) add(s);
  return [...out].sort((a, b) => b.length - a.length); // longest first: no half-redacted leftovers
}

/** `text` with every secret (and any bot token in a URL) replaced by [redacted]. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text.replace(TOKEN_IN_URL, `bot${REDACTED}`);
  for (const s of secrets) out = out.split(s).join(REDACTED);
  return out;
}

/** Stand-in for what fetch threw: the redacted message and the errno fields callers classify by. */
export class TelegramNetworkError extends Error {
  readonly code: string | undefined;
  readonly errno: string | number | undefined;
  constructor(message: string, code?: string, errno?: string | number) {
    super(message);
    this.name = 'TelegramNetworkError';
    this.code = code;
    this.errno = errno;
  }
}

/** A secret-free copy of anything a Telegram call threw. */
export function secretFreeError(e: unknown, secrets: readonly string[]): Error {
  const clean = (s: unknown) => redactSecrets(String(s ?? ''), secrets);
  if (e instanceof HttpError) {
    const inner = e.error as { message?: unknown; code?: unknown; errno?: unknown } | undefined;
    const code = typeof inner?.code === 'string' ? inner.code : undefined;
    const errno = typeof inner?.errno === 'string' || typeof inner?.errno === 'number' ? inner.errno : undefined;
    return new HttpError(clean(e.message), new TelegramNetworkError(clean(inner?.message ?? inner), code, errno));
  }
  const err = new Error(clean(e instanceof Error ? e.message : e));
  if (e instanceof Error) err.name = e.name;
  return err;
}

/** The innermost transformer: errors and refusal texts from below leave it redacted. */
export const redactErrors =
  (secrets: readonly string[]): Transformer =>
  async (prev, method, payload, signal) => {
    let res;
    try {
      res = await prev(method, payload, signal);
    } catch (e) {
      throw secretFreeError(e, secrets);
    }
    if (!res.ok && typeof res.description === 'string') return { ...res, description: redactSecrets(res.description, secrets) };
    return res;
  };

export interface TelegramApiOptions {
  /** Bot API root (sandbox: `sandbox.apiRoot`); default https://api.telegram.org */
  readonly apiRoot?: string;
  /** per-request timeout in seconds */
  readonly timeoutSeconds?: number;
  /** more secrets to cut out of errors (e.g. TELEGRAM_WEBHOOK_SECRET) */
  readonly secrets?: readonly (string | undefined)[];
}

/** Guard an existing client (a Bot's `bot.api`): call before installing any other transformer. */
export function guardApi(api: Api, token: string, extra: readonly (string | undefined)[] = []): void {
  api.config.use(redactErrors(secretsFor(token, extra)));
}

/** A bare Bot API client (no auto-retry) whose errors never carry a secret. */
export function createTelegramApi(token: string, opts: TelegramApiOptions = {}): Api {
  const api = new Api(token, {
    ...(opts.apiRoot ? { apiRoot: opts.apiRoot.replace(/\/+$/, '') } : {}),
    ...(opts.timeoutSeconds !== undefined ? { timeoutSeconds: opts.timeoutSeconds } : {}),
  });
  guardApi(api, token, opts.secrets ?? []);
  return api;
}

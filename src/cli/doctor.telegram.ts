/**
 * `phoenix doctor`: the Telegram checks (SPEC 2) — the bot token works, updates can arrive (polling or
 * webhook), the chat is reachable and its members hold the roles.
 */
import { ENV_FIXES, type Env } from '../config/env.schema.js';
import { clientHost, hostPort, needs, ok, result, skip, warn, type CheckResult, type CheckStatus, type DoctorEnv, type Finding, type FetchLike } from './doctor.checks.js';

export type TelegramAnswer =
  | { readonly kind: 'ok'; readonly result: unknown }
  | { readonly kind: 'api'; readonly status: number; readonly description: string; readonly retryAfter?: number }
  | { readonly kind: 'network'; readonly code: string }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'not-bot-api'; readonly status: number };

export const DEFAULT_TELEGRAM_ROOT = 'https://api.telegram.org';

/**
 * One Bot API call. The URL holds the token, so nothing derived from the URL or from the
 * fetch error text is returned: only status codes, Telegram's description and error codes.
 */
export async function telegramCall(fetchFn: FetchLike, root: string, token: string, method: string, params: Record<string, unknown>, timeoutMs: number): Promise<TelegramAnswer> {
  let res;
  try {
    res = await fetchFn(`${root}/bot${token}/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params), signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string }; code?: string };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return { kind: 'timeout' };
    const code = e.cause?.code ?? e.code;
    return { kind: 'network', code: typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? code : 'network error' };
  }
  type Body = { ok?: unknown; result?: unknown; description?: unknown; parameters?: { retry_after?: unknown } };
  let body: Body | null;
  try {
    body = JSON.parse(await res.text()) as Body | null;
  } catch {
    body = null;
  }
  if (!body || typeof body !== 'object' || typeof body.ok !== 'boolean') return { kind: 'not-bot-api', status: res.status };
  if (body.ok) return { kind: 'ok', result: body.result };
  const retry = body.parameters?.retry_after;
  return { kind: 'api', status: res.status, description: typeof body.description === 'string' ? body.description : `error ${res.status}`, ...(typeof retry === 'number' ? { retryAfter: retry } : {}) };
}

export interface TelegramDeps {
  readonly fetch: FetchLike;
  readonly timeoutMs: number;
}

export interface TelegramBotCheck {
  readonly result: CheckResult;
  /** getMe worked: the other Telegram checks may call the API */
  readonly reachable: boolean;
}

const REACH_FIX = 'check that this server can make outbound HTTPS requests to api.telegram.org (DNS, firewall, proxy), or set TELEGRAM_API_ROOT to a reachable Bot API server';
const TOKEN_FIX = 'token revoked or wrong: get a new one from @BotFather (/mybots → your bot → API Token) and set TELEGRAM_BOT_TOKEN';

function answerFinding(a: Exclude<TelegramAnswer, { kind: 'ok' }>, root: string, method: string): Finding {
  switch (a.kind) {
    case 'timeout':
      return { problem: `cannot reach Telegram at ${root}: no answer to ${method}`, fix: REACH_FIX };
    case 'network':
      return { problem: `cannot reach Telegram at ${root} (${a.code})`, fix: REACH_FIX };
    case 'not-bot-api':
      return { problem: `${root} answered ${method} with HTTP ${a.status} but not as a Bot API server`, fix: 'check TELEGRAM_API_ROOT (unset it for https://api.telegram.org)' };
    case 'api':
      if (a.status === 401 || a.status === 404) return { problem: `Telegram refused the bot token (${a.status} ${a.description})`, fix: TOKEN_FIX };
      if (a.status === 429) return { problem: `Telegram rate limit on ${method} (${a.description})`, fix: `wait ${a.retryAfter ?? 'a few'} s and run phoenix doctor again` };
      return { problem: `Telegram answered ${method} with ${a.status} ${a.description}`, fix: a.status >= 500 ? 'Telegram-side trouble: try again in a minute (Phoenix retries by itself)' : 'see the description above' };
  }
}

export const telegramRoot = (env: Env) => env.TELEGRAM_API_ROOT ?? DEFAULT_TELEGRAM_ROOT;

export async function checkTelegramBot(e: DoctorEnv, deps: TelegramDeps): Promise<TelegramBotCheck> {
  const name = 'telegram';
  const env = e.env;
  if (e.invalid.has('TELEGRAM_BOT_TOKEN') || e.invalid.has('TELEGRAM_API_ROOT')) return { result: needs(name, e, ['TELEGRAM_BOT_TOKEN', 'TELEGRAM_API_ROOT'])!, reachable: false };
  const token = env.TELEGRAM_BOT_TOKEN;
  if (!token) {
    const where = `http://${hostPort(clientHost(env.SANDBOX_HOST), env.SANDBOX_PORT)}/`;
    return {
      result: ok(name, `sandbox mode (no TELEGRAM_BOT_TOKEN): cards go to the local sandbox console at ${where}`, ['for real Telegram set TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID and TELEGRAM_APPROVERS']),
      reachable: false,
    };
  }
  const root = telegramRoot(env);
  const a = await telegramCall(deps.fetch, root, token, 'getMe', {}, deps.timeoutMs);
  if (a.kind !== 'ok') {
    const f = answerFinding(a, root, 'getMe');
    const status = a.kind === 'api' && a.status >= 500 ? 'WARN' : 'FAIL';
    return { result: result(name, status, a.kind === 'api' && (a.status === 401 || a.status === 404) ? 'bot token refused' : `Telegram not usable via ${root}`, [f]), reachable: false };
  }
  const me = (a.result ?? {}) as { id?: unknown; username?: unknown; is_bot?: unknown };
  return { result: ok(name, `bot @${String(me.username ?? '?')} (id ${String(me.id ?? '?')}) via ${root}`), reachable: true };
}

interface WebhookInfoResult {
  url?: string;
  pending_update_count?: number;
  last_error_date?: number;
  last_error_message?: string;
}

export async function checkTelegramUpdates(e: DoctorEnv, deps: TelegramDeps, reachable: boolean, now: number): Promise<CheckResult> {
  const name = 'telegram updates';
  const env = e.env;
  const token = env.TELEGRAM_BOT_TOKEN;
  if (!token) return ok(name, 'sandbox mode: the bot long-polls the local sandbox');
  if (!reachable) return skip(name, 'not checked: the bot API is not usable (see telegram)');
  const root = telegramRoot(env);
  const a = await telegramCall(deps.fetch, root, token, 'getWebhookInfo', {}, deps.timeoutMs);
  if (a.kind !== 'ok') return warn(name, 'getWebhookInfo failed', [answerFinding(a, root, 'getWebhookInfo')]);
  const info = (a.result ?? {}) as WebhookInfoResult;
  const registered = info.url ?? '';
  const pending = info.pending_update_count ?? 0;
  const notes = [`${pending} update${pending === 1 ? '' : 's'} waiting at Telegram`];
  const lastError = info.last_error_message
    ? `last webhook delivery error${info.last_error_date ? ` ${Math.max(0, Math.round((now / 1000 - info.last_error_date) / 60))} min ago` : ''}: ${info.last_error_message}`
    : null;
  const want = env.TELEGRAM_WEBHOOK_URL;
  if (want) {
    if (!registered) return warn(name, `webhook mode: no webhook registered yet (want ${want})`, [{ problem: 'Telegram has no webhook for this bot', fix: 'Phoenix registers it at start (setWebhook); if Phoenix is running, look in its log for "Telegram setWebhook failed"' }], notes);
    if (registered !== want) {
      return warn(name, `webhook mode: the registered webhook is not TELEGRAM_WEBHOOK_URL`, [{ problem: `registered ${registered}, configured ${want}`, fix: 'Phoenix re-registers its URL at start (setWebhook); if something else registered the other URL, give each deployment its own bot — or unset TELEGRAM_WEBHOOK_URL to use long polling' }], notes);
    }
    if (lastError) return warn(name, `webhook mode: ${registered}`, [{ problem: lastError, fix: `check that ${want} reaches this server (public HTTPS with a valid certificate, forwarded to TELEGRAM_WEBHOOK_PORT ${env.TELEGRAM_WEBHOOK_PORT}), or unset TELEGRAM_WEBHOOK_URL to use long polling` }], notes);
    return ok(name, `webhook mode: registered ${registered} matches TELEGRAM_WEBHOOK_URL`, notes);
  }
  if (registered) {
    return warn(name, 'long polling, but a webhook is registered for this bot', [
      {
        problem: `webhook ${registered} is registered: while it is, long polling (getUpdates) is refused${lastError ? `; ${lastError}` : ''}`,
        fix: 'it will be removed at start (deleteWebhook); if another program uses that webhook, give Phoenix its own bot — or set TELEGRAM_WEBHOOK_URL to that URL to run in webhook mode',
      },
    ], notes);
  }
  return ok(name, 'long polling (no webhook registered)', notes);
}

export async function checkTelegramChat(e: DoctorEnv, deps: TelegramDeps, reachable: boolean): Promise<CheckResult> {
  const name = 'telegram chat';
  const env = e.env;
  const skipped = needs(name, e, ['TELEGRAM_CHAT_ID', 'TELEGRAM_APPROVERS', 'TELEGRAM_ADMINS', 'TELEGRAM_VIEWERS']);
  if (skipped) return skipped;
  const roles = `approvers ${env.TELEGRAM_APPROVERS.length}, admins ${env.TELEGRAM_ADMINS.length}, viewers ${env.TELEGRAM_VIEWERS.length}`;
  if (!env.TELEGRAM_BOT_TOKEN) {
    return ok(name, `sandbox chat ${env.TELEGRAM_CHAT_ID ?? '-1001001'} with the console users approver 1001, admin 1002 and stranger 666`);
  }
  const findings: Finding[] = [];
  let status: CheckStatus = 'OK';
  const chatId = env.TELEGRAM_CHAT_ID;
  if (!chatId) {
    status = 'FAIL';
    findings.push({ problem: 'TELEGRAM_CHAT_ID is not set: cards and alerts have nowhere to go', fix: ENV_FIXES.TELEGRAM_CHAT_ID! });
  }
  if (!env.TELEGRAM_APPROVERS.length) {
    status = 'FAIL';
    findings.push({ problem: 'TELEGRAM_APPROVERS is empty: nobody can approve a card', fix: ENV_FIXES.TELEGRAM_APPROVERS! });
  }
  if (!env.TELEGRAM_ADMINS.length) {
    if (status === 'OK') status = 'WARN';
    findings.push({ problem: 'TELEGRAM_ADMINS is empty: /resume, /flatten and /audit cannot be used from Telegram (only from the CLI)', fix: ENV_FIXES.TELEGRAM_ADMINS! });
  }
  const known = new Set([...env.TELEGRAM_APPROVERS, ...env.TELEGRAM_ADMINS, ...env.TELEGRAM_VIEWERS]);
  if (chatId && !chatId.startsWith('-') && !known.has(chatId)) {
    if (status === 'OK') status = 'WARN';
    findings.push({ problem: `TELEGRAM_CHAT_ID ${chatId} is a private chat with a user who has no role`, fix: 'in a private chat the chat id is the user id: add it to TELEGRAM_APPROVERS/ADMINS, or use the group chat id (negative)' });
  }
  let chatLine = chatId ? `chat ${chatId}` : 'no chat';
  if (chatId && reachable) {
    const a = await telegramCall(deps.fetch, telegramRoot(env), env.TELEGRAM_BOT_TOKEN, 'getChat', { chat_id: chatId }, deps.timeoutMs);
    if (a.kind === 'ok') {
      const c = (a.result ?? {}) as { type?: unknown; title?: unknown; username?: unknown; first_name?: unknown };
      chatLine = `chat ${chatId} (${String(c.type ?? '?')} "${String(c.title ?? c.username ?? c.first_name ?? '')}")`;
    } else if (a.kind === 'api' && a.status === 404) {
      chatLine = `chat ${chatId} (this Bot API server cannot look chats up)`;
    } else if (a.kind === 'api' && (a.status === 400 || a.status === 403)) {
      status = 'FAIL';
      findings.push({ problem: `the bot cannot reach chat ${chatId}: ${a.description}`, fix: 'add the bot to the group (or send it /start in a private chat), then check TELEGRAM_CHAT_ID: groups are negative, supergroups start with -100' });
    } else {
      if (status === 'OK') status = 'WARN';
      findings.push(answerFinding(a as Exclude<TelegramAnswer, { kind: 'ok' }>, telegramRoot(env), 'getChat'));
    }
  }
  return result(name, status, `${chatLine}; ${roles}`, findings);
}

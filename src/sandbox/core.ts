/**
 * The sandbox's moving parts wired together, independent of HTTP: state, update queue,
 * webhook pusher, rate limiter, fault injector, call log and options. Bot methods, the
 * in-process user API and the console API all work on this object.
 */
import { FaultInjector } from './faults.js';
import { DEFAULT_RATE_LIMITS, NO_RATE_LIMITS, RateLimiter, type RateLimitConfig, type SandboxClock } from './rate-limit.js';
import { SandboxState } from './state.js';
import type { TgBotUser, TgChatType } from './types.js';
import { UpdateQueue } from './update-queue.js';
import { WebhookPusher } from './webhook.js';

export interface ConsoleUser {
  label: string;
  id: number;
}

export interface SandboxOptions {
  /** default 127.0.0.1 */
  host?: string;
  /** 0 (default) = ephemeral */
  port?: number;
  /** when set, calls with any other token get 401 Unauthorized */
  token?: string;
  /** time source for dates, rate limits and callback deadlines (default Date) */
  clock?: SandboxClock;
  /** Telegram-like flood control (default off); an object tunes the numbers */
  rateLimits?: boolean | Partial<RateLimitConfig>;
  /** at most N sends+edits per rolling minute in any chat (works even with rateLimits off) */
  strictPerMinute?: number;
  /** answerCallbackQuery deadline in clock ms (default 15 000) */
  callbackDeadlineMs?: number;
  /** a bot send to an unknown chat creates it (default true) */
  autoCreateChats?: boolean;
  /** reject a bare `&` in HTML like a missing escape (default true; real tdlib keeps it) */
  strictHtmlAmpersand?: boolean;
  /** real-time pauses between webhook delivery attempts (default [100, 300, 1000]) */
  webhookRetryDelaysMs?: number[];
  /** what the web console shows (default chat 1001; approver 1001, admin 1002, stranger 666) */
  /** the console page: its chat, its users, and the time zone its bubble times are shown in (default New York) */
  console?: { chatId?: number; users?: ConsoleUser[]; timeZone?: string };
}

export interface CallRecord {
  method: string;
  payload: Record<string, unknown>;
  /** clock ms when the call arrived */
  at: number;
  /** HTTP status sent; 0 while pending or when no response was sent (timeout/network fault, client gone) */
  status: number;
  ok: boolean;
  /** true until the call is answered or dropped */
  pending: boolean;
  description?: string;
}

export const BOT_FIRST_NAME = 'Phoenix Sandbox';
export const BOT_USERNAME = 'phoenix_sandbox_bot';
const FALLBACK_BOT_ID = 7_000_000_001;

export const DEFAULT_CONSOLE = {
  chatId: 1001,
  users: [
    { label: 'approver', id: 1001 },
    { label: 'admin', id: 1002 },
    { label: 'stranger', id: 666 },
  ] as ConsoleUser[],
  timeZone: 'America/New_York',
};

function rateConfig(opts: SandboxOptions): RateLimitConfig | undefined {
  const strict = opts.strictPerMinute !== undefined ? { strictPerMinute: opts.strictPerMinute } : {};
  if (opts.rateLimits) {
    const tuned = typeof opts.rateLimits === 'object' ? opts.rateLimits : {};
    return { ...DEFAULT_RATE_LIMITS, ...tuned, ...strict };
  }
  return opts.strictPerMinute !== undefined ? { ...NO_RATE_LIMITS, ...strict } : undefined;
}

export class SandboxCore {
  readonly clock: SandboxClock;
  readonly state: SandboxState;
  readonly updates = new UpdateQueue();
  readonly webhook: WebhookPusher;
  readonly limiter: RateLimiter | undefined;
  readonly faults: FaultInjector;
  readonly calls: CallRecord[] = [];
  readonly commands = new Map<string, unknown[]>();
  readonly callbackDeadlineMs: number;
  readonly autoCreateChats: boolean;
  readonly strictHtmlAmpersand: boolean;
  readonly consoleConfig: { chatId: number; users: ConsoleUser[]; timeZone: string };
  /** aborted by close(): ends long polls, held requests and delays */
  readonly closing = new AbortController();

  constructor(readonly options: SandboxOptions = {}) {
    this.clock = options.clock ?? { now: () => Date.now() };
    this.state = new SandboxState(this.clock);
    this.webhook = new WebhookPusher(this.updates, this.clock, options.webhookRetryDelaysMs, () => this.state.notify());
    const rc = rateConfig(options);
    this.limiter = rc ? new RateLimiter(this.clock, rc) : undefined;
    this.faults = new FaultInjector(this.clock);
    this.callbackDeadlineMs = options.callbackDeadlineMs ?? 15_000;
    this.autoCreateChats = options.autoCreateChats ?? true;
    this.strictHtmlAmpersand = options.strictHtmlAmpersand ?? true;
    this.consoleConfig = {
      chatId: options.console?.chatId ?? DEFAULT_CONSOLE.chatId,
      users: options.console?.users ?? DEFAULT_CONSOLE.users,
      timeZone: options.console?.timeZone ?? DEFAULT_CONSOLE.timeZone,
    };
  }

  /** The bot user behind a token: its id is the token's numeric prefix, as on Telegram. */
  botUser(token: string): TgBotUser {
    const prefix = /^(\d{1,15}):/.exec(token)?.[1];
    return {
      id: prefix ? Number(prefix) : FALLBACK_BOT_ID,
      is_bot: true,
      first_name: BOT_FIRST_NAME,
      username: BOT_USERNAME,
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
    };
  }

  /** Bot user without the getMe-only capability flags, for `from` of bot messages. */
  botFrom(token: string): { id: number; is_bot: true; first_name: string; username: string } {
    const b = this.botUser(token);
    return { id: b.id, is_bot: true, first_name: b.first_name, username: BOT_USERNAME };
  }

  addChat(chat: { id: number; type?: TgChatType; title?: string; first_name?: string; username?: string }): void {
    this.state.ensureChat(chat.id, chat);
  }

  reset(): void {
    this.updates.dropAll();
    this.webhook.set(undefined);
    this.limiter?.reset();
    this.faults.clear();
    this.calls.length = 0;
    this.commands.clear();
    this.state.reset();
  }
}

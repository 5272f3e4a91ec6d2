/**
 * Telegram, in-process: the part of the Bot API the bot and the alert sender use, answered by a
 * grammY API transformer (no HTTP). It outlives every Phoenix process of a run, like the real
 * Telegram: the chat, its messages and its buttons stay when a process is killed.
 *
 * - Every outgoing call is recorded (the run's message history and its hash) and scanned for
 *   secrets at the moment it is made (INV-SECRET-1).
 * - Flood control like Telegram's (the sandbox's limiter on the simulation clock): over the limit
 *   is a 429 with retry_after, whatever the bot's own budget believed.
 * - Injected faults, in order, each for the next matching call: 429 (retry_after), 5xx,
 *   timeouts (delivered or not: Phoenix cannot know), connection refused, 403.
 * - Users act by updates built here (messages with their bot_command entity, button taps that
 *   carry the tapped message), handed to the bot's real handlers with `bot.handleUpdate`.
 *
 * Faults are injected above the bot's secret-redacting transformer (grammY installs test
 * transformers outside it), so errors reach Phoenix in the shape they have after redaction;
 * the redaction itself is covered by test/bot/secrets.e2e.test.ts over real sockets.
 */
import { createHash } from 'node:crypto';
import { HttpError, type Transformer } from 'grammy';
import type { InlineKeyboardMarkup, Message, Update, UserFromGetMe } from 'grammy/types';
import { RateLimiter } from '../src/sandbox/rate-limit.js';
import { never, type Life } from './life.js';

export type TgFaultKind = '429' | '5xx' | 'timeout-lost' | 'timeout-delivered' | 'refused' | '403';
export interface TgFault {
  readonly kind: TgFaultKind;
  /** which calls it hits: sends and edits, callback answers, or any */
  readonly on: 'send' | 'answer' | 'any';
  readonly retryAfter?: number;
}

export interface TgUser {
  readonly id: number;
  readonly first_name: string;
  readonly username: string;
}

export interface ChatMessage {
  readonly messageId: number;
  readonly chatId: number;
  text: string;
  markup: InlineKeyboardMarkup | undefined;
  readonly date: number;
  edits: number;
}

export const BOT_INFO: UserFromGetMe = {
  id: 7000000009,
  is_bot: true,
  first_name: 'Phoenix',
  username: 'phoenix_sim_bot',
  can_join_groups: true,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
} as UserFromGetMe;

const SENDS = new Set(['sendMessage', 'editMessageText', 'editMessageReplyMarkup']);

type ApiResult = { ok: true; result: unknown } | { ok: false; error_code: number; description: string; parameters?: { retry_after?: number } };

export class FakeTelegram {
  /** chat id → messages by id */
  private readonly chats = new Map<number, Map<number, ChatMessage>>();
  private nextMessageId = 1;
  private nextUpdateId = 1;
  private readonly faults: TgFault[] = [];
  private readonly limiter: RateLimiter;
  private readonly digest = createHash('sha256');
  /** calls Telegram took (sent, edited, answered), for the report */
  readonly stats = { sends: 0, edits: 0, answers: 0, rateLimited: 0, faults: 0, calls: 0 };
  private lastUpdate: Update | null = null;
  /** set to an array to see every call (debugging a history) */
  trace: string[] | null = null;

  constructor(
    private readonly now: () => number,
    private readonly scan: (where: string, text: string) => void,
    readonly mainChat: { readonly id: number; readonly title: string },
  ) {
    this.limiter = new RateLimiter({ now });
    this.chats.set(mainChat.id, new Map());
  }

  inject(f: TgFault): void {
    this.faults.push(f);
  }

  pendingFaults(): number {
    return this.faults.length;
  }

  /** Messages of a chat, oldest first. */
  messages(chatId: number = this.mainChat.id): ChatMessage[] {
    return [...(this.chats.get(chatId)?.values() ?? [])];
  }

  message(chatId: number, messageId: number): ChatMessage | undefined {
    return this.chats.get(chatId)?.get(messageId);
  }

  /** A user deletes a message (an edit of it then fails: the syncer must re-send). */
  deleteMessage(chatId: number, messageId: number): boolean {
    return this.chats.get(chatId)?.delete(messageId) ?? false;
  }

  /** Hash of every call Telegram took, in order: the run's chat history. */
  historyHash(): string {
    return this.digest.copy().digest('hex');
  }

  /** The transformer a process's clients use; a dead process's calls never reach Telegram. */
  transformer(life: Life): Transformer {
    return async (_prev, method, payload) => {
      if (!life.alive) return never();
      const result = this.call(method, payload as Record<string, unknown>);
      if (result instanceof Error) {
        await Promise.resolve();
        if (!life.alive) return never();
        throw result;
      }
      await Promise.resolve();
      if (!life.alive) return never();
      return result as never;
    };
  }

  // === updates (what users do)

  command(from: TgUser, text: string, chatId: number = this.mainChat.id): Update {
    const cmd = /^\/[A-Za-z0-9_@]+/.exec(text)?.[0];
    const update = {
      update_id: this.nextUpdateId++,
      message: {
        message_id: this.nextMessageId++,
        date: Math.floor(this.now() / 1000),
        chat: chatId < 0 ? { id: chatId, type: 'supergroup', title: this.mainChat.title } : { id: chatId, type: 'private', first_name: from.first_name },
        from: { id: from.id, is_bot: false, first_name: from.first_name, username: from.username },
        text,
        ...(cmd ? { entities: [{ type: 'bot_command', offset: 0, length: cmd.length }] } : {}),
      },
    } as unknown as Update;
    this.lastUpdate = update;
    return update;
  }

  /** A tap on a button of `msg` (or on a message that does not exist: `msg` null, forged). */
  tap(from: TgUser, data: string, msg: ChatMessage | null, chatId: number = this.mainChat.id): Update {
    const message = msg
      ? { message_id: msg.messageId, date: msg.date, chat: { id: msg.chatId, type: msg.chatId < 0 ? 'supergroup' : 'private', title: this.mainChat.title }, from: BOT_INFO, text: msg.text }
      : { message_id: 999_999, date: Math.floor(this.now() / 1000), chat: { id: chatId, type: chatId < 0 ? 'supergroup' : 'private', title: this.mainChat.title }, from: BOT_INFO, text: '(forged)' };
    const update = {
      update_id: this.nextUpdateId++,
      callback_query: {
        id: `cq${this.nextUpdateId}`,
        from: { id: from.id, is_bot: false, first_name: from.first_name, username: from.username },
        chat_instance: 'sim',
        message,
        data,
      },
    } as unknown as Update;
    this.lastUpdate = update;
    return update;
  }

  /** The last update again (Telegram re-delivers what a crashed bot had not confirmed). */
  redeliver(): Update | null {
    return this.lastUpdate;
  }

  // === the Bot API

  private call(method: string, p: Record<string, unknown>): ApiResult | Error {
    const r = this.callInner(method, p);
    this.trace?.push(`${new Date(this.now()).toISOString()} ${method} ${String(p.text ?? p.callback_query_id ?? '').slice(0, 60).replace(/\n/g, ' ')} → ${r instanceof Error ? `throws ${r.message}` : r.ok ? 'ok' : `${r.error_code} ${r.description.slice(0, 40)}`}`);
    return r;
  }

  private callInner(method: string, p: Record<string, unknown>): ApiResult | Error {
    this.stats.calls++;
    this.scan(`telegram ${method}`, JSON.stringify(p));
    const fault = this.takeFault(method);
    if (fault) {
      this.stats.faults++;
      switch (fault.kind) {
        case '429':
          return { ok: false, error_code: 429, description: `Too Many Requests: retry after ${fault.retryAfter ?? 5}`, parameters: { retry_after: fault.retryAfter ?? 5 } };
        case '5xx':
          return { ok: false, error_code: 502, description: 'Bad Gateway' };
        case '403':
          return { ok: false, error_code: 403, description: 'Forbidden: bot was kicked from the supergroup chat' };
        case 'refused':
          return new HttpError(`Network request for '${method}' failed!`, Object.assign(new Error('connect ECONNREFUSED 149.154.167.220:443'), { code: 'ECONNREFUSED' }));
        case 'timeout-lost':
          return new HttpError(`Network request for '${method}' failed!`, new Error(`Request to '${method}' timed out after 10 seconds`));
        case 'timeout-delivered': {
          const r = this.perform(method, p);
          if (!r.ok) return r;
          return new HttpError(`Network request for '${method}' failed!`, new Error(`Request to '${method}' timed out after 10 seconds`));
        }
      }
    }
    return this.perform(method, p);
  }

  private takeFault(method: string): TgFault | undefined {
    const i = this.faults.findIndex((f) => f.on === 'any' || (f.on === 'send' ? SENDS.has(method) : method === 'answerCallbackQuery'));
    return i < 0 ? undefined : this.faults.splice(i, 1)[0];
  }

  private perform(method: string, p: Record<string, unknown>): ApiResult {
    switch (method) {
      case 'getMe':
        return { ok: true, result: BOT_INFO };
      case 'setMyCommands':
      case 'deleteWebhook':
      case 'setWebhook':
        return { ok: true, result: true };
      case 'answerCallbackQuery':
        this.stats.answers++;
        this.record('answer', p.callback_query_id, p.text ?? '');
        return { ok: true, result: true };
      case 'sendMessage':
        return this.send(p);
      case 'editMessageText':
      case 'editMessageReplyMarkup':
        return this.edit(method, p);
      default:
        return { ok: false, error_code: 404, description: `Not Found: method ${method} is not simulated` };
    }
  }

  private chatOf(p: Record<string, unknown>): { id: number; messages: Map<number, ChatMessage> } | ApiResult {
    const id = Number(p.chat_id);
    const messages = this.chats.get(id) ?? (id > 0 ? new Map<number, ChatMessage>() : undefined);
    if (!messages) return { ok: false, error_code: 400, description: 'Bad Request: chat not found' };
    if (!this.chats.has(id)) this.chats.set(id, messages);
    return { id, messages };
  }

  private send(p: Record<string, unknown>): ApiResult {
    const chat = this.chatOf(p);
    if ('ok' in chat) return chat;
    const bad = this.badContent(p);
    if (bad) return bad;
    const wait = this.limiter.take(chat.id, 'send');
    if (wait !== undefined) {
      this.stats.rateLimited++;
      return { ok: false, error_code: 429, description: `Too Many Requests: retry after ${wait}`, parameters: { retry_after: wait } };
    }
    const msg: ChatMessage = { messageId: this.nextMessageId++, chatId: chat.id, text: String(p.text), markup: p.reply_markup as InlineKeyboardMarkup | undefined, date: Math.floor(this.now() / 1000), edits: 0 };
    chat.messages.set(msg.messageId, msg);
    this.stats.sends++;
    this.record('send', chat.id, msg.messageId, msg.text, msg.markup ?? null);
    return { ok: true, result: this.asMessage(msg) };
  }

  private edit(method: string, p: Record<string, unknown>): ApiResult {
    const chat = this.chatOf(p);
    if ('ok' in chat) return chat;
    const msg = chat.messages.get(Number(p.message_id));
    if (!msg) return { ok: false, error_code: 400, description: 'Bad Request: message to edit not found' };
    const text = method === 'editMessageText' ? String(p.text) : msg.text;
    const markup = (p.reply_markup as InlineKeyboardMarkup | undefined) ?? (method === 'editMessageText' ? undefined : msg.markup);
    if (method === 'editMessageText') {
      const bad = this.badContent(p);
      if (bad) return bad;
    }
    if (text === msg.text && JSON.stringify(markup ?? null) === JSON.stringify(msg.markup ?? null)) {
      return { ok: false, error_code: 400, description: 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message' };
    }
    const wait = this.limiter.take(chat.id, 'edit');
    if (wait !== undefined) {
      this.stats.rateLimited++;
      return { ok: false, error_code: 429, description: `Too Many Requests: retry after ${wait}`, parameters: { retry_after: wait } };
    }
    msg.text = text;
    msg.markup = markup;
    msg.edits++;
    this.stats.edits++;
    this.record('edit', chat.id, msg.messageId, text, markup ?? null);
    return { ok: true, result: this.asMessage(msg) };
  }

  /** What Telegram refuses in a message: over 4096 characters, button data over 64 bytes. */
  private badContent(p: Record<string, unknown>): ApiResult | null {
    const text = String(p.text ?? '');
    if (!text.trim()) return { ok: false, error_code: 400, description: 'Bad Request: message text is empty' };
    if ([...text.replace(/<[^>]*>/g, '')].length > 4096) return { ok: false, error_code: 400, description: 'Bad Request: message is too long' };
    const markup = p.reply_markup as InlineKeyboardMarkup | undefined;
    for (const b of markup?.inline_keyboard.flat() ?? []) {
      const data = (b as { callback_data?: string }).callback_data;
      if (data !== undefined && Buffer.byteLength(data, 'utf8') > 64) return { ok: false, error_code: 400, description: 'Bad Request: BUTTON_DATA_INVALID' };
    }
    return null;
  }

  private asMessage(m: ChatMessage): Message {
    return {
      message_id: m.messageId,
      date: m.date,
      chat: m.chatId < 0 ? { id: m.chatId, type: 'supergroup', title: this.mainChat.title } : { id: m.chatId, type: 'private', first_name: 'user' },
      from: BOT_INFO,
      text: m.text,
      ...(m.markup ? { reply_markup: m.markup } : {}),
    } as Message;
  }

  private record(...parts: unknown[]): void {
    this.digest.update(`${this.now()} ${JSON.stringify(parts)}\n`);
  }
}

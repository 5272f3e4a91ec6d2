/**
 * What the fake Telegram "remembers": chats, their messages in order, users and callback
 * queries, plus a change counter that every mutation bumps so waiters (tests, the console's
 * long poll) wake up on events instead of polling.
 */
import type { SandboxClock } from './rate-limit.js';
import type {
  TgChat,
  TgChatType,
  TgInlineKeyboardMarkup,
  TgMessage,
  TgMessageEntity,
  TgUser,
} from './types.js';

export interface StoredMessage {
  chatId: number;
  message_id: number;
  /** seconds, like Telegram */
  date: number;
  edit_date?: number;
  from: TgUser;
  fromBot: boolean;
  text: string;
  entities: TgMessageEntity[];
  /** the text exactly as sent, in its parse mode */
  source: string;
  parseMode: 'HTML' | 'MarkdownV2' | undefined;
  replyMarkup: TgInlineKeyboardMarkup | undefined;
  linkPreview?: Record<string, unknown>;
  edits: number;
  /** the state version of this message's last change (the console fetches only what changed) */
  changed?: number;
}

/** What `sandbox.chat(id)` returns for each message: current state, safe to keep. */
export interface SandboxMessage {
  message_id: number;
  text: string;
  /** original text as the sender wrote it (HTML/MarkdownV2 source when a parse mode was used) */
  html: string;
  parse_mode: 'HTML' | 'MarkdownV2' | undefined;
  entities: TgMessageEntity[];
  reply_markup: TgInlineKeyboardMarkup | undefined;
  edits: number;
  date: number;
  from_bot: boolean;
  from: { id: number; first_name: string; username?: string };
}

export interface CallbackAnswer {
  text?: string;
  show_alert?: boolean;
  url?: string;
  cache_time?: number;
}

export interface CallbackRecord {
  id: string;
  createdAt: number;
  chatId: number;
  messageId: number;
  data: string;
  from: TgUser;
  answer?: CallbackAnswer;
}

interface ChatRecord {
  chat: TgChat;
  nextMessageId: number;
  messages: Map<number, StoredMessage>;
  /** message id → the version it was deleted at */
  deleted: Map<number, number>;
}

/** What changed in one chat since a version: the console's incremental update. */
export interface ChatChanges {
  /** true: `messages` is the whole chat (first load, or the chat was reset since) */
  full: boolean;
  messages: SandboxMessage[];
  /** ids deleted since */
  removed: number[];
}

export interface WaitOptions {
  timeoutMs?: number;
  /** included in the timeout error so a failing test says what it waited for */
  label?: string;
}

export const chatTypeFor = (id: number): TgChatType => (id < 0 ? 'supergroup' : 'private');

export class SandboxState {
  private chats = new Map<number, ChatRecord>();
  readonly callbacks = new Map<string, CallbackRecord>();
  readonly users = new Map<number, TgUser>();
  private listeners = new Set<() => void>();
  private closed = false;
  /** bumped on every change; the console long-polls on it */
  version = 0;
  /** the version of the last reset(): older `since` values get the whole chat */
  private resetVersion = 0;
  private callbackSeq = 0;

  constructor(private readonly clock: SandboxClock) {}

  nowSeconds(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /** A chat-visible change: bump the version (the console refreshes) and wake waiters. */
  touch(): void {
    this.version++;
    this.notify();
  }

  /** Wake waiters without bumping the version (e.g. a bot call arrived or finished). */
  notify(): void {
    for (const l of [...this.listeners]) l();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  hasChat(id: number): boolean {
    return this.chats.has(id);
  }

  chatIds(): number[] {
    return [...this.chats.keys()];
  }

  getChat(id: number): TgChat | undefined {
    return this.chats.get(id)?.chat;
  }

  /** Create the chat if needed; `hint` fills in names for a new chat. */
  ensureChat(id: number, hint: Partial<TgChat> = {}): TgChat {
    const existing = this.chats.get(id);
    if (existing) return existing.chat;
    const type = hint.type ?? chatTypeFor(id);
    const chat: TgChat = { id, type };
    if (type === 'private') chat.first_name = hint.first_name ?? `User ${id}`;
    else chat.title = hint.title ?? `Sandbox group ${id}`;
    if (hint.username) chat.username = hint.username;
    this.chats.set(id, { chat, nextMessageId: 1, messages: new Map(), deleted: new Map() });
    this.touch();
    return chat;
  }

  addMessage(m: Omit<StoredMessage, 'message_id' | 'date' | 'edits'>): StoredMessage {
    const rec = this.chats.get(m.chatId);
    if (!rec) throw new Error(`sandbox: chat ${m.chatId} does not exist`);
    const stored: StoredMessage = { ...m, message_id: rec.nextMessageId++, date: this.nowSeconds(), edits: 0 };
    rec.messages.set(stored.message_id, stored);
    this.touch();
    stored.changed = this.version;
    return stored;
  }

  /** A stored message was changed in place (an edit): bump the version and remember it on the message. */
  touchMessage(m: StoredMessage): void {
    this.touch();
    m.changed = this.version;
  }

  getMessage(chatId: number, messageId: number): StoredMessage | undefined {
    return this.chats.get(chatId)?.messages.get(messageId);
  }

  deleteMessage(chatId: number, messageId: number): boolean {
    const rec = this.chats.get(chatId);
    const ok = rec?.messages.delete(messageId) ?? false;
    if (ok) {
      this.touch();
      rec?.deleted.set(messageId, this.version);
    }
    return ok;
  }

  /** The Telegram Message object for a stored message, as the Bot API returns it. */
  toTgMessage(m: StoredMessage): TgMessage {
    const chat = this.getChat(m.chatId) ?? { id: m.chatId, type: chatTypeFor(m.chatId) };
    const msg: TgMessage = { message_id: m.message_id, from: { ...m.from }, chat: { ...chat }, date: m.date };
    if (m.edit_date !== undefined) msg.edit_date = m.edit_date;
    msg.text = m.text;
    if (m.entities.length > 0) msg.entities = m.entities.map((e) => ({ ...e }));
    if (m.linkPreview) msg.link_preview_options = { ...m.linkPreview };
    if (m.replyMarkup) msg.reply_markup = structuredClone(m.replyMarkup);
    return msg;
  }

  snapshot(chatId: number): SandboxMessage[] {
    const rec = this.chats.get(chatId);
    if (!rec) return [];
    return [...rec.messages.values()].map((m) => this.view(m));
  }

  /** The messages added or edited, and the ids deleted, after version `since` (oldest first). */
  changesSince(chatId: number, since: number): ChatChanges {
    const rec = this.chats.get(chatId);
    if (since < this.resetVersion || since <= 0) return { full: true, messages: this.snapshot(chatId), removed: [] };
    if (!rec) return { full: false, messages: [], removed: [] };
    const messages = [...rec.messages.values()].filter((m) => (m.changed ?? Infinity) > since).map((m) => this.view(m));
    const removed = [...rec.deleted].filter(([, v]) => v > since).map(([id]) => id);
    return { full: false, messages, removed };
  }

  private view(m: StoredMessage): SandboxMessage {
    const from: SandboxMessage['from'] = { id: m.from.id, first_name: m.from.first_name };
    if (m.from.username) from.username = m.from.username;
    return {
      message_id: m.message_id,
      text: m.text,
      html: m.source,
      parse_mode: m.parseMode,
      entities: m.entities.map((e) => ({ ...e })),
      reply_markup: m.replyMarkup ? structuredClone(m.replyMarkup) : undefined,
      edits: m.edits,
      date: m.date,
      from_bot: m.fromBot,
      from,
    };
  }

  newCallbackId(): string {
    // real ids are long decimal strings; keep that look, unique per sandbox
    this.callbackSeq++;
    return `${4_000_000_000_000 + this.clock.now() % 1_000_000}${String(this.callbackSeq).padStart(6, '0')}`;
  }

  /** Resolve with the first truthy value of `predicate`, re-checked on every change. */
  waitFor<T>(predicate: () => T | undefined | null | false, options: WaitOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let unsubscribe = (): void => {};
      const finish = (err: Error | undefined, value?: T): void => {
        clearTimeout(timer);
        unsubscribe();
        if (err) reject(err);
        else resolve(value as T);
      };
      const check = (): boolean => {
        if (this.closed) {
          finish(new Error(`sandbox.waitFor${options.label ? ` (${options.label})` : ''}: sandbox was closed`));
          return true;
        }
        let value: T | undefined | null | false;
        try {
          value = predicate();
        } catch (err) {
          finish(err instanceof Error ? err : new Error(String(err)));
          return true;
        }
        if (value) finish(undefined, value);
        return Boolean(value);
      };
      if (check()) return;
      unsubscribe = this.onChange(() => void check());
      timer = setTimeout(() => {
        finish(
          new Error(
            `sandbox.waitFor${options.label ? ` (${options.label})` : ''} timed out after ${timeoutMs} ms ` +
              `(state version ${this.version})`,
          ),
        );
      }, timeoutMs);
    });
  }

  /** Forget every chat, message and callback query (update ids keep counting). */
  reset(): void {
    this.chats.clear();
    this.callbacks.clear();
    this.users.clear();
    this.touch();
    this.resetVersion = this.version;
  }

  close(): void {
    this.closed = true;
    this.touch();
    this.listeners.clear();
  }
}

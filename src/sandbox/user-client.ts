/**
 * The human side of the sandbox: users who write messages and tap inline buttons. Each
 * action stores what Telegram would store and queues the update the bot will receive.
 */
import type { SandboxCore } from './core.js';
import type { CallbackAnswer } from './state.js';
import type { TgInlineKeyboardButton, TgMessage, TgMessageEntity, TgUser } from './types.js';

export interface SandboxUserInit {
  id: number;
  first_name?: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export interface SandboxUser {
  readonly user: TgUser;
  /** Write `text` in `chatId`; a leading /command gets its bot_command entity. */
  send(chatId: number, text: string): TgMessage;
  /** Press a button of a message by its text (exact, then substring) or its callback_data. Returns the callback query id. */
  tap(chatId: number, messageId: number, which: string): string;
  /** Press with arbitrary data, as a hostile client could. Returns the callback query id. */
  tapRaw(chatId: number, messageId: number, data: string): string;
  /** What the bot answered to that callback query, if it has. */
  answerFor(callbackQueryId: string): CallbackAnswer | undefined;
  waitAnswer(callbackQueryId: string, timeoutMs?: number): Promise<CallbackAnswer>;
}

const COMMAND = /^\/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)/;

/** Telegram marks a leading `/cmd` or `/cmd@bot` with a bot_command entity. */
export function commandEntities(text: string): TgMessageEntity[] {
  const m = COMMAND.exec(text);
  return m ? [{ type: 'bot_command', offset: 0, length: m[0].length }] : [];
}

/** Stable per-chat value, shaped like Telegram's (a signed 64-bit decimal). */
export const chatInstanceFor = (chatId: number): string =>
  BigInt.asIntN(64, BigInt(chatId) * 0x9e3779b97f4a7c15n + 0x1234567n).toString();

function findButton(buttons: TgInlineKeyboardButton[], which: string): TgInlineKeyboardButton | undefined {
  const withData = buttons.filter((b) => typeof b.callback_data === 'string');
  return (
    withData.find((b) => b.text === which) ??
    withData.find((b) => b.callback_data === which) ??
    withData.find((b) => b.text.includes(which))
  );
}

export function createUser(core: SandboxCore, init: SandboxUserInit): SandboxUser {
  const user: TgUser = { id: init.id, is_bot: false, first_name: init.first_name ?? `User ${init.id}` };
  if (init.last_name) user.last_name = init.last_name;
  if (init.username) user.username = init.username;
  if (init.language_code) user.language_code = init.language_code;
  core.state.users.set(user.id, user);

  const tapRaw = (chatId: number, messageId: number, data: string): string => {
    const msg = core.state.getMessage(chatId, messageId);
    if (!msg) throw new Error(`sandbox: no message ${messageId} in chat ${chatId} to tap`);
    const id = core.state.newCallbackId();
    core.state.callbacks.set(id, { id, createdAt: core.clock.now(), chatId, messageId, data, from: { ...user } });
    core.updates.enqueue('callback_query', {
      id,
      from: { ...user },
      message: core.state.toTgMessage(msg),
      chat_instance: chatInstanceFor(chatId),
      data,
    });
    core.state.touch();
    return id;
  };

  return {
    user,
    send(chatId, text) {
      if (text.trim() === '') throw new Error('sandbox: a Telegram client cannot send an empty message');
      core.state.ensureChat(chatId, { first_name: user.first_name, ...(user.username ? { username: user.username } : {}) });
      const stored = core.state.addMessage({
        chatId,
        from: { ...user },
        fromBot: false,
        text,
        entities: commandEntities(text),
        source: text,
        parseMode: undefined,
        replyMarkup: undefined,
      });
      const message = core.state.toTgMessage(stored);
      core.updates.enqueue('message', message);
      return message;
    },
    tap(chatId, messageId, which) {
      const msg = core.state.getMessage(chatId, messageId);
      if (!msg) throw new Error(`sandbox: no message ${messageId} in chat ${chatId} to tap`);
      const buttons = msg.replyMarkup?.inline_keyboard.flat() ?? [];
      const button = findButton(buttons, which);
      if (!button?.callback_data) {
        const have = buttons.map((b) => `"${b.text}" (${b.callback_data ?? 'no callback_data'})`).join(', ') || 'none';
        throw new Error(`sandbox: message ${messageId} in chat ${chatId} has no button matching "${which}"; buttons: ${have}`);
      }
      return tapRaw(chatId, messageId, button.callback_data);
    },
    tapRaw,
    answerFor: (id) => core.state.callbacks.get(id)?.answer,
    waitAnswer: (id, timeoutMs = 5000) =>
      core.state.waitFor(() => core.state.callbacks.get(id)?.answer, { timeoutMs, label: `answer to callback ${id}` }),
  };
}

/**
 * The Bot API methods the sandbox implements, keyed by lower-cased name (Telegram method
 * names are case-insensitive). Each handler returns the `result` or throws an ApiError with
 * the real server's text.
 */
import { ApiError, badRequest, ERR, tooManyRequests } from './api-error.js';
import type { SandboxCore } from './core.js';
import { formatText } from './formatted-text.js';
import { LIMITS } from './html-limits.js';
import { boolParam, chatIdParam, intParam, messageIdParam, stringParam, type Params } from './params.js';
import type { RateKind } from './rate-limit.js';
import { sameMarkup, validateReplyMarkup } from './reply-markup.js';
import type { CallbackAnswer, StoredMessage } from './state.js';

export interface CallContext {
  params: Params;
  token: string;
  /** aborted when the client disconnects or the sandbox closes */
  signal: AbortSignal;
}

type Handler = (core: SandboxCore, call: CallContext) => unknown;

const MAX_POLL_TIMEOUT_S = 50;
const DELETE_WINDOW_S = 48 * 3600;

/** Chats the bot may talk to: known ones, or any when autoCreateChats is on. */
function requireChat(core: SandboxCore, chatId: number): void {
  if (core.state.hasChat(chatId)) return;
  if (!core.autoCreateChats) throw badRequest(ERR.chatNotFound);
  core.state.ensureChat(chatId);
}

function takeRate(core: SandboxCore, chatId: number, kind: RateKind): void {
  const retryAfter = core.limiter?.take(chatId, kind);
  if (retryAfter !== undefined) throw tooManyRequests(retryAfter);
}

/** The bot's own message to edit, with the real server's errors for each miss. */
function editable(core: SandboxCore, p: Params): StoredMessage {
  if (p.inline_message_id !== undefined) throw badRequest('inline messages are not supported by the sandbox');
  const chatId = chatIdParam(p);
  const messageId = messageIdParam(p);
  if (!core.state.hasChat(chatId)) throw badRequest(ERR.chatNotFound);
  const msg = core.state.getMessage(chatId, messageId);
  if (!msg) throw badRequest(ERR.editNotFound);
  if (!msg.fromBot) throw badRequest("message can't be edited");
  return msg;
}

const linkPreview = (p: Params): Record<string, unknown> | undefined => {
  const v = p.link_preview_options;
  if (v && typeof v === 'object' && !Array.isArray(v)) return { ...(v as Record<string, unknown>) };
  return boolParam(p, 'disable_web_page_preview') ? { is_disabled: true } : undefined;
};

const getMe: Handler = (core, { token }) => core.botUser(token);

const webhookConflict = (): ApiError =>
  new ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");

const getUpdates: Handler = async (core, { params, signal }) => {
  if (core.webhook.active) throw webhookConflict();
  const offset = intParam(params, 'offset');
  const limit = Math.min(100, Math.max(1, intParam(params, 'limit') || 100));
  const timeoutS = Math.min(MAX_POLL_TIMEOUT_S, Math.max(0, intParam(params, 'timeout') || 0));
  core.updates.setAllowed(params.allowed_updates);
  core.updates.confirm(Number.isNaN(offset) ? undefined : offset);
  await core.updates.wait(timeoutS * 1000, signal);
  return core.updates.peek(limit);
};

const sendMessage: Handler = (core, { params, token }) => {
  const chatId = chatIdParam(params);
  requireChat(core, chatId);
  const text = formatText(params.text, params.parse_mode, params.entities, {
    strictAmpersand: core.strictHtmlAmpersand,
  });
  const markup = validateReplyMarkup(params.reply_markup);
  const reply = params.reply_parameters as { message_id?: unknown; allow_sending_without_reply?: unknown } | undefined;
  const replyTo =
    reply && typeof reply === 'object' && reply.message_id !== undefined
      ? Number(reply.message_id)
      : intParam(params, 'reply_to_message_id');
  if (replyTo !== undefined && !core.state.getMessage(chatId, replyTo) && !reply?.allow_sending_without_reply) {
    throw badRequest('message to be replied not found');
  }
  takeRate(core, chatId, 'send');
  const preview = linkPreview(params);
  const stored = core.state.addMessage({
    chatId,
    from: core.botFrom(token),
    fromBot: true,
    text: text.text,
    entities: text.entities,
    source: text.source,
    parseMode: text.parseMode,
    replyMarkup: markup,
    ...(preview ? { linkPreview: preview } : {}),
  });
  return core.state.toTgMessage(stored);
};

const editMessageText: Handler = (core, { params }) => {
  const msg = editable(core, params);
  const text = formatText(params.text, params.parse_mode, params.entities, {
    strictAmpersand: core.strictHtmlAmpersand,
  });
  // like Telegram: an edit without reply_markup removes the inline keyboard
  const markup = validateReplyMarkup(params.reply_markup);
  const same =
    text.text === msg.text &&
    JSON.stringify(text.entities) === JSON.stringify(msg.entities) &&
    sameMarkup(markup, msg.replyMarkup);
  if (same) throw badRequest(ERR.notModified);
  takeRate(core, msg.chatId, 'edit');
  msg.text = text.text;
  msg.entities = text.entities;
  msg.source = text.source;
  msg.parseMode = text.parseMode;
  msg.replyMarkup = markup;
  const preview = linkPreview(params);
  if (preview) msg.linkPreview = preview;
  msg.edits++;
  msg.edit_date = core.state.nowSeconds();
  core.state.touchMessage(msg);
  return core.state.toTgMessage(msg);
};

const editMessageReplyMarkup: Handler = (core, { params }) => {
  const msg = editable(core, params);
  const markup = validateReplyMarkup(params.reply_markup);
  if (sameMarkup(markup, msg.replyMarkup)) throw badRequest(ERR.notModified);
  takeRate(core, msg.chatId, 'edit');
  msg.replyMarkup = markup;
  msg.edits++;
  msg.edit_date = core.state.nowSeconds();
  core.state.touchMessage(msg);
  return core.state.toTgMessage(msg);
};

const deleteMessage: Handler = (core, { params }) => {
  const chatId = chatIdParam(params);
  const messageId = messageIdParam(params);
  if (!core.state.hasChat(chatId)) throw badRequest(ERR.chatNotFound);
  const msg = core.state.getMessage(chatId, messageId);
  if (!msg) throw badRequest(ERR.deleteNotFound);
  if (core.state.nowSeconds() - msg.date > DELETE_WINDOW_S) throw badRequest("message can't be deleted for everyone");
  core.state.deleteMessage(chatId, messageId);
  return true;
};

const answerCallbackQuery: Handler = (core, { params }) => {
  const id = stringParam(params, 'callback_query_id') ?? '';
  const rec = core.state.callbacks.get(id);
  if (!rec || rec.answer || core.clock.now() - rec.createdAt > core.callbackDeadlineMs) {
    throw badRequest(ERR.queryTooOld);
  }
  const text = stringParam(params, 'text');
  if (text !== undefined && text.length > LIMITS.callbackAnswerMax) throw badRequest('MESSAGE_TOO_LONG');
  const answer: CallbackAnswer = {};
  if (text !== undefined) answer.text = text;
  if (params.show_alert !== undefined) answer.show_alert = boolParam(params, 'show_alert');
  const url = stringParam(params, 'url');
  if (url !== undefined) answer.url = url;
  const cache = intParam(params, 'cache_time');
  if (cache !== undefined) answer.cache_time = cache;
  rec.answer = answer;
  core.state.touch();
  return true;
};

const commandsKey = (p: Params): string =>
  JSON.stringify([p.scope ?? { type: 'default' }, stringParam(p, 'language_code') ?? '']);

const setMyCommands: Handler = (core, { params }) => {
  const list = params.commands;
  if (!Array.isArray(list)) throw badRequest("can't parse commands JSON object");
  if (list.length > 100) throw badRequest('too many commands');
  for (const c of list as Array<{ command?: unknown; description?: unknown }>) {
    if (typeof c?.command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(c.command)) throw badRequest('BOT_COMMAND_INVALID');
    if (typeof c.description !== 'string' || c.description.length < 1 || c.description.length > 256) {
      throw badRequest('command description is empty or too long');
    }
  }
  const cleaned = (list as Array<{ command: string; description: string }>).map(({ command, description }) => ({
    command,
    description,
  }));
  if (cleaned.length === 0) core.commands.delete(commandsKey(params));
  else core.commands.set(commandsKey(params), cleaned);
  return true;
};

const getMyCommands: Handler = (core, { params }) => core.commands.get(commandsKey(params)) ?? [];

const deleteMyCommands: Handler = (core, { params }) => {
  core.commands.delete(commandsKey(params));
  return true;
};

const setWebhook: Handler = (core, { params }) => {
  const url = stringParam(params, 'url') ?? '';
  const secret = stringParam(params, 'secret_token');
  if (secret !== undefined && secret !== '' && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) {
    throw badRequest('secret token contains unallowed characters');
  }
  if (url !== '') {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw badRequest('bad webhook: invalid URL');
    }
    // the real server insists on HTTPS and ports 443/80/88/8443; a local sandbox cannot
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw badRequest('bad webhook: unsupported URL protocol');
  }
  if (boolParam(params, 'drop_pending_updates')) core.updates.dropAll();
  core.updates.setAllowed(params.allowed_updates);
  const maxConnections = Math.min(100, Math.max(1, intParam(params, 'max_connections') || 40));
  // a long poll still waiting must not also receive what the webhook gets
  if (url !== '') core.updates.terminatePoll(webhookConflict());
  core.webhook.set(url === '' ? undefined : { url, maxConnections, ...(secret ? { secretToken: secret } : {}) });
  return true;
};

const deleteWebhook: Handler = (core, { params }) => {
  if (boolParam(params, 'drop_pending_updates')) core.updates.dropAll();
  core.webhook.set(undefined);
  return true;
};

const getWebhookInfo: Handler = (core) => core.webhook.info();

const sendChatAction: Handler = (core, { params }) => {
  const chatId = chatIdParam(params);
  requireChat(core, chatId);
  if (!stringParam(params, 'action')) throw badRequest('action is empty');
  return true;
};

const HANDLERS: Record<string, Handler> = {
  getMe,
  getUpdates,
  sendMessage,
  editMessageText,
  editMessageReplyMarkup,
  deleteMessage,
  answerCallbackQuery,
  setMyCommands,
  getMyCommands,
  deleteMyCommands,
  setWebhook,
  deleteWebhook,
  getWebhookInfo,
  sendChatAction,
};

const BY_LOWER = new Map(Object.entries(HANDLERS).map(([name, h]) => [name.toLowerCase(), { name, h }]));

/** Canonical method name and handler, or undefined for a method the sandbox does not know. */
export function findMethod(name: string): { name: string; h: Handler } | undefined {
  return BY_LOWER.get(name.toLowerCase());
}

export const SUPPORTED_METHODS: readonly string[] = Object.keys(HANDLERS);

/**
 * Validation of `reply_markup`: inline keyboards are checked like the real server does
 * (64-byte callback data, button count, markup size) and normalised so an empty keyboard
 * means "no keyboard", which is how Telegram stores it.
 */
import { badRequest, ERR } from './api-error.js';
import { callbackDataValid, LIMITS } from './html-limits.js';
import type { TgInlineKeyboardButton, TgInlineKeyboardMarkup } from './types.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const BUTTON_ACTIONS = [
  'callback_data',
  'url',
  'web_app',
  'login_url',
  'switch_inline_query',
  'switch_inline_query_current_chat',
  'switch_inline_query_chosen_chat',
  'copy_text',
  'callback_game',
  'pay',
];

function checkButton(b: unknown): TgInlineKeyboardButton {
  if (!isObject(b) || typeof b.text !== 'string') {
    throw badRequest("can't parse inline keyboard button: Field \"text\" must be of type String");
  }
  if (!BUTTON_ACTIONS.some((k) => k in b)) {
    throw badRequest('text buttons are unallowed in the inline keyboard');
  }
  if ('callback_data' in b) {
    if (typeof b.callback_data !== 'string' || !callbackDataValid(b.callback_data)) {
      throw badRequest(ERR.buttonDataInvalid);
    }
  }
  if ('url' in b) {
    const url = typeof b.url === 'string' ? b.url : '';
    if (!/^(https?|tg):\/\/\S+$/i.test(url)) throw badRequest('BUTTON_URL_INVALID');
  }
  return b as TgInlineKeyboardButton;
}

/**
 * Returns the inline keyboard to store, or undefined when the markup carries no inline
 * buttons (absent, empty, or a reply/remove/force-reply keyboard, which the sandbox ignores).
 */
export function validateReplyMarkup(markup: unknown): TgInlineKeyboardMarkup | undefined {
  if (markup === undefined || markup === null || markup === '') return undefined;
  if (!isObject(markup)) throw badRequest("can't parse reply keyboard markup JSON object");
  if (!('inline_keyboard' in markup)) return undefined;
  const rows = markup.inline_keyboard;
  if (!Array.isArray(rows) || !rows.every((r) => Array.isArray(r))) {
    throw badRequest('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays');
  }
  const checked = (rows as unknown[][]).map((row) => row.map(checkButton)).filter((row) => row.length > 0);
  const count = checked.reduce((n, row) => n + row.length, 0);
  if (count > LIMITS.inlineButtonsMax) throw badRequest('too many inline keyboard buttons');
  if (Buffer.byteLength(JSON.stringify(markup), 'utf8') > LIMITS.replyMarkupMaxBytes) {
    throw badRequest('reply markup is too long');
  }
  return count === 0 ? undefined : { inline_keyboard: checked };
}

/** Structural equality used for "message is not modified". */
export const sameMarkup = (a: TgInlineKeyboardMarkup | undefined, b: TgInlineKeyboardMarkup | undefined): boolean =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

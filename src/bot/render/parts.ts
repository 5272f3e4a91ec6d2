/** Pieces every message renderer shares: the rendered shape, buttons, an instrument's name. Pure. */
import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'grammy/types';
import type { IntentRecord } from '../../engine/index.js';
import { encodeCallback, type CallbackAction } from '../callback-data.js';
import { clean } from '../html.js';
import { contractMonthLabel } from './format.js';

export interface Rendered {
  readonly html: string;
  /** empty `inline_keyboard` = no buttons (an edit with it removes them) */
  readonly keyboard: InlineKeyboardMarkup;
}

export const NO_BUTTONS: InlineKeyboardMarkup = { inline_keyboard: [] };

export const button = (text: string, action: CallbackAction, id: string): InlineKeyboardButton.CallbackButton => ({ text, callback_data: encodeCallback(action, id) });

/** "MES Dec26", "AAPL": how a trader names the contract. */
export function instrumentLabel(intent: Pick<IntentRecord, 'instrument'>): string {
  const ins = intent.instrument;
  return clean(ins.secType === 'FUT' && ins.contractMonth ? `${ins.symbol} ${contractMonthLabel(ins.contractMonth)}` : ins.symbol);
}

/** An instrument key (`FUT:MES:202612:USD`, `STK:AAPL:USD`) named the same way; anything else unchanged. */
export function instrumentKeyLabel(key: string): string {
  const fut = /^FUT:([^:]+):(\d{6}):/.exec(key);
  if (fut) return clean(`${fut[1]} ${contractMonthLabel(fut[2] ?? '')}`);
  const other = /^[A-Z]+:([^:]+):/.exec(key);
  return clean(other?.[1] ?? key);
}

/**
 * A link that opens a message in its chat: `https://t.me/c/<id>/<message>` for a supergroup
 * (chat id -100…); null for other chats, which Telegram gives no message links.
 */
export function messageLink(chatId: string, messageId: number | null): string | null {
  const m = /^-100(\d+)$/.exec(chatId.trim());
  return m && messageId !== null && messageId > 0 ? `https://t.me/c/${m[1]}/${messageId}` : null;
}

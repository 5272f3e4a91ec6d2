/**
 * grammY implementation of the alert transport port (src/alerts/transport.ts): one bare
 * `Api` (no auto-retry: the alert sender owns retries, pacing and backoff), HTML parse
 * mode, link previews off, and every failure mapped to a typed transport error:
 *
 *   429                      → TelegramRateLimitError(retry_after)
 *   5xx                      → TelegramTransientError (Telegram answered: not ambiguous)
 *   other 4xx (400/401/403…) → TelegramPermanentError
 *   timeout, reset, bad body → TelegramTransientError, ambiguous (may have been delivered)
 *   connection refused, DNS  → TelegramTransientError, not ambiguous (never left the host)
 *
 * The client comes from createTelegramApi, so every error arrives here already secret-free.
 */
import { GrammyError, HttpError, type Transformer } from 'grammy';
import {
  TelegramPermanentError,
  TelegramRateLimitError,
  TelegramTransientError,
  type AlertTransport,
  type TelegramTransportError,
} from '../alerts/transport.js';
import { encodeCallback } from './callback-data.js';
import { createTelegramApi } from './telegram-api.js';

export interface GrammyAlertTransportOptions {
  readonly token: string;
  /** Bot API root (sandbox: `sandbox.apiRoot`); default https://api.telegram.org */
  readonly apiRoot?: string;
  /** per-request timeout (default 10 s) */
  readonly timeoutMs?: number;
  /** API transformers installed above the secret redaction (tests, the simulator's in-process Bot API) */
  readonly transformers?: readonly Transformer[];
}

/** The button offered on a repeating WARNING digest (the tap is handled in callbacks.ts). */
export const SNOOZE_BUTTON = '🔕 Snooze 1 h';

const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Map anything grammY throws to the transport error kinds. */
export function toTransportError(e: unknown): TelegramTransportError {
  if (e instanceof GrammyError) {
    const code = e.error_code;
    if (code === 429) return new TelegramRateLimitError(Math.max(1, e.parameters.retry_after ?? 1), `429 ${e.description}`);
    if (code >= 500) return new TelegramTransientError(`${code} ${e.description}`, false, code);
    return new TelegramPermanentError(code, `${code} ${e.description}`);
  }
  if (e instanceof HttpError) {
    const inner = e.error as { message?: string; code?: string; errno?: string } | undefined;
    const why = inner?.message ?? e.message;
    if (/timed out/i.test(why)) return new TelegramTransientError(`timeout: ${why}`, true);
    const code = inner?.code ?? inner?.errno;
    if (code && NEVER_SENT.has(code)) return new TelegramTransientError(`network: ${code} ${why}`, false);
    return new TelegramTransientError(`network: ${code ? `${code} ` : ''}${why}`, true);
  }
  return new TelegramTransientError(`unexpected: ${e instanceof Error ? e.message : String(e)}`, true);
}

export function createGrammyAlertTransport(opts: GrammyAlertTransportOptions): AlertTransport {
  const api = createTelegramApi(opts.token, { ...(opts.apiRoot ? { apiRoot: opts.apiRoot } : {}), timeoutSeconds: (opts.timeoutMs ?? 10_000) / 1000 });
  for (const t of opts.transformers ?? []) api.config.use(t);
  const chat = (id: string): number | string => (/^-?\d+$/.test(id) ? Number(id) : id);
  return {
    async sendMessage(chatId, html, opts = {}) {
      try {
        const m = await api.sendMessage(chat(chatId), html, {
          parse_mode: 'HTML',
          link_preview_options: { is_disabled: true },
          // INFO, silent and snoozed alerts arrive without sound (SPEC 9)
          ...(opts.silent ? { disable_notification: true } : {}),
          ...(opts.snoozeRef ? { reply_markup: { inline_keyboard: [[{ text: SNOOZE_BUTTON, callback_data: encodeCallback('snoozeAlerts', opts.snoozeRef) }]] } } : {}),
        });
        return { messageId: m.message_id };
      } catch (e) {
        throw toTransportError(e);
      }
    },
    async probe() {
      try {
        await api.getMe();
      } catch (e) {
        throw toTransportError(e);
      }
    },
  };
}

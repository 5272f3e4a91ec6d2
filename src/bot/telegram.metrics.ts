/**
 * Telegram requests counted at the transport edges: a grammY API transformer for the bot's
 * clients (every attempt, below auto-retry: a request retried three times counts three), and
 * a wrapper around the alert sender's transport port. Results: ok, 429 (with retry_after),
 * 5xx, timeout, other (4xx such as "message is not modified", network errors).
 */
import type { Transformer } from 'grammy';
import type { AlertTransport, SendOptions } from '../alerts/transport.js';
import { TelegramTransportError } from '../alerts/transport.js';
import type { PhoenixMetrics, TelegramResult, TelegramVia } from '../metrics/metrics.js';

const TIMEOUT = /timed out|timeout|abort/i;

/** The result label of an answered call. */
export function answeredResult(errorCode: number | undefined): TelegramResult {
  if (errorCode === undefined) return 'ok';
  if (errorCode === 429) return '429';
  return errorCode >= 500 ? '5xx' : 'other';
}

/** Counts every call of the client it is installed on (install it innermost, under auto-retry). */
export function telegramMetricsTransformer(m: PhoenixMetrics, via: TelegramVia): Transformer {
  return async (prev, method, payload, signal) => {
    try {
      const r = await prev(method, payload, signal);
      if (r.ok) m.telegram(via, method, 'ok');
      else m.telegram(via, method, answeredResult(r.error_code), r.parameters?.retry_after);
      return r;
    } catch (e) {
      m.telegram(via, method, TIMEOUT.test(`${(e as Error)?.name ?? ''} ${(e as Error)?.message ?? ''}`) ? 'timeout' : 'other');
      throw e;
    }
  };
}

/** The result label of a failed alert transport call. */
export function transportResult(e: unknown): { result: TelegramResult; retryAfterSec?: number } {
  if (e instanceof TelegramTransportError) {
    if (e.kind === 'rate_limited') return { result: '429', retryAfterSec: (e as { retryAfterSec?: number }).retryAfterSec ?? 1 };
    const status = (e as { status?: number }).status;
    if (status !== undefined && status >= 500) return { result: '5xx' };
    if (e.kind === 'transient' && TIMEOUT.test(e.message)) return { result: 'timeout' };
  }
  return { result: 'other' };
}

/** The alert sender's transport, counted (via="alerts"). */
export function meteredAlertTransport(t: AlertTransport, m: PhoenixMetrics): AlertTransport {
  const probe = t.probe?.bind(t);
  return {
    async sendMessage(chatId: string, html: string, opts?: SendOptions) {
      try {
        const r = await t.sendMessage(chatId, html, opts);
        m.telegram('alerts', 'sendMessage', 'ok');
        return r;
      } catch (e) {
        const c = transportResult(e);
        m.telegram('alerts', 'sendMessage', c.result, c.retryAfterSec);
        throw e;
      }
    },
    ...(probe
      ? {
          async probe() {
            try {
              await probe();
              m.telegram('alerts', 'getMe', 'ok');
            } catch (e) {
              const c = transportResult(e);
              m.telegram('alerts', 'getMe', c.result, c.retryAfterSec);
              throw e;
            }
          },
        }
      : {}),
  };
}

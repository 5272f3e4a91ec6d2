/**
 * The port the alert sender delivers through, and the typed errors a transport throws.
 * The grammY implementation is src/bot/alert.transport.ts; tests may use any object with
 * this shape.
 *
 * Classification decides what the sender does:
 * - TelegramRateLimitError (429): wait `retryAfterSec`, retry; Telegram did not take it.
 * - TelegramTransientError (5xx, timeout, network): back off and retry. `ambiguous` = the
 *   request may have reached Telegram (timeout, connection reset after sending): a retry
 *   can duplicate the MESSAGE (never its alert counts, see sender.ts).
 * - TelegramPermanentError (400, 401, 403, 404 …): retrying the same request soon will not
 *   help; retried slowly (a human may fix the token or re-add the bot) and reported.
 */

/** How a message is delivered (notification levels, SPEC 9). */
export interface SendOptions {
  /** no sound/vibration on the phones (Telegram `disable_notification`): INFO, silent types, snoozed types */
  readonly silent?: boolean;
  /** offer "snooze 1 h" on this message: the outbox message id the button names (looked up server-side) */
  readonly snoozeRef?: string;
}

export interface AlertTransport {
  /** send one HTML message; resolves with Telegram's message id */
  sendMessage(chatId: string, html: string, opts?: SendOptions): Promise<{ messageId: number }>;
  /**
   * Optional cheap, side-effect-free call (getMe) proving Telegram answers again. After an
   * ambiguous failure the sender probes before re-sending, so a dead link costs probes, not
   * duplicate messages.
   */
  probe?(): Promise<void>;
}

export type TransportErrorKind = 'rate_limited' | 'transient' | 'permanent';

export abstract class TelegramTransportError extends Error {
  abstract readonly kind: TransportErrorKind;
  /** may the request have reached Telegram (so a retry may duplicate the message)? */
  abstract readonly ambiguous: boolean;
}

export class TelegramRateLimitError extends TelegramTransportError {
  readonly kind = 'rate_limited' as const;
  readonly ambiguous = false;
  constructor(
    readonly retryAfterSec: number,
    message = `429 Too Many Requests: retry after ${retryAfterSec}`,
  ) {
    super(message);
    this.name = 'TelegramRateLimitError';
  }
}

export class TelegramTransientError extends TelegramTransportError {
  readonly kind = 'transient' as const;
  constructor(
    message: string,
    readonly ambiguous: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'TelegramTransientError';
  }
}

export class TelegramPermanentError extends TelegramTransportError {
  readonly kind = 'permanent' as const;
  readonly ambiguous = false;
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'TelegramPermanentError';
  }
}

/** Anything a transport throws, as one of the three kinds (unknown errors: transient, ambiguous). */
export function classifyTransportError(e: unknown): TelegramTransportError {
  if (e instanceof TelegramTransportError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new TelegramTransientError(`unexpected: ${msg}`, true);
}

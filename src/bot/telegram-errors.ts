/** Classifying Bot API failures by what the bot should do about them. */
import { GrammyError, HttpError } from 'grammy';

const description = (e: unknown): string => (e instanceof GrammyError ? e.description : '');

/** Editing to identical content: a no-op, not a failure. */
export const isNotModified = (e: unknown): boolean => e instanceof GrammyError && e.error_code === 400 && description(e).includes('message is not modified');

/** The message to edit no longer exists (deleted by someone): send a new one instead. */
export const isMessageGone = (e: unknown): boolean =>
  e instanceof GrammyError && e.error_code === 400 && /message to edit not found|message can't be edited|MESSAGE_ID_INVALID/i.test(description(e));

/** Our HTML was refused or too long: fall back to plain text rather than retry forever. */
export const isFormatError = (e: unknown): boolean =>
  e instanceof GrammyError && e.error_code === 400 && /can't parse entities|message is too long|text is too long|MESSAGE_TOO_LONG/i.test(description(e));

/**
 * A short description for logs and /status. Errors from our Telegram clients are already
 * secret-free (telegram-api.ts redacts them where grammY creates them).
 */
export function describeTelegramError(e: unknown): string {
  if (e instanceof GrammyError) return `${e.method}: ${e.error_code} ${e.description}`.slice(0, 300);
  if (e instanceof HttpError) return `network: ${String((e.error as Error | undefined)?.message ?? e.message)}`.slice(0, 300);
  return String((e as Error)?.message ?? e).slice(0, 300);
}

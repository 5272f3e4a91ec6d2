/**
 * Turns the `text` + `parse_mode` (or `entities`) of a send/edit call into what Telegram
 * stores, enforcing the same rules and error texts as the real server.
 */
import { ApiError, badRequest, ERR } from './api-error.js';
import { LIMITS, parseHtml, textLimitError } from './html-limits.js';
import { parseMarkdownV2 } from './markdown-v2.js';
import type { TgMessageEntity } from './types.js';

export interface FormattedText {
  text: string;
  entities: TgMessageEntity[];
  /** the text exactly as the bot sent it (HTML / MarkdownV2 source) */
  source: string;
  parseMode: 'HTML' | 'MarkdownV2' | undefined;
}

export interface FormatOptions {
  strictAmpersand?: boolean;
}

export function formatText(
  raw: unknown,
  parseMode: unknown,
  entities: unknown,
  options: FormatOptions = {},
): FormattedText {
  if (raw === undefined || raw === null || raw === '') throw badRequest(ERR.messageEmpty);
  const source = String(raw);
  if (Buffer.byteLength(source, 'utf8') > LIMITS.rawTextMaxBytes) throw badRequest(ERR.messageTooLong);

  const mode = typeof parseMode === 'string' ? parseMode.toLowerCase() : '';
  let parsed: { text: string; entities: TgMessageEntity[] };
  let normalizedMode: FormattedText['parseMode'];
  if (mode === '') {
    parsed = { text: source, entities: Array.isArray(entities) ? (entities as TgMessageEntity[]) : [] };
  } else if (mode === 'html' || mode === 'markdownv2') {
    normalizedMode = mode === 'html' ? 'HTML' : 'MarkdownV2';
    const r =
      mode === 'html' ? parseHtml(source, { strictAmpersand: options.strictAmpersand ?? true }) : parseMarkdownV2(source);
    if (!r.ok) throw badRequest(`${ERR.cantParseEntities}: ${r.error}`);
    parsed = r;
  } else {
    // legacy `Markdown` is not modelled; say so instead of guessing
    throw new ApiError(400, 'Bad Request: unsupported parse_mode');
  }
  const limit = textLimitError(parsed.text);
  if (limit) throw badRequest(limit);
  return { text: parsed.text, entities: parsed.entities, source, parseMode: normalizedMode };
}

/**
 * The one set of Telegram HTML text primitives (escape, visible text and length, clip), used by
 * the alert messages and by the bot's line renderer (src/bot/html.ts builds on it). Pure.
 *
 * Telegram limits a message to 4096 characters AFTER entity parsing: tags do not count,
 * `&amp;` counts as one character. `visibleLength` measures exactly that for the HTML this
 * module family produces (well-formed tags, the four named entities, numeric entities),
 * in UTF-16 code units like the Bot API's entity offsets (an emoji counts 2: conservative).
 */

/** Escape the three characters Telegram's HTML mode requires in every dynamic value. */
export const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

/**
 * The text Telegram shows for an HTML message: tags removed, entities decoded. Matches
 * Telegram for well-formed HTML of the tags Phoenix emits.
 */
export function visibleText(html: string): string {
  return html
    .replace(/<\/?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^>]*)?>/g, '')
    .replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot);/g, (_, e: string) => {
      if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
      if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
      return NAMED[e] ?? '';
    });
}

/** Characters after HTML parsing, the unit of Telegram's 4096 limit. */
export const visibleLength = (html: string): number => visibleText(html).length;

/**
 * Shorten plain text to at most `max` UTF-16 units (ellipsis included), never splitting a
 * surrogate pair; whitespace runs (newlines too) collapse to one space so one alert stays
 * one line. Clip BEFORE escaping so an entity is never cut in half.
 */
export function clip(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  let out = '';
  for (const ch of flat) {
    if (out.length + ch.length > max - 1) break;
    out += ch;
  }
  return `${out}…`;
}

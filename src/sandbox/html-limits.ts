/**
 * Pure HTML parse-mode parser and the hard limits Telegram enforces on text and buttons.
 *
 * The parser follows tdlib's `parse_html` (MessageEntity.cpp): the same allowed tags, the
 * same error texts with UTF-8 byte offsets, entity offsets in UTF-16 code units. One
 * deliberate difference: with `strictAmpersand` (the default) a bare `&` that is not an
 * entity is rejected, where tdlib would keep it literally. Rejecting it catches a missing
 * `escapeHtml` in the bot, which would otherwise only surface when a `<` comes along.
 */
import type { TgMessageEntity } from './types.js';

export const LIMITS = {
  /** sendMessage / editMessageText text, characters after entity parsing */
  textMax: 4096,
  /** raw text the server accepts before it even tries to parse (32 KiB) */
  rawTextMaxBytes: 1 << 15,
  callbackDataMinBytes: 1,
  callbackDataMaxBytes: 64,
  /** answerCallbackQuery text */
  callbackAnswerMax: 200,
  inlineButtonsMax: 100,
  replyMarkupMaxBytes: 10 * 1024,
} as const;

export type ParseResult =
  | { ok: true; text: string; entities: TgMessageEntity[] }
  | { ok: false; error: string };

export interface HtmlParseOptions {
  /** reject a `&` that does not start a valid entity (default true; tdlib keeps it) */
  strictAmpersand?: boolean;
}

const ENTITY_BY_TAG: Record<string, string> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  s: 'strikethrough',
  strike: 'strikethrough',
  del: 'strikethrough',
  'tg-spoiler': 'spoiler',
  span: 'spoiler',
  a: 'text_link',
  code: 'code',
  pre: 'pre',
  blockquote: 'blockquote',
  'tg-emoji': 'custom_emoji',
  'tg-time': 'date_time',
};

export const ALLOWED_HTML_TAGS: readonly string[] = Object.keys(ENTITY_BY_TAG);

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

interface OpenTag {
  name: string;
  start: number;
  attrs: Map<string, string>;
  /** set by a nested `<code class="language-x">` inside `<pre>` */
  language?: string;
}

const isSpace = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
const isAlpha = (c: string | undefined): boolean => c !== undefined && /^[A-Za-z]$/.test(c);

/** UTF-8 byte offset of the JS index `i` in `s` (tdlib reports byte offsets). */
export const byteOffset = (s: string, i: number): number => Buffer.byteLength(s.slice(0, i), 'utf8');

/**
 * Decode an HTML entity starting at `pos` (which holds `&`). Mirrors tdlib: named entities
 * lt/gt/amp/quot, decimal and hex numeric ones, the trailing `;` is optional.
 */
export function decodeEntityAt(src: string, pos: number): { char: string; end: number } | undefined {
  let end = pos + 1;
  let code: number;
  if (src[end] === '#') {
    end++;
    const hex = src[end] === 'x' || src[end] === 'X';
    if (hex) end++;
    const digitsStart = end;
    const digit = hex ? /^[0-9a-fA-F]$/ : /^[0-9]$/;
    while (end < src.length && digit.test(src[end] as string) && end - digitsStart < 8) end++;
    if (end === digitsStart) return undefined;
    code = parseInt(src.slice(digitsStart, end), hex ? 16 : 10);
    if (!(code > 0 && code < 0x10ffff) || (code >= 0xd800 && code <= 0xdfff)) return undefined;
  } else {
    while (isAlpha(src[end])) end++;
    const name = src.slice(pos + 1, end);
    const named = Object.hasOwn(NAMED_ENTITIES, name) ? NAMED_ENTITIES[name] : undefined;
    if (named === undefined) return undefined;
    code = named.codePointAt(0) as number;
  }
  if (src[end] === ';') end++;
  return { char: String.fromCodePoint(code), end };
}

/**
 * Parse the attributes of a start tag from `i` (just after the tag name) to the closing
 * `>`. Returns the index after `>`, or undefined when the tag never closes.
 */
function readAttributes(src: string, i: number, attrs: Map<string, string>): number | undefined {
  for (;;) {
    while (isSpace(src[i])) i++;
    if (i >= src.length) return undefined;
    if (src[i] === '>') return i + 1;
    const nameStart = i;
    while (i < src.length && !isSpace(src[i]) && src[i] !== '=' && src[i] !== '>') i++;
    const name = src.slice(nameStart, i).toLowerCase();
    while (isSpace(src[i])) i++;
    if (src[i] !== '=') {
      attrs.set(name, ''); // valueless attribute such as `expandable`
      continue;
    }
    i++;
    while (isSpace(src[i])) i++;
    let value = '';
    const quote = src[i];
    if (quote === '"' || quote === "'") {
      i++;
      while (i < src.length && src[i] !== quote) {
        const ent = src[i] === '&' ? decodeEntityAt(src, i) : undefined;
        if (ent) {
          value += ent.char;
          i = ent.end;
        } else {
          value += src[i];
          i++;
        }
      }
      if (i >= src.length) return undefined;
      i++;
    } else {
      const start = i;
      while (i < src.length && !isSpace(src[i]) && src[i] !== '>') i++;
      value = src.slice(start, i);
    }
    attrs.set(name, value);
  }
}

function entityFor(tag: OpenTag, offset: number, length: number): TgMessageEntity | undefined {
  const base = { offset, length };
  switch (tag.name) {
    case 'a': {
      const href = tag.attrs.get('href');
      return href ? { type: 'text_link', ...base, url: href } : undefined;
    }
    case 'pre':
      return tag.language ? { type: 'pre', ...base, language: tag.language } : { type: 'pre', ...base };
    case 'blockquote':
      return { type: tag.attrs.has('expandable') ? 'expandable_blockquote' : 'blockquote', ...base };
    case 'tg-emoji':
      return { type: 'custom_emoji', ...base, custom_emoji_id: tag.attrs.get('emoji-id') ?? '' };
    case 'tg-time': {
      const e: TgMessageEntity = { type: 'date_time', ...base, unix_time: Number(tag.attrs.get('unix') ?? 0) };
      const format = tag.attrs.get('format');
      if (format) e.date_time_format = format;
      return e;
    }
    default:
      return { type: ENTITY_BY_TAG[tag.name] as string, ...base };
  }
}

/** Parse Telegram HTML into plain text + entities, or explain why Telegram would refuse it. */
export function parseHtml(src: string, options: HtmlParseOptions = {}): ParseResult {
  const strictAmpersand = options.strictAmpersand ?? true;
  const fail = (why: string): ParseResult => ({ ok: false, error: why });
  const stack: OpenTag[] = [];
  const entities: TgMessageEntity[] = [];
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (c === '&') {
      const ent = decodeEntityAt(src, i);
      if (ent) {
        out += ent.char;
        i = ent.end;
        continue;
      }
      if (strictAmpersand) {
        return fail(`Character '&' at byte offset ${byteOffset(src, i)} must be escaped as "&amp;"`);
      }
    }
    if (c !== '<') {
      out += c;
      i++;
      continue;
    }
    const begin = i;
    const at = (): number => byteOffset(src, begin);
    i++;
    if (src[i] !== '/') {
      let j = i;
      while (j < src.length && !isSpace(src[j]) && src[j] !== '>') j++;
      if (j >= src.length) return fail(`Unclosed start tag at byte offset ${at()}`);
      const name = src.slice(i, j).toLowerCase();
      if (!Object.hasOwn(ENTITY_BY_TAG, name)) return fail(`Unsupported start tag "${name}" at byte offset ${at()}`);
      const attrs = new Map<string, string>();
      const after = readAttributes(src, j, attrs);
      if (after === undefined) return fail(`Unclosed start tag at byte offset ${at()}`);
      if (name === 'span' && attrs.get('class') !== 'tg-spoiler') {
        return fail(`Tag "span" must have class "tg-spoiler" at byte offset ${at()}`);
      }
      if (name === 'tg-emoji' && !attrs.get('emoji-id')) {
        return fail(`Tag "tg-emoji" must have attribute "emoji-id" at byte offset ${at()}`);
      }
      stack.push({ name, start: out.length, attrs });
      i = after;
      continue;
    }
    // end tag
    const top = stack.pop();
    if (!top) return fail(`Unexpected end tag at byte offset ${at()}`);
    let j = i + 1;
    while (j < src.length && !isSpace(src[j]) && src[j] !== '>') j++;
    const endName = src.slice(i + 1, j).toLowerCase();
    while (isSpace(src[j])) j++;
    if (src[j] !== '>') return fail(`Unclosed end tag at byte offset ${at()}`);
    if (endName !== '' && endName !== top.name) {
      return fail(
        `Unmatched end tag at byte offset ${at()}, expected "</${top.name}>", found "</${endName}>"`,
      );
    }
    i = j + 1;
    const parent = stack[stack.length - 1];
    if (top.name === 'code' && parent?.name === 'pre') {
      // <pre><code class="language-x"> is one pre entity with a language, as in tdlib
      const cls = top.attrs.get('class') ?? '';
      if (cls.startsWith('language-')) parent.language = cls.slice('language-'.length);
      continue;
    }
    const length = out.length - top.start;
    if (length === 0) continue;
    const entity = entityFor(top, top.start, length);
    if (entity) entities.push(entity);
  }
  const open = stack[stack.length - 1];
  if (open) return fail(`Can't find end tag corresponding to start tag "${open.name}"`);
  entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { ok: true, text: out, entities };
}

/** Text length as Telegram counts it for the 4096 limit (UTF-16 code units, i.e. JS length). */
export const textLength = (text: string): number => text.length;

/** Why `text` (already entity-parsed) breaks the 1..4096 rule, or undefined when fine. */
export function textLimitError(parsed: string): string | undefined {
  if (parsed.trim() === '') return 'message text is empty';
  if (textLength(parsed) > LIMITS.textMax) return 'message is too long';
  return undefined;
}

/** callback_data must be 1..64 bytes of UTF-8 (an emoji is 4 bytes). */
export function callbackDataValid(data: string): boolean {
  const bytes = Buffer.byteLength(data, 'utf8');
  return bytes >= LIMITS.callbackDataMinBytes && bytes <= LIMITS.callbackDataMaxBytes;
}

/** Escape dynamic text for HTML parse mode (the three characters Telegram requires). */
export const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Pure MarkdownV2 parser, modelled on tdlib's `parse_markdown_v2`: every reserved character
 * outside an entity delimiter must be escaped with `\`, and unterminated entities fail with
 * tdlib's texts. Covers bold, italic, underline, strikethrough, spoiler, code, pre (with
 * language), text links and `>` block quotes; custom emoji and expandable quotes are not
 * modelled (the bot uses HTML).
 */
import { byteOffset, type ParseResult } from './html-limits.js';
import type { TgMessageEntity } from './types.js';

const RESERVED = new Set('_*[]()~`>#+-=|{}.!'.split(''));

type Kind = 'bold' | 'italic' | 'underline' | 'strikethrough' | 'spoiler' | 'text_link';

const TDLIB_NAME: Record<Kind | 'code' | 'pre', string> = {
  bold: 'Bold',
  italic: 'Italic',
  underline: 'Underline',
  strikethrough: 'Strikethrough',
  spoiler: 'Spoiler',
  text_link: 'TextUrl',
  code: 'Code',
  pre: 'Pre',
};

interface Open {
  kind: Kind;
  start: number;
  /** source index of the opening delimiter, for error offsets */
  at: number;
}

export function parseMarkdownV2(src: string): ParseResult {
  const fail = (why: string): ParseResult => ({ ok: false, error: why });
  const entities: TgMessageEntity[] = [];
  const stack: Open[] = [];
  let out = '';
  let quoteStart: number | undefined;
  let i = 0;

  const closes = (kind: Kind): number => {
    const c = src[i];
    const next = src[i + 1];
    switch (kind) {
      case 'bold':
        return c === '*' ? 1 : 0;
      case 'italic':
        return c === '_' && next !== '_' ? 1 : 0;
      case 'underline':
        return c === '_' && next === '_' ? 2 : 0;
      case 'strikethrough':
        return c === '~' ? 1 : 0;
      case 'spoiler':
        return c === '|' && next === '|' ? 2 : 0;
      case 'text_link':
        return c === ']' ? 1 : 0;
    }
  };
  const push = (e: TgMessageEntity): void => {
    if (e.length > 0) entities.push(e);
  };

  while (i < src.length) {
    const c = src[i] as string;
    const lineStart = i === 0 || src[i - 1] === '\n';

    if (c === '\\' && i + 1 < src.length && (src.codePointAt(i + 1) as number) <= 126) {
      out += src[i + 1];
      i += 2;
      continue;
    }
    if (c === '\n' && quoteStart !== undefined && src[i + 1] !== '>') {
      push({ type: 'blockquote', offset: quoteStart, length: out.length - quoteStart });
      quoteStart = undefined;
    }

    const top = stack[stack.length - 1];
    const closeLen = top ? closes(top.kind) : 0;
    if (top && closeLen > 0) {
      stack.pop();
      i += closeLen;
      if (top.kind !== 'text_link') {
        push({ type: top.kind, offset: top.start, length: out.length - top.start });
        continue;
      }
      if (src[i] !== '(') {
        continue; // `[text]` without a URL is plain text in tdlib
      }
      const urlStart = i;
      let url = '';
      i++;
      while (i < src.length && src[i] !== ')') {
        if (src[i] === '\\' && i + 1 < src.length) i++;
        url += src[i];
        i++;
      }
      if (i >= src.length) return fail(`Can't find end of a URL at byte offset ${byteOffset(src, urlStart)}`);
      i++;
      push({ type: 'text_link', offset: top.start, length: out.length - top.start, url });
      continue;
    }

    if (c === '`') {
      // code and pre: everything up to the closing backticks is literal (escapes allowed)
      const pre = src.startsWith('```', i);
      const at = i;
      i += pre ? 3 : 1;
      let language: string | undefined;
      if (pre) {
        const nl = src.indexOf('\n', i);
        const close = src.indexOf('```', i);
        if (nl !== -1 && (close === -1 || nl < close)) {
          language = src.slice(i, nl) || undefined;
          i = nl + 1;
        }
      }
      const start = out.length;
      let closed = false;
      while (i < src.length) {
        if (src[i] === '\\' && i + 1 < src.length) {
          out += src[i + 1];
          i += 2;
          continue;
        }
        if (pre ? src.startsWith('```', i) : src[i] === '`') {
          i += pre ? 3 : 1;
          closed = true;
          break;
        }
        out += src[i];
        i++;
      }
      if (!closed) {
        return fail(`Can't find end of ${TDLIB_NAME[pre ? 'pre' : 'code']} entity at byte offset ${byteOffset(src, at)}`);
      }
      const e: TgMessageEntity = { type: pre ? 'pre' : 'code', offset: start, length: out.length - start };
      if (pre && language) e.language = language;
      push(e);
      continue;
    }

    if (c === '>' && lineStart) {
      if (quoteStart === undefined) quoteStart = out.length;
      i++;
      continue;
    }

    const opener: [Kind, number] | undefined =
      c === '*' ? ['bold', 1]
      : c === '_' && src[i + 1] === '_' ? ['underline', 2]
      : c === '_' ? ['italic', 1]
      : c === '~' ? ['strikethrough', 1]
      : c === '|' && src[i + 1] === '|' ? ['spoiler', 2]
      : c === '[' ? ['text_link', 1]
      : undefined;
    if (opener) {
      stack.push({ kind: opener[0], start: out.length, at: i });
      i += opener[1];
      continue;
    }
    if (RESERVED.has(c)) {
      return fail(`Character '${c}' is reserved and must be escaped with the preceding '\\'`);
    }
    out += c;
    i++;
  }
  const open = stack[stack.length - 1];
  if (open) {
    return fail(`Can't find end of ${TDLIB_NAME[open.kind]} entity at byte offset ${byteOffset(src, open.at)}`);
  }
  if (quoteStart !== undefined) push({ type: 'blockquote', offset: quoteStart, length: out.length - quoteStart });
  entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { ok: true, text: out, entities };
}

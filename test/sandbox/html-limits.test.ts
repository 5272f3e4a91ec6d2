import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/sandbox/api-error.js';
import { formatText } from '../../src/sandbox/formatted-text.js';
import { callbackDataValid, escapeHtml, LIMITS, parseHtml } from '../../src/sandbox/html-limits.js';
import { parseMarkdownV2 } from '../../src/sandbox/markdown-v2.js';
import { validateReplyMarkup } from '../../src/sandbox/reply-markup.js';

const ok = (html: string) => {
  const r = parseHtml(html);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(html)} to parse, got: ${r.error}`);
  return r;
};
const err = (html: string, strictAmpersand = true): string => {
  const r = parseHtml(html, { strictAmpersand });
  if (r.ok) throw new Error(`expected ${JSON.stringify(html)} to fail`);
  return r.error;
};
const apiError = (fn: () => unknown): ApiError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
};

describe('parseHtml: allowed tags and entities', () => {
  it('maps every allowed tag to its entity type with UTF-16 offsets', () => {
    const r = ok(
      '<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>' +
        '<tg-spoiler>p</tg-spoiler><span class="tg-spoiler">q</span><code>c</code><pre>p</pre>' +
        '<blockquote>q</blockquote><blockquote expandable>x</blockquote><a href="https://t.me/x?a=1&amp;b=2">l</a>' +
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
    );
    expect(r.text).toBe('bsieunskdpqcpqxl👍');
    expect(r.entities.map((e) => e.type)).toEqual([
      'bold', 'bold', 'italic', 'italic', 'underline', 'underline', 'strikethrough', 'strikethrough',
      'strikethrough', 'spoiler', 'spoiler', 'code', 'pre', 'blockquote', 'expandable_blockquote', 'text_link',
      'custom_emoji',
    ]);
    expect(r.entities.find((e) => e.type === 'text_link')?.url).toBe('https://t.me/x?a=1&b=2');
    expect(r.entities.at(-1)).toMatchObject({ offset: 16, length: 2, custom_emoji_id: '5368324170671202286' });
  });

  it('handles nesting, case-insensitive tags and <pre><code class="language-x">', () => {
    const r = ok('<B>bold <I>both</I></B>\n<pre><code class="language-ts">const x = 1;</code></pre>');
    expect(r.text).toBe('bold both\nconst x = 1;');
    expect(r.entities).toEqual([
      { type: 'bold', offset: 0, length: 9 },
      { type: 'italic', offset: 5, length: 4 },
      { type: 'pre', offset: 10, length: 12, language: 'ts' },
    ]);
  });

  it('counts offsets in UTF-16 units (emoji are two)', () => {
    const r = ok('🚀 <b>go</b>');
    expect(r.entities).toEqual([{ type: 'bold', offset: 3, length: 2 }]);
  });

  it('decodes the four named entities and numeric ones', () => {
    expect(ok('&lt;&gt;&amp;&quot; &#65;&#x42;&#X43; &#128640;').text).toBe('<>&" ABC 🚀');
  });

  it('accepts a bare > like tdlib does', () => {
    expect(ok('a > b').text).toBe('a > b');
  });
});

describe('parseHtml: what Telegram refuses', () => {
  it.each([
    ['<b>bold', 'Can\'t find end tag corresponding to start tag "b"'],
    ['<b>x</i>', 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'],
    ['x</b>', 'Unexpected end tag at byte offset 1'],
    ['<div>x</div>', 'Unsupported start tag "div" at byte offset 0'],
    ['<br>', 'Unsupported start tag "br" at byte offset 0'],
    ['1 < 2', 'Unsupported start tag "" at byte offset 2'],
    ['text <b', 'Unclosed start tag at byte offset 5'],
    ['<span>x</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'],
    ['<a href="x>y</a>', 'Unclosed start tag at byte offset 0'],
    ['é <constructor>x</constructor>', 'Unsupported start tag "constructor" at byte offset 3'],
  ])('%s', (html, why) => {
    expect(err(html)).toBe(why);
  });

  it('rejects a bare & or an unknown named entity (strict mode, the default)', () => {
    expect(err('Fish & Chips')).toBe('Character \'&\' at byte offset 5 must be escaped as "&amp;"');
    expect(err('a&nbsp;b')).toContain("Character '&'");
    expect(err('&#0;')).toContain("Character '&'");
  });

  it('keeps a bare & literally when strictAmpersand is off, like tdlib', () => {
    const r = parseHtml('Fish & Chips', { strictAmpersand: false });
    expect(r).toEqual({ ok: true, text: 'Fish & Chips', entities: [] });
  });

  it('escapeHtml output always parses back to the original', () => {
    const nasty = '<b>&amp; "x" </i> & < > 🚀';
    expect(ok(escapeHtml(nasty)).text).toBe(nasty);
  });
});

describe('text length: 1..4096 after entity parsing', () => {
  const boundary = 'x'.repeat(4096);
  it('accepts exactly 4096 characters and rejects 4097', () => {
    expect(formatText(boundary, undefined, undefined).text).toHaveLength(4096);
    expect(apiError(() => formatText(boundary + 'x', undefined, undefined)).description).toBe(
      'Bad Request: message is too long',
    );
  });

  it('counts after stripping tags and decoding entities', () => {
    const html = `<b>${'&amp;'.repeat(4000)}</b><i>${'y'.repeat(96)}</i>`; // 20 133 raw chars
    expect(html.length).toBeGreaterThan(4096);
    expect(formatText(html, 'HTML', undefined).text).toHaveLength(4096);
    expect(apiError(() => formatText(`${html}z`, 'HTML', undefined)).description).toBe(
      'Bad Request: message is too long',
    );
  });

  it('counts JS string length (an emoji is 2)', () => {
    expect(() => formatText('🚀'.repeat(2048), undefined, undefined)).not.toThrow();
    expect(apiError(() => formatText(`${'🚀'.repeat(2048)}x`, undefined, undefined)).code).toBe(400);
  });

  it('rejects empty text, also when only tags or whitespace remain', () => {
    for (const t of ['', '<b></b>', '   ']) {
      expect(apiError(() => formatText(t, 'HTML', undefined)).description).toBe('Bad Request: message text is empty');
    }
  });

  it('reports parse errors with the real prefix', () => {
    expect(apiError(() => formatText('<b>x', 'html', undefined)).description).toBe(
      'Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start tag "b"',
    );
  });
});

describe('callback_data: 1..64 bytes of UTF-8', () => {
  it('counts bytes, not characters', () => {
    expect(callbackDataValid('a'.repeat(64))).toBe(true);
    expect(callbackDataValid('a'.repeat(65))).toBe(false);
    expect(callbackDataValid('')).toBe(false);
    expect(callbackDataValid('🚀'.repeat(16))).toBe(true); // 16 × 4 bytes = 64
    expect(callbackDataValid('🚀'.repeat(16) + 'a')).toBe(false); // 65 bytes, only 33 JS chars
    expect(callbackDataValid(`v1:a:${'é'.repeat(29)}x`)).toBe(true); // 5 + 58 + 1 = 64
  });

  it('makes sendMessage markup fail with BUTTON_DATA_INVALID', () => {
    const markup = (data: string) => ({ inline_keyboard: [[{ text: 'Go', callback_data: data }]] });
    expect(validateReplyMarkup(markup('🚀'.repeat(16)))).toEqual(markup('🚀'.repeat(16)));
    expect(apiError(() => validateReplyMarkup(markup('🚀'.repeat(16) + 'a'))).description).toBe(
      'Bad Request: BUTTON_DATA_INVALID',
    );
    expect(apiError(() => validateReplyMarkup(markup(''))).description).toBe('Bad Request: BUTTON_DATA_INVALID');
  });

  it('treats an empty inline keyboard as no keyboard and limits the button count', () => {
    expect(validateReplyMarkup({ inline_keyboard: [[]] })).toBeUndefined();
    const many = { inline_keyboard: Array.from({ length: 11 }, () => Array.from({ length: 10 }, (_, i) => ({ text: `${i}`, callback_data: `${i}` }))) };
    expect(apiError(() => validateReplyMarkup(many)).description).toBe('Bad Request: too many inline keyboard buttons');
    expect(LIMITS.callbackDataMaxBytes).toBe(64);
  });
});

describe('parseMarkdownV2', () => {
  it('parses the common entities and escapes', () => {
    const r = parseMarkdownV2('*bold* _it_ __u__ ~s~ ||sp|| `c` [link](https://x.y/\\)) 190\\.5 \\-3%');
    if (!r.ok) throw new Error(r.error);
    expect(r.text).toBe('bold it u s sp c link 190.5 -3%');
    expect(r.entities.map((e) => e.type)).toEqual([
      'bold', 'italic', 'underline', 'strikethrough', 'spoiler', 'code', 'text_link',
    ]);
    expect(r.entities.find((e) => e.type === 'text_link')?.url).toBe('https://x.y/)');
  });

  it('refuses unescaped reserved characters and open entities', () => {
    expect(parseMarkdownV2('price 190.5')).toEqual({
      ok: false,
      error: "Character '.' is reserved and must be escaped with the preceding '\\'",
    });
    expect(parseMarkdownV2('*open')).toEqual({ ok: false, error: "Can't find end of Bold entity at byte offset 0" });
  });

  it('parses pre with a language and block quotes', () => {
    const r = parseMarkdownV2('```ts\nconst a = 1;\n```\n>quoted\n>more\nafter');
    if (!r.ok) throw new Error(r.error);
    expect(r.text).toBe('const a = 1;\n\nquoted\nmore\nafter');
    expect(r.entities).toEqual([
      { type: 'pre', offset: 0, length: 13, language: 'ts' },
      { type: 'blockquote', offset: 14, length: 11 },
    ]);
  });
});

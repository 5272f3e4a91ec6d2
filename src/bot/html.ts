/**
 * HTML parse mode without surprises. Messages are built as lines of small inline trees
 * (text and a few tags), never as concatenated HTML strings: every dynamic value is escaped
 * exactly once when rendered, and the visible length is known before anything is sent, so
 * a message can be trimmed to Telegram's 4096-character limit without ever cutting a tag or
 * an entity in half. `visibleText` re-measures the final HTML the way Telegram parses it.
 * Escaping and measuring are the shared primitives of src/alerts/html.ts.
 */
import { escapeHtml, visibleText } from '../alerts/html.js';

export { escapeHtml, visibleText };

/** Telegram's limit for message text after entity parsing (UTF-16 code units). */
export const TEXT_LIMIT = 4096;
/** Headroom we keep under the limit. */
export const SAFE_TEXT_LIMIT = 4000;
/** answerCallbackQuery text limit. */
export const TOAST_LIMIT = 200;

export type Tag = 'b' | 'i' | 'u' | 's' | 'code' | 'a';
/** text, or a tag around inline children; `href` only on `a` (a link, e.g. to a card message) */
export type Inline = string | { readonly tag: Tag; readonly children: readonly Inline[]; readonly href?: string };

export interface Line {
  readonly parts: readonly Inline[];
  /**
   * Trim priority: lines with a `drop` value may be removed when the message is too long,
   * lowest value first (ties: the later line first). Lines without it are essential.
   */
  readonly drop?: number;
  /** cap this line's visible length (long free text such as alignment) */
  readonly maxChars?: number;
  /**
   * 'details': the line belongs to the card's fold-away block. Consecutive details lines are
   * rendered as one `<blockquote expandable>` (Telegram shows its first lines, a tap opens it).
   */
  readonly block?: 'details';
}

const tag =
  (t: Tag) =>
  (...children: Inline[]): Inline => ({ tag: t, children });
export const b = tag('b');
export const i = tag('i');
export const u = tag('u');
export const s = tag('s');
export const code = tag('code');

export const line = (...parts: Inline[]): Line => ({ parts });
/** A link (only http(s) and tg: addresses; anything else renders as its plain text). */
export const link = (href: string, ...children: Inline[]): Inline => ({ tag: 'a', href, children });
/** Put lines into the card's expandable details block. */
export const details = (lines: readonly Line[]): Line[] => lines.map((l) => ({ ...l, block: 'details' }));
export const blank: Line = { parts: [] };
export const withDrop = (l: Line, drop: number, maxChars?: number): Line => ({ ...l, drop, ...(maxChars !== undefined ? { maxChars } : {}) });


// Bidirectional overrides/isolates can visually reorder what follows them (a price, a side),
// and C0/C1 controls have no business in a card. Real RTL letters are kept.
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/g;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;

/**
 * Untrusted text for one line of a card: controls and bidi overrides removed, line breaks
 * and runs of whitespace collapsed, so a hostile value cannot fake extra card lines.
 */
export function clean(text: string): string {
  return text.replace(BIDI_CONTROLS, '').replace(CONTROLS, ' ').replace(/\s+/g, ' ').trim();
}

/** Same, keeping line breaks (multi-line free text such as a runbook). */
export function cleanMultiline(text: string): string {
  return text.replace(BIDI_CONTROLS, '').replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g, ' ');
}

const SAFE_HREF = /^(https?:\/\/|tg:\/\/)[^\s"<>]+$/;

export function renderInline(p: Inline): string {
  if (typeof p === 'string') return escapeHtml(p);
  const inner = p.children.map(renderInline).join('');
  if (p.tag === 'a') return p.href && SAFE_HREF.test(p.href) && inner !== '' ? `<a href="${escapeHtml(p.href)}">${inner}</a>` : inner;
  return inner === '' ? '' : `<${p.tag}>${inner}</${p.tag}>`;
}

export function plainOf(p: Inline): string {
  return typeof p === 'string' ? p : p.children.map(plainOf).join('');
}

export const lineText = (l: Line): string => l.parts.map(plainOf).join('');
export const renderLine = (l: Line): string => l.parts.map(renderInline).join('');
/** Lines joined by newlines; a run of `details` lines goes into one expandable blockquote. */
export function renderLines(lines: readonly Line[]): string {
  let out = '';
  let quoted = false;
  lines.forEach((l, idx) => {
    const inBlock = l.block === 'details';
    if (inBlock && !quoted) out += `${idx ? '\n' : ''}<blockquote expandable>`;
    else if (!inBlock && quoted) out += '</blockquote>\n';
    else if (idx) out += '\n';
    quoted = inBlock;
    out += renderLine(l);
  });
  return quoted ? `${out}</blockquote>` : out;
}
export const plainLines = (lines: readonly Line[]): string => lines.map(lineText).join('\n');

/** Cut `text` to at most `max` UTF-16 units without splitting a surrogate pair. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let end = max;
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return text.slice(0, end);
}

/** Truncate inline parts to `max` visible characters, ending with "…" when cut. */
export function truncateParts(parts: readonly Inline[], max: number): Inline[] {
  const total = parts.map(plainOf).join('').length;
  if (total <= max) return [...parts];
  let budget = Math.max(0, max - 1);
  let marked = false;
  const walk = (p: Inline): Inline | null => {
    if (budget <= 0 && marked) return null;
    if (typeof p === 'string') {
      if (p.length <= budget) {
        budget -= p.length;
        return p;
      }
      const cut = cutText(p, budget);
      budget = 0;
      marked = true;
      return `${cut}…`;
    }
    const children: Inline[] = [];
    for (const c of p.children) {
      const w = walk(c);
      if (w !== null) children.push(w);
      if (marked) break;
    }
    return { ...p, children };
  };
  const out: Inline[] = [];
  for (const p of parts) {
    const w = walk(p);
    if (w !== null) out.push(w);
    if (marked) break;
  }
  if (!marked) out.push('…');
  return out;
}

/**
 * Make `lines` fit `max` visible characters: cap lines that have `maxChars`, then drop
 * droppable lines (lowest priority first, later lines first) behind one "… N lines
 * trimmed" marker, then cut the longest lines. The result always fits.
 */
export function fitLines(input: readonly Line[], max: number = SAFE_TEXT_LIMIT): Line[] {
  let lines = input.map((l) => (l.maxChars !== undefined && lineText(l).length > l.maxChars ? { ...l, parts: truncateParts(l.parts, l.maxChars) } : l));
  const lens = lines.map((l) => lineText(l).length);
  let total = lens.reduce((n, x) => n + x, 0) + Math.max(0, lines.length - 1);
  if (total <= max) return lines;

  // Drop lines: lowest priority first, later lines first, behind one marker line.
  const marker = (n: number, like?: Line): Line => ({ parts: [{ tag: 'i', children: [`… ${n} line${n > 1 ? 's' : ''} trimmed to fit`] }], ...(like?.block ? { block: like.block } : {}) });
  const candidates = lines
    .map((l, idx) => ({ idx, drop: l.drop }))
    .filter((c): c is { idx: number; drop: number } => c.drop !== undefined)
    .sort((a, b) => a.drop - b.drop || b.idx - a.idx);
  const removed = new Set<number>();
  let removedLen = 0; // visible characters removed, including their newlines
  const withMarker = () => total - removedLen + (removed.size ? lineText(marker(removed.size)).length + 1 : 0);
  for (const c of candidates) {
    if (withMarker() <= max) break;
    removed.add(c.idx);
    removedLen += (lens[c.idx] ?? 0) + 1;
  }
  if (removed.size) {
    const first = Math.min(...removed);
    const out: Line[] = [];
    lines.forEach((l, idx) => {
      if (idx === first) out.push(marker(removed.size, l));
      if (!removed.has(idx)) out.push(l);
    });
    lines = out;
  }

  // Still too long: cut the longest line until it fits.
  for (let guard = 0; guard < 1000; guard++) {
    const cur = lines.map((l) => lineText(l).length);
    const sum = cur.reduce((n, x) => n + x, 0) + Math.max(0, lines.length - 1);
    if (sum <= max) break;
    let longest = 0;
    cur.forEach((x, idx) => {
      if (x > (cur[longest] ?? 0)) longest = idx;
    });
    const len = cur[longest] ?? 0;
    const target = len - (sum - max);
    if (target > 1) lines = lines.map((x, idx) => (idx === longest ? { ...x, parts: truncateParts(x.parts, target) } : x));
    else lines = lines.filter((_, idx) => idx !== longest);
  }
  return lines;
}

/** Render lines trimmed to fit one message. */
export function renderFitted(lines: readonly Line[], max: number = SAFE_TEXT_LIMIT): string {
  const html = renderLines(fitLines(lines, max));
  // Belt and braces: measure what Telegram will see.
  if (visibleText(html).length <= max && html.trim() !== '') return html;
  return escapeHtml(cutText(visibleText(html), max - 1) + '…');
}

/**
 * Split lines into several messages, each within `max`, never splitting a line (a single
 * over-long line is cut). Used for runbooks and long lists.
 */
export function chunkLines(lines: readonly Line[], max: number = SAFE_TEXT_LIMIT): string[] {
  const chunks: Line[][] = [];
  let cur: Line[] = [];
  let len = 0;
  for (const raw of lines) {
    const l = lineText(raw).length > max ? { ...raw, parts: truncateParts(raw.parts, max) } : raw;
    const add = lineText(l).length + (cur.length ? 1 : 0);
    if (cur.length && len + add > max) {
      chunks.push(cur);
      cur = [];
      len = 0;
    }
    len += lineText(l).length + (cur.length ? 1 : 0);
    cur.push(l);
  }
  if (cur.length) chunks.push(cur);
  return chunks.map((c) => renderLines(c)).filter((h) => visibleText(h).trim() !== '');
}

/** A toast (answerCallbackQuery text): plain, at most 200 characters. */
export function toast(text: string): string {
  const t = clean(text);
  return t.length <= TOAST_LIMIT ? t : `${cutText(t, TOAST_LIMIT - 1)}…`;
}

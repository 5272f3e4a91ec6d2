/**
 * /runbook: list runbooks/RB-*.md or show one, as Telegram HTML split into messages that
 * each fit the 4096-character limit. Only files found in the runbooks folder can be shown
 * (the id is matched against the listing, never used as a path).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { b, chunkLines, clean, cleanMultiline, code, i, line, lineText, renderFitted, type Inline, type Line } from './html.js';

export interface RunbookEntry {
  readonly id: string;
  readonly title: string;
  readonly file: string;
}

const FILE = /^(RB-\d{3})[-\w]*\.md$/;

export async function listRunbooks(dir: string): Promise<RunbookEntry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: RunbookEntry[] = [];
  for (const name of names.sort()) {
    const m = FILE.exec(name);
    if (!m?.[1]) continue;
    let title = name;
    try {
      const first = (await readFile(join(dir, name), 'utf8')).split('\n').find((l) => l.startsWith('# '));
      if (first) title = first.replace(/^#\s*/, '').replace(new RegExp(`^${m[1]}\\s*[—-]\\s*`), '');
    } catch {
      /* listed anyway */
    }
    out.push({ id: m[1], title: clean(title), file: name });
  }
  return out;
}

/** "4", "004", "rb-4", "RB-004" → "RB-004"; null for anything else. */
export function normalizeRunbookId(arg: string): string | null {
  const m = /^(?:rb-?)?(\d{1,3})$/i.exec(arg.trim());
  return m?.[1] ? `RB-${m[1].padStart(3, '0')}` : null;
}

export function renderRunbookList(list: readonly RunbookEntry[]): string {
  if (!list.length) return renderFitted([line('No runbooks found on the server (runbooks/RB-*.md).')]);
  return renderFitted([line(b('Runbooks'), ' — /runbook RB-004 shows one'), ...list.map((r) => line(code(r.id), ` ${r.title}`))]);
}

/** Inline markdown: `code`, **bold**, [text](url) → text. */
function inlineMarkdown(text: string): Inline[] {
  const out: Inline[] = [];
  const re = /`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\([^)]*\)/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[1] !== undefined) out.push(code(m[1]));
    else if (m[2] !== undefined) out.push(b(m[2]));
    else if (m[3] !== undefined) out.push(m[3]);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

export function markdownToLines(md: string): Line[] {
  const lines: Line[] = [];
  let inFence = false;
  for (const raw of cleanMultiline(md).split('\n')) {
    if (/^\s*```/.test(raw)) {
      inFence = !inFence;
      continue;
    }
    if (inFence) {
      lines.push(line(code(raw.trimEnd() || ' ')));
      continue;
    }
    const t = raw.trimEnd();
    const h = /^(#{1,6})\s+(.*)$/.exec(t);
    if (h) {
      lines.push(line(b(h[2] ?? '')));
      continue;
    }
    if (/^\s*>\s?/.test(t)) {
      lines.push(line(i(...inlineMarkdown(t.replace(/^\s*>\s?/, '')))));
      continue;
    }
    const bullet = /^(\s*)[-*]\s+(.*)$/.exec(t);
    if (bullet) {
      lines.push(line(`${bullet[1] ?? ''}• `, ...inlineMarkdown(bullet[2] ?? '')));
      continue;
    }
    lines.push(line(...inlineMarkdown(t)));
  }
  // collapse runs of blank lines
  const empty = (l: Line | undefined): boolean => l !== undefined && lineText(l).trim() === '';
  return lines.filter((l, k) => !(empty(l) && empty(lines[k - 1])));
}

export type RunbookReply = { readonly ok: true; readonly messages: readonly string[] } | { readonly ok: false; readonly message: string };

/** The runbook as one or more HTML messages (at most `maxMessages`; the rest is trimmed). */
export async function renderRunbook(dir: string, arg: string, maxMessages = 4): Promise<RunbookReply> {
  const id = normalizeRunbookId(arg);
  const list = await listRunbooks(dir);
  const entry = id ? list.find((r) => r.id === id) : undefined;
  if (!entry) return { ok: false, message: `No runbook "${clean(arg).slice(0, 20)}". Known: ${list.map((r) => r.id).join(', ') || 'none'}.` };
  const md = await readFile(join(dir, entry.file), 'utf8');
  const chunks = chunkLines(markdownToLines(md));
  if (chunks.length <= maxMessages) return { ok: true, messages: chunks };
  const kept = chunks.slice(0, maxMessages);
  kept[maxMessages - 1] = `${kept[maxMessages - 1] ?? ''}\n<i>… trimmed; read runbooks/${entry.file} on the server for the rest.</i>`;
  return { ok: true, messages: kept };
}

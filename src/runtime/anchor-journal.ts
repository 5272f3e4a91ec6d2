/**
 * The audit anchor journal on disk (SAFE-12, INV-AUDIT-ANCHOR-1): where it lives, reading it
 * whole (verify) or just its end (start-up). The line format and the checks are pure, in
 * src/engine/audit.anchor.ts; appending is src/runtime/anchor-sinks.ts.
 *
 * Default location: next to the database (`data/phoenix.db` → `data/phoenix.anchors.jsonl`).
 * Against someone who can write the database FILE, a journal in the same directory is worth
 * little (they can edit both), which is why the daily summary also puts the head in Telegram
 * and AUDIT_ANCHOR_FILE / AUDIT_ANCHOR_URL can put the journal where the database's owner
 * cannot write (another disk, an append-only file, another machine). The default still
 * catches what happens to the database alone: a restore from an older backup (truncation),
 * a `sqlite3` session or SQL tool, a second program writing beads, a PostgreSQL-style server
 * reached over the network; and it costs nothing. `AUDIT_ANCHOR_FILE=off` turns it off.
 */
import { createReadStream, existsSync, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { AnchorJournalReader, parseAnchorLine, type Anchor, type ParsedJournal } from '../engine/index.js';

/** The journal file for this configuration, or null when anchoring to a file is off. */
export function anchorFilePath(env: { readonly DATABASE_URL: string; readonly AUDIT_ANCHOR_FILE?: string | undefined }, dbFile: string, cwd = process.cwd()): string | null {
  const v = env.AUDIT_ANCHOR_FILE;
  if (v === 'off') return null;
  if (v) return isAbsolute(v) ? v : resolve(cwd, v);
  return join(dirname(dbFile), `${basename(dbFile, extname(dbFile))}.anchors.jsonl`);
}

/** Read a whole journal, streaming (a year of commits is ~100 MB). null when the file does not exist. */
export async function readAnchorJournal(path: string): Promise<ParsedJournal | null> {
  if (!existsSync(path)) return null;
  const reader = new AnchorJournalReader(basename(path));
  const stream = createReadStream(path, { encoding: 'utf8' });
  let lastChar = '';
  stream.on('data', (chunk) => {
    if (chunk.length) lastChar = chunk[chunk.length - 1] as string;
  });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) reader.line(line, ++n);
  return reader.end(lastChar === '' || lastChar === '\n');
}

export interface JournalTail {
  /** the anchor with the highest sequence among the last lines (null: no anchors) */
  readonly last: Anchor | null;
}

/** Thrown when the journal exists but cannot be read (a directory, no permission). */
export class JournalUnreadableError extends Error {
  constructor(
    readonly path: string,
    readonly code: string,
  ) {
    super(`audit anchor journal ${path} cannot be read (${code})`);
  }
}

/**
 * The newest anchor, from the last `bytes` of the file (start-up must not read a year of
 * lines). Lines from several processes may be slightly out of order; the highest sequence
 * in the tail is the head the journal knows. null when the file does not exist.
 */
export function readJournalTail(path: string, bytes = 64 * 1024): JournalTail | null {
  if (!existsSync(path)) return null;
  let text: string;
  let fromStart: boolean;
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const start = Math.max(0, size - bytes);
      const buf = Buffer.alloc(size - start);
      readSync(fd, buf, 0, buf.length, start);
      text = buf.toString('utf8');
      fromStart = start === 0;
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new JournalUnreadableError(path, (e as NodeJS.ErrnoException).code ?? 'error');
  }
  const lines = text.split('\n');
  if (!fromStart) lines.shift(); // probably cut in the middle
  let last: Anchor | null = null;
  for (const raw of lines) {
    if (!raw.trim()) continue;
    const a = parseAnchorLine(raw.trim(), basename(path));
    if (!('error' in a) && (!last || a.seq > last.seq)) last = a;
  }
  return { last };
}

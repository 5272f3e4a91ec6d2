/**
 * Audit anchors (SPEC 13, SAFE-12, INV-AUDIT-ANCHOR-1). A hash chain proves that beads were
 * not edited in place, but someone with database access can still delete the newest beads or
 * append a well-formed bead computed with the public formula. Both leave a chain that
 * verifies. An anchor is the head (sequence + hash) written down OUTSIDE the database:
 *
 * - the anchor journal (a JSON-lines file, and optionally a URL): after every COMMIT that
 *   appended beads, the writing process adds `{"kind":"commit","from":F,"seq":S,"hash":H}`:
 *   "I appended beads F..S and S has hash H". Every bead must lie in some such range, so a
 *   bead appended behind Phoenix's back is one no range vouches for ("not anchored"), even
 *   when Phoenix later chains its own beads onto it. `start` marks where a journal begins
 *   (beads before it were not anchored one by one); `adopt` records beads found in the
 *   database but not in the journal at start-up (written just before a crash, or forged),
 *   which start-up also alerts about.
 * - a point `SEQ:HASH` (the daily summary in Telegram, /audit): bead SEQ must exist with
 *   that hash. A point cannot tell later beads apart: they are reported, not failed.
 *
 * Checked against a walk of the chain: an anchored bead that is missing (truncation), one
 * whose hash changed (re-written, re-pointed after it was anchored), and beads the journal
 * does not vouch for (forged appends). Pure: the journal's file and URL live in src/runtime.
 */
import { z } from 'zod';
import type { StoredBead } from './beads.js';
import { isoUtc } from './people-time.js';

/** What a store reports after a COMMIT that appended beads. */
export interface CommittedBeads {
  /** first sequence number appended */
  readonly from: number;
  /** last sequence number appended: the new head */
  readonly seq: number;
  readonly hash: string;
}

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');
const seqNo = z.number().int().nonnegative();

export const anchorLineSchema = z
  .object({
    v: z.literal(1),
    kind: z.enum(['commit', 'adopt', 'start', 'head']),
    seq: seqNo,
    hash: hex64,
    from: z.number().int().positive().optional(),
    at: z.string(),
    note: z.string().optional(),
  })
  .strict()
  .refine((l) => (l.kind === 'commit' || l.kind === 'adopt' ? l.from !== undefined && l.from <= l.seq : l.from === undefined), 'commit/adopt lines need from ≤ seq; start/head lines have no from');

export type AnchorLine = z.infer<typeof anchorLineSchema>;
export type AnchorKind = AnchorLine['kind'] | 'point';

/** One anchor to check, with where it came from (for the report). */
export interface Anchor {
  readonly kind: AnchorKind;
  readonly seq: number;
  /** the full hash, or (a point typed by a person) a prefix of at least 16 hex digits */
  readonly hash: string;
  readonly from?: number;
  readonly at?: string;
  readonly note?: string;
  /** "FILE:LINE" or "--anchor SEQ:HASH" */
  readonly where: string;
}

/** A journal line for a committed range, a start-up adoption, a journal start or a head. */
export function anchorLine(kind: AnchorLine['kind'], head: { seq: number; hash: string; from?: number }, atMs: number, note?: string): AnchorLine {
  return { v: 1, kind, seq: head.seq, hash: head.hash, ...(head.from !== undefined ? { from: head.from } : {}), at: isoUtc(atMs), ...(note ? { note } : {}) };
}

/** "3f9ac2…81be": the head as a person compares it by eye (not enough to check against). */
export function shortHash(hash: string): string {
  return hash.length > 12 ? `${hash.slice(0, 6)}…${hash.slice(-4)}` : hash;
}

/** The anchor a person can paste into `phoenix audit verify --anchor`. */
export function pointText(head: { seq: number; hash: string }): string {
  return `${head.seq}:${head.hash}`;
}

export interface ParsedJournal {
  readonly anchors: Anchor[];
  /** lines that are not anchors: the journal itself was edited (fails verification) */
  readonly malformed: string[];
  /** a last line cut short (the process died mid-write): reported, not failed */
  readonly torn: string | null;
}

/** One journal line → an anchor, or why it is not one. `where` cites it ("anchors.jsonl:12"). */
export function parseAnchorLine(raw: string, where: string): Anchor | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { error: `${where}: not JSON` };
  }
  const r = anchorLineSchema.safeParse(parsed);
  if (!r.success) return { error: `${where}: ${r.error.issues.map((x) => `${x.path.join('.') || 'line'} ${x.message}`).join('; ')}` };
  const l = r.data;
  return { kind: l.kind, seq: l.seq, hash: l.hash, ...(l.from !== undefined ? { from: l.from } : {}), at: l.at, ...(l.note ? { note: l.note } : {}), where };
}

/**
 * Collects a journal line by line (the runtime streams big files through it). A bad last
 * line without its newline is "torn" (the process died mid-write: reported, not failed);
 * any other bad line means the journal was edited (fails verification).
 */
export class AnchorJournalReader {
  readonly anchors: Anchor[] = [];
  readonly malformed: string[] = [];
  private lastBad: string | null = null;

  constructor(private readonly name: string) {}

  line(raw: string, lineNo: number): void {
    if (this.lastBad) this.malformed.push(this.lastBad);
    this.lastBad = null;
    const text = raw.trim();
    if (!text) return;
    const a = parseAnchorLine(text, `${this.name}:${lineNo}`);
    if ('error' in a) this.lastBad = a.error;
    else this.anchors.push(a);
  }

  /** `endsWithNewline`: whether the file's last byte was a newline */
  end(endsWithNewline: boolean): ParsedJournal {
    let torn: string | null = null;
    if (this.lastBad) {
      if (endsWithNewline) this.malformed.push(this.lastBad);
      else torn = `${this.lastBad} (the last line is cut short: written when the process stopped?)`;
    }
    return { anchors: this.anchors, malformed: this.malformed, torn };
  }
}

/** Parse a whole journal held in memory (tests, small files). */
export function parseAnchorJournal(text: string, name: string): ParsedJournal {
  const r = new AnchorJournalReader(name);
  const lines = text.split('\n');
  lines.forEach((l, i) => r.line(l, i + 1));
  return r.end(text === '' || text.endsWith('\n'));
}

/** `SEQ:HASH` (also `#SEQ:HASH`): a head copied from the daily summary, /audit or a verify run. */
export function parsePointAnchor(text: string): Anchor | { error: string } {
  const m = /^#?(\d{1,15}):([0-9a-fA-F]{16,64})$/.exec(text.trim());
  if (!m) return { error: `an anchor is FILE or SEQ:HASH (the hash in full, or its first 16+ hex digits), e.g. 12345:3f9ac2…; got ${JSON.stringify(text.slice(0, 80))}` };
  return { kind: 'point', seq: Number(m[1]), hash: m[2]!.toLowerCase(), where: `--anchor ${text.trim()}` };
}

export interface BeadRef {
  readonly seq: number;
  readonly id: string;
  readonly type: string;
}

export interface AnchorFindings {
  /** anchors checked */
  readonly anchors: number;
  /** the first sequence the journal vouches for bead by bead (null: no journal, points only) */
  readonly coverageFrom: number | null;
  /** the highest anchored sequence */
  readonly anchoredThrough: number;
  /** first anchored bead whose hash is not the anchored one (rewritten after it was anchored) */
  readonly mismatch: (BeadRef & { readonly anchored: string; readonly actual: string; readonly where: string }) | null;
  /** first anchored sequence the log does not have (truncation); `head` is where the log ends */
  readonly missing: { readonly seq: number; readonly where: string; readonly head: number } | null;
  /** beads no journal range vouches for: forged appends (or written by a process without the journal) */
  readonly unanchored: { readonly count: number; readonly first: BeadRef; readonly ranges: readonly { readonly from: number; readonly to: number }[] } | null;
  /** beads after the newest anchor, when only points were given (informational) */
  readonly afterLastAnchor: { readonly count: number; readonly first: number } | null;
  /** ranges adopted at start-up (informational: an alert went out when they were) */
  readonly adopted: readonly { readonly from: number; readonly to: number; readonly at: string; readonly where: string }[];
  /** beads before the journal began */
  readonly before: number;
  readonly malformed: readonly string[];
  readonly notes: readonly string[];
  readonly ok: boolean;
}

const MAX_RANGES_SHOWN = 5;

/**
 * Feed the chain's beads in order (`push`), then `beyondHead` with the anchors past the last
 * bead walked (the caller looks those up: a verify racing a running service sees anchors of
 * beads committed after its walk), then `findings`.
 */
export class AnchorCheck {
  private readonly points: Anchor[];
  private readonly ranges: { from: number; to: number }[];
  private readonly coverageFrom: number | null;
  private i = 0;
  private j = 0;
  private lastSeq = 0;
  private mismatch: AnchorFindings['mismatch'] = null;
  private missing: AnchorFindings['missing'] = null;
  private unanchoredCount = 0;
  private firstUnanchored: BeadRef | null = null;
  private readonly unanchoredRanges: { from: number; to: number }[] = [];
  private afterCount = 0;
  private afterFirst = 0;
  private before = 0;
  private readonly maxSeq: number;

  constructor(
    anchors: readonly Anchor[],
    private readonly journal: { malformed: readonly string[]; notes: readonly string[] } = { malformed: [], notes: [] },
  ) {
    this.points = anchors.filter((a) => a.seq > 0).sort((a, b) => a.seq - b.seq);
    this.maxSeq = this.points.length ? this.points[this.points.length - 1]!.seq : 0;
    const spans = anchors.filter((a) => a.from !== undefined).map((a) => ({ from: a.from!, to: a.seq }));
    const starts = [...spans.map((s) => s.from), ...anchors.filter((a) => a.kind === 'start').map((a) => a.seq + 1)];
    this.coverageFrom = starts.length ? Math.min(...starts) : null;
    spans.sort((a, b) => a.from - b.from);
    const merged: { from: number; to: number }[] = [];
    for (const s of spans) {
      const last = merged[merged.length - 1];
      if (last && s.from <= last.to + 1) last.to = Math.max(last.to, s.to);
      else merged.push({ ...s });
    }
    this.ranges = merged;
    this.adopted = anchors.filter((a) => a.kind === 'adopt').map((a) => ({ from: a.from!, to: a.seq, at: a.at ?? '', where: a.where }));
  }

  private readonly adopted: AnchorFindings['adopted'];

  push(b: StoredBead): void {
    this.lastSeq = b.seq;
    for (; this.i < this.points.length && this.points[this.i]!.seq < b.seq; this.i++) {
      const p = this.points[this.i]!;
      this.missing ??= { seq: p.seq, where: p.where, head: -1 };
    }
    for (; this.i < this.points.length && this.points[this.i]!.seq === b.seq; this.i++) {
      const p = this.points[this.i]!;
      if (!b.hash.startsWith(p.hash)) this.mismatch ??= { seq: b.seq, id: b.id, type: b.type, anchored: p.hash, actual: b.hash, where: p.where };
    }
    if (this.coverageFrom === null) {
      if (b.seq > this.maxSeq) {
        if (!this.afterCount) this.afterFirst = b.seq;
        this.afterCount++;
      }
      return;
    }
    if (b.seq < this.coverageFrom) {
      this.before++;
      return;
    }
    while (this.j < this.ranges.length && this.ranges[this.j]!.to < b.seq) this.j++;
    const r = this.ranges[this.j];
    if (r && r.from <= b.seq) return;
    this.unanchoredCount++;
    this.firstUnanchored ??= { seq: b.seq, id: b.id, type: b.type };
    const last = this.unanchoredRanges[this.unanchoredRanges.length - 1];
    if (last && last.to === b.seq - 1) last.to = b.seq;
    else this.unanchoredRanges.push({ from: b.seq, to: b.seq });
  }

  /** Anchors for sequences after the last bead pushed, in order. */
  pending(): readonly Anchor[] {
    return this.points.slice(this.i);
  }

  /**
   * What the log holds now for a pending anchor (looked up after the walk): null = missing,
   * which is truncation. Call in `pending()` order; returns false once there is no point in
   * looking further (the first missing one is the truncation point).
   */
  resolvePending(a: Anchor, now: StoredBead | null): boolean {
    if (this.missing) return false;
    if (!now) this.missing = { seq: a.seq, where: a.where, head: this.lastSeq };
    else if (!now.hash.startsWith(a.hash)) this.mismatch ??= { seq: now.seq, id: now.id, type: now.type, anchored: a.hash, actual: now.hash, where: a.where };
    return !this.missing;
  }

  findings(): AnchorFindings {
    const missing = this.missing && this.missing.head === -1 ? { ...this.missing, head: this.lastSeq } : this.missing;
    const unanchored = this.firstUnanchored ? { count: this.unanchoredCount, first: this.firstUnanchored, ranges: this.unanchoredRanges.slice(0, MAX_RANGES_SHOWN) } : null;
    return {
      anchors: this.points.length,
      coverageFrom: this.coverageFrom,
      anchoredThrough: this.maxSeq,
      mismatch: this.mismatch,
      missing,
      unanchored,
      afterLastAnchor: this.afterCount ? { count: this.afterCount, first: this.afterFirst } : null,
      adopted: this.adopted,
      before: this.before,
      malformed: this.journal.malformed,
      notes: this.journal.notes,
      ok: !this.mismatch && !missing && !unanchored && !this.journal.malformed.length,
    };
  }
}

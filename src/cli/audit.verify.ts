/**
 * `phoenix audit verify [--anchor FILE|SEQ:HASH]…` (SPEC 13, SAFE-12, INV-AUDIT-ANCHOR-1):
 * walk the hash chain, then check it against anchors kept outside the database. Without
 * --anchor, the configured anchor journal (AUDIT_ANCHOR_FILE, default next to the database)
 * is used when it exists. Exit 1 on a broken link, a truncated log, a re-written anchored
 * bead, beads no journal line vouches for (forged appends), or an edited journal.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parsePointAnchor, pointText, shortHash, type Anchor, type AnchorFindings, type AnchorInput, type VerifyReport } from '../engine/index.js';
import { readAnchorJournal } from '../runtime/anchor-journal.js';
import type { CliContext } from './context.js';

export class AnchorArgError extends Error {}

/** How long verify waits for a running service's journal to catch up with its last commits. */
export const JOURNAL_CATCH_UP_MS = 1000;

interface Sources {
  readonly input: AnchorInput | null;
  /** what was checked, for the report ("data/phoenix.anchors.jsonl", "--anchor 12:ab…") */
  readonly names: string[];
  /** why nothing was checked */
  readonly none?: string;
}

async function loadAnchors(values: readonly string[], defaultFile: string | null, cwd: string): Promise<Sources> {
  const anchors: Anchor[] = [];
  const malformed: string[] = [];
  const notes: string[] = [];
  const names: string[] = [];
  const readFile = async (path: string, explicit: boolean): Promise<boolean> => {
    let j: Awaited<ReturnType<typeof readAnchorJournal>>;
    try {
      j = await readAnchorJournal(path);
    } catch (e) {
      throw new AnchorArgError(`anchor journal ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); fix AUDIT_ANCHOR_FILE or give --anchor`);
    }
    if (!j) {
      if (explicit) throw new AnchorArgError(`anchor file not found: ${path}`);
      return false;
    }
    anchors.push(...j.anchors);
    malformed.push(...j.malformed);
    if (j.torn) notes.push(j.torn);
    names.push(path);
    return true;
  };
  if (!values.length) {
    if (!defaultFile) return { input: null, names, none: 'anchor journal off (AUDIT_ANCHOR_FILE=off)' };
    if (!(await readFile(defaultFile, false))) return { input: null, names, none: `no anchor journal at ${defaultFile}` };
  }
  for (const v of values) {
    const p = parsePointAnchor(v);
    if (!('error' in p)) {
      anchors.push(p);
      names.push(p.where);
      continue;
    }
    if (/^#?\d+:/.test(v.trim())) throw new AnchorArgError(p.error);
    await readFile(isAbsolute(v) ? v : resolve(cwd, v), true);
  }
  return { input: { anchors, malformed, notes }, names };
}

/** All unanchored beads come after the newest anchor: maybe just a journal a moment behind. */
const onlyTailUnanchored = (a: AnchorFindings | undefined) => !!a?.unanchored && !a.mismatch && !a.missing && !a.malformed.length && a.unanchored.first.seq > a.anchoredThrough;

export async function auditVerify(ctx: CliContext, anchorArgs: readonly string[]): Promise<number> {
  const app = await ctx.app();
  let src = await loadAnchors(anchorArgs, app.anchors.file, ctx.cwd);
  let report = await app.engine.audit.verify(src.input ? { anchors: src.input } : {});
  if (onlyTailUnanchored(report.anchor)) {
    // A running service writes each commit's journal line a moment after the COMMIT.
    await new Promise((r) => setTimeout(r, JOURNAL_CATCH_UP_MS));
    src = await loadAnchors(anchorArgs, app.anchors.file, ctx.cwd);
    report = await app.engine.audit.verify(src.input ? { anchors: src.input } : {});
  }
  const lines = renderVerify(report, src);
  for (const l of lines) (report.ok ? ctx.io.out : ctx.io.err)(l);
  return report.ok ? 0 : 1;
}

const range = (from: number, to: number) => (from === to ? `#${from}` : `#${from}–#${to}`);

export function renderVerify(r: VerifyReport, src: Sources): string[] {
  if (r.firstBreak) {
    const b = r.firstBreak;
    return [`audit chain BROKEN at bead #${b.seq} (${b.type}, id ${b.id}): ${b.problem}`];
  }
  const versions = Object.entries(r.versions).map(([v, n]) => `v${v}: ${n}`).join(', ');
  const out: string[] = [`audit chain OK: ${r.count} beads verified${versions ? ` (hash ${versions})` : ''}`];
  if (r.head) out.push(`head: #${r.head.seq} · ${shortHash(r.head.hash)} — anchor ${pointText(r.head)}`);
  const a = r.anchor;
  if (!a) {
    out.push(`anchors: none checked (${src.none ?? 'none given'}); give --anchor FILE|SEQ:HASH (e.g. the head from the daily summary)`);
    return out;
  }
  const failures: { seq: number; text: string }[] = [];
  if (a.mismatch) {
    const m = a.mismatch;
    failures.push({ seq: m.seq, text: `audit anchor FAILED at bead #${m.seq} (${m.type}, id ${m.id}): its hash ${shortHash(m.actual)} is not the anchored ${shortHash(m.anchored)} (${m.where}): re-written or re-pointed after it was anchored` });
  }
  if (a.missing) {
    const m = a.missing;
    failures.push({ seq: m.seq, text: `audit anchor FAILED at bead #${m.seq}: anchored (${m.where}) but not in the log, which ends at #${m.head}: truncated (the newest beads were deleted, or the database was restored from an older backup)` });
  }
  if (a.unanchored) {
    const u = a.unanchored;
    const shown = u.ranges.map((x) => range(x.from, x.to)).join(', ');
    failures.push({ seq: u.first.seq, text: `audit anchor FAILED at bead #${u.first.seq} (${u.first.type}, id ${u.first.id}): ${u.count} bead(s) not anchored (${shown}${u.count > u.ranges.reduce((n, x) => n + x.to - x.from + 1, 0) ? ', …' : ''}): forged appends, or written by a process without the anchor journal` });
  }
  failures.sort((x, y) => x.seq - y.seq);
  for (const m of a.malformed) failures.push({ seq: Infinity, text: `audit anchor FAILED: the anchor journal was edited: ${m}` });
  const what = `${src.names.join(', ')}: ${a.anchors} anchor(s)`;
  if (failures.length) {
    out.length = 0;
    out.push(...failures.map((f) => f.text), `checked against ${what}; the chain itself verifies (${r.count} beads, head #${r.head?.seq ?? 0})`);
  } else if (a.coverageFrom !== null) {
    const last = r.head?.seq ?? 0;
    out.push(`anchors OK (${what}): ${last >= a.coverageFrom ? `every bead ${range(a.coverageFrom, last)} is anchored` : 'no beads since the journal began'}${a.before ? `; ${range(1, a.coverageFrom - 1)} came before the journal began` : ''}`);
  } else {
    out.push(`anchors OK (${what}): every anchored bead is in the log with its anchored hash`);
    if (a.afterLastAnchor) out.push(`note: ${a.afterLastAnchor.count} bead(s) from #${a.afterLastAnchor.first} are newer than the newest anchor; a point anchor cannot vouch for them (the anchor journal can)`);
  }
  for (const ad of a.adopted) out.push(`note: beads ${range(ad.from, ad.to)} were adopted at start-up ${ad.at} (${ad.where}): in the database but not in the journal then (a crash right after a commit, or forged); an AUDIT_ANCHOR_MISMATCH alert said so (RB-017)`);
  for (const n of a.notes) out.push(`note: ${n}`);
  return out;
}

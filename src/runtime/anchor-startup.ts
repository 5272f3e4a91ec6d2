/**
 * Start-up check of the audit log against its anchor journal (SAFE-12, RB-017). Cheap: the
 * journal's newest anchor (its last 64 KB) against the database head and the bead it names;
 * the full walk is `phoenix audit verify`. Runs in the service before it writes anything.
 *
 * - database behind the journal, or the anchored bead differs → CRITICAL AUDIT_ANCHOR_MISMATCH
 *   (beads deleted, the database restored from an older backup, or re-written). Nothing is
 *   written to the journal to paper over it: verify keeps failing until a human looks.
 * - database ahead of the journal → those beads were committed but never anchored: the
 *   instant between a COMMIT and its journal line (a crash), or appended by someone else
 *   while Phoenix was down. They are adopted (an `adopt` line: later verifies pass and list
 *   them) and CRITICAL AUDIT_ANCHOR_MISMATCH names them, so the decision is a person's.
 * - no journal (first start with anchoring, or the file was moved/deleted) → a `start` line
 *   at the head, and WARNING AUDIT_ANCHOR_JOURNAL when the database already has beads.
 * - a journal that cannot be read (a directory, no permission) → WARNING AUDIT_ANCHOR_JOURNAL;
 *   Phoenix still starts (the anchor is evidence, not a gate), the appends log their failures.
 */
import { anchorLine, EMPTY_HEAD, shortHash, type AlertDraft, type Anchor, type Clock, type Logger, type Store } from '../engine/index.js';
import { JournalUnreadableError, readJournalTail, type JournalTail } from './anchor-journal.js';
import type { AnchorPublisher } from './anchor-sinks.js';

export type AnchorStartup =
  | { readonly kind: 'off' | 'ok' | 'new' | 'unreadable' | 'behind' | 'rewritten'; readonly head: number; readonly anchored: number }
  | { readonly kind: 'adopted'; readonly head: number; readonly anchored: number; readonly from: number };

export async function checkAnchorsAtStartup(o: { store: Store; file: string | null; publisher: AnchorPublisher; clock: Clock; logger: Logger }): Promise<AnchorStartup> {
  const { store, file, publisher, clock } = o;
  const head = (await store.tx((tx) => tx.beads.head())) ?? { ...EMPTY_HEAD, id: '', type: '' };
  if (!file) return { kind: 'off', head: head.seq, anchored: 0 };
  const now = clock.now();
  const alert = async (d: Omit<AlertDraft, 'at'>) => store.tx(async (tx) => tx.alerts.enqueue({ ...d, at: now }));
  let tail: JournalTail | null;
  try {
    tail = readJournalTail(file);
  } catch (e) {
    if (!(e instanceof JournalUnreadableError)) throw e;
    // a careless AUDIT_ANCHOR_FILE (a directory, no permission): Phoenix runs, a person is told
    await alert({
      type: 'AUDIT_ANCHOR_JOURNAL',
      payload: { summary: `The audit anchor journal ${file} cannot be read (${e.code}): beads are not being anchored outside the database. Fix AUDIT_ANCHOR_FILE and restart.`, facts: { journal: file, head: `${head.seq}:${head.hash}` } },
    });
    return { kind: 'unreadable', head: head.seq, anchored: 0 };
  }
  const last: Anchor | null = tail?.last ?? null;
  if (!last) {
    publisher.line(anchorLine('start', head, now, tail ? 'journal had no anchors at start-up' : 'no journal at start-up'));
    if (head.seq > 0) {
      await alert({
        type: 'AUDIT_ANCHOR_JOURNAL',
        payload: {
          summary: `Audit anchor journal started at bead #${head.seq} · ${shortHash(head.hash)}: there was ${tail ? 'an empty journal' : 'no journal'} at ${file} (first start with anchoring, or the file was moved or deleted). Beads #1–#${head.seq} are not anchored one by one.`,
          facts: { journal: file, head: `${head.seq}:${head.hash}` },
        },
      });
    }
    return { kind: 'new', head: head.seq, anchored: 0 };
  }
  if (head.seq < last.seq) {
    await alert({
      type: 'AUDIT_ANCHOR_MISMATCH',
      payload: {
        summary: `Audit log ends at bead #${head.seq} but its anchor journal has #${last.seq}: ${last.seq - head.seq} anchored bead(s) are missing (deleted, or the database was restored from an older backup).`,
        facts: { journal: last.where, anchored: `${last.seq}:${last.hash}`, head: `${head.seq}:${head.hash}` },
      },
    });
    return { kind: 'behind', head: head.seq, anchored: last.seq };
  }
  const atAnchor = await store.tx((tx) => tx.beads.bySeq(last.seq));
  if (!atAnchor || atAnchor.hash !== last.hash) {
    await alert({
      type: 'AUDIT_ANCHOR_MISMATCH',
      payload: {
        summary: `Audit bead #${last.seq} is not the one anchored (${shortHash(last.hash)}, now ${atAnchor ? shortHash(atAnchor.hash) : 'missing'}): the log was re-written after it was anchored.`,
        facts: { journal: last.where, anchored: `${last.seq}:${last.hash}` },
      },
    });
    return { kind: 'rewritten', head: head.seq, anchored: last.seq };
  }
  if (head.seq > last.seq) {
    const from = last.seq + 1;
    publisher.line(anchorLine('adopt', { from, seq: head.seq, hash: head.hash }, now, 'in the database but not in the journal at start-up'));
    await alert({
      type: 'AUDIT_ANCHOR_MISMATCH',
      payload: {
        summary: `${head.seq - last.seq} audit bead(s) #${from}–#${head.seq} were in the database but not in the anchor journal at start-up: committed just before a crash, or appended by someone else while Phoenix was down. Check them: npx phoenix audit export --since ${last.at ?? 'TIME'}`,
        facts: { journal: last.where, adopted: `${from}–${head.seq}`, head: `${head.seq}:${head.hash}` },
      },
    });
    return { kind: 'adopted', head: head.seq, anchored: last.seq, from };
  }
  return { kind: 'ok', head: head.seq, anchored: last.seq };
}

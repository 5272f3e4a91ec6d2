/**
 * INV-KILL-LAST-MOMENT-1: no entry leg leaves Phoenix after an active kill's timestamp.
 *
 * Checked at the broker's door, the moment the entry is recorded there. The "timestamp" is the
 * kill's place in the database's serial order (its KILL_FLAG SET bead): every simulated event
 * happens at the same millisecond, so wall-clock times cannot order them, but transactions
 * commit one at a time. Phoenix marks an entry SENDING in its last look; a kill committed
 * before that mark and still active must have stopped it. An entry that reaches the broker with
 * no SENDING mark while a kill is active got past no last look at all.
 */
import type { Invariant } from './types.js';

interface KillRow {
  readonly id: string;
  readonly kind: string;
}

export const killLastMoment: Invariant = {
  id: 'INV-KILL-LAST-MOMENT-1',
  entryLeaving(v, orderRef, report) {
    const nowIso = new Date(v.now).toISOString().replace('Z', '+00:00');
    const active = v.reader.all(`SELECT id, kind FROM "KillFlag" WHERE clearedAt IS NULL AND (expiresAt IS NULL OR expiresAt > ?)`, nowIso) as unknown as KillRow[];
    if (!active.length) return;
    const sending = v.reader.get(`SELECT seq FROM "Bead" WHERE intentId = ? AND type = 'ORDER' AND payload LIKE '%"event":"SENDING"%' ORDER BY seq DESC LIMIT 1`, orderRef) as { seq: number } | undefined;
    for (const k of active) {
      const set = v.reader.get(`SELECT seq FROM "Bead" WHERE type = 'KILL_FLAG' AND payload LIKE ? ORDER BY seq LIMIT 1`, `%"action":"SET"%"flagId":"${k.id}"%`) as { seq: number } | undefined;
      const setSeq = set?.seq ?? 0;
      if (!sending) report(`${orderRef}: an entry reached the broker with no last look (no SENDING mark) while kill ${k.id} (${k.kind}) was active`);
      else if (setSeq < sending.seq) report(`${orderRef}: the entry was marked SENDING (bead #${sending.seq}) after kill ${k.id} (${k.kind}) was set (bead #${setSeq}) and reached the broker`);
    }
  },
};

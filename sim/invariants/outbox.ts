/**
 * INV-OUTBOX-1: no alert is lost, across Telegram faults and restarts. Every alert raised (its
 * ALERT bead, in the transaction of its cause) has its outbox row and every row its bead; a row
 * never disappears; it is PENDING (still in the outbox) or SENT, and SENT means its message was
 * delivered: the message row is SENT and Telegram has that message in the chat.
 */
import type { Invariant } from './types.js';

export function outbox(): Invariant {
  let rowsSeen = 0;
  let raisedSeen = 0;
  const delivered = new Set<string>();
  /** message rows read so far, and those that were not SENT yet */
  let messageRow = 0;
  const waiting = new Set<number>();
  return {
    id: 'INV-OUTBOX-1',
    check(v, report) {
      for (const b of v.newBeads) {
        if (b.type !== 'ALERT') continue;
        const p = JSON.parse(b.payload) as { alertId: string; alertType: string; event: string };
        if (p.event !== 'RAISED') continue;
        raisedSeen++;
        const row = v.reader.get(`SELECT type FROM "Alert" WHERE id = ?`, p.alertId) as { type: string } | undefined;
        if (!row) report(`alert ${p.alertId} (${p.alertType}) was raised (bead #${b.seq}) but has no outbox row`);
        else if (row.type !== p.alertType) report(`alert ${p.alertId} is ${row.type} in the outbox but ${p.alertType} in its bead`);
      }
      const rows = v.reader.count(`SELECT COUNT(*) AS c FROM "Alert"`);
      if (rows < rowsSeen) report(`the outbox lost alerts: ${rowsSeen} rows before, ${rows} now`);
      rowsSeen = Math.max(rowsSeen, rows);
      if (rows !== raisedSeen) report(`${rows} outbox rows but ${raisedSeen} RAISED beads`);
      const bad = v.reader.count(`SELECT COUNT(*) AS c FROM "Alert" WHERE status NOT IN ('PENDING', 'SENT')`);
      if (bad) report(`${bad} alerts are neither PENDING nor SENT`);
      // messages delivered since the last look (new rows, and the rows not SENT at the last look):
      // their alerts are SENT and Telegram has the message
      const cols = `rowid AS r, id, status, telegramMessageId`;
      const messages = [...v.reader.all(`SELECT ${cols} FROM "AlertMessage" WHERE rowid > ? ORDER BY rowid`, messageRow), ...(waiting.size ? v.reader.all(`SELECT ${cols} FROM "AlertMessage" WHERE rowid IN (${[...waiting].join(',')})`) : [])];
      for (const m of messages) {
        const r = Number(m.r);
        messageRow = Math.max(messageRow, r);
        if (m.status !== 'SENT') {
          waiting.add(r);
          continue;
        }
        waiting.delete(r);
        const id = String(m.id);
        if (delivered.has(id)) continue;
        delivered.add(id);
        if (!v.telegram.message(v.telegram.mainChat.id, Number(m.telegramMessageId))) report(`alert message ${id} is SENT as Telegram message ${String(m.telegramMessageId)}, which Telegram does not have`);
        const open = v.reader.count(`SELECT COUNT(*) AS c FROM "Alert" WHERE messageId = ? AND status <> 'SENT'`, id);
        if (open) report(`alert message ${id} was delivered but ${open} of its alerts are not SENT`);
      }
      // every SENT alert belongs to a delivered message
      const sent = v.reader.count(`SELECT COUNT(*) AS c FROM "Alert" WHERE status = 'SENT'`);
      const covered = Number((v.reader.get(`SELECT COALESCE(SUM(alertCount), 0) AS n FROM "AlertMessage" WHERE status = 'SENT'`) as { n: number }).n);
      if (sent > covered) report(`${sent} alerts are SENT but delivered messages carry only ${covered}`);
    },
  };
}

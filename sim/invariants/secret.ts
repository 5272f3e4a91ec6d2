/**
 * INV-SECRET-1: no configured secret (bot token, its secret half, intake token, webhook secret;
 * raw, URL- or JSON-encoded) in any row, log line or sent message. Log lines and Telegram calls
 * are scanned as they leave (World.scanSecrets); here the database: every new bead, alert,
 * alert message and intent, and the small mutable tables (SystemState, cards, drifts, job runs)
 * each step.
 */
import { secretForms } from '../desk.js';
import type { Invariant } from './types.js';

export function secretRows(): Invariant {
  const forms = secretForms();
  let alertRow = 0;
  let messageRow = 0;
  let intentRow = 0;
  let jobRow = 0;
  const unfinished = new Set<number>();
  const hit = (text: string) => forms.find((s) => text.includes(s));
  return {
    id: 'INV-SECRET-1',
    check(v, report) {
      const scan = (where: string, text: unknown) => {
        if (typeof text === 'string' && hit(text)) report(`a configured secret appears in ${where}`);
      };
      for (const b of v.newBeads) scan(`bead #${b.seq} (${b.type})`, b.payload);
      for (const r of v.reader.all(`SELECT rowid AS r, payload FROM "Alert" WHERE rowid > ? ORDER BY rowid`, alertRow)) {
        alertRow = Number(r.r);
        scan('an alert row', r.payload);
      }
      for (const r of v.reader.all(`SELECT rowid AS r, text, lastError FROM "AlertMessage" WHERE rowid > ? ORDER BY rowid`, messageRow)) {
        messageRow = Number(r.r);
        scan('an alert message', `${String(r.text)} ${String(r.lastError ?? '')}`);
      }
      for (const r of v.reader.all(`SELECT rowid AS r, payload, stateReason FROM "Intent" WHERE rowid > ? ORDER BY rowid`, intentRow)) {
        intentRow = Number(r.r);
        scan('an intent row', `${String(r.payload)} ${String(r.stateReason ?? '')}`);
      }
      // job runs: new rows, and the ones that had not finished yet (their detail is written at the end)
      const again = [...unfinished];
      unfinished.clear();
      const rows = [...v.reader.all(`SELECT rowid AS r, detail, endedAt FROM "JobRun" WHERE rowid > ? ORDER BY rowid`, jobRow), ...(again.length ? v.reader.all(`SELECT rowid AS r, detail, endedAt FROM "JobRun" WHERE rowid IN (${again.join(',')})`) : [])];
      for (const r of rows) {
        jobRow = Math.max(jobRow, Number(r.r));
        scan('a job run', r.detail);
        if (r.endedAt === null) unfinished.add(Number(r.r));
      }
      for (const r of v.reader.all(`SELECT key, value FROM "SystemState"`)) scan(`SystemState ${String(r.key)}`, r.value);
      for (const r of v.reader.all(`SELECT lastError FROM "AlertMessage" WHERE lastError IS NOT NULL AND status <> 'SENT'`)) scan('an alert message error', r.lastError);
      for (const r of v.reader.all(`SELECT local, broker, note FROM "Drift" WHERE resolvedAt IS NULL`)) scan('a drift', `${String(r.local)} ${String(r.broker)} ${String(r.note ?? '')}`);
      for (const r of v.reader.all(`SELECT stateReason FROM "Intent" WHERE state NOT IN ('CLOSED','CANCELLED','REJECTED','EXPIRED')`)) scan('an intent state reason', r.stateReason);
    },
  };
}

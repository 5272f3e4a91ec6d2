/**
 * The end of every PostgreSQL transaction (pg.store.ts calls it just before COMMIT): the
 * transaction's alerts and beads, chained onto the head under the desk's write lock.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { alertDef, chainBeads, EMPTY_HEAD, groupKeyOf, type AlertDraft, type BeadDraft, type CommittedBeads, type StoredBead } from '../engine/index.js';
import { pgText } from './pg.tx.js';
import * as r from './sqlite.rows.js';

const ID_PREFIX = randomBytes(6).toString('base64url');
let idCounter = 0;
const newId = (prefix: string) => `${prefix}_${ID_PREFIX}${(idCounter++).toString(36)}`;

/** Insert the transaction's alerts and beads (under the write lock: the head is ours); the range appended. */
export async function flushPg(c: pg.PoolClient, beads: BeadDraft[], alerts: AlertDraft[]): Promise<CommittedBeads | null> {
  const q = async (sql: string, p: unknown[]) => {
    const { name, text } = pgText(sql);
    return c.query({ name, text, values: p });
  };
  for (const a of alerts) {
    const def = alertDef(a.type);
    const id = newId('alr');
    await q(`INSERT INTO "Alert"(id, type, severity, groupKey, payload, createdAt, status) VALUES (?, ?, ?, ?, ?, ?, 'PENDING')`, [id, a.type, def.severity, groupKeyOf(a), JSON.stringify(a.payload), r.iso(a.at)]);
    beads.push({ type: 'ALERT', intentId: a.payload.intentId ?? null, payload: { alertId: id, alertType: a.type, severity: def.severity, event: 'RAISED' }, ts: a.at });
  }
  if (!beads.length) return null;
  const headRow = (await q(`SELECT seq, hash FROM "Bead" ORDER BY seq DESC LIMIT 1`, [])).rows[0] as { seq: number; hash: string } | undefined;
  const rows = chainBeads(headRow ? { seq: Number(headRow.seq), hash: headRow.hash } : EMPTY_HEAD, beads, () => newId('bd'));
  // one statement for the whole batch
  const values: unknown[] = [];
  const tuples = rows.map((b) => {
    values.push(b.seq, b.id, b.type, b.intentId, b.payload, r.iso(b.ts), b.prevHash, b.hash, b.hashVersion);
    return `(${Array.from({ length: 9 }, () => '?').join(', ')})`;
  });
  await c.query(pgText(`INSERT INTO "Bead"(seq, id, type, intentId, payload, ts, prevHash, hash, hashVersion) VALUES ${tuples.join(', ')}`).text, values);
  const last = rows[rows.length - 1] as StoredBead;
  return { from: rows[0]!.seq, seq: last.seq, hash: last.hash };
}

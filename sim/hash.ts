/**
 * A fingerprint of everything a run produced: every row of every table (in insertion order; the
 * migrations table, which records wall-clock times, left out), the chat's history as Telegram
 * saw it, and the broker's book. Two runs of one seed must give the same fingerprint.
 */
import { createHash } from 'node:crypto';
import type { Reader } from './reader.js';
import type { World } from './world.js';

export function databaseHash(reader: Reader): string {
  const h = createHash('sha256');
  const tables = reader.all(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_prisma_migrations' ORDER BY name`).map((r) => String(r.name));
  for (const t of tables) {
    h.update(`#${t}\n`);
    for (const row of reader.db.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).iterate()) h.update(`${JSON.stringify(row)}\n`);
  }
  return h.digest('hex');
}

export function worldHash(w: World): { database: string; telegram: string; broker: string; all: string } {
  const database = databaseHash(w.reader!);
  const telegram = w.telegram.historyHash();
  const truth = w.broker.truth();
  const broker = createHash('sha256').update(JSON.stringify({ orders: truth.orders, executions: truth.executions })).digest('hex');
  const all = createHash('sha256').update(`${database}${telegram}${broker}`).digest('hex');
  return { database, telegram, broker, all };
}

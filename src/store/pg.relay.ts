/**
 * The Telegram relay of a desk on PostgreSQL (issue 18): a follower that receives the bot's
 * webhook stores each update here, and the leader's bot takes and handles them. Only the leader
 * acts on an update and answers it, so there is one bot, one per-chat send budget, one broker
 * session. Rows are independent of the engine's state, so they do not take the desk's write lock.
 *
 * Delivery is at most once, as with long polling's confirmed offset: an update is marked taken
 * in the statement that hands it over. Telegram's own re-deliveries of one update_id are one row
 * (the primary key).
 */
import type pg from 'pg';
import { iso } from './sqlite.rows.js';

export interface TelegramRelayStore {
  /** store an update a follower received; false when this update_id is already here */
  put(update: { readonly update_id: number }, receivedBy: string, at: number): Promise<boolean>;
  /** the oldest untaken updates (at most `limit`), marked taken */
  take(limit: number, at: number): Promise<unknown[]>;
  /** updates not yet taken (status, tests) */
  waiting(): Promise<number>;
  /** forget updates taken before `takenBefore` (the table would grow forever); how many */
  prune(takenBefore: number): Promise<number>;
}

export class PgTelegramRelay implements TelegramRelayStore {
  constructor(private readonly pool: pg.Pool) {}

  async put(update: { readonly update_id: number }, receivedBy: string, at: number): Promise<boolean> {
    const r = await this.pool.query(`INSERT INTO "TelegramRelay" ("updateId", body, "receivedAt", "receivedBy") VALUES ($1, $2, $3, $4) ON CONFLICT ("updateId") DO NOTHING`, [
      update.update_id,
      JSON.stringify(update),
      iso(at),
      receivedBy,
    ]);
    return r.rowCount === 1;
  }

  async take(limit: number, at: number): Promise<unknown[]> {
    // SKIP LOCKED: a second taker (a leader being replaced) never gets the same row
    const r = await this.pool.query<{ updateId: string; body: string }>(
      `UPDATE "TelegramRelay" SET "takenAt" = $1 WHERE "updateId" IN (
         SELECT "updateId" FROM "TelegramRelay" WHERE "takenAt" IS NULL ORDER BY "updateId" LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING "updateId", body`,
      [iso(at), limit],
    );
    return r.rows.sort((a, b) => Number(a.updateId) - Number(b.updateId)).map((row) => JSON.parse(row.body) as unknown);
  }

  async prune(takenBefore: number): Promise<number> {
    const r = await this.pool.query(`DELETE FROM "TelegramRelay" WHERE "takenAt" IS NOT NULL AND "takenAt" < $1`, [iso(takenBefore)]);
    return r.rowCount ?? 0;
  }

  async waiting(): Promise<number> {
    const r = await this.pool.query<{ n: string }>(`SELECT COUNT(*) AS n FROM "TelegramRelay" WHERE "takenAt" IS NULL`);
    return Number(r.rows[0]?.n ?? 0);
  }
}

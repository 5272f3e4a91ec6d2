/**
 * A separate OS process writing to a PostgreSQL Phoenix database through the PostgreSQL store
 * (test/store/pg.store.test.ts starts several at once). Each transaction appends 1–3 beads and
 * one alert. Prints `done <n>` when every transaction committed; exits non-zero otherwise.
 *   node --import tsx test/store/pg-writer.child.ts <url> <tag> <transactions>
 */
import { pgPool, pgPrisma } from '../../src/store/pg.database.js';
import { PgStore } from '../../src/store/pg.store.js';

const [url, tag, count] = process.argv.slice(2);
const pool = pgPool(url!, 4);
const store = new PgStore(pgPrisma(pool), pool);
let committed = 0;
const n = Number(count);
// four transactions in flight at a time from this process too
await Promise.all(
  Array.from({ length: 4 }, async (_, lane) => {
    for (let i = lane; i < n; i += 4) {
      await store.tx(async (tx) => {
        for (let k = 0; k <= i % 3; k++) tx.beads.append({ type: 'JOB', intentId: null, ts: Date.UTC(2026, 10, 24, 15) + i, payload: { job: tag!, event: 'DAILY_RESET', detail: `${tag} ${i}.${k}` } });
        tx.alerts.enqueue({ type: 'DAILY_SUMMARY', at: Date.UTC(2026, 10, 24, 15) + i, payload: { summary: `${tag} ${i}` } });
      });
      committed++;
    }
  }),
);
await store.close();
process.stdout.write(`done ${committed}\n`);

/**
 * Audit log (SPEC 16): append rate through the real store path, and `audit verify` over
 * 1,000,000 beads (the chain is built with the real hash function; rows are bulk-inserted
 * so the set-up does not dominate the run).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { chainBeads, EMPTY_HEAD, verifyAudit, type BeadDraft, type ChainHead } from '../src/engine/index.js';
import { migrate } from '../src/store/migrate.js';
import { iso } from '../src/store/sqlite.rows.js';
import { SqliteStore } from '../src/store/sqlite.store.js';
import type { BenchRow } from './stats.js';

const draft = (i: number, ts: number): BeadDraft => ({ type: 'HEARTBEAT', intentId: null, ts, payload: { status: 'OK', reasons: [], checks: { n: i } } });

export async function benchAudit(total = 1_000_000): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-bench-audit-'));
  const file = join(dir, 'audit.db');
  migrate(file);
  const store = new SqliteStore(file);
  try {
    // Append through the store: one bead per transaction (how the engine writes them).
    const appendN = 20_000;
    const t0 = performance.now();
    for (let i = 0; i < appendN; i++) {
      await store.tx(async (tx) => tx.beads.append(draft(i, 1_700_000_000_000 + i)));
    }
    const appendRate = appendN / ((performance.now() - t0) / 1000);

    // Fill up to `total` beads in bulk, continuing the chain.
    const head = (store.db.prepare(`SELECT seq, hash FROM "Bead" ORDER BY seq DESC LIMIT 1`).get() as ChainHead | undefined) ?? EMPTY_HEAD;
    const ins = store.db.prepare(`INSERT INTO "Bead"(seq, id, type, intentId, payload, ts, prevHash, hash, hashVersion) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    let prev: ChainHead = head;
    const batch = 50_000;
    for (let done = appendN; done < total; done += batch) {
      const n = Math.min(batch, total - done);
      const rows = chainBeads(prev, Array.from({ length: n }, (_, k) => draft(done + k, 1_700_000_000_000 + done + k)), () => `bd_${randomBytes(9).toString('base64url')}`);
      store.db.transaction(() => {
        for (const b of rows) ins.run(b.seq, b.id, b.type, b.intentId, b.payload, iso(b.ts), b.prevHash, b.hash, b.hashVersion);
      })();
      prev = rows[rows.length - 1]!;
    }
    const t1 = performance.now();
    const report = await verifyAudit(store);
    const verifySec = (performance.now() - t1) / 1000;
    if (!report.ok || report.count !== total) throw new Error(`verify failed: ${JSON.stringify(report)}`);
    return [
      { name: 'audit append (1 bead per transaction, via the store)', value: appendRate, unit: 'beads/s' },
      { name: `audit verify of ${total.toLocaleString('en-US')} beads`, value: verifySec, unit: 's', target: '≤ 10 s' },
    ];
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

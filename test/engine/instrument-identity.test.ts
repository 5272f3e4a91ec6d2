/**
 * SAFE-9 (issue 12): limits were bypassed by spelling. One canonical instrument identity
 * (src/engine/instrument.ts) keys every limit, the reconciliation and the brokers' books.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { instrumentId } from '../../src/engine/instrument.js';
import { reconcile } from '../../src/engine/reconcile.js';
import { migrate } from '../../src/store/migrate.js';
import { approveOne } from '../jobs/helpers.js';
import { intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';

let h: Harness | undefined;
const harness = useHarness();

const MES = { symbol: 'MES', secType: 'FUT' as const, exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 5 };

describe('SAFE-9: limits bypassed by spelling', () => {
  it('SAFE-9: INV-INSTRUMENT-ID-1: MES.202612.CME is held (max 1) → MES.202612.cme, mes/GLOBEX and " Mes " are the same instrument and refused with POSITION_LIMIT', async () => {
    h = await harness(); // maxPositionPerInstrument 1
    const first = await approveOne(h);
    expect((await intentOf(h, first)).state).toBe('MANAGED');
    for (const instrument of [
      { ...MES, exchange: 'cme' },
      { ...MES, symbol: 'mes', exchange: 'GLOBEX' },
      { ...MES, symbol: ' Mes ' },
    ]) {
      const r = await h.engine.submitIntent(h.intent({ instrument }));
      expect(r, JSON.stringify(instrument)).toMatchObject({ kind: 'accepted', state: 'CANCELLED' });
      if (r.kind === 'accepted') expect(r.denials.map((d) => d.code)).toContain('POSITION_LIMIT');
    }
    // the stored intent carries the canonical spelling: what the card shows and the order carries
    const r = await h.engine.submitIntent(h.intent({ instrument: { ...MES, symbol: 'mes', exchange: 'cme' } }));
    if (r.kind !== 'accepted') throw new Error('not accepted');
    const stored = await intentOf(h, r.intentId);
    expect(stored.payload.instrument).toMatchObject({ symbol: 'MES', exchange: 'CME' });
    expect(stored.instrumentKey).toBe('FUT:MES:202612:USD');
  });

  it('SAFE-9: INV-INSTRUMENT-ID-1: one identity for every spelling; different contracts stay apart', () => {
    const id = (over: Record<string, unknown>) => instrumentId({ ...MES, ...over } as never);
    expect(new Set([id({}), id({ exchange: 'GLOBEX' }), id({ symbol: 'mes' }), id({ contractMonth: '20261218' }), id({ symbol: ' MES ' })]).size).toBe(1);
    expect(id({ contractMonth: '202703' })).not.toBe(id({}));
    expect(id({ symbol: 'MNQ' })).not.toBe(id({}));
    expect(id({ currency: 'EUR' })).not.toBe(id({}));
    const aapl = { symbol: 'AAPL', secType: 'STK' as const, currency: 'USD' };
    expect(instrumentId({ ...aapl })).toBe(instrumentId({ ...aapl, symbol: 'aapl' }));
    expect(instrumentId(aapl)).not.toBe(id({ symbol: 'AAPL' }));
  });

  it('SAFE-9: INV-INSTRUMENT-ID-1: reconciliation matches the broker position IB reports without an exchange (and another spelling) to Phoenix\'s position: no drift', () => {
    const local = {
      intents: [{ id: 'int_1', instrument: MES, instrumentKey: instrumentId(MES), side: 'BUY', state: 'MANAGED', quantity: 1, filledQty: 1, exitQty: 0, avgFillPrice: 6010.25, exitAvgPrice: null, commissionCents: 62, realizedPnlCents: null }],
      orders: [],
    } as never;
    const broker = { positions: [{ account: 'DU1', instrument: { ...MES, exchange: '', contractMonth: '20261218' }, quantity: 1, avgCost: 30051.25 }], openOrders: [], executions: [] } as never;
    const diff = reconcile(local, broker, { pnlCents: 100 }, 'positions');
    expect(diff.discrepancies).toEqual([]);
  });

  it('SAFE-9: INV-INSTRUMENT-ID-1: the migration rewrites instrument keys stored in the old spelling-sensitive format', async () => {
    h = await harness();
    const id = await approveOne(h);
    const db = new Database(h.dbFile);
    db.prepare(`UPDATE "Intent" SET instrumentKey = 'MES.202612.cme' WHERE id = ?`).run(id);
    db.prepare(`DELETE FROM "_prisma_migrations" WHERE migration_name LIKE '%instrument_identity'`).run();
    db.close();
    const report = migrate(h.dbFile);
    expect(report.applied).toEqual([expect.stringMatching(/instrument_identity$/)]);
    expect((await intentOf(h, id)).instrumentKey).toBe('FUT:MES:202612:USD');
  });
});

/**
 * SAFE-11 (issue 12): the evidence hash must cover what is sent. The order is built from the
 * approved payload whose hash is recomputed at submission; table columns that disagree with it
 * (the database was changed behind Phoenix's back) stop the submission.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { orderFromApproved } from '../../src/engine/order-from-evidence.js';
import { alerts } from '../jobs/helpers.js';
import { approver, cardOf, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';

let h: Harness | undefined;
const harness = useHarness();

async function approvedWhileBrokerDown(hh: Harness): Promise<string> {
  const r = await hh.engine.submitIntent(hh.intent());
  if (r.kind !== 'accepted' || r.state !== 'PROPOSED') throw new Error('not proposed');
  const d = await hh.engine.decide((await cardOf(hh, r.intentId)).id, 'APPROVE', approver);
  expect(d).toMatchObject({ kind: 'approved', submit: { kind: 'waiting' } });
  return r.intentId;
}

describe('SAFE-11: the evidence hash does not cover what is sent', () => {
  for (const [column, value] of [
    ['quantity', 3],
    ['side', 'SELL'],
    ['stopLoss', 5990],
    ['multiplier', 50],
  ] as const) {
    it(`SAFE-11: INV-EVIDENCE-ORDER-1: the ${column} column changed in the database after approval → nothing is sent, the token is refused, a CRITICAL alert says why`, async () => {
      h = await harness({ connect: false });
      const id = await approvedWhileBrokerDown(h);
      const db = new Database(h.dbFile);
      db.prepare(`UPDATE "Intent" SET "${column}" = ? WHERE id = ?`).run(value, id);
      db.close();
      await h.broker.connect();
      const [out] = await h.engine.retryWaiting();
      expect(out).toMatchObject({ kind: 'refused', reason: expect.stringContaining(`stored order fields differ from the approved evidence (${column}`) });
      expect(await h.broker.openOrders()).toEqual([]);
      expect((await h.broker.findByOrderRef(id)).orders).toEqual([]);
      const [alert] = await alerts(h, 'EVIDENCE_MISMATCH');
      expect(alert?.severity).toBe('CRITICAL');
      expect(alert?.data.intentId).toBe(id);
      expect((await intentOf(h, id)).state).toBe('APPROVED'); // not submitted; the token expires on its own
    });
  }

  it('SAFE-11: INV-EVIDENCE-ORDER-1: what reaches the broker is exactly the approved payload (side, size, prices, instrument)', async () => {
    h = await harness();
    const r = await h.engine.submitIntent(h.intent({ orderType: 'LMT', entryPrice: 6009.75, stopLoss: 6007.5, takeProfit: 6014.25 }));
    if (r.kind !== 'accepted') throw new Error('not accepted');
    await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    await h.settle();
    const intent = await intentOf(h, r.intentId);
    const sent = (await h.broker.findByOrderRef(r.intentId)).orders;
    const want = orderFromApproved(intent);
    expect(sent.find((o) => o.role === 'ENTRY')).toMatchObject({ side: want.side, quantity: want.quantity, limitPrice: want.limitPrice, instrument: want.instrument });
    expect(sent.find((o) => o.role === 'STOP')).toMatchObject({ stopPrice: intent.payload.stopLoss, quantity: intent.payload.quantity });
    expect(sent.find((o) => o.role === 'TARGET')).toMatchObject({ limitPrice: intent.payload.takeProfit });
  });
});

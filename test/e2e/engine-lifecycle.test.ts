/**
 * End to end over the real SQLite file: intent → gates → approve → sim fill → MANAGED →
 * stop hit → CLOSED with realised P&L → the daily loss cap blocks the next intent; the
 * bead chain verifies and the export of the intent tells the story in order.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { exportAudit, verifyAudit } from '../../src/engine/audit.usecase.js';
import { approver, cardOf, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';

const COMMISSION_CENTS = 2 * 62; // FUT 0.62 USD per contract per execution (entry + exit)

interface Line {
  seq: number;
  type: string;
  intentId: string | null;
  ts: string;
  payload: Record<string, unknown>;
}

async function exported(h: Harness, opts: { intentId?: string; since?: number }): Promise<Line[]> {
  const out: Line[] = [];
  for await (const l of exportAudit(h.app.store, opts)) out.push(JSON.parse(l) as Line);
  return out;
}

describe('engine lifecycle end to end', () => {
  let h: Harness;
  const harness = useHarness();

  it('intent → approve → fill → MANAGED → stop at 6008 → CLOSED at −11.25 USD − commissions → DAILY_LOSS_CAP blocks the next intent; chain verifies; export tells the story', async () => {
    h = await harness({ constitution: { limits: { dailyLossCapUsd: 10 } } });
    const submitted = await h.engine.submitIntent(h.intent(), 'http');
    expect(submitted).toMatchObject({ kind: 'accepted', state: 'PROPOSED', denials: [] });
    if (submitted.kind !== 'accepted') return;
    const id = submitted.intentId;
    const card = await cardOf(h, id);

    await h.clock.advance(20_000); // the human takes 20 s to read the card
    const d = await h.engine.decide(card.id, 'APPROVE', approver);
    expect(d.kind).toBe('approved');
    expect(d.kind === 'approved' && d.submit.kind).toBe('submitted');
    await h.settle();
    const managed = await intentOf(h, id);
    expect(managed.state).toBe('MANAGED');
    expect(managed.avgFillPrice).toBe(6010.25);
    expect(managed.filledQty).toBe(1);
    const legs = await h.app.db.brokerOrder.findMany({ where: { intentId: id } });
    expect(Object.fromEntries(legs.map((o) => [o.role, o.status]))).toEqual({ ENTRY: 'FILLED', STOP: 'WORKING', TARGET: 'WORKING' });

    await h.clock.advance(7 * 60_000);
    h.sim!.simulatePrice('MES', 6009); // not yet
    await h.settle();
    expect((await intentOf(h, id)).state).toBe('MANAGED');
    h.sim!.simulatePrice('MES', 6008); // stop hit
    await h.settle();
    const closed = await intentOf(h, id);
    expect(closed.state).toBe('CLOSED');
    expect(closed.exitAvgPrice).toBe(6008);
    expect(closed.commissionCents).toBe(COMMISSION_CENTS);
    expect(closed.realizedPnlCents).toBe(-1125 - COMMISSION_CENTS); // (6008 − 6010.25) × 1 × 5 = −11.25 USD
    expect(closed.closedDay).toBe('2026-11-24');
    expect(closed.stateReason).toBe('stop hit at 6008; P&L -12.49 USD');
    expect((await h.broker.positions()).filter((p) => p.instrument.symbol === 'MES')).toEqual([]);
    const status = await h.engine.status();
    expect(status.today).toEqual({ realizedPnlCents: -1249, consecutiveLosses: 1, trades: 1 });

    // the next intent is blocked by the daily loss cap ($12.49 ≥ $10)
    const next = await h.engine.submitIntent(h.intent());
    expect(next.kind === 'accepted' && next.state).toBe('CANCELLED');
    expect(next.kind === 'accepted' && next.denials).toEqual([{ gate: 'daily_loss', code: 'DAILY_LOSS_CAP', message: 'realised loss today $12.49 ≥ cap $10.00' }]);

    // the chain verifies, from the file
    const report = await verifyAudit(h.app.store);
    expect(report.ok).toBe(true);
    const fileBeads = new Database(h.dbFile, { readonly: true });
    try {
      expect(report.count).toBe((fileBeads.prepare('SELECT COUNT(*) AS n FROM "Bead"').get() as { n: number }).n);
    } finally {
      fileBeads.close();
    }

    // the export of this intent tells the story, in order
    const story = await exported(h, { intentId: id });
    expect(story.every((l) => l.intentId === id)).toBe(true);
    const seqs = story.map((l) => l.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const compact = story
      .map((l) => {
        const p = l.payload;
        if (l.type === 'POSITION') return `POSITION ${String(p.from)}>${String(p.to)}`;
        if (l.type === 'GATE') return `GATE ${String(p.stage)}`;
        if (l.type === 'T2_TOKEN') return `T2_TOKEN ${String(p.event)}`;
        if (l.type === 'INTENT') return `INTENT ${String(p.outcome)}`;
        if (l.type === 'CARD') return `CARD ${String(p.event)}`;
        if (l.type === 'FILL') return `FILL ${String(p.role)}`;
        if (l.type === 'ORDER') return `ORDER ${String(p.event)}`;
        return l.type;
      })
      .filter((s) => !s.startsWith('ORDER STATUS') && !s.startsWith('ORDER PLACED'));
    expect(compact).toEqual([
      'GATE INTAKE',
      'INTENT PROPOSED',
      'CARD CREATED',
      'GATE APPROVAL',
      'T2_TOKEN ISSUED',
      'POSITION PROPOSED>APPROVED',
      'CARD DECIDED',
      'GATE SUBMIT',
      'T2_TOKEN USED',
      'POSITION APPROVED>SUBMITTED',
      'ORDER PLACING',
      'ORDER SENDING', // the last look before the entry left Phoenix (INV-KILL-LAST-MOMENT-1)
      'FILL ENTRY',
      'POSITION SUBMITTED>FILLED',
      'POSITION FILLED>MANAGED',
      'FILL STOP',
      'POSITION MANAGED>CLOSED',
    ]);
    const last = story.filter((l) => l.type === 'POSITION').at(-1)!;
    expect(last.payload).toMatchObject({ from: 'MANAGED', to: 'CLOSED', realizedPnlCents: -1249 });
    const gates = story.filter((l) => l.type === 'GATE').map((l) => l.payload);
    for (const g of gates) expect(g.denials).toEqual([]);
    // time is on every line, and it moves forward with the story
    const times = story.map((l) => Date.parse(l.ts));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times.at(-1)! - times[0]!).toBe(20_000 + 7 * 60_000);

    // --since: only what happened after the approval
    const since = await exported(h, { since: Date.parse(story.find((l) => l.type === 'FILL')!.ts) + 1 });
    expect(since.length).toBeGreaterThan(0);
    expect(since.some((l) => l.type === 'FILL' && l.payload.role === 'STOP')).toBe(true);
    expect(since.some((l) => l.type === 'T2_TOKEN')).toBe(false);
  });

  it('a stop that gaps through (market 6007) fills at the triggering price: P&L −16.25 USD − commissions', async () => {
    h = await harness({ constitution: { limits: { dailyLossCapUsd: 10 } } });
    const r = await h.engine.submitIntent(h.intent());
    if (r.kind !== 'accepted') throw new Error(r.kind);
    await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    await h.settle();
    h.sim!.simulatePrice('MES', 6007);
    await h.settle();
    const closed = await intentOf(h, r.intentId);
    expect(closed.state).toBe('CLOSED');
    expect(closed.exitAvgPrice).toBe(6007);
    expect(closed.realizedPnlCents).toBe(-1625 - COMMISSION_CENTS);
    const next = await h.engine.submitIntent(h.intent());
    expect(next.kind === 'accepted' && next.denials.map((d) => d.code)).toEqual(['DAILY_LOSS_CAP']);
    expect((await verifyAudit(h.app.store)).ok).toBe(true);
  });
});

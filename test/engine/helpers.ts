/**
 * Shared helpers for the engine-core invariant and chaos-vector tests (issue 2).
 * Everything goes through the real harness: SQLite file, FakeClock, SimBroker.
 */
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import type { StoredBead } from '../../src/engine/beads.js';
import type { Actor } from '../../src/engine/domain.js';
import { expectBeads } from '../support/beads-checked.js';
import { approver, beadsOf, cardOf, intentOf, type Harness } from '../support/harness.js';

export interface Proposed {
  readonly intentId: string;
  readonly cardId: string;
}

/** Submit an intent that must be PROPOSED; returns its id and card id. */
export async function propose(h: Harness, over: Record<string, unknown> = {}): Promise<Proposed> {
  const r = await h.engine.submitIntent(h.intent(over));
  if (r.kind !== 'accepted' || r.state !== 'PROPOSED') throw new Error(`expected PROPOSED, got ${JSON.stringify(r)}`);
  const card = await cardOf(h, r.intentId);
  return { intentId: r.intentId, cardId: card.id };
}

/**
 * Approve while the broker is down, so the token is issued but not yet consumed
 * (submission waits for the broker). The broker stays disconnected on return.
 */
export async function approveWhileBrokerDown(h: Harness, over: Record<string, unknown> = {}, who: Actor = approver): Promise<{ intentId: string; tokenId: string; cardId: string }> {
  const p = await propose(h, over);
  h.sim!.faults.disconnect();
  await h.settle();
  const d = await h.engine.decide(p.cardId, 'APPROVE', who);
  if (d.kind !== 'approved') throw new Error(`expected approved, got ${JSON.stringify(d)}`);
  expect(d.submit.kind).toBe('waiting');
  expect((await intentOf(h, p.intentId)).state).toBe('APPROVED');
  return { intentId: p.intentId, tokenId: d.tokenId, cardId: p.cardId };
}

export async function reconnect(h: Harness): Promise<void> {
  h.sim!.faults.reconnect();
  await h.settle();
}

export type Parsed = StoredBead & { readonly data: Record<string, unknown> };

export async function parsedBeads(h: Harness, intentId: string, type?: string): Promise<Parsed[]> {
  return (await beadsOf(h, intentId)).filter((b) => !type || b.type === type).map((b) => ({ ...b, data: JSON.parse(b.payload) as Record<string, unknown> }));
}

/** The intent's T2_TOKEN events; asserts there is at least one and records the check (npm run chaos). */
export async function tokenEvents(h: Harness, intentId: string): Promise<Record<string, unknown>[]> {
  return expectBeads(await parsedBeads(h, intentId), 'T2_TOKEN').map((b) => b.data);
}

/** The intent's lifecycle path from its POSITION beads; asserts there is one and records the check. */
export async function positionPath(h: Harness, intentId: string): Promise<string[]> {
  return expectBeads(await parsedBeads(h, intentId), 'POSITION').map((b) => `${String(b.data.from)}>${String(b.data.to)}`);
}

/** Broker orders and fills carrying this intent's orderRef (what actually reached the broker). */
export async function atBroker(h: Harness, intentId: string) {
  const r = await h.broker.findByOrderRef(intentId);
  return { orders: r.orders, fills: r.fills, entries: r.orders.filter((o) => o.role === 'ENTRY') };
}

export async function rowCounts(h: Harness) {
  const db = h.app.db;
  return { intents: await db.intent.count(), beads: await db.bead.count(), alerts: await db.alert.count(), orders: await db.brokerOrder.count(), cards: await db.card.count() };
}

export async function alertsOfType(h: Harness, type: string) {
  return h.app.db.alert.findMany({ where: { type }, orderBy: { createdAt: 'asc' } });
}

/** Total bead rows. */
export async function beadCount(h: Harness): Promise<number> {
  return h.app.db.bead.count();
}

const TRIGGERS = [
  `CREATE TRIGGER "Bead_no_update" BEFORE UPDATE ON "Bead"
BEGIN
  SELECT RAISE(ABORT, 'beads are append-only: UPDATE refused');
END;`,
  `CREATE TRIGGER "Bead_no_delete" BEFORE DELETE ON "Bead"
BEGIN
  SELECT RAISE(ABORT, 'beads are append-only: DELETE refused');
END;`,
];

/**
 * Tamper with the database file the way someone with disk access would: open it with
 * better-sqlite3, drop the append-only triggers, edit, and put the triggers back.
 */
export function tamperDb(dbFile: string, edit: (db: Database.Database) => void): void {
  const db = new Database(dbFile);
  try {
    db.exec('DROP TRIGGER "Bead_no_update"; DROP TRIGGER "Bead_no_delete";');
    edit(db);
    for (const t of TRIGGERS) db.exec(t);
  } finally {
    db.close();
  }
}

export interface BeadRow {
  seq: number;
  id: string;
  type: string;
  intentId: string | null;
  payload: string;
  ts: unknown;
}

/** Bead rows straight from the file, in seq order. */
export function beadRows(dbFile: string): BeadRow[] {
  const db = new Database(dbFile, { readonly: true });
  try {
    return db.prepare('SELECT seq, id, type, intentId, payload, ts FROM "Bead" ORDER BY seq').all() as BeadRow[];
  } finally {
    db.close();
  }
}

/** A history for the audit tests: a trade approved and filled, an intent blocked by risk, a halt (a few dozen beads over several commits). */
export async function addHistory(h: Harness): Promise<Harness> {
  const a = await propose(h);
  await h.clock.advance(1000);
  await h.engine.decide(a.cardId, 'APPROVE', approver);
  await h.settle();
  await h.clock.advance(1000);
  await h.engine.submitIntent(h.intent({ quantity: 3 })); // blocked by risk
  await h.clock.advance(1000);
  await h.engine.halt(approver, 'end of test day');
  return h;
}

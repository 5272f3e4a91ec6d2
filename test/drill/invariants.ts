/**
 * The invariants the crash drill (test/drill/drill.ts, one process on SQLite) and the failover
 * drill (test/drill/failover.ts, a desk of processes on PostgreSQL) check after every kill and
 * every start: one source for both. See drill.ts for the list (a)–(f).
 */
import type { ServerOrder, TwsTestServer } from '../support/tws/index.js';

export type Violate = (where: string, what: string) => void;

export interface BrokerFact {
  /** the entry (parent) leg's status at the server; null: only exit legs seen */
  entryStatus: string | null;
  entryFilled: number;
  exitFilled: boolean;
}

/** What the database holds, read in one transaction. */
export interface Snapshot {
  intents: { id: string; state: string; stateReason: string; ackedAt: string | null }[];
  positionBeads: { seq: number; intentId: string | null; payload: string }[];
  intentBeads: (string | null)[];
  tokenBeads: { intentId: string | null; payload: string }[];
  alertBeads: string[];
  alerts: { id: string; type: string; status: string; messageId: string | null }[];
  alertMessages: Map<string, { status: string; alertCount: number }>;
  /** subjectIds of TRADE cards */
  tradeCards: Set<string>;
  beadCount: number;
}

/** (a) at the broker, grouped by orderRef. */
export function checkBrokerOrders(server: TwsTestServer, where: string, violate: Violate): ServerOrder[] {
  const orders = server.orders();
  const byRef = new Map<string, ServerOrder[]>();
  for (const o of orders) byRef.set(o.orderRef, [...(byRef.get(o.orderRef) ?? []), o]);
  for (const [ref, legs] of byRef) {
    if (!ref) {
      violate(where, `${legs.length} order(s) without orderRef at the broker`);
      continue;
    }
    const parents = legs.filter((o) => o.parentId === 0);
    if (parents.length > 1) violate(where, `INV-IDEMPOTENT-ORDER-1: ${parents.length} entry orders for intent ${ref} at the broker (ids ${parents.map((o) => `${o.clientId}:${o.orderId}`).join(', ')})`);
    if (legs.length > 3) violate(where, `INV-IDEMPOTENT-ORDER-1: ${legs.length} legs for intent ${ref} at the broker`);
    const parent = parents[0];
    for (const c of legs.filter((o) => o.parentId !== 0)) {
      if (!parent || c.parentId !== parent.orderId || c.clientId !== parent.clientId) violate(where, `leg ${c.clientId}:${c.orderId} of ${ref} is not linked to its entry`);
    }
  }
  const placedIds = new Map<string, Set<number>>();
  for (const p of server.placements) placedIds.set(p.orderRef, (placedIds.get(p.orderRef) ?? new Set()).add(p.orderId));
  for (const [ref, ids] of placedIds) if (ids.size > 3) violate(where, `INV-IDEMPOTENT-ORDER-1: ${ids.size} distinct order ids placed for intent ${ref}`);
  if (server.protocolErrors.length) violate(where, `TWS protocol errors: ${server.protocolErrors.slice(0, 3).join(' | ')}`);
  return orders;
}

/** What the broker holds per orderRef right now (taken before a start; recovery must fold it in). */
export function brokerFacts(server: TwsTestServer): Map<string, BrokerFact> {
  const facts = new Map<string, BrokerFact>();
  for (const o of server.orders()) {
    const f = facts.get(o.orderRef) ?? { entryStatus: null, entryFilled: 0, exitFilled: false };
    if (o.parentId === 0) {
      f.entryStatus = o.status;
      f.entryFilled = o.filled;
    } else if (o.status === 'Filled') f.exitFilled = true;
    facts.set(o.orderRef, f);
  }
  return facts;
}

/**
 * (f) restart recovery by orderRef: by the time "Phoenix is running" is printed, whatever the
 * broker had for an intent before the start is reflected in its state (SPEC 6: "finds its
 * own orders at the broker instead of sending them again").
 */
export function checkRecovered(where: string, facts: Map<string, BrokerFact>, s: Snapshot, violate: Violate): number {
  let recoveryChecks = 0;
  const byId = new Map(s.intents.map((i) => [i.id, i]));
  for (const [ref, f] of facts) {
    const i = byId.get(ref);
    if (!i || f.entryStatus === null || f.entryStatus === 'Held') continue;
    recoveryChecks++;
    const bad = (what: string) => violate(where, `recovery: intent ${ref} is ${i.state}${i.ackedAt ? ' (acked)' : ' (not acked)'} but before the start the broker had ${what}`);
    if (f.exitFilled) {
      if (i.state !== 'CLOSED') bad('its stop or target filled');
    } else if (f.entryFilled > 0) {
      if (!['FILLED', 'MANAGED', 'CLOSED'].includes(i.state)) bad(`its entry filled (${f.entryFilled})`);
    } else if (f.entryStatus === 'Cancelled' || f.entryStatus === 'Inactive') {
      if (i.state !== 'REJECTED' && i.state !== 'CANCELLED') bad(`its entry ${f.entryStatus} (rejected)`);
    } else if (i.ackedAt === null) bad(`its entry working (${f.entryStatus})`);
  }
  return recoveryChecks;
}

/** (b) states explained by beads, (a) tokens behind broker orders, (d) no alert lost, (e) accepted intents durable. */
export function checkSnapshot(where: string, s: Snapshot, brokerOrders: readonly ServerOrder[], ctx: { readonly violate: Violate; readonly seenAlerts: Set<string>; readonly accepted202: ReadonlySet<string> }): void {
  const { violate, seenAlerts, accepted202 } = ctx;
  // (b) state explained by beads
  const chains = new Map<string, { from: string; to: string }[]>();
  for (const b of s.positionBeads) {
    if (!b.intentId) {
      violate(where, `POSITION bead #${b.seq} without intentId`);
      continue;
    }
    const p = JSON.parse(b.payload) as { from: string; to: string };
    chains.set(b.intentId, [...(chains.get(b.intentId) ?? []), p]);
  }
  const intentBeadCount = new Map<string, number>();
  for (const id of s.intentBeads) if (id) intentBeadCount.set(id, (intentBeadCount.get(id) ?? 0) + 1);
  const known = new Set(s.intents.map((i) => i.id));
  for (const i of s.intents) {
    if ((intentBeadCount.get(i.id) ?? 0) !== 1) violate(where, `intent ${i.id} has ${intentBeadCount.get(i.id) ?? 0} INTENT beads`);
    if (i.state === 'PROPOSED' && !s.tradeCards.has(i.id)) violate(where, `intent ${i.id} is PROPOSED without a card (intake was not atomic)`);
    const chain = chains.get(i.id) ?? [];
    let at = 'PROPOSED';
    for (const step of chain) {
      if (step.from !== at) violate(where, `intent ${i.id}: POSITION chain jumps (${at} then a bead from ${step.from} to ${step.to})`);
      at = step.to;
    }
    if (at !== i.state) violate(where, `intent ${i.id} is ${i.state} but its beads end at ${at} (${chain.map((c) => `${c.from}>${c.to}`).join(', ') || 'no POSITION beads'})`);
  }
  for (const id of chains.keys()) if (!known.has(id)) violate(where, `POSITION beads for unknown intent ${id}`);
  // (a) continued: orders at the broker only for intents whose token was USED, at most one USED per intent
  const used = new Map<string, number>();
  for (const t of s.tokenBeads) {
    const p = JSON.parse(t.payload) as { event: string };
    if (p.event === 'USED' && t.intentId) used.set(t.intentId, (used.get(t.intentId) ?? 0) + 1);
  }
  for (const [id, n] of used) if (n > 1) violate(where, `INV-T2-TOKEN-1: intent ${id} has ${n} USED token beads`);
  const intentById = new Map(s.intents.map((i) => [i.id, i]));
  for (const ref of new Set(brokerOrders.map((o) => o.orderRef))) {
    const i = intentById.get(ref);
    if (!i) violate(where, `order at the broker for unknown intent ${ref}`);
    else if (!used.has(ref)) violate(where, `INV-T2-GATE-1: order at the broker for ${ref} without a USED token`);
    // "nothing sent" must be true: a leg at the broker (even one held, untransmitted) contradicts it
    else if (/nothing sent/.test(i.stateReason)) violate(where, `intent ${ref} is ${i.state} ("${i.stateReason}") but the broker has ${brokerOrders.filter((o) => o.orderRef === ref).length} leg(s) for it`);
  }
  // (d) alerts
  const rows = new Map(s.alerts.map((a) => [a.id, a]));
  const raised = new Set<string>();
  for (const payload of s.alertBeads) {
    const p = JSON.parse(payload) as { alertId: string; event: string };
    if (p.event === 'RAISED') raised.add(p.alertId);
    if (!rows.has(p.alertId)) violate(where, `INV-OUTBOX-1: ALERT bead (${p.event}) for alert ${p.alertId} that has no Alert row`);
  }
  for (const a of s.alerts) {
    if (!raised.has(a.id)) violate(where, `alert ${a.id} (${a.type}) has no RAISED bead`);
    if (a.status !== 'PENDING' && a.status !== 'SENT') violate(where, `alert ${a.id} (${a.type}) has status ${a.status}`);
    if (a.messageId && !s.alertMessages.has(a.messageId)) violate(where, `INV-OUTBOX-1: alert ${a.id} points at message ${a.messageId} that does not exist`);
    if (a.status === 'SENT' && !a.messageId) violate(where, `alert ${a.id} is SENT without a message`);
  }
  // every message accounts for exactly the alerts folded into it, and they share its fate
  const folded = new Map<string, { n: number; sent: number }>();
  for (const a of s.alerts) {
    if (!a.messageId) continue;
    const f = folded.get(a.messageId) ?? { n: 0, sent: 0 };
    f.n++;
    if (a.status === 'SENT') f.sent++;
    folded.set(a.messageId, f);
  }
  for (const [id, m] of s.alertMessages) {
    const f = folded.get(id) ?? { n: 0, sent: 0 };
    if (!['QUEUED', 'SENDING', 'SENT'].includes(m.status)) violate(where, `alert message ${id} has status ${m.status}`);
    if (f.n !== m.alertCount) violate(where, `INV-OUTBOX-1: alert message ${id} says ${m.alertCount} alerts but ${f.n} are folded into it`);
    if (m.status === 'SENT' && f.sent !== f.n) violate(where, `alert message ${id} is SENT but ${f.n - f.sent} of its alerts are not`);
    if (m.status !== 'SENT' && f.sent > 0) violate(where, `alert message ${id} is ${m.status} but ${f.sent} of its alerts are SENT`);
  }
  for (const id of seenAlerts) if (!rows.has(id)) violate(where, `INV-OUTBOX-1: alert ${id} disappeared`);
  for (const id of rows.keys()) seenAlerts.add(id);
  // (e) accepted intents are durable
  for (const id of accepted202) if (!known.has(id)) violate(where, `intent ${id} was accepted (202) but is not in the database`);
}

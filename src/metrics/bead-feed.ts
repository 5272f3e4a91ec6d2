/**
 * Metrics from the audit log: every scrape reads the beads written since the last one (by seq,
 * 5,000 at a time) and counts what they record. The beads are the engine's typed outcomes, each
 * committed with its state change, so the counts are exactly what happened — a rolled-back
 * transaction counts nothing — and the engine and its hot paths carry no metrics code at all.
 *
 * Counting starts at the head of the log when the feed starts (counters reset with the process,
 * as Prometheus expects). Mapping (one bead at a time; `beadEffects` is pure and unit-tested):
 *   INTENT   outcome PROPOSED → proposed, SHADOW → shadow
 *   POSITION to APPROVED → approved; APPROVED>SUBMITTED → submitted (+ tap_to_order latency);
 *            APPROVED>EXPIRED → token_expired; →STALLED → stalled; SUBMITTED|STALLED>FILLED → filled;
 *            →REJECTED → rejected; MANAGED|FILLED>CLOSED → closed;
 *            →CANCELLED with reason "blocked by gate…" → cancelled_by_gate (intake, approval or
 *            submit), from APPROVED|SUBMITTED|STALLED otherwise → cancelled (PROPOSED>CANCELLED
 *            for a pass, an expired card or a shadow intent is counted by its CARD/INTENT bead)
 *            A human decision (PROPOSED → APPROVED / CANCELLED with an actor: approve, pass, or
 *            approve blocked by a gate) → shown_to_tap latency when the bot saw the card shown
 *   CARD     TRADE DECIDED PASS → passed; TRADE EXPIRED → expired
 *   GATE     one denial → gate_denials{code, stage}
 *   ALERT    RAISED → alerts_raised{type, severity}
 *   KILL_FLAG SET → kill_flags_set{kind}
 */
import { HOLDING, IN_FLIGHT, type IntentState, type Store, type StoredBead } from '../engine/index.js';
import type { PhoenixMetrics } from './metrics.js';

/** a bead's `from` (a string off the wire) is in one of the lifecycle's state groups */
const inGroup = (group: readonly IntentState[], state: string): boolean => (group as readonly string[]).includes(state);

export type BeadEffect =
  | { readonly kind: 'intent'; readonly outcome: string }
  | { readonly kind: 'gate'; readonly code: string; readonly stage: string }
  | { readonly kind: 'alert'; readonly type: string; readonly severity: string }
  | { readonly kind: 'kill'; readonly flagKind: string }
  | { readonly kind: 'approved'; readonly intentId: string; readonly at: number }
  | { readonly kind: 'submitted'; readonly intentId: string; readonly at: number }
  | { readonly kind: 'approvalOver'; readonly intentId: string }
  | { readonly kind: 'decided'; readonly intentId: string; readonly at: number }
  | { readonly kind: 'cardGone'; readonly intentId: string };

type Payload = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** What one bead means for the metrics (pure). */
export function beadEffects(b: Pick<StoredBead, 'type' | 'intentId' | 'payload' | 'ts'>): BeadEffect[] {
  let p: Payload;
  try {
    p = JSON.parse(b.payload) as Payload;
  } catch {
    return [];
  }
  const intentId = b.intentId ?? '';
  const out: BeadEffect[] = [];
  const intent = (outcome: string) => out.push({ kind: 'intent', outcome });
  switch (b.type) {
    case 'INTENT':
      if (p.outcome === 'PROPOSED') intent('proposed');
      else if (p.outcome === 'SHADOW') intent('shadow');
      break;
    case 'GATE':
      for (const d of Array.isArray(p.denials) ? (p.denials as Payload[]) : []) out.push({ kind: 'gate', code: str(d.code) || 'UNKNOWN', stage: str(p.stage) || 'UNKNOWN' });
      break;
    case 'ALERT':
      if (p.event === 'RAISED') out.push({ kind: 'alert', type: str(p.alertType), severity: str(p.severity) });
      break;
    case 'KILL_FLAG':
      if (p.action === 'SET') out.push({ kind: 'kill', flagKind: str(p.kind) || 'UNKNOWN' });
      break;
    case 'CARD':
      if (p.kind !== 'TRADE') break;
      if (p.event === 'DECIDED' && p.detail === 'PASS') intent('passed');
      else if (p.event === 'EXPIRED') intent('expired');
      break;
    case 'POSITION': {
      const from = str(p.from);
      const to = str(p.to);
      // the card's life ends here: a human's tap (with its actor), or expiry / intake gates / shadow
      if (from === 'PROPOSED') out.push(p.actor ? { kind: 'decided', intentId, at: b.ts } : { kind: 'cardGone', intentId });
      if (to === 'APPROVED') {
        intent('approved');
        out.push({ kind: 'approved', intentId, at: b.ts });
      } else if (to === 'SUBMITTED') {
        intent('submitted');
        out.push({ kind: 'submitted', intentId, at: b.ts });
      } else if (to === 'EXPIRED') {
        intent('token_expired');
        out.push({ kind: 'approvalOver', intentId });
      } else if (to === 'STALLED') intent('stalled');
      else if (to === 'FILLED' && inGroup(IN_FLIGHT, from)) intent('filled');
      else if (to === 'REJECTED') intent('rejected');
      else if (to === 'CLOSED' && inGroup(HOLDING, from)) intent('closed');
      else if (to === 'CANCELLED') {
        if (str(p.reason).startsWith('blocked by gate')) intent('cancelled_by_gate');
        else if (from !== 'PROPOSED') intent('cancelled');
        out.push({ kind: 'approvalOver', intentId });
      }
      break;
    }
    default:
      break;
  }
  return out;
}

/** intents approved but not yet at the broker, kept for tap → order (bounded) */
const MAX_PENDING = 10_000;
const PAGE = 5000;

export class BeadFeed {
  private cursor: number | null = null;
  private readonly approvedAt = new Map<string, number>();
  private pulling: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly m: PhoenixMetrics,
  ) {}

  /** Start counting at the current head of the log. */
  async start(): Promise<void> {
    if (this.cursor !== null) return;
    // seq has no gaps on SQLite; step from the count to the real head in case it ever does
    let head = Math.max(0, (await this.store.tx((tx) => tx.beads.count())) - 1);
    for (;;) {
      const page = await this.store.tx((tx) => tx.beads.page(head, 1000));
      if (!page.length) break;
      head = page[page.length - 1]!.seq;
      if (page.length < 1000) break;
    }
    this.cursor = head;
  }

  /** Count every bead written since the last call (concurrent scrapes share one read). */
  pull(): Promise<void> {
    this.pulling ??= this.read().finally(() => {
      this.pulling = null;
    });
    return this.pulling;
  }

  private async read(): Promise<void> {
    if (this.cursor === null) await this.start();
    for (;;) {
      const page = await this.store.tx((tx) => tx.beads.page(this.cursor ?? 0, PAGE));
      for (const b of page) {
        for (const e of beadEffects(b)) this.apply(e);
        this.cursor = b.seq;
      }
      if (page.length < PAGE) return;
    }
  }

  private apply(e: BeadEffect): void {
    const m = this.m;
    switch (e.kind) {
      case 'intent':
        m.intents.inc({ outcome: e.outcome });
        return;
      case 'gate':
        m.gateDenials.inc({ code: e.code, stage: e.stage });
        return;
      case 'alert':
        m.alertsRaised.inc({ type: e.type, severity: e.severity });
        return;
      case 'kill':
        m.killFlagsSet.inc({ kind: e.flagKind });
        return;
      case 'approved':
        if (this.approvedAt.size >= MAX_PENDING) this.approvedAt.delete(this.approvedAt.keys().next().value ?? '');
        this.approvedAt.set(e.intentId, e.at);
        return;
      case 'submitted': {
        const at = this.approvedAt.get(e.intentId);
        this.approvedAt.delete(e.intentId);
        if (at !== undefined) m.tapToOrder.observe(Math.max(0, e.at - at) / 1000);
        return;
      }
      case 'approvalOver':
        this.approvedAt.delete(e.intentId);
        return;
      case 'decided': {
        const shown = m.shownAt.get(e.intentId);
        m.shownAt.delete(e.intentId);
        if (shown !== undefined && e.at >= shown) m.shownToTap.observe((e.at - shown) / 1000);
        return;
      }
      case 'cardGone':
        m.shownAt.delete(e.intentId);
        return;
    }
  }
}

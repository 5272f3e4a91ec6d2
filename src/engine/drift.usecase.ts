/**
 * Human resolution of reconciliation drift (SPEC 8, 12 /drift). Phoenix never corrects a
 * drift itself: a person says what happened (ACKNOWLEDGED, PHOENIX_CORRECTED,
 * BROKER_CORRECTED) with a note, and a RECONCILIATION_RESOLUTION bead names who
 * (INV-RECONCILE-AUDIT-2). ACKNOWLEDGED means "known, leave it": the same mismatch is not raised
 * again while it persists; the CORRECTED resolutions expect it gone (raised again if not).
 * Drifts left unresolved longer than
 * `reconciliation.escalateAfterMin` are escalated once each (DRIFT_ESCALATION alert).
 *
 * Entry points (the Telegram bot wires /drift buttons to these; keep the signatures):
 *   resolveDrift(ctx, driftId, resolution, note, actor)   admin or approver only
 *   listUnresolvedDrifts(ctx)                              oldest first
 *   getDrift(ctx, driftId)                                 one drift, for /drift ID
 *   escalateDrifts(ctx)                                    the drift-escalation job
 */
import { actorRef, type EngineContext } from './context.js';
import type { Actor } from './domain.js';
import { notAllowed, type NotAllowed } from './outcome.js';
import { clockTime } from './people-time.js';
import type { DriftRecord } from './store.port.js';
import { KV } from './kv.keys.js';

export const DRIFT_RESOLUTIONS = ['ACKNOWLEDGED', 'PHOENIX_CORRECTED', 'BROKER_CORRECTED'] as const;
export type DriftResolution = (typeof DRIFT_RESOLUTIONS)[number];

/**
 * What resolving a drift did, as data (src/present/drift.text.ts words it). `drift` is the drift
 * as resolved now (RESOLVED) or as it was resolved before (ALREADY_RESOLVED).
 */
export type DriftOutcome =
  | { readonly ok: true; readonly code: 'RESOLVED'; readonly drift: DriftRecord }
  | { readonly ok: false; readonly code: 'UNKNOWN_RESOLUTION'; readonly allowed: readonly DriftResolution[] }
  | { readonly ok: false; readonly code: 'UNKNOWN_DRIFT'; readonly driftId: string }
  | { readonly ok: false; readonly code: 'ALREADY_RESOLVED'; readonly drift: DriftRecord }
  | { readonly ok: false; readonly code: 'RESOLVED_CONCURRENTLY'; readonly driftId: string }
  | NotAllowed;

export interface UnresolvedDrift extends DriftRecord {
  /** minutes since detection */
  readonly ageMin: number;
  /** whether the last reconciliation that compared this kind of thing still saw it (null: not checked since) */
  readonly stillPresent: boolean | null;
}

const NOTE_MAX = 500;

/**
 * A human resolves one drift. Refused (with an ACCESS_DENIED bead) unless the actor is an
 * admin or approver; the resolution value is checked at run time (it comes from callback
 * data). Resolving twice is refused and says who resolved it first.
 */
export async function resolveDrift(ctx: EngineContext, driftId: string, resolution: DriftResolution, note: string, actor: Actor): Promise<DriftOutcome> {
  const now = ctx.clock.now();
  if (!actor.roles.includes('admin') && !actor.roles.includes('approver')) {
    await ctx.store.tx(async (tx) => {
      tx.beads.append({ type: 'ACCESS_DENIED', intentId: null, ts: now, payload: { userId: actor.id, chatId: null, action: `resolve drift ${driftId.slice(0, 40)}`, reason: 'approver or admin role needed' } });
    });
    return notAllowed('approver', 'admin');
  }
  if (!(DRIFT_RESOLUTIONS as readonly string[]).includes(resolution)) return { ok: false, code: 'UNKNOWN_RESOLUTION', allowed: DRIFT_RESOLUTIONS };
  const text = note.trim().slice(0, NOTE_MAX) || 'no note given';
  const outcome = await ctx.store.tx(async (tx): Promise<DriftOutcome> => {
    const drift = await tx.drifts.get(driftId);
    if (!drift) return { ok: false, code: 'UNKNOWN_DRIFT', driftId };
    if (drift.resolvedAt !== null) return { ok: false, code: 'ALREADY_RESOLVED', drift };
    if (!(await tx.drifts.resolve(driftId, resolution, actor.name, text, now))) return { ok: false, code: 'RESOLVED_CONCURRENTLY', driftId };
    tx.beads.append({ type: 'RECONCILIATION_RESOLUTION', intentId: null, ts: now, payload: { driftId, resolution, note: text, actor: actorRef(actor) } });
    if (resolution === 'ACKNOWLEDGED') {
      // known and accepted: reconciliation stays quiet about this exact mismatch while it persists
      const acks = JSON.parse((await tx.kv.get(KV.reconcileAcknowledged)) || '[]') as string[];
      if (!acks.includes(drift.fingerprint)) await tx.kv.set(KV.reconcileAcknowledged, JSON.stringify([...acks, drift.fingerprint].slice(-500)), now);
    }
    const card = await tx.cards.bySubject(driftId, 'DRIFT');
    if (card) await tx.cards.touch(card.id, now);
    const resolved: DriftRecord = { ...drift, resolvedAt: now, resolution, resolvedBy: actor.name, note: text };
    return { ok: true, code: 'RESOLVED', drift: resolved };
  });
  if (outcome.ok) ctx.notify();
  return outcome;
}

/** Unresolved drifts, oldest first, with their age and whether the last check still saw them. */
export async function listUnresolvedDrifts(ctx: EngineContext): Promise<UnresolvedDrift[]> {
  const now = ctx.clock.now();
  const { drifts, last } = await ctx.store.tx(async (tx) => ({ drifts: await tx.drifts.unresolved(), last: await tx.kv.get(KV.reconcileLast) }));
  return drifts.map((d) => withPresence(d, last, now));
}

/** One drift (resolved or not) for `/drift ID` and its buttons; null when unknown. */
export async function getDrift(ctx: EngineContext, driftId: string): Promise<UnresolvedDrift | null> {
  const now = ctx.clock.now();
  const { drift, last } = await ctx.store.tx(async (tx) => ({ drift: await tx.drifts.get(driftId), last: await tx.kv.get(KV.reconcileLast) }));
  return drift ? withPresence(drift, last, now) : null;
}

function withPresence(d: DriftRecord, last: string | null, now: number): UnresolvedDrift {
  let seen: { scope: string; at: number; fingerprints: Set<string> } | null = null;
  try {
    const parsed = last ? (JSON.parse(last) as { scope: string; at: number; fingerprints: string[] }) : null;
    if (parsed) seen = { scope: parsed.scope, at: parsed.at, fingerprints: new Set(parsed.fingerprints) };
  } catch {
    seen = null;
  }
  const covered = seen !== null && seen.at >= d.detectedAt && (seen.scope === 'full' || d.type === 'POSITION_COUNT' || d.type === 'POSITION_SIZE');
  return { ...d, ageMin: Math.floor((now - d.detectedAt) / 60_000), stillPresent: covered && seen ? seen.fingerprints.has(d.fingerprint) : null };
}

/** Escalate each drift unresolved for longer than the limit, exactly once. Returns the escalated ids. */
export async function escalateDrifts(ctx: EngineContext): Promise<string[]> {
  const now = ctx.clock.now();
  const limitMs = ctx.constitution.reconciliation.escalateAfterMin * 60_000;
  const escalated = await ctx.store.tx(async (tx) => {
    const out: string[] = [];
    for (const d of await tx.drifts.unresolved()) {
      if (d.escalatedAt !== null || now - d.detectedAt <= limitMs) continue;
      if (!(await tx.drifts.markEscalated(d.id, now))) continue;
      const mins = Math.floor((now - d.detectedAt) / 60_000);
      tx.beads.append({ type: 'JOB', intentId: null, ts: now, payload: { job: 'drift-escalation', event: 'ESCALATION', detail: `drift ${d.id} (${d.type}, ${d.severity}) unresolved for ${mins} min` } });
      tx.alerts.enqueue({
        type: 'DRIFT_ESCALATION',
        at: now,
        payload: { summary: `Drift ${d.type} (${d.severity}) unresolved for ${mins} min. Check the broker and resolve it with /drift ${d.id}.`, ...(d.instrumentKey ? { instrumentKey: d.instrumentKey } : {}), facts: { drift: d.id, detected: clockTime(d.detectedAt, ctx.constitution.session.timeZone) } },
      });
      out.push(d.id);
    }
    return out;
  });
  if (escalated.length) ctx.notify();
  return escalated;
}

/**
 * "Snooze 1 h" on a repeating WARNING digest (SPEC 9): the tapped message's alert types are
 * delivered WITHOUT SOUND for one hour. Approvers and admins only; CRITICAL types never.
 *
 * Why silent and not held back: a snooze mutes the buzzing of something the desk already
 * knows about; it does not hide it. The alerts still land in the outbox, fold into digests and
 * reach the chat (so the counts still account for every alert and nobody comes back from the
 * hour to a surprise), and the outbox backlog does not grow for an hour and trip the backlog
 * and heartbeat alarms. The snooze is kept in SystemState (`alerts.snooze`), audited with an
 * ALERT_SNOOZE bead (who, which types, until when) in the same transaction, shown in /status,
 * and read by the alert sender when it composes a message.
 */
import { actorRef, type EngineContext } from './context.js';
import { isAlertType, isSnoozable, SNOOZE_MS, type AlertType } from './alerts.table.js';
import type { Actor } from './domain.js';
import { isoUtc } from './people-time.js';
import { KV } from './kv.keys.js';
import { notAllowed, type NotAllowed } from './outcome.js';


export interface Snooze {
  readonly type: AlertType;
  /** epoch ms: quiet until then */
  readonly until: number;
  readonly by: string;
  readonly byId: string;
  readonly at: number;
  /** the outbox message whose button was tapped */
  readonly messageId: string;
}

/** The stored snoozes (tolerant: a damaged value means "none", never a crash). */
export function parseSnoozes(raw: string | null): Snooze[] {
  if (!raw) return [];
  try {
    const v = JSON.parse(raw) as unknown;
    if (!Array.isArray(v)) return [];
    return v.filter((s): s is Snooze => !!s && typeof s === 'object' && isAlertType(String((s as Snooze).type)) && Number.isFinite((s as Snooze).until) && isSnoozable((s as Snooze).type));
  } catch {
    return [];
  }
}

/** Snoozes still running at `now`, one per type (the latest). */
export function activeSnoozes(list: readonly Snooze[], now: number): Snooze[] {
  const byType = new Map<AlertType, Snooze>();
  for (const s of list) if (s.until > now && (byType.get(s.type)?.until ?? -1) < s.until) byType.set(s.type, s);
  return [...byType.values()];
}

/** A snooze tap's answer, as data (src/present/snooze.text.ts words it). */
export type SnoozeOutcome =
  /** `until`: epoch ms; `by`: who snoozed (the chat is told) */
  | { readonly ok: true; readonly code: 'SNOOZED'; readonly types: readonly AlertType[]; readonly until: number; readonly by: string }
  /** `types`: the requested types that may not be snoozed (not WARNING, or unknown) */
  | { readonly ok: false; readonly code: 'NOT_SNOOZABLE'; readonly types: readonly string[] }
  | NotAllowed;

/**
 * Snooze `types` for one hour from now, for `actor` (approver+). Types that are not WARNING are
 * refused whatever asked for them (a forged or stale button): CRITICAL is never snoozed.
 */
export async function snoozeAlertTypes(ctx: EngineContext, types: readonly string[], actor: Actor, messageId: string): Promise<SnoozeOutcome> {
  const now = ctx.clock.now();
  const wanted = [...new Set(types)];
  return ctx.store.tx(async (tx) => {
    if (!actor.roles.includes('approver')) {
      tx.beads.append({ type: 'ACCESS_DENIED', intentId: null, ts: now, payload: { userId: actor.id, chatId: ctx.chatId, action: `snooze alerts (${messageId})`, reason: 'not an approver' } });
      return notAllowed('approver');
    }
    const valid = wanted.filter((t): t is AlertType => isAlertType(t) && isSnoozable(t));
    if (!valid.length || valid.length !== wanted.length) {
      const refused = wanted.filter((t) => !valid.includes(t as AlertType));
      tx.beads.append({ type: 'ACCESS_DENIED', intentId: null, ts: now, payload: { userId: actor.id, chatId: ctx.chatId, action: `snooze alerts (${messageId})`, reason: `not snoozable: ${refused.join(', ') || 'nothing'} (only WARNING types; CRITICAL never)` } });
      return { ok: false, code: 'NOT_SNOOZABLE', types: refused } as const;
    }
    const until = now + SNOOZE_MS;
    const kept = activeSnoozes(parseSnoozes(await tx.kv.get(KV.alertSnooze)), now).filter((s) => !valid.includes(s.type));
    const added: Snooze[] = valid.map((type) => ({ type, until, by: actor.name, byId: actor.id, at: now, messageId }));
    await tx.kv.set(KV.alertSnooze, JSON.stringify([...kept, ...added]), now);
    tx.beads.append({ type: 'ALERT_SNOOZE', intentId: null, ts: now, payload: { alertTypes: valid, until: isoUtc(until), actor: actorRef(actor), messageId } });
    return { ok: true, code: 'SNOOZED', types: valid, until, by: actor.name } as const;
  });
}

/** Active snoozes, for /status. */
export async function listSnoozes(ctx: EngineContext): Promise<Snooze[]> {
  const now = ctx.clock.now();
  return ctx.store.tx(async (tx) => activeSnoozes(parseSnoozes(await tx.kv.get(KV.alertSnooze)), now));
}

/**
 * Notification levels of one composed message (SPEC 9). Pure; the sender stores the answer
 * with the message, so a retry after a 429 or a restart delivers it the same way.
 *
 * Sound: a message rings when at least one of its groups is loud — severity WARNING or
 * CRITICAL, its type `on` in config/alerts.yaml, and not snoozed. Otherwise it is sent with
 * `disable_notification` (INFO alerts, `silent` types, snoozed types). CRITICAL is always loud:
 * the config refuses `silent`/`off` for it and a snooze never covers it.
 *
 * "Snooze 1 h" is offered on a repeating WARNING digest only: the message holds no CRITICAL
 * alert, and one of its groups is a WARNING type that is on, not snoozed yet, and repeating
 * (it spoke before, or this message folds at least two of its alerts). The button snoozes
 * those types.
 */
import { alertDef, clockTime, isSnoozable, modeOf, type AlertLevels, type AlertType, type Snooze } from '../engine/index.js';
import { unitAggs, unitStats, type MessagePlan } from './aggregate.js';
import { clip, escapeHtml } from './html.js';

export interface LevelInputs {
  readonly levels: AlertLevels | undefined;
  /** snoozes running now */
  readonly snoozes: readonly Snooze[];
  /** did this unit (by key) send a message before this one? */
  readonly spokeBefore: (unitKey: string) => boolean;
}

export interface Delivery {
  readonly silent: boolean;
  readonly snoozeTypes: readonly AlertType[];
}

export function deliveryOf(plan: Pick<MessagePlan, 'units' | 'severity'>, i: LevelInputs): Delivery {
  const snoozed = new Set(i.snoozes.map((s) => s.type));
  const aggs = plan.units.flatMap(unitAggs);
  const loud = aggs.some((g) => g.severity === 'CRITICAL' || (g.severity === 'WARNING' && modeOf(i.levels, g.type) === 'on' && !snoozed.has(g.type)));
  const snoozeTypes: AlertType[] = [];
  if (plan.severity === 'WARNING') {
    for (const u of plan.units) {
      const t = u.hostType;
      if (!u.host || !isSnoozable(t) || alertDef(t).severity !== 'WARNING' || modeOf(i.levels, t) !== 'on' || snoozed.has(t) || snoozeTypes.includes(t)) continue;
      if (i.spokeBefore(u.key) || unitStats(u).count >= 2) snoozeTypes.push(t);
    }
  }
  return { silent: !loud, snoozeTypes };
}

/** One line under a message that carries snoozed types: who snoozed them and until when. */
export function snoozeNote(plan: Pick<MessagePlan, 'units'>, snoozes: readonly Snooze[], timeZone: string): string | null {
  const types = new Set(plan.units.flatMap(unitAggs).map((g) => g.type));
  const here = snoozes.filter((s) => types.has(s.type));
  if (!here.length) return null;
  const text = here.map((s) => `${s.type} snoozed by ${s.by} until ${clockTime(s.until, timeZone)}`).join('; ');
  return `🔕 <i>${escapeHtml(clip(text, 60))} (no sound)</i>`;
}

/**
 * Reconciliation drift for a phone (SPEC 8, 12): in words, never raw JSON. One drift is one
 * message (what instrument, "Phoenix says X, broker says Y", since when) with at most three
 * buttons, one per row so their full labels show; /drift lists the unresolved ones in words
 * with "check now", each naming `/drift ID` for its own message and buttons. Pure.
 */
import type { InlineKeyboardButton } from 'grammy/types';
import { clockTime, dur, usd, type DriftCardView, type DriftRecord, type UnresolvedDrift } from '../../engine/index.js';
import { b, blank, clean, code, i, line, renderFitted, withDrop, type Line } from '../html.js';
import { modeBanner, px } from './format.js';
import { button, instrumentKeyLabel, NO_BUTTONS, type Rendered } from './parts.js';

type Drift = DriftRecord & { readonly stillPresent?: boolean | null };

const TYPE_WORDS: Record<DriftRecord['type'], string> = {
  POSITION_COUNT: 'position count',
  POSITION_SIZE: 'position size',
  ORDER_STATUS: 'order status',
  PNL: 'fill price / P&L',
};

/** The three resolutions, labelled so they read whole on a phone. */
export const DRIFT_BUTTON_LABELS = {
  driftAck: '👍 Acknowledge: known, leave it',
  driftPhoenixFixed: '🛠 Corrected in Phoenix',
  driftBrokerFixed: '🏦 Corrected at the broker',
} as const;

const obj = (x: unknown): Record<string, unknown> | null => (x !== null && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : null);
const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const str = (x: unknown): string | null => (typeof x === 'string' && x.trim() !== '' ? clean(x).slice(0, 60) : null);

/** long 2 / short 1 / flat */
const holding = (q: number | null): string => (q === null ? 'unknown' : q > 0 ? `long ${q}` : q < 0 ? `short ${-q}` : 'flat');

const statusWords = (s: string | null): string => (s ? s.toLowerCase().replace(/_/g, ' ') : 'unknown');

/** Which instrument a drift is about, as a trader names it. */
export function driftInstrument(d: DriftRecord): string {
  const key = d.instrumentKey ?? str(obj(d.local)?.contract) ?? str(obj(d.broker)?.contract);
  return key ? instrumentKeyLabel(key) : 'instrument unknown';
}

/** "Phoenix says long 1, broker says flat": both sides in words (odd stored shapes never throw). */
export function driftSides(d: DriftRecord): string {
  const l = obj(d.local);
  const br = obj(d.broker);
  switch (d.type) {
    case 'POSITION_COUNT':
    case 'POSITION_SIZE':
      return `Phoenix says ${holding(num(l?.quantity))}, broker says ${holding(num(br?.quantity))}`;
    case 'ORDER_STATUS': {
      const role = (str(l?.role) ?? str(br?.role) ?? 'order').toUpperCase();
      const fills = (side: Record<string, unknown> | null) => {
        const f = num(side?.filledQty);
        const q = num(side?.quantity);
        return f === null ? '' : q !== null ? ` (${f}/${q} filled)` : ` (${f} filled)`;
      };
      const id = str(br?.brokerOrderId);
      if (!l) return `Phoenix has no such ${role} order, broker says ${str(br?.side) ?? ''} ${num(br?.quantity) ?? ''} ${role} ${statusWords(str(br?.status))}${id ? ` (#${id})` : ''}`.replace(/\s+/g, ' ');
      const intent = str(l.intentState);
      return `Phoenix says the ${role} order is ${statusWords(str(l.status))}${fills(l)}${intent ? ` (position ${intent.toLowerCase()})` : ''}, broker says ${statusWords(str(br?.status))}${fills(br)}`;
    }
    case 'PNL': {
      const side = (x: Record<string, unknown> | null) => {
        const p = num(x?.realizedPnlCents);
        return `entry ${px(num(x?.avgFillPrice))}${p !== null ? `, P&L ${usd(p)}` : ''}`;
      };
      return `Phoenix says ${side(l)}; broker says ${side(br)}`;
    }
    default:
      return 'Phoenix and the broker disagree';
  }
}

/** The lines of one drift: headline, both sides, since when (and whether the last check still saw it). */
export function driftLines(d: Drift, now: number, timeZone: string): Line[] {
  const seen = d.stillPresent === true ? ' · still seen at the last check' : d.stillPresent === false ? ' · NOT seen at the last check' : '';
  return [
    line(d.severity === 'CRITICAL' ? '🚨 ' : '⚠️ ', b(`${d.severity} drift`), ' · ', b(driftInstrument(d)), ` · ${TYPE_WORDS[d.type] ?? clean(d.type)}`),
    { ...line(`${driftSides(d)}.`), maxChars: 300 },
    line(`Since ${clockTime(d.detectedAt, timeZone)} (${dur(now - d.detectedAt)} ago)${seen}`),
  ];
}

/** The three resolution buttons of one drift, one per row (none when its id cannot be carried safely). */
export function driftButtons(d: DriftRecord): InlineKeyboardButton[][] {
  try {
    return (['driftAck', 'driftPhoenixFixed', 'driftBrokerFixed'] as const).map((a) => [button(DRIFT_BUTTON_LABELS[a], a, d.id)]);
  } catch {
    return [];
  }
}

/** One drift as its own message (`/drift ID`, a DRIFT card, or a tapped drift after its resolution). */
export function renderDrift(d: Drift | null, now: number, timeZone: string, canResolve: boolean, idShown = '', head: readonly Line[] = []): Rendered {
  if (!d) return { html: renderFitted([...head, line(`Drift ${clean(idShown)} is not known. /drift lists the unresolved ones.`)]), keyboard: NO_BUTTONS };
  const lines: Line[] = [...head, ...driftLines(d, now, timeZone)];
  if (d.resolvedAt !== null) {
    lines.push(line('☑️ Resolved ', b(clean(d.resolution ?? '')), ` by ${clean(d.resolvedBy ?? '?')} at ${clockTime(d.resolvedAt, timeZone)}`, d.note ? ` — ${clean(d.note)}` : ''));
    lines.push(withDrop(line(i('id '), code(clean(d.id))), 0));
    return { html: renderFitted(lines), keyboard: NO_BUTTONS };
  }
  lines.push(line(i('Phoenix never corrects it. Check IBKR (TWS, Client Portal or IBKR Mobile), then say what you found (RB-002).')));
  lines.push(withDrop(line(i('id '), code(clean(d.id))), 0));
  const rows = canResolve ? driftButtons(d) : [];
  return { html: renderFitted(lines), keyboard: rows.length ? { inline_keyboard: rows } : NO_BUTTONS };
}

export function renderDriftCard(v: DriftCardView): Rendered {
  return renderDrift(v.drift, v.now, v.timeZone, true, v.card.subjectId, [line(...modeBanner(v.mode, v.demo))]);
}

const MAX_DRIFT_ROWS = 10;

/** /drift: unresolved drifts in words, each with its `/drift ID`; one button: check now. */
export function renderDriftList(drifts: readonly UnresolvedDrift[] | readonly Drift[], now: number, timeZone: string): Rendered {
  const lines: Line[] = [line('🧭 ', b('Unresolved drifts'), `: ${drifts.length}`)];
  if (!drifts.length) lines.push(line('Phoenix and the broker agree (as of the last reconciliation).'));
  drifts.slice(0, MAX_DRIFT_ROWS).forEach((d, n) => {
    lines.push(
      withDrop(
        line(`${n + 1}. ${d.severity === 'CRITICAL' ? '🚨' : '⚠️'} `, b(driftInstrument(d)), ` · ${TYPE_WORDS[d.type] ?? clean(d.type)}: ${driftSides(d)}. Since ${clockTime(d.detectedAt, timeZone)}. `, code(`/drift ${clean(d.id)}`)),
        1,
        400,
      ),
    );
  });
  if (drifts.length > MAX_DRIFT_ROWS) lines.push(line(i(`… and ${drifts.length - MAX_DRIFT_ROWS} more`)));
  if (drifts.length) lines.push(blank, line(i('Resolve one with /drift ID: its own message has the buttons. Check IBKR first; Phoenix never auto-corrects (RB-002).')));
  return { html: renderFitted(lines), keyboard: { inline_keyboard: [[button('🔄 Check now', 'checkNow', 'now')]] } };
}

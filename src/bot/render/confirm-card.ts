/**
 * Confirmation cards (/resume, /flatten, and per position re-protect, close, cancel-stalled).
 * Pure. The card IS the confirmation: once answered it is edited in place to say what was done
 * (confirmed: the state now; cancelled: nothing was done), so one tap leaves one message.
 */
import { clockTime, dur, type ConfirmCardView } from '../../engine/index.js';
import { b, clean, code, line, renderFitted, withDrop, type Line } from '../html.js';
import { modeBanner, px } from './format.js';
import { button, instrumentLabel, NO_BUTTONS, type Rendered } from './parts.js';

const CONFIRM_WHAT = {
  CONFIRM_RESUME: { verb: 'RESUME', done: 'RESUMED', command: '/resume', question: 'Lift the manual kill flags and allow new entries again? (stale-state pauses end on their own)', button: '✅ Confirm resume', who: 'only the admin who asked' },
  CONFIRM_FLATTEN: { verb: 'FLATTEN', done: 'FLATTEN CONFIRMED', command: '/flatten', question: 'Close every open position at market and cancel working entries?', button: '✅ Confirm flatten', who: 'only the admin who asked' },
  CONFIRM_REPROTECT: { verb: 'RE-PROTECT', done: 'RE-PROTECT CONFIRMED', command: 'the card button', question: 'Place a new stop for what is open, at the approved stop price?', button: '✅ Place the stop', who: 'only who asked' },
  CONFIRM_CLOSE: { verb: 'CLOSE', done: 'CLOSE CONFIRMED', command: 'the card button', question: 'Close this position at market?', button: '✅ Close it', who: 'only who asked' },
  CONFIRM_CANCEL_STALLED: { verb: 'CANCEL STALLED', done: 'CANCEL STALLED CONFIRMED', command: 'the card button', question: 'Ask the broker about this entry and cancel it there (a fill found instead is booked)?', button: '✅ Check and cancel', who: 'only the admin who asked' },
} as const;

type ConfirmWhat = keyof typeof CONFIRM_WHAT;

export function renderConfirmCard(v: ConfirmCardView): Rendered {
  const kind: ConfirmWhat = v.card.kind in CONFIRM_WHAT ? (v.card.kind as ConfirmWhat) : 'CONFIRM_RESUME';
  const what = CONFIRM_WHAT[kind];
  const at = (ms: number | null | undefined) => clockTime(ms, v.timeZone);
  const lines: Line[] = [line(...modeBanner(v.mode, v.demo))];
  const subject = v.intent;
  const kills = v.activeKills
    .slice(0, 10)
    .map((k) => withDrop(line(` • ${k.kind}: ${clean(k.reason)} (by ${clean(k.setBy)} at ${at(k.setAt)}${k.expiresAt !== null ? `, ends ${at(k.expiresAt)}` : ''})`), 1, 200));
  const state: Line[] =
    kind === 'CONFIRM_RESUME'
      ? [line(`Kill flags active now: ${v.activeKills.length}`), ...kills]
      : kind === 'CONFIRM_FLATTEN'
        ? [line(`Open positions/orders now: ${v.open.length}`), ...v.open.slice(0, 15).map((o) => withDrop(line(` • ${o.state} ${o.side} ${o.filledQty || o.quantity} ${instrumentLabel(o)}`), 1, 200))]
        : subject
          ? [withDrop(line(` • ${subject.state} ${subject.side} ${subject.filledQty || subject.quantity} ${instrumentLabel(subject)} · stop ${px(subject.stopLoss)} · `, code(clean(subject.id))), 1, 200)]
          : [line('The position is no longer known.')];
  const by = clean(v.card.decidedBy ?? 'someone');
  switch (v.card.status) {
    case 'OPEN': {
      lines.push(line('⚠️ ', b(`Confirm ${what.verb}`)), line(what.question), ...state);
      const left = v.card.expiresAt - v.now;
      lines.push(line('⏳ ', left > 0 ? `Expires in ${dur(left)}` : 'Expiring now', ` (at ${at(v.card.expiresAt)}); ${what.who} can confirm.`));
      return { html: renderFitted(lines), keyboard: { inline_keyboard: [[button(what.button, 'confirm', v.card.id), button('✖ Cancel', 'cancel', v.card.id)]] } };
    }
    case 'EXPIRED':
      lines.push(line('⌛ ', b(`${what.verb} confirmation expired`), ` at ${at(v.card.expiresAt)} — nothing was done. Use ${what.command} again.`));
      break;
    case 'CLOSED':
      lines.push(line('✖ ', b(`${what.verb} cancelled`), ` by ${by} at ${at(v.card.decidedAt)} — nothing was done.`));
      break;
    default:
      lines.push(line('✅ ', b(what.done), ` by ${by} at ${at(v.card.decidedAt)}.`));
      if (kind === 'CONFIRM_RESUME') lines.push(...resumedState(v, kills));
      else lines.push(...state);
  }
  return { html: renderFitted(lines), keyboard: NO_BUTTONS };
}

/** After a confirmed /resume: entries allowed again, or which pauses still hold them (and until when). */
function resumedState(v: ConfirmCardView, kills: Line[]): Line[] {
  if (!v.activeKills.length) return [line('No kill flag is active: new entries are allowed again.')];
  return [line(`Still active (not lifted by /resume): ${v.activeKills.length}`), ...kills];
}

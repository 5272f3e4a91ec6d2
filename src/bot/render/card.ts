/**
 * Card messages (SPEC 5): the evidence card with APPROVE / PASS, its outcome states
 * (approved by whom/when → submitted → filled …, passed, expired, blocked by gate), the
 * /resume and /flatten confirmation cards and drift cards; PROMOTION cards are drawn by
 * promotion.ts. Pure: a CardView in, HTML and an inline keyboard out, always within
 * Telegram's limits (long evidence is trimmed with "…").
 */
import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'grammy/types';
import { riskCents, rewardMultiple } from '../../engine/evidence.js';
import type { IntentRecord } from '../../engine/domain.js';
import type { CardView, ConfirmCardView, DriftCardView, OtherCardView, TradeCardView } from '../../engine/queries.usecase.js';
import type { DriftRecord } from '../../engine/store.port.js';
import { encodeCallback, type CallbackAction } from '../callback-data.js';
import { b, blank, clean, code, i, line, renderFitted, withDrop, type Line } from '../html.js';
import { dur, modeBanner, px, score, usd, usdAmount, utc } from './format.js';
import { templateLine } from './from-template.js';
import { renderPromotionCard } from './promotion.js';

export interface Rendered {
  readonly html: string;
  /** empty `inline_keyboard` = no buttons (an edit with it removes them) */
  readonly keyboard: InlineKeyboardMarkup;
}

export const NO_BUTTONS: InlineKeyboardMarkup = { inline_keyboard: [] };

export const button = (text: string, action: CallbackAction, id: string): InlineKeyboardButton.CallbackButton => ({ text, callback_data: encodeCallback(action, id) });

export function renderCard(view: CardView): Rendered {
  switch (view.kind) {
    case 'TRADE':
      return renderTradeCard(view);
    case 'CONFIRM':
      return renderConfirmCard(view);
    case 'DRIFT':
      return renderDriftCard(view);
    case 'PROMOTION':
      return renderPromotionCard(view);
    default:
      return renderOtherCard(view);
  }
}

// === Trade card

export function instrumentLabel(intent: Pick<IntentRecord, 'instrument'>): string {
  const ins = intent.instrument;
  return clean(ins.secType === 'FUT' && ins.contractMonth ? `${ins.symbol} ${ins.contractMonth}` : ins.symbol);
}

/** True when the card may still be decided (and so carries APPROVE / PASS). */
export const tradeCardOpen = (v: TradeCardView): boolean => v.card.status === 'OPEN' && v.intent.state === 'PROPOSED';

export function renderTradeCard(v: TradeCardView): Rendered {
  const open = tradeCardOpen(v);
  const lines: Line[] = [line(...modeBanner(v.mode, v.demo)), ...tradeHeader(v.intent), ...dangerLines(v), ...outcomeLines(v), blank, ...evidenceLines(v, open)];
  lines.push(withDrop(line(i(`card ${v.card.id} · intent ${v.intent.id}`)), 0));
  return { html: renderFitted(lines), keyboard: tradeButtons(v, open) };
}

/** APPROVE / PASS while open; re-protect / flatten when unprotected (MONEY-1); broker check when STALLED (SAFE-13). */
function tradeButtons(v: TradeCardView, open: boolean): InlineKeyboardMarkup {
  if (open) return { inline_keyboard: [[button('✅ APPROVE', 'approve', v.card.id), button('❌ PASS', 'pass', v.card.id)]] };
  if (v.unprotected) {
    const row = v.unprotected.open > 0 ? [button('🛡 Re-protect', 'reprotect', v.card.id), button('⏹ Flatten', 'closeOne', v.card.id)] : [button('⏹ Flatten', 'closeOne', v.card.id)];
    return { inline_keyboard: [row] };
  }
  if (v.intent.state === 'STALLED') return { inline_keyboard: [[button('🔎 Check broker & cancel', 'cancelStalled', v.card.id)]] };
  return NO_BUTTONS;
}

/** The loud lines of an unprotected position and of an entry the broker holds (MONEY-1, MONEY-11). */
function dangerLines(v: TradeCardView): Line[] {
  const out: Line[] = [];
  if (v.unprotected) {
    const u = v.unprotected;
    out.push(
      u.open > 0
        ? line('🚨 ', b('UNPROTECTED'), `: ${u.open} open, stop ${clean(u.stop)} at the broker. Re-protect or flatten (RB-013).`)
        : line('🚨 ', b('REVERSED'), `: exits went ${-u.open} beyond the entry — the account is on the other side. Flatten (RB-014).`),
    );
  }
  if (v.orders.some((o) => o.role === 'ENTRY' && o.status === 'HELD')) out.push(line('⏸ ', b('HELD'), ' by the broker (e.g. no shares to borrow, 404): it may never fill (RB-015).'));
  // IB Gateway's day (SPEC 4): an entry that is not at the broker yet waits while the gateway restarts or waits for its login
  if (v.hold && (tradeCardOpen(v) || v.intent.state === 'APPROVED')) out.push({ ...line('⏸ ', b('ENTRIES HELD'), `: ${clean(v.hold)}`), maxChars: 300 });
  return out;
}

function tradeHeader(intent: IntentRecord): Line[] {
  const ins = intent.instrument;
  const side = intent.side === 'BUY' ? '🟢' : '🔻';
  return [
    line(side, ' ', b(`${intent.side} ${intent.quantity} ${instrumentLabel(intent)}`), ` (${clean(ins.secType)} ${clean(ins.exchange)} ${clean(ins.currency)})`, ' · ', b(intent.orderType)),
    { ...line('Strategy: ', code(clean(intent.strategy))), maxChars: 120 },
  ];
}

function approvedLine(v: TradeCardView): Line | null {
  const by = v.intent.approvedBy ?? (v.card.status === 'DECIDED' ? v.card.decidedBy : null);
  if (!by) return null;
  return line('✅ ', b('APPROVED'), ` by ${clean(by)} at ${utc(v.intent.approvedAt ?? v.card.decidedAt)}`);
}

function filledLine(intent: IntentRecord): Line | null {
  if (!intent.filledQty) return null;
  return line('🎯 ', b('FILLED'), ` ${intent.filledQty}/${intent.quantity} @ ${px(intent.avgFillPrice)}`);
}

const reasonOf = (intent: IntentRecord): string => clean(intent.stateReason ?? '');

/** What happened to the intent, newest last; empty while the card is open. */
export function outcomeLines(v: TradeCardView): Line[] {
  const { intent, card } = v;
  const out: (Line | null)[] = [];
  const approved = approvedLine(v);
  const submitted = intent.submittedAt !== null ? line('📨 Submitted at ', utc(intent.submittedAt)) : null;
  const reason = reasonOf(intent);
  switch (intent.state) {
    case 'PROPOSED':
      if (card.status === 'EXPIRED') out.push(line('⌛ ', b('EXPIRED'), ` at ${utc(card.expiresAt)} without a decision — nothing was sent.`));
      else if (card.status !== 'OPEN') out.push(line('✖ Card closed (', card.status, ').'));
      break;
    case 'APPROVED':
      out.push(approved, line('⏳ Submitting to the broker…', v.token ? ` (approval valid until ${utc(v.token.expiresAt)})` : ''));
      break;
    case 'SUBMITTED':
      out.push(approved, submitted, line('⏳ Waiting for the broker to acknowledge.'));
      break;
    case 'FILLED':
      out.push(approved, submitted, filledLine(intent), line('⏳ Stop and target being placed.'));
      break;
    case 'MANAGED':
      out.push(approved, submitted, filledLine(intent), line('🛡 Stop ', b(px(intent.stopLoss)), ' and target ', b(px(intent.takeProfit)), ' working at the broker.'));
      break;
    case 'CLOSED':
      out.push(
        approved,
        submitted,
        filledLine(intent),
        line('🏁 ', b('CLOSED'), `: ${reason}`, intent.realizedPnlCents !== null ? ` · P&L ${usd(intent.realizedPnlCents)}` : ''),
      );
      break;
    case 'CANCELLED':
      out.push(...cancelledLines(v, approved, submitted, reason));
      break;
    case 'REJECTED':
      out.push(approved, submitted, line('🚫 ', b('REJECTED'), ` by the broker: ${reason}`));
      break;
    case 'EXPIRED':
      out.push(approved, line('⌛ ', b('APPROVAL EXPIRED'), ' before submission — nothing was sent.'));
      break;
    case 'STALLED':
      out.push(approved, submitted, line('⚠️ ', b('STALLED'), ': no broker acknowledgement; not retried. See /runbook RB-003.'));
      break;
  }
  return out.filter((l): l is Line => l !== null).map((l) => ({ ...l, maxChars: 400 }));
}

function cancelledLines(v: TradeCardView, approved: Line | null, submitted: Line | null, reason: string): (Line | null)[] {
  const { intent, card } = v;
  const raw = intent.stateReason ?? '';
  if (raw === 'card_expired') return [line('⌛ ', b('EXPIRED'), ` at ${utc(card.expiresAt)} without a decision — nothing was sent.`)];
  if (raw.startsWith('passed by')) return [line('❌ ', b('PASSED'), ` by ${clean(card.decidedBy ?? raw.slice('passed by '.length))} at ${utc(card.decidedAt ?? intent.updatedAt)} — nothing was sent.`)];
  const codes = /:\s*([A-Z_, ]+)$/.exec(raw)?.[1]?.trim();
  if (raw.startsWith('blocked by gate at approval')) {
    return [line('⛔ ', b('BLOCKED'), ` at approval by gate ${clean(codes ?? reason)}`, card.decidedBy ? ` (tapped by ${clean(card.decidedBy)} at ${utc(card.decidedAt)})` : '', ' — nothing was sent.')];
  }
  if (raw.startsWith('blocked by gate before submission')) return [approved, line('⛔ ', b('BLOCKED'), ` before submission by gate ${clean(codes ?? reason)} — nothing was sent.`)];
  if (raw.startsWith('blocked by gate')) return [line('⛔ ', b('BLOCKED'), ` by gate ${clean(codes ?? reason)} — nothing was sent.`)];
  return [approved, submitted, line('✖ ', b('CANCELLED'), `: ${reason}`)];
}

function evidenceLines(v: TradeCardView, open: boolean): Line[] {
  const { intent, limits, now } = v;
  const ev = intent.payload.evidence;
  const mult = intent.instrument.multiplier;
  const risk = riskCents(intent.entryPrice, intent.stopLoss, intent.quantity, mult);
  const rr = rewardMultiple(intent.entryPrice, intent.stopLoss, intent.takeProfit);
  const lines: Line[] = [];
  lines.push(line('Entry ', b(intent.entryPrice === null ? 'MKT' : px(intent.entryPrice)), ' · Stop ', b(px(intent.stopLoss)), ' · Target ', b(px(intent.takeProfit))));
  const templated = templateLine(intent.payload.fromTemplate);
  if (templated) lines.push(templated);
  lines.push(
    line(
      'Risk ',
      b(risk === null ? 'n/a' : usd(risk)),
      ` (cap ${usdAmount(limits.maxRiskPerTradeUsd)})`,
      ' · Reward ',
      b(rr === null ? 'n/a' : `${rr.toFixed(2)}R`),
      risk !== null ? ` (${usd(Math.round(Math.abs(intent.takeProfit - (intent.entryPrice ?? 0)) * intent.quantity * mult * 100))})` : '',
    ),
  );
  lines.push(
    intent.entryPrice === null
      ? line(i('Sizing: market order, no entry price — risk cannot be computed.'))
      : line(i(`Sizing: |${px(intent.entryPrice)} − ${px(intent.stopLoss)}| × ${intent.quantity} × ${mult} = ${risk === null ? 'n/a' : usd(risk)}`)),
  );
  const breakdown = Object.entries(ev.breakdown).map(([k, x]) => `${clean(k)} ${score(x)}`).join(' · ');
  lines.push(withDrop(line('Setup ', b(score(ev.setupScore)), breakdown ? ` — ${breakdown}` : ''), 2, 600));
  lines.push(withDrop(line('Alignment: ', clean(ev.alignment)), 2, 400));
  const failed = ev.redChecks.filter((c) => !c.passed);
  const passed = ev.redChecks.filter((c) => c.passed);
  lines.push(line('Red checks: ', failed.length ? b(`${failed.length} FAILED`) : `${passed.length}/${ev.redChecks.length} passed`, failed.length ? `, ${passed.length} passed` : ''));
  for (const c of failed) lines.push(withDrop(line('  ❗ ', b(clean(c.name))), 3, 160));
  for (const c of passed) lines.push(withDrop(line('  ✅ ', clean(c.name)), 1, 160));
  lines.push(line('DVS ', b(score(ev.dvs)), ` (min ${score(limits.minDvs)}) · EQS `, b(score(ev.eqs)), ` (min ${score(limits.minEqs)})`));
  lines.push(withDrop(line(`State: ${dur(now - intent.stateAsOf)} old (stale after ${dur(limits.staleTtlSec * 1000)})`, intent.regime ? ` · regime ${clean(intent.regime)}` : '', ' · ', code(clean(intent.payload.stateHash))), 4, 200));
  if (open) {
    const left = v.card.expiresAt - now;
    lines.push(line('⏳ ', left > 0 ? b(`Valid for ${dur(left)}`) : b('Expiring now'), ` — until ${utc(v.card.expiresAt)}`));
  }
  return lines;
}

// === Confirmation cards (/resume, /flatten)

const CONFIRM_WHAT = {
  CONFIRM_RESUME: { verb: 'RESUME', command: '/resume', question: 'Lift the manual kill flags and allow new entries again? (stale-state pauses end on their own)', button: '✅ Confirm resume', who: 'only the admin who asked' },
  CONFIRM_FLATTEN: { verb: 'FLATTEN', command: '/flatten', question: 'Close every open position at market and cancel working entries?', button: '✅ Confirm flatten', who: 'only the admin who asked' },
  CONFIRM_REPROTECT: { verb: 'RE-PROTECT', command: 'the card button', question: 'Place a new stop for what is open, at the approved stop price?', button: '✅ Place the stop', who: 'only who asked' },
  CONFIRM_CLOSE: { verb: 'CLOSE', command: 'the card button', question: 'Close this position at market?', button: '✅ Close it', who: 'only who asked' },
  CONFIRM_CANCEL_STALLED: { verb: 'CANCEL STALLED', command: 'the card button', question: 'Ask the broker about this entry and cancel it there (a fill found instead is booked)?', button: '✅ Check and cancel', who: 'only the admin who asked' },
} as const;

type ConfirmWhat = keyof typeof CONFIRM_WHAT;

export function renderConfirmCard(v: ConfirmCardView): Rendered {
  const kind: ConfirmWhat = v.card.kind in CONFIRM_WHAT ? (v.card.kind as ConfirmWhat) : 'CONFIRM_RESUME';
  const what = CONFIRM_WHAT[kind];
  const lines: Line[] = [line(...modeBanner(v.mode, v.demo))];
  const subject = v.intent;
  const state: Line[] =
    kind === 'CONFIRM_RESUME'
      ? [line(`Kill flags active now: ${v.activeKills.length}`), ...v.activeKills.slice(0, 10).map((k) => withDrop(line(` • ${k.kind}: ${clean(k.reason)} (by ${clean(k.setBy)} at ${utc(k.setAt)})`), 1, 200))]
      : kind === 'CONFIRM_FLATTEN'
        ? [line(`Open positions/orders now: ${v.open.length}`), ...v.open.slice(0, 15).map((o) => withDrop(line(` • ${o.state} ${o.side} ${o.filledQty || o.quantity} ${instrumentLabel(o)}`), 1, 200))]
        : subject
          ? [withDrop(line(` • ${subject.state} ${subject.side} ${subject.filledQty || subject.quantity} ${instrumentLabel(subject)} · stop ${px(subject.stopLoss)} · `, code(clean(subject.id))), 1, 200)]
          : [line('The position is no longer known.')];
  if (v.card.status === 'OPEN') {
    lines.push(line('⚠️ ', b(`Confirm ${what.verb}`)), line(what.question), ...state);
    const left = v.card.expiresAt - v.now;
    lines.push(line('⏳ ', left > 0 ? `Expires in ${dur(left)}` : 'Expiring now', ` (at ${utc(v.card.expiresAt)}); ${what.who} can confirm.`));
    return {
      html: renderFitted(lines),
      keyboard: { inline_keyboard: [[button(what.button, 'confirm', v.card.id), button('✖ Cancel', 'cancel', v.card.id)]] },
    };
  }
  if (v.card.status === 'EXPIRED') {
    lines.push(line('⌛ ', b(`${what.verb} confirmation expired`), ` at ${utc(v.card.expiresAt)} — nothing was done. Use ${what.command} again.`));
  } else {
    lines.push(line('☑️ ', b(what.verb), ` answered by ${clean(v.card.decidedBy ?? 'someone')} at ${utc(v.card.decidedAt)}.`), ...state);
  }
  return { html: renderFitted(lines), keyboard: NO_BUTTONS };
}

// === Drift

const json = (x: unknown): string => {
  try {
    return clean(JSON.stringify(x) ?? 'null');
  } catch {
    return '(unprintable)';
  }
};

export function driftLines(d: DriftRecord & { readonly stillPresent?: boolean | null }, now: number): Line[] {
  const seen = d.stillPresent === true ? ' · still seen at the last check' : d.stillPresent === false ? ' · NOT seen at the last check' : '';
  return [
    line(d.severity === 'CRITICAL' ? '🚨 ' : '⚠️ ', b(`${d.severity} ${d.type}`), d.instrumentKey ? ` ${clean(d.instrumentKey)}` : '', ` · ${dur(now - d.detectedAt)} ago${seen} · `, code(clean(d.id))),
    withDrop(line('  Phoenix: ', code(json(d.local))), 2, 300),
    withDrop(line('  Broker: ', code(json(d.broker))), 2, 300),
  ];
}

/** The three resolution buttons of one drift (none when its id cannot be carried safely). */
export function driftButtons(d: DriftRecord, labelPrefix = ''): InlineKeyboardButton.CallbackButton[] {
  try {
    return [button(`${labelPrefix}Ack`, 'driftAck', d.id), button(`${labelPrefix}Phoenix fixed`, 'driftPhoenixFixed', d.id), button(`${labelPrefix}Broker fixed`, 'driftBrokerFixed', d.id)];
  } catch {
    return [];
  }
}

export function renderDriftCard(v: DriftCardView): Rendered {
  const lines: Line[] = [line(...modeBanner(v.mode, v.demo)), line('🧭 ', b('Reconciliation drift'))];
  const d = v.drift;
  if (!d) {
    lines.push(line(`Drift ${clean(v.card.subjectId)} is no longer known.`));
    return { html: renderFitted(lines), keyboard: NO_BUTTONS };
  }
  lines.push(...driftLines(d, v.now));
  if (d.resolvedAt !== null) {
    lines.push(line('☑️ Resolved ', b(clean(d.resolution ?? '')), ` by ${clean(d.resolvedBy ?? '?')} at ${utc(d.resolvedAt)}`, d.note ? ` — ${clean(d.note)}` : ''));
    return { html: renderFitted(lines), keyboard: NO_BUTTONS };
  }
  lines.push(line(i('Phoenix never auto-corrects. Resolve after checking the broker (RB-002).')));
  const row = driftButtons(d);
  return { html: renderFitted(lines), keyboard: row.length ? { inline_keyboard: [row] } : NO_BUTTONS };
}

export function renderOtherCard(v: OtherCardView): Rendered {
  const lines: Line[] = [
    line(...modeBanner(v.mode, v.demo)),
    line(b(`${v.card.kind} card`), ` ${clean(v.card.subjectId)}`),
    line(`Status: ${v.card.status}${v.card.decidedBy ? ` · by ${clean(v.card.decidedBy)} at ${utc(v.card.decidedAt)}` : ''}`),
    line(i('This card kind is not shown by this version of the bot.')),
  ];
  return { html: renderFitted(lines), keyboard: NO_BUTTONS };
}

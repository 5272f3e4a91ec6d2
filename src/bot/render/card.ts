/**
 * Card messages (SPEC 5, 12): the evidence card with APPROVE / PASS and its outcome states
 * (approved by whom/when → submitted → working → filled …, passed, expired, blocked by gate).
 * Confirmation cards are drawn by confirm-card.ts, drift by drift.ts, PROMOTION cards by
 * promotion.ts. Pure: a CardView in, HTML and an inline keyboard out, always within Telegram's
 * limits (long evidence is trimmed with "…").
 *
 * Built for a phone: the FIRST line is the decision (side, size, instrument, risk $, R, mode,
 * time left), then what happened to it, the levels and the scores; everything else (strategy,
 * sizing maths, breakdown, red checks, state, ids) folds into an expandable block, so the
 * buttons stay within reach. Every time is in the constitution's time zone.
 */
import type { InlineKeyboardMarkup } from 'grammy/types';
import {
  clockTime,
  countdown,
  dur,
  rewardMultiple,
  riskCents,
  usd,
  usdAmount,
  type CardView,
  type IntentRecord,
  type OtherCardView,
  type TradeCardView,
} from '../../engine/index.js';
import { b, clean, code, details, i, line, renderFitted, withDrop, type Inline, type Line } from '../html.js';
import { renderConfirmCard } from './confirm-card.js';
import { renderDriftCard } from './drift.js';
import { modeBanner, modeWord, px, score } from './format.js';
import { templateLine } from './from-template.js';
import { button, instrumentLabel, NO_BUTTONS, type Rendered } from './parts.js';
import { renderPromotionCard } from './promotion.js';

export { button, instrumentLabel, NO_BUTTONS, type Rendered } from './parts.js';
export { driftButtons, driftLines, renderDriftCard } from './drift.js';
export { renderConfirmCard } from './confirm-card.js';

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

/** True when the card may still be decided (and so carries APPROVE / PASS). */
export const tradeCardOpen = (v: TradeCardView): boolean => v.card.status === 'OPEN' && v.intent.state === 'PROPOSED';

export function renderTradeCard(v: TradeCardView): Rendered {
  const open = tradeCardOpen(v);
  const lines: Line[] = [decisionLine(v, open), ...dangerLines(v), ...outcomeLines(v), ...glanceLines(v), ...details(detailLines(v, open))];
  return { html: renderFitted(lines), keyboard: tradeButtons(v, open) };
}

/** "🟢 BUY 1 MES Dec26 · risk $11.25 · 2.1R · PAPER · 4:12 left": what is being decided, in one line. */
export function decisionLine(v: TradeCardView, open: boolean): Line {
  const { intent } = v;
  const risk = riskCents(intent.entryPrice, intent.stopLoss, intent.quantity, intent.instrument.multiplier);
  const rr = rewardMultiple(intent.entryPrice, intent.stopLoss, intent.takeProfit);
  const parts: Inline[] = [
    intent.side === 'BUY' ? '🟢 ' : '🔻 ',
    b(`${intent.side} ${intent.quantity} ${instrumentLabel(intent)}`),
    ' · risk ',
    b(risk === null ? 'n/a' : usd(risk)),
    ' · ',
    b(rr === null ? 'n/a' : `${rr.toFixed(1)}R`),
    ' · ',
    ...modeWord(v.mode, v.demo),
  ];
  if (open) {
    const left = v.card.expiresAt - v.now;
    parts.push(' · ', left > 0 ? b(`${countdown(left)} left`) : b('expiring'));
  }
  return { parts, maxChars: 160 };
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
  // IB Gateway's day (SPEC 4): approving now would wait while the gateway restarts or waits for its login
  // (an approved card says it in its waiting line instead)
  if (v.hold && tradeCardOpen(v)) out.push({ ...line('⏸ ', b('ENTRIES HELD'), `: ${clean(v.hold)}`), maxChars: 300 });
  return out;
}

/** Levels and scores: what a trader checks before tapping. */
function glanceLines(v: TradeCardView): Line[] {
  const { intent, limits } = v;
  const ev = intent.payload.evidence;
  const failed = ev.redChecks.filter((c) => !c.passed).length;
  const out: Line[] = [line('Entry ', b(intent.entryPrice === null ? 'MKT' : px(intent.entryPrice)), ' · Stop ', b(px(intent.stopLoss)), ' · Target ', b(px(intent.takeProfit)))];
  const templated = templateLine(intent.payload.fromTemplate);
  if (templated) out.push(templated);
  const low = ev.dvs < limits.minDvs || ev.eqs < limits.minEqs;
  out.push(
    line(
      'Setup ',
      b(score(ev.setupScore)),
      ' · DVS ',
      b(score(ev.dvs)),
      ' · EQS ',
      b(score(ev.eqs)),
      low ? ' (under the minimum)' : '',
      ' · ',
      failed ? b(`❗ ${failed} red check${failed > 1 ? 's' : ''} failed`) : `red checks ${ev.redChecks.length}/${ev.redChecks.length} ✅`,
    ),
  );
  return out;
}

function approvedLine(v: TradeCardView): Line | null {
  const by = v.intent.approvedBy ?? (v.card.status === 'DECIDED' ? v.card.decidedBy : null);
  if (!by) return null;
  return line('✅ ', b('APPROVED'), ` by ${clean(by)} at ${clockTime(v.intent.approvedAt ?? v.card.decidedAt, v.timeZone)}`);
}

function filledLine(intent: IntentRecord): Line | null {
  if (!intent.filledQty) return null;
  return line('🎯 ', b('FILLED'), ` ${intent.filledQty}/${intent.quantity} @ ${px(intent.avgFillPrice)}`);
}

const reasonOf = (intent: IntentRecord): string => clean(intent.stateReason ?? '');

/** An approved intent on its way: submitting now, or waiting for IB Gateway's day or a broker that is down (and until when). */
function submittingLine(v: TradeCardView): Line {
  const lapses = v.token ? ` the approval lapses at ${clockTime(v.token.expiresAt, v.timeZone)}` : '';
  if (v.hold) return line('⏸ ', b('ENTRIES HELD'), `: ${clean(v.hold)} — waiting;`, lapses || ' the approval lapses when its token expires', '. Nothing was sent.');
  if (v.broker.canSubmit) return line('⏳ Submitting to the broker…', lapses ? ` (${lapses.trim()})` : '');
  const since = v.broker.downSince !== null ? ` since ${clockTime(v.broker.downSince, v.timeZone)}` : ` (${v.broker.state.toLowerCase()})`;
  return line('⏸ ', b(`Broker down${since}`), ' — waiting;', lapses || ' the approval lapses when its token expires', '. Nothing was sent.');
}

/** A submitted entry: resting at the broker once acknowledged, else still waiting for the acknowledgement. */
function submittedLine(v: TradeCardView): Line {
  const entry = v.orders.find((o) => o.role === 'ENTRY');
  if (entry && entry.status === 'WORKING') {
    const what = v.intent.entryPrice === null ? 'entry MKT working' : `entry LMT ${px(v.intent.entryPrice)} resting`;
    const since = v.intent.ackedAt !== null ? ` since ${clockTime(v.intent.ackedAt, v.timeZone)}` : '';
    return line('📈 ', b('Working at the broker'), `: ${what}${since}`, entry.brokerOrderId ? ` (#${clean(entry.brokerOrderId)})` : '', '.');
  }
  return line('⏳ Waiting for the broker to acknowledge.');
}

/** What happened to the intent, newest last; empty while the card is open. */
export function outcomeLines(v: TradeCardView): Line[] {
  const { intent, card } = v;
  const at = (ms: number | null | undefined) => clockTime(ms, v.timeZone);
  const out: (Line | null)[] = [];
  const approved = approvedLine(v);
  const submitted = intent.submittedAt !== null ? line('📨 Submitted at ', at(intent.submittedAt)) : null;
  const reason = reasonOf(intent);
  switch (intent.state) {
    case 'PROPOSED':
      if (card.status === 'EXPIRED') out.push(line('⌛ ', b('EXPIRED'), ` at ${at(card.expiresAt)} without a decision — nothing was sent.`));
      else if (card.status !== 'OPEN') out.push(line('✖ Card closed (', card.status, ').'));
      break;
    case 'APPROVED':
      out.push(approved, submittingLine(v));
      break;
    case 'SUBMITTED':
      out.push(approved, submitted, submittedLine(v));
      break;
    case 'FILLED':
      out.push(approved, submitted, filledLine(intent), line('⏳ Stop and target being placed.'));
      break;
    case 'MANAGED':
      out.push(approved, submitted, filledLine(intent), line('🛡 Stop ', b(px(intent.stopLoss)), ' and target ', b(px(intent.takeProfit)), ' working at the broker.'));
      break;
    case 'CLOSED':
      out.push(approved, submitted, filledLine(intent), line('🏁 ', b('CLOSED'), `: ${reason}`, intent.realizedPnlCents !== null ? ` · P&L ${usd(intent.realizedPnlCents)}` : ''));
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
  const at = (ms: number | null | undefined) => clockTime(ms, v.timeZone);
  const raw = intent.stateReason ?? '';
  if (raw === 'card_expired') return [line('⌛ ', b('EXPIRED'), ` at ${at(card.expiresAt)} without a decision — nothing was sent.`)];
  if (raw.startsWith('passed by')) return [line('❌ ', b('PASSED'), ` by ${clean(card.decidedBy ?? raw.slice('passed by '.length))} at ${at(card.decidedAt ?? intent.updatedAt)} — nothing was sent.`)];
  const codes = /:\s*([A-Z_, ]+)$/.exec(raw)?.[1]?.trim();
  if (raw.startsWith('blocked by gate at approval')) {
    return [line('⛔ ', b('BLOCKED'), ` at approval by gate ${clean(codes ?? reason)}`, card.decidedBy ? ` (tapped by ${clean(card.decidedBy)} at ${at(card.decidedAt)})` : '', ' — nothing was sent.')];
  }
  if (raw.startsWith('blocked by gate before submission')) return [approved, line('⛔ ', b('BLOCKED'), ` before submission by gate ${clean(codes ?? reason)} — nothing was sent.`)];
  if (raw.startsWith('blocked by gate')) return [line('⛔ ', b('BLOCKED'), ` by gate ${clean(codes ?? reason)} — nothing was sent.`)];
  return [approved, submitted, line('✖ ', b('CANCELLED'), `: ${reason}`)];
}

/** The fold-away details: the evidence behind the decision, the sizing maths, the ids. */
function detailLines(v: TradeCardView, open: boolean): Line[] {
  const { intent, limits, now } = v;
  const ins = intent.instrument;
  const ev = intent.payload.evidence;
  const mult = ins.multiplier;
  const risk = riskCents(intent.entryPrice, intent.stopLoss, intent.quantity, mult);
  const rr = rewardMultiple(intent.entryPrice, intent.stopLoss, intent.takeProfit);
  const lines: Line[] = [
    line(...modeBanner(v.mode, v.demo)),
    { ...line('Strategy: ', code(clean(intent.strategy)), ` · ${intent.orderType} · ${clean(ins.secType)} ${clean(ins.exchange)} ${clean(ins.currency)}`), maxChars: 160 },
    line(
      'Risk ',
      b(risk === null ? 'n/a' : usd(risk)),
      ` (cap ${usdAmount(limits.maxRiskPerTradeUsd)})`,
      ' · Reward ',
      b(rr === null ? 'n/a' : `${rr.toFixed(2)}R`),
      risk !== null ? ` (${usd(Math.round(Math.abs(intent.takeProfit - (intent.entryPrice ?? 0)) * intent.quantity * mult * 100))})` : '',
    ),
    intent.entryPrice === null
      ? line(i('Sizing: market order, no entry price — risk cannot be computed.'))
      : line(i(`Sizing: |${px(intent.entryPrice)} − ${px(intent.stopLoss)}| × ${intent.quantity} × ${mult} = ${risk === null ? 'n/a' : usd(risk)}`)),
  ];
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
    lines.push(line('⏳ ', left > 0 ? b(`Valid for ${dur(left)}`) : b('Expiring now'), ` — until ${clockTime(v.card.expiresAt, v.timeZone)}`));
  }
  lines.push(withDrop(line(i(`card ${v.card.id} · intent ${intent.id}`)), 0));
  return lines;
}

export function renderOtherCard(v: OtherCardView): Rendered {
  const lines: Line[] = [
    line(...modeBanner(v.mode, v.demo)),
    line(b(`${v.card.kind} card`), ` ${clean(v.card.subjectId)}`),
    line(`Status: ${v.card.status}${v.card.decidedBy ? ` · by ${clean(v.card.decidedBy)} at ${clockTime(v.card.decidedAt, v.timeZone)}` : ''}`),
    line(i('This card kind is not shown by this version of the bot.')),
  ];
  return { html: renderFitted(lines), keyboard: NO_BUTTONS };
}

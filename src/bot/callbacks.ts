/**
 * Button taps (SPEC 5, 8, 12). Callback data is parsed strictly and only names a server-side
 * object; the engine decides everything else (who may, whether it is still open, what
 * happens). Every tap is answered exactly once, within the deadline: when the engine takes
 * longer than `decisionWaitMs` (a slow broker), the tap is answered "working on it" and the
 * card shows the outcome when it lands.
 *
 * APPROVE / PASS carry the same opaque data on trade and PROMOTION cards (`v1:a:<cardId>`);
 * the card's kind, looked up server-side, decides which use case the tap goes to.
 */
import type { Filter } from 'grammy';
import {
  ConcurrentChangeError,
  type Actor,
  type CardView,
  type ConfirmOutcome,
  type Decision,
  type DecisionOutcome,
  type DriftResolution,
  type PromotionDecisionOutcome,
} from '../engine/index.js';
import { confirmRequestText, confirmText } from '../present/confirm.text.js';
import { rankAtLeast } from './access.js';
import { describeData, parseCallback, type CallbackAction, type ParsedCallback } from './callback-data.js';
import { answerOnce, TIMED_OUT, withDeadline, type BotContext, type BotServices } from './context.js';
import { toast } from './html.js';
import { renderCard } from './render/card.js';
import { renderDrift, renderDriftList } from './render/drift.js';
import { snoozeTap } from './snooze.tap.js';
import { tradeDecisionText } from '../present/decision.text.js';
import { driftText } from '../present/drift.text.js';
import { promotionDecisionText } from '../present/promotion.text.js';
import { reconcileText } from '../present/reconcile.text.js';

type CallbackCtx = Filter<BotContext, 'callback_query:data'>;

const NOT_VALID = 'This button is not valid.';
/** what a confirmed /resume or /flatten did: kill-switch news, first in the chat's budget */
const CONFIRMED = { html: false, lane: 'urgent' } as const;
const WORKING = 'Working on it — the card will show the outcome.';

const RESOLUTION: Partial<Record<CallbackAction, DriftResolution>> = {
  driftAck: 'ACKNOWLEDGED',
  driftPhoenixFixed: 'PHOENIX_CORRECTED',
  driftBrokerFixed: 'BROKER_CORRECTED',
};

export async function handleCallback(ctx: CallbackCtx, s: BotServices): Promise<void> {
  const data = ctx.callbackQuery.data;
  const parsed = parseCallback(data);
  if (!parsed) {
    await s.auditDenied(ctx, `callback ${describeData(data)}`, 'malformed or forged callback data');
    return answerOnce(ctx, NOT_VALID, s.logger);
  }
  switch (parsed.action) {
    case 'approve':
    case 'pass':
      return decisionTap(ctx, s, parsed);
    case 'confirm':
    case 'cancel':
      return confirmTap(ctx, s, parsed);
    case 'checkNow':
      return checkNowTap(ctx, s);
    case 'reprotect':
    case 'closeOne':
    case 'cancelStalled':
      return positionActionTap(ctx, s, parsed);
    case 'snoozeAlerts':
      return snoozeTap(ctx, s, parsed);
    default:
      return driftTap(ctx, s, parsed);
  }
}

/** The chat the tapped message lives in must be the card's chat (a copied button elsewhere is refused). */
const tappedChat = (ctx: CallbackCtx): string | null => {
  const chat = ctx.callbackQuery.message?.chat;
  return chat ? String(chat.id) : null;
};

/** APPROVE / PASS: routed by the kind of the card the id names (TRADE or PROMOTION). */
async function decisionTap(ctx: CallbackCtx, s: BotServices, p: ParsedCallback): Promise<void> {
  const view = await s.engine.cards.view(p.id);
  if (!view || (view.kind !== 'TRADE' && view.kind !== 'PROMOTION') || view.card.chatId !== tappedChat(ctx)) {
    await s.auditDenied(ctx, `callback ${describeData(ctx.callbackQuery.data)}`, view ? 'button does not belong to this chat or card kind' : 'unknown card');
    return answerOnce(ctx, NOT_VALID, s.logger);
  }
  return view.kind === 'TRADE' ? cardTap(ctx, s, p, view, TRADE_TAP) : cardTap(ctx, s, p, view, PROMOTION_TAP);
}

/** What differs between a tap on a TRADE card and one on a PROMOTION card: the use case and the words. */
interface DecisionTap<O extends { readonly kind: string }> {
  decide(s: BotServices, cardId: string, decision: Decision, actor: Actor): Promise<O>;
  toast(o: O, timeZone: string): string;
  /** the answer when another tap won the compare-and-set */
  readonly raced: string;
  /** the log line when the decision fails after the tap was answered "working on it" */
  readonly lateFailure: string;
}

const TRADE_TAP: DecisionTap<DecisionOutcome> = {
  decide: (s, cardId, decision, actor) => s.engine.decide(cardId, decision, actor),
  toast: tradeDecisionText,
  raced: 'Someone decided this card at the same moment; your tap did nothing.',
  lateFailure: 'decision failed after the tap was answered',
};

/** SPEC 11: decidePromotion does the T2 ceremony and all the checks. */
const PROMOTION_TAP: DecisionTap<PromotionDecisionOutcome> = {
  decide: (s, cardId, decision, actor) => s.engine.promotions.decide(cardId, decision, actor),
  toast: promotionDecisionText,
  raced: 'Someone decided this promotion at the same moment; your tap did nothing.',
  lateFailure: 'promotion decision failed after the tap was answered',
};

/** The one tap flow: decide within the deadline (else "working on it"), answer once, refresh a stale copy. */
async function cardTap<O extends { readonly kind: string }>(ctx: CallbackCtx, s: BotServices, p: ParsedCallback, view: CardView, tap: DecisionTap<O>): Promise<void> {
  const actor = ctx.phoenix!.actor;
  const work = tap.decide(s, p.id, p.action === 'approve' ? 'APPROVE' : 'PASS', actor);
  let outcome: O | typeof TIMED_OUT;
  try {
    outcome = await withDeadline(work, s.decisionWaitMs, s.engine.clock);
  } catch (e) {
    if (e instanceof ConcurrentChangeError) {
      s.kickSyncer();
      return answerOnce(ctx, tap.raced, s.logger);
    }
    throw e;
  }
  if (outcome === TIMED_OUT) {
    work.then(() => s.kickSyncer()).catch((e: Error) => s.logger.error({ err: e.message, cardId: p.id }, tap.lateFailure));
    return answerOnce(ctx, WORKING, s.logger);
  }
  await answerOnce(ctx, toast(tap.toast(outcome, s.engine.info.timeZone)), s.logger, outcome.kind === 'blocked');
  s.kickSyncer();
  // A tap on an old copy of the card (e.g. a duplicate message): bring that copy up to date.
  if ((outcome.kind === 'noop' || outcome.kind === 'expired') && ctx.callbackQuery.message?.message_id !== view.card.messageId) await refreshTapped(ctx, s, p.id);
}

async function refreshTapped(ctx: CallbackCtx, s: BotServices, cardId: string): Promise<void> {
  const msg = ctx.callbackQuery.message;
  const view = await s.engine.cards.view(cardId);
  if (!msg || !view) return;
  const r = renderCard(view);
  s.edit(msg.chat.id, msg.message_id, r.html, r.keyboard, 'card');
}

async function confirmTap(ctx: CallbackCtx, s: BotServices, p: ParsedCallback): Promise<void> {
  const actor = ctx.phoenix!.actor;
  const view = await s.engine.cards.view(p.id);
  if (!view || view.kind !== 'CONFIRM' || view.card.chatId !== tappedChat(ctx)) {
    await s.auditDenied(ctx, `callback ${describeData(ctx.callbackQuery.data)}`, view ? 'button does not belong to this chat or card kind' : 'unknown confirmation');
    return answerOnce(ctx, NOT_VALID, s.logger);
  }
  const confirmed = p.action === 'confirm';
  // /resume: the card, edited in place, is the one confirmation; the others also post their report
  const report = confirmed && view.card.kind !== 'CONFIRM_RESUME';
  const work = s.engine.answerConfirmation(p.id, confirmed, actor);
  const outcome = await withDeadline(work, s.decisionWaitMs, s.engine.clock);
  const tz = s.engine.info.timeZone;
  if (outcome === TIMED_OUT) {
    work
      .then(async (o) => {
        s.kickSyncer();
        if (o.ok && report) s.reply(ctx, toast(`${actor.name}: ${confirmText(o, tz)}`), CONFIRMED);
      })
      .catch((e: Error) => s.logger.error({ err: e.message, cardId: p.id }, 'confirmation failed after the tap was answered'));
    return answerOnce(ctx, WORKING, s.logger);
  }
  const text = confirmText(outcome, tz);
  await answerOnce(ctx, toast(text), s.logger);
  s.kickSyncer();
  if (outcome.ok && report) s.reply(ctx, `${actor.name}: ${text}`.slice(0, 3500), CONFIRMED);
}

const POSITION_CONFIRM = { reprotect: 'CONFIRM_REPROTECT', closeOne: 'CONFIRM_CLOSE', cancelStalled: 'CONFIRM_CANCEL_STALLED' } as const;

/**
 * 🛡 Re-protect / ⏹ Flatten on an unprotected position, 🔎 Check broker & cancel on a STALLED one:
 * the tap asks for a confirmation card (answered only by the asker, 60 s); nothing happens yet.
 */
async function positionActionTap(ctx: CallbackCtx, s: BotServices, p: ParsedCallback): Promise<void> {
  const view = await s.engine.cards.view(p.id);
  if (!view || view.kind !== 'TRADE' || view.card.chatId !== tappedChat(ctx)) {
    await s.auditDenied(ctx, `callback ${describeData(ctx.callbackQuery.data)}`, view ? 'button does not belong to this chat or card kind' : 'unknown card');
    return answerOnce(ctx, NOT_VALID, s.logger);
  }
  // only what the card offers right now (forged or old data for another state is refused)
  const offered = p.action === 'cancelStalled' ? view.intent.state === 'STALLED' : p.action === 'reprotect' ? (view.unprotected?.open ?? 0) > 0 : view.unprotected !== null;
  if (!offered) {
    await s.auditDenied(ctx, `callback ${describeData(ctx.callbackQuery.data)}`, `${p.action} is not offered on this card now (${view.intent.state})`);
    return answerOnce(ctx, NOT_VALID, s.logger);
  }
  const kind = POSITION_CONFIRM[p.action as keyof typeof POSITION_CONFIRM];
  const r = await s.engine.requestConfirmation(kind, ctx.phoenix!.actor, view.intent.id);
  s.kickSyncer();
  return answerOnce(ctx, r.ok ? 'Confirm in the message below (60 s); only you can.' : confirmRequestText(r), s.logger);
}

async function driftTap(ctx: CallbackCtx, s: BotServices, p: ParsedCallback): Promise<void> {
  const actor = ctx.phoenix!.actor;
  const resolution = RESOLUTION[p.action];
  if (!resolution) return answerOnce(ctx, NOT_VALID, s.logger);
  if (!rankAtLeast(ctx.phoenix!.rank, 'approver')) {
    await s.auditDenied(ctx, `resolve drift ${p.id}`, 'approver or admin role needed');
    return answerOnce(ctx, 'Not allowed: only approvers and admins resolve drift.', s.logger);
  }
  const r = await s.engine.drift.resolve(p.id, resolution, `resolved from Telegram by ${actor.name}`, actor);
  await answerOnce(ctx, toast(driftText(r)), s.logger);
  s.kickSyncer();
  await refreshDrift(ctx, s, p.id);
}

/** Edit the tapped drift message so it shows that drift now (resolved: by whom, and no buttons). */
async function refreshDrift(ctx: CallbackCtx, s: BotServices, driftId: string): Promise<void> {
  const msg = ctx.callbackQuery.message;
  if (!msg) return;
  const r = renderDrift(await s.engine.drift.get(driftId), s.engine.now(), s.engine.info.timeZone, rankAtLeast(ctx.phoenix!.rank, 'approver'), driftId);
  s.edit(msg.chat.id, msg.message_id, r.html, r.keyboard, 'rest');
}

/** "Check now" (SPEC 8, 12): any configured user; reconciliation only reads and records drifts, and is rate-limited by the engine. */
async function checkNowTap(ctx: CallbackCtx, s: BotServices): Promise<void> {
  const actor = ctx.phoenix!.actor;
  const work = s.engine.reconcileNow(`check now by ${actor.name} (Telegram)`);
  const r = await withDeadline(work, s.decisionWaitMs, s.engine.clock);
  if (r === TIMED_OUT) {
    work.then(() => refreshDriftList(ctx, s)).catch((e: Error) => s.logger.error({ err: e.message }, 'reconcile now failed'));
    return answerOnce(ctx, 'Checking with the broker — the list will update.', s.logger);
  }
  await answerOnce(ctx, toast(reconcileText(r) || 'Checked.'), s.logger);
  await refreshDriftList(ctx, s);
}

/** Edit the /drift message that was tapped so it shows the current list. */
async function refreshDriftList(ctx: CallbackCtx, s: BotServices): Promise<void> {
  const msg = ctx.callbackQuery.message;
  if (!msg) return;
  const r = renderDriftList(await s.engine.drift.list(), s.engine.now(), s.engine.info.timeZone);
  s.edit(msg.chat.id, msg.message_id, r.html, r.keyboard, 'rest');
}

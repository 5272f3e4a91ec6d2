/**
 * Read models for transports (the Telegram bot first; a REST or CLI transport can reuse
 * them unchanged). Plain data, no formatting.
 *
 *   cardView(ctx, cardId)          one card with what its message shows (TRADE: intent,
 *                                  latest token, orders, limits; CONFIRM_*: kill flags and
 *                                  open positions; DRIFT: the drift; PROMOTION: the request,
 *                                  its bundle and decision, the strategy now — see
 *                                  promotion.usecase promotionCardView — and, when APPROVE was
 *                                  refused at the re-check, every item that blocked it)
 *   dirtyCards(ctx, limit)         the card outbox: cards whose version > renderedVersion
 *   markCardRendered(...)          outbox acknowledgement (a message now shows `version`)
 *   listPositions / listWorkingOrders / listPending    /positions /orders /pending
 *                                  (/drift lists through drift.usecase listUnresolvedDrifts)
 *   recordAccessDenied(ctx, …)     an ACCESS_DENIED bead for a refusal no use case saw
 *                                  (strangers, unknown chats, malformed callback data)
 *
 * The two writes are bookkeeping of the transport, not business state changes: they never
 * touch intents, tokens, orders or kill flags.
 */
import { CONFIRMS, intentOf, isConfirmKind } from './confirm.usecase.js';
import type { EngineContext } from './context.js';
import { isExitReserved, openAtBroker } from './flatten.usecase.js';
import { currentHold } from './gateway-day.usecase.js';
import { stopWorks } from './protection.usecase.js';
import type { CardRecord, IntentRecord, KillFlag, Mode, OrderRecord, TokenRecord } from './domain.js';
import { promotionCardView, type PromotionCardView } from './promotion.usecase.js';
import type { DriftRecord, Tx } from './store.port.js';
import { AWAITING_DECISION, HOLDING, OPEN_STATES, isIn } from './lifecycle.fsm.js';

/** The risk limits a card shows next to the numbers they limit. */
export interface CardLimits {
  readonly maxRiskPerTradeUsd: number;
  readonly minDvs: number;
  readonly minEqs: number;
  /** the stale-state TTL that applies to this intent (regime override or default) */
  readonly staleTtlSec: number;
  readonly tokenTtlSec: number;
}

interface ViewBase {
  readonly card: CardRecord;
  /** engine time at read */
  readonly now: number;
  readonly mode: Mode;
  readonly demo: boolean;
  /** the constitution's time zone: every time on a card is shown in it (SPEC 12) */
  readonly timeZone: string;
}

export interface TradeCardView extends ViewBase {
  readonly kind: 'TRADE';
  readonly intent: IntentRecord;
  readonly token: TokenRecord | null;
  readonly orders: readonly OrderRecord[];
  readonly limits: CardLimits;
  /**
   * Open at the broker with no working stop (MONEY-1): what is open (signed) and the stop's state;
   * null when protected, flat, or a flatten is closing it.
   */
  readonly unprotected: { readonly open: number; readonly stop: string } | null;
  /** why new entries are held right now (IB Gateway restart window / waiting for its login), or null */
  readonly hold?: string | null;
  /** the broker right now, for an approved card that waits for it ("down since 10:02 EST") */
  readonly broker: BrokerNow;
}

export interface BrokerNow {
  readonly canSubmit: boolean;
  readonly state: string;
  readonly detail: string | null;
  /** when the broker last stopped being ready (its last IBKR_SESSION bead), when it is not ready now */
  readonly downSince: number | null;
}

export interface ConfirmCardView extends ViewBase {
  readonly kind: 'CONFIRM';
  readonly activeKills: readonly KillFlag[];
  /** intents holding (or possibly holding) broker exposure right now */
  readonly open: readonly IntentRecord[];
  /** the one position a per-position confirmation is about (re-protect, close, stalled cancel) */
  readonly intent: IntentRecord | null;
}

export interface DriftCardView extends ViewBase {
  readonly kind: 'DRIFT';
  readonly drift: DriftRecord | null;
}

/** A PROMOTION card (SPEC 11): promotionCardView plus what blocked an APPROVE, if anything did. */
export interface PromotionView extends PromotionCardView {
  /**
   * The missing items (`CODE: message`) of the PROMOTION REFUSED bead written when an APPROVE
   * on this card failed the re-check; empty otherwise. Read from the audit chain, so the card
   * lists exactly what the bead recorded.
   */
  readonly blockedBy: readonly string[];
  readonly timeZone: string;
}

/** A card kind this version has no special view for, a TRADE card whose intent vanished, or a PROMOTION card whose request is gone. */
export interface OtherCardView extends ViewBase {
  readonly kind: 'OTHER';
}

export type CardView = TradeCardView | ConfirmCardView | DriftCardView | PromotionView | OtherCardView;

export async function cardView(ctx: EngineContext, cardId: string): Promise<CardView | null> {
  const now = ctx.clock.now();
  const base = { now, mode: ctx.mode, demo: ctx.constitution.demo, timeZone: ctx.constitution.session.timeZone };
  const view = await ctx.store.tx(async (tx): Promise<CardView | 'PROMOTION' | null> => {
    const card = await tx.cards.get(cardId);
    if (!card) return null;
    if (card.kind === 'PROMOTION') return 'PROMOTION';
    if (card.kind === 'TRADE') {
      const intent = await tx.intents.get(card.subjectId);
      if (!intent) return { ...base, kind: 'OTHER', card };
      const c = ctx.constitution;
      const orders = await tx.orders.listByIntent(intent.id);
      const open = isIn(HOLDING, intent.state) ? openAtBroker(intent, orders) : 0;
      const naked = open !== 0 && !isExitReserved(orders) && !(open > 0 && stopWorks(orders));
      return {
        ...base,
        kind: 'TRADE',
        card,
        intent,
        token: await tx.tokens.latestForIntent(intent.id),
        orders,
        unprotected: naked ? { open, stop: orders.find((o) => o.role === 'STOP')?.status ?? 'none' } : null,
        broker: await brokerNow(ctx, tx),
        hold: currentHold(ctx),
        limits: {
          maxRiskPerTradeUsd: c.limits.maxRiskPerTradeUsd,
          minDvs: c.limits.minDvs,
          minEqs: c.limits.minEqs,
          staleTtlSec: (intent.regime ? c.staleState.regimeTtlSec[intent.regime] : undefined) ?? c.staleState.ttlSec,
          tokenTtlSec: c.approval.tokenTtlSec,
        },
      };
    }
    if (isConfirmKind(card.kind)) {
      const subject = CONFIRMS[card.kind].perIntent ? await tx.intents.get(intentOf(card)) : null;
      return { ...base, kind: 'CONFIRM', card, activeKills: await tx.kills.active(now), open: await tx.intents.listByState(OPEN_STATES), intent: subject };
    }
    if (card.kind === 'DRIFT') return { ...base, kind: 'DRIFT', card, drift: await tx.drifts.get(card.subjectId) };
    return { ...base, kind: 'OTHER', card };
  });
  return view === 'PROMOTION' ? promotionView(ctx, cardId) : view;
}

async function brokerNow(ctx: EngineContext, tx: Tx): Promise<BrokerNow> {
  const h = ctx.broker.health();
  if (h.canSubmit) return { canSubmit: true, state: h.state, detail: h.detail ?? null, downSince: null };
  const last = await tx.beads.latestOfType('IBKR_SESSION');
  let since: number | null = null;
  try {
    since = last && (JSON.parse(last.payload) as { state?: string }).state !== 'READY' ? last.ts : null;
  } catch {
    since = null;
  }
  return { canSubmit: false, state: h.state, detail: h.detail ?? null, downSince: since };
}

async function promotionView(ctx: EngineContext, cardId: string): Promise<CardView | null> {
  const v = await promotionCardView(ctx, cardId);
  if (!v) {
    const card = await ctx.store.tx((tx) => tx.cards.get(cardId));
    return card ? { kind: 'OTHER', card, now: ctx.clock.now(), mode: ctx.mode, demo: ctx.constitution.demo, timeZone: ctx.constitution.session.timeZone } : null;
  }
  const timeZone = ctx.constitution.session.timeZone;
  if (v.promotion.decision?.event !== 'REFUSED') return { ...v, blockedBy: [], timeZone };
  const blockedBy = await ctx.store.tx(async (tx) => {
    let last: readonly string[] = [];
    for (const b of await tx.beads.listByIntent(v.promotion.id)) {
      if (b.type !== 'PROMOTION') continue;
      const p = JSON.parse(b.payload) as { event?: string; cardId?: string; missing?: unknown };
      if (p.event === 'REFUSED' && p.cardId === cardId && Array.isArray(p.missing)) last = p.missing.filter((x): x is string => typeof x === 'string');
    }
    return last;
  });
  return { ...v, blockedBy, timeZone };
}

/** Cards whose message must be sent or edited, oldest change first. */
export async function dirtyCards(ctx: EngineContext, limit = 50): Promise<CardRecord[]> {
  return ctx.store.tx((tx) => tx.cards.listDirty(limit));
}

/**
 * The message for `cardId` now shows `version` (and lives at `messageId` when it was just
 * sent). A newer version written meanwhile keeps the card dirty.
 */
export async function markCardRendered(ctx: EngineContext, cardId: string, version: number, messageId: number | null): Promise<void> {
  await ctx.store.tx((tx) => tx.cards.markRendered(cardId, version, messageId));
}

/** Positions Phoenix holds: entry filled (fully or partly) and not closed. */
export async function listPositions(ctx: EngineContext): Promise<IntentRecord[]> {
  return ctx.store.tx((tx) => tx.intents.listByState(HOLDING));
}

export interface WorkingOrderRow {
  readonly order: OrderRecord;
  readonly intent: IntentRecord | null;
}

/** Orders Phoenix believes are working (or pending/unknown) at the broker, with their intent. */
export async function listWorkingOrders(ctx: EngineContext): Promise<WorkingOrderRow[]> {
  return ctx.store.tx(async (tx) => {
    const orders = await tx.orders.listWorking();
    const intents = new Map<string, IntentRecord | null>();
    for (const o of orders) if (!intents.has(o.intentId)) intents.set(o.intentId, await tx.intents.get(o.intentId));
    return orders.map((order) => ({ order, intent: intents.get(order.intentId) ?? null }));
  });
}

export interface PendingRow {
  readonly intent: IntentRecord;
  readonly card: CardRecord | null;
}

/** Intents waiting for a human decision (PROPOSED), with their card. */
export async function listPending(ctx: EngineContext): Promise<PendingRow[]> {
  return ctx.store.tx(async (tx) => {
    const out: PendingRow[] = [];
    for (const intent of await tx.intents.listByState(AWAITING_DECISION)) out.push({ intent, card: await tx.cards.bySubject(intent.id, 'TRADE') });
    return out;
  });
}

export interface AccessDenial {
  readonly userId: string;
  readonly chatId: string | null;
  /** what was attempted, e.g. "command /status" or "callback v1:a:…" (capped at 200 characters) */
  readonly action: string;
  readonly reason: string;
  readonly intentId?: string | null;
}

/** Audit a refusal that happened before any use case was reached. */
export async function recordAccessDenied(ctx: EngineContext, d: AccessDenial): Promise<void> {
  const now = ctx.clock.now();
  await ctx.store.tx(async (tx) => {
    tx.beads.append({
      type: 'ACCESS_DENIED',
      intentId: d.intentId ?? null,
      ts: now,
      payload: { userId: d.userId.slice(0, 32), chatId: d.chatId?.slice(0, 32) ?? null, action: d.action.slice(0, 200), reason: d.reason.slice(0, 200) },
    });
  });
}

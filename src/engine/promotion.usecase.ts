/**
 * Strategy promotion, SHADOW → LIVE (SPEC 11, issue 7; seed SURFACE_5_PROMOTION + FLAG_D).
 *
 * The ceremony:
 *   0. /promote NAME (admin) → `requestPromotion`: the evidence bundle is assembled from the
 *      strategy's current shadow period (shadow-record.ts) plus the safety state. Refused —
 *      a PROMOTION bead REFUSED listing EVERY missing item — when the evidence is incomplete
 *      (INV-PROMOTION-EVIDENCE-1: ≥ 20 sessions, ≥ 2 distinct regimes incl. trend and range,
 *      ≥ promotion.minSimulatedTrades simulated trades — all from would-have-been-proposed
 *      intents only, MONEY-7),
 *      a kill flag is active (INV-PROMOTION-SAFE-1), a drift is unresolved
 *      (INV-PROMOTION-SAFE-2), the strategy is not a registered SHADOW strategy, or a
 *      promotion card for it is already open.
 *   1. Otherwise a PROMOTION card (5 min) and a REQUESTED bead carrying the bundle and its
 *      SHA-256 (canonical JSON). The request is stored under kv `promotion:<id>`; the id
 *      (prm_…) is the card's subjectId and the `intentId` of every bead of the ceremony, so
 *      `phoenix audit export --intent prm_…` tells the whole story in one query.
 *   2. APPROVE (approver/admin) → `decidePromotion`, ONE transaction: a single-use PROMOTION
 *      token bound to the bundle hash is issued (T2_TOKEN ISSUED), the safety conditions and
 *      the evidence are re-checked at that moment, the token is consumed by compare-and-set
 *      (T2_TOKEN USED), the PROMOTION bead APPROVED is emitted and the stage flips to LIVE.
 *      A failed re-check rejects the token (REJECTED, marked dead) and refuses (REFUSED);
 *      a lost compare-and-set rolls everything back. PASS closes the card (PASSED).
 *      An expired card does nothing (EXPIRED bead, card marked expired).
 *
 * INV-PROMOTION-T2-1: `approveInTx` below is the only code in Phoenix that writes stage LIVE
 * (test/engine/promotion.t2.test.ts scans the sources to prove it), and it does so only after the
 * token's compare-and-set consume succeeded in the same transaction.
 *
 * Entry points (the bot calls these with engine.ctx):
 *   requestPromotion(ctx, name, actor)                  /promote NAME
 *   decidePromotion(ctx, cardId, 'APPROVE'|'PASS', actor)   the promotion card's buttons (promotion.decision.ts)
 *   promotionCardView(ctx, cardId)                      what a PROMOTION card shows
 *   previewPromotion(ctx, name)                         the bundle and gaps, read-only
 */
import { canonicalJson, sha256Hex } from './canonical.js';
import type { CardDecision } from './card-decision.js';
import { actorRef, type EngineContext } from './context.js';
import type { Actor, CardRecord, KillFlag, Mode } from './domain.js';
import {
  evidenceMissing,
  promotionRequirements,
  shadowRecord,
  type MissingItem,
  type PromotionRequirements,
  type ShadowObservation,
  type ShadowStats,
} from './shadow-record.js';
import type { PromotionRequestOutcome } from './promotion.outcome.js';
import type { DriftRecord, PromotionDecisionRecord, PromotionRecord, StrategyRecord, Tx } from './store.port.js';
import { STRATEGY_NAME_MAX, normaliseStrategyName, viewOf, type StrategyView } from './strategy.usecase.js';
import { clockTime, dateClockTime, isoUtc } from './people-time.js';

export type { MissingItem } from './shadow-record.js';

/** How long a promotion card stays open. */
export const PROMOTION_CARD_TTL_MS = 5 * 60_000;

const MODEL =
  'entry at entryPrice (would-have-been-proposed intents only); exit at stop or target when a later same-day shadow intent on the instrument prices at or beyond it; otherwise UNKNOWN and left out of P&L';

export interface PromotionBundle {
  readonly kind: 'PROMOTION_BUNDLE';
  /** 2: evidence counts only would-have-been-proposed intents, with a minimum of simulated trades (MONEY-7) */
  readonly version: 2;
  readonly strategy: string;
  /** start of the current shadow period (ISO) */
  readonly shadowSince: string;
  /** when the bundle was assembled (ISO) */
  readonly asOf: string;
  readonly requirements: PromotionRequirements;
  readonly evidence: ShadowStats;
  readonly model: string;
  readonly safety: {
    readonly activeKillFlags: readonly { readonly id: string; readonly kind: string; readonly reason: string; readonly setBy: string }[];
    readonly unresolvedDrifts: readonly { readonly id: string; readonly type: string; readonly severity: string; readonly detectedAt: string }[];
  };
  /** every unmet requirement (`CODE: message`); empty in a bundle that went to a card */
  readonly missing: readonly string[];
}

export type { PromotionDecisionRecord } from './store.port.js';

/** A promotion request as stored (the Store's PromotionRepo). */
export type PendingPromotion = PromotionRecord;

export type { PromotionDecisionOutcome, PromotionRequestOutcome } from './promotion.outcome.js';
export type PromotionDecision = CardDecision;

export interface PromotionCardView {
  readonly kind: 'PROMOTION';
  readonly card: CardRecord;
  readonly promotion: PendingPromotion;
  /** the strategy as it is now (LIVE after approval) */
  readonly strategy: StrategyView;
  readonly now: number;
  readonly mode: Mode;
  readonly demo: boolean;
}

export const line = (m: MissingItem) => `${m.code}: ${m.message}`;

export function bundleHash(bundle: PromotionBundle): string {
  return `sha256:${sha256Hex(canonicalJson(bundle))}`;
}

// ---------------------------------------------------------------------------------------
// /promote NAME

export async function requestPromotion(ctx: EngineContext, rawName: string, actor: Actor): Promise<PromotionRequestOutcome> {
  if (!actor.roles.includes('admin')) {
    await ctx.store.tx(async (tx) => {
      tx.beads.append({ type: 'ACCESS_DENIED', intentId: null, ts: ctx.clock.now(), payload: { userId: actor.id, chatId: null, action: `promote ${rawName.trim().slice(0, 64)}`, reason: 'admin role needed' } });
    });
    return { kind: 'denied', needs: ['admin'] };
  }
  const name = normaliseStrategyName(rawName);
  if (!name) return { kind: 'refused', why: 'BAD_NAME', promotionId: null, strategy: rawName, maxLength: STRATEGY_NAME_MAX, missing: [], bundle: null };
  const out = await ctx.store.tx(async (tx): Promise<PromotionRequestOutcome> => {
    const now = ctx.clock.now();
    const promotionId = `prm_${ctx.random.id(14)}`;
    const rec = await tx.strategies.get(name);
    const refuse = (missing: MissingItem[], bundle: PromotionBundle | null, from: string): PromotionRequestOutcome => {
      tx.beads.append({
        type: 'PROMOTION',
        intentId: promotionId,
        ts: now,
        payload: { strategy: name, from, to: 'LIVE', event: 'REFUSED', missing: missing.map(line), actor: actorRef(actor), promotionId, ...(bundle ? { bundle, bundleHash: bundleHash(bundle) } : {}) },
      });
      return { kind: 'refused', why: 'MISSING', promotionId, strategy: name, missing, bundle };
    };
    if (!rec || rec.stage !== 'SHADOW') return refuse([notShadow(name, rec, ctx.constitution.session.timeZone)], null, rec?.stage ?? 'UNREGISTERED');

    const pending: MissingItem[] = [];
    for (const p of await openPromotionsOf(tx, name, ctx, now)) {
      pending.push({ code: 'PROMOTION_PENDING', message: `a promotion card for ${name} is already open (card ${p.cardId}, until ${clockTime(p.expiresAt, ctx.constitution.session.timeZone)})` });
    }
    const { bundle, missing } = await assemble(ctx, tx, rec, now, pending);
    if (missing.length) return refuse(missing, bundle, rec.stage);

    const hash = bundleHash(bundle);
    const card: CardRecord = {
      id: ctx.random.id(10),
      kind: 'PROMOTION',
      subjectId: promotionId,
      chatId: ctx.chatId,
      messageId: null,
      status: 'OPEN',
      version: 1,
      renderedVersion: 0,
      expiresAt: now + PROMOTION_CARD_TTL_MS,
      decidedBy: null,
      decidedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    await tx.cards.insert(card);
    const record: PendingPromotion = { id: promotionId, strategy: name, cardId: card.id, bundle, bundleHash: hash, requestedBy: actorRef(actor), requestedAt: now, expiresAt: card.expiresAt, decision: null };
    await tx.promotions.save(record, now);
    tx.beads.append({ type: 'PROMOTION', intentId: promotionId, ts: now, payload: { strategy: name, from: 'SHADOW', to: 'LIVE', event: 'REQUESTED', bundle, bundleHash: hash, promotionId, cardId: card.id, actor: actorRef(actor) } });
    tx.beads.append({ type: 'CARD', intentId: promotionId, ts: now, payload: { cardId: card.id, kind: 'PROMOTION', event: 'CREATED' } });
    return {
      kind: 'requested',
      promotionId,
      cardId: card.id,
      expiresAt: card.expiresAt,
      strategy: name,
      bundle,
      bundleHash: hash,
    };
  });
  ctx.notify();
  return out;
}

/** The bundle and what is missing, without recording anything (a preview for the bot or CLI). */
export async function previewPromotion(ctx: EngineContext, rawName: string): Promise<{ readonly strategy: StrategyView; readonly bundle: PromotionBundle | null; readonly missing: readonly MissingItem[] } | null> {
  const name = normaliseStrategyName(rawName);
  if (!name) return null;
  return ctx.store.tx(async (tx) => {
    const now = ctx.clock.now();
    const rec = await tx.strategies.get(name);
    if (!rec || rec.stage !== 'SHADOW') return { strategy: viewOf(name, rec), bundle: null, missing: [notShadow(name, rec, ctx.constitution.session.timeZone)] };
    const { bundle, missing } = await assemble(ctx, tx, rec, now, []);
    return { strategy: viewOf(name, rec), bundle, missing };
  });
}

export function notShadow(name: string, rec: StrategyRecord | null, timeZone: string): MissingItem {
  if (!rec) return { code: 'NOT_REGISTERED', message: `strategy ${name} is not registered (unregistered strategies already run LIVE; register it to start a shadow period)` };
  return { code: 'NOT_SHADOW', message: `strategy ${name} is already ${rec.stage} (since ${dateClockTime(rec.since, timeZone)})` };
}

/** Build the bundle from the store at `now`; list every gap (extra items first). */
export async function assemble(ctx: EngineContext, tx: Tx, rec: StrategyRecord, now: number, extra: readonly MissingItem[]): Promise<{ bundle: PromotionBundle; missing: MissingItem[] }> {
  const observations: ShadowObservation[] = [];
  for (const i of await tx.intents.listByStrategy(rec.name, rec.since)) {
    if (!i.shadow) continue;
    observations.push({
      id: i.id,
      createdAt: i.createdAt,
      instrumentKey: i.instrumentKey,
      side: i.side,
      quantity: i.quantity,
      multiplier: i.instrument.multiplier ?? 1,
      entryPrice: i.entryPrice,
      stopLoss: i.stopLoss,
      takeProfit: i.takeProfit,
      regime: i.regime,
      failedRedChecks: i.payload.evidence.redChecks.filter((c) => !c.passed).length,
      denials: await intakeDenials(tx, i.id),
    });
  }
  const record = shadowRecord(observations, ctx.constitution.session);
  const kills = await tx.kills.active(now);
  const drifts = await tx.drifts.unresolved();
  const requirements = promotionRequirements(ctx.constitution);
  const missing = [...extra, ...evidenceMissing(record.stats, requirements), ...safetyMissing(kills, drifts, ctx.constitution.session.timeZone)];
  const bundle: PromotionBundle = {
    kind: 'PROMOTION_BUNDLE',
    version: 2,
    strategy: rec.name,
    shadowSince: isoUtc(rec.since),
    asOf: isoUtc(now),
    requirements,
    evidence: record.stats,
    model: MODEL,
    safety: {
      activeKillFlags: kills.map((k) => ({ id: k.id, kind: k.kind, reason: k.reason, setBy: k.setBy })),
      unresolvedDrifts: drifts.map((d) => ({ id: d.id, type: d.type, severity: d.severity, detectedAt: isoUtc(d.detectedAt) })),
    },
    missing: missing.map(line),
  };
  return { bundle, missing };
}

/**
 * The INTAKE gate refusals of one shadow intent, from its GATE bead (the audit record of the
 * evaluation). No bead found → counted as refused ('NO_GATE_RECORD'): never a simulated trade.
 */
async function intakeDenials(tx: Tx, intentId: string): Promise<string[]> {
  for (const b of await tx.beads.listByIntent(intentId)) {
    if (b.type !== 'GATE') continue;
    const p = JSON.parse(b.payload) as { stage?: string; denials?: { code: string; wait?: boolean }[] };
    if (p.stage !== 'INTAKE') continue;
    return (p.denials ?? []).filter((d) => !d.wait).map((d) => d.code);
  }
  return ['NO_GATE_RECORD'];
}

/** INV-PROMOTION-SAFE-1 / -2: every active kill flag and every unresolved drift is a gap. */
export function safetyMissing(kills: readonly KillFlag[], drifts: readonly DriftRecord[], timeZone: string): MissingItem[] {
  return [
    ...kills.map((k): MissingItem => ({ code: 'KILL_FLAG_ACTIVE', message: `kill flag active (${k.kind.toLowerCase()}: ${k.reason}, set by ${k.setBy})` })),
    ...drifts.map((d): MissingItem => ({ code: 'DRIFT_UNRESOLVED', message: `unresolved drift ${d.type} (${d.severity}) since ${clockTime(d.detectedAt, timeZone)}` })),
  ];
}

// ---------------------------------------------------------------------------------------
// The card's state (its buttons: promotion.decision.ts)

export async function finishCard(tx: Tx, card: CardRecord, p: PendingPromotion, actor: Actor, now: number, decision: PromotionDecisionRecord): Promise<void> {
  await tx.cards.update(card.id, { status: 'DECIDED', decidedBy: actor.name, decidedAt: now, updatedAt: now });
  await tx.cards.touch(card.id, now);
  await tx.promotions.save({ ...p, decision }, now);
}

export async function expirePromotion(ctx: EngineContext, tx: Tx, card: CardRecord, p: PendingPromotion): Promise<void> {
  const now = ctx.clock.now();
  await tx.cards.update(card.id, { status: 'EXPIRED', updatedAt: now });
  await tx.cards.touch(card.id, now);
  await tx.promotions.save({ ...p, decision: { event: 'EXPIRED', by: null, at: now } }, now);
  tx.beads.append({ type: 'PROMOTION', intentId: p.id, ts: now, payload: { strategy: p.strategy, from: 'SHADOW', to: 'SHADOW', event: 'EXPIRED', promotionId: p.id, cardId: card.id, bundleHash: p.bundleHash } });
  tx.beads.append({ type: 'CARD', intentId: p.id, ts: now, payload: { cardId: card.id, kind: card.kind, event: 'EXPIRED' } });
}

// ---------------------------------------------------------------------------------------
// Shared with the registry (demote withdraws pending promotions) and the bot's card view

export async function loadPending(tx: Tx, promotionId: string): Promise<PendingPromotion | null> {
  return tx.promotions.get(promotionId);
}

/**
 * Open promotion cards of a strategy. With `ctx`, cards whose time ran out are expired on the
 * way (EXPIRED bead) and not returned.
 */
export async function openPromotionsOf(tx: Tx, strategy: string, ctx?: EngineContext, now?: number): Promise<(PendingPromotion & { readonly card: CardRecord })[]> {
  const out: (PendingPromotion & { readonly card: CardRecord })[] = [];
  for (const card of await tx.cards.listOpen('PROMOTION')) {
    const p = await loadPending(tx, card.subjectId);
    if (!p || p.strategy !== strategy) continue;
    if (ctx && now !== undefined && now >= card.expiresAt) {
      await expirePromotion(ctx, tx, card, p);
      continue;
    }
    out.push({ ...p, card });
  }
  return out;
}

/** Withdraw an open promotion card (e.g. the strategy was demoted meanwhile). */
export async function closePromotionCard(ctx: EngineContext, tx: Tx, p: PendingPromotion & { readonly card: CardRecord }, actor: Actor, reason: string): Promise<void> {
  const now = ctx.clock.now();
  await tx.cards.update(p.card.id, { status: 'CLOSED', decidedBy: actor.name, decidedAt: now, updatedAt: now });
  await tx.cards.touch(p.card.id, now);
  const { card: _card, ...stored } = p;
  await tx.promotions.save({ ...stored, decision: { event: 'WITHDRAWN', by: actor.name, at: now, reason } }, now);
  tx.beads.append({ type: 'PROMOTION', intentId: p.id, ts: now, payload: { strategy: p.strategy, from: 'SHADOW', to: 'SHADOW', event: 'WITHDRAWN', promotionId: p.id, cardId: p.card.id, bundleHash: p.bundleHash, actor: actorRef(actor), reason } });
}

/** What a PROMOTION card shows: the request with its bundle, its decision, the strategy now. */
export async function promotionCardView(ctx: EngineContext, cardId: string): Promise<PromotionCardView | null> {
  const now = ctx.clock.now();
  return ctx.store.tx(async (tx) => {
    const card = await tx.cards.get(cardId);
    if (!card || card.kind !== 'PROMOTION') return null;
    const promotion = await loadPending(tx, card.subjectId);
    if (!promotion) return null;
    return { kind: 'PROMOTION', card, promotion, strategy: viewOf(promotion.strategy, await tx.strategies.get(promotion.strategy)), now, mode: ctx.mode, demo: ctx.constitution.demo };
  });
}

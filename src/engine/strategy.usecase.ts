/**
 * Strategy registry (SPEC 11, issue 7): name, stage SHADOW | LIVE, since when, changed by whom
 * (the Strategy table).
 *
 * Unregistered strategies — the rule, and why:
 *   An intent whose strategy has NO Strategy row keeps today's behaviour: it is LIVE (carded,
 *   approvable). Every existing flow (demo generator, intake tests, strategies already wired
 *   to the webhook) keeps working, and intake already reads the stage this way
 *   (`strategies.get(name)?.stage ?? 'LIVE'`).
 *   Safety comes from the one-way door instead: `registerStrategy` creates a strategy as
 *   SHADOW (never LIVE), rows are never deleted, and once a strategy is registered the ONLY
 *   way to LIVE is the T2-gated promotion ceremony (promotion.usecase `decidePromotion`,
 *   INV-PROMOTION-T2-1). A new strategy should therefore be registered before its first
 *   intent; registering one that already sent intents puts it in SHADOW at once.
 *   `demote` is the fast path back to SHADOW: admin, no ceremony, effective immediately.
 *
 * Entry points (the bot wires /demote NAME and any registry command to these):
 *   registerStrategy(ctx, name, actor)          admin; creates SHADOW (idempotent)
 *   demote(ctx, name, actor, reason?)           admin; → SHADOW now (PROMOTION bead DEMOTED)
 *   getStrategy(ctx, name) / listStrategies(ctx)   read model (effective stage included)
 */
import { actorRef, transition, type EngineContext } from './context.js';
import type { Actor } from './domain.js';
import { notAllowed, type NotAllowed } from './outcome.js';
import { closePromotionCard, openPromotionsOf } from './promotion.usecase.js';
import type { StrategyRecord, Tx } from './store.port.js';
import { AWAITING_DECISION } from './lifecycle.fsm.js';

export type Stage = StrategyRecord['stage'];

export interface StrategyView {
  readonly name: string;
  /** effective stage: an unregistered strategy is LIVE (see the file header) */
  readonly stage: Stage;
  readonly registered: boolean;
  readonly since: number | null;
  readonly changedBy: string | null;
}

/**
 * What /register and /demote did, as data (src/present/strategy.text.ts words it). `strategy` is
 * the strategy after the command; `cancelled` counts its open trade cards closed on the way,
 * `withdrawn` its pending promotion cards.
 */
export type StrategyOutcome =
  | { readonly ok: true; readonly code: 'REGISTERED'; readonly changed: true; readonly strategy: StrategyView; readonly cancelled: number }
  | { readonly ok: true; readonly code: 'ALREADY_REGISTERED'; readonly changed: false; readonly strategy: StrategyView }
  | { readonly ok: true; readonly code: 'DEMOTED'; readonly changed: true; readonly strategy: StrategyView; readonly by: string; readonly cancelled: number }
  | { readonly ok: true; readonly code: 'ALREADY_SHADOW'; readonly changed: boolean; readonly strategy: StrategyView; readonly withdrawn: number }
  | { readonly ok: false; readonly code: 'BAD_NAME'; readonly maxLength: number }
  | NotAllowed;

/** a strategy name's longest length (characters) */
export const STRATEGY_NAME_MAX = 64;
const BAD_NAME: StrategyOutcome = { ok: false, code: 'BAD_NAME', maxLength: STRATEGY_NAME_MAX };

/** Same shape as the intent's `strategy` field: trimmed, 1–64 characters, printable. */
export function normaliseStrategyName(raw: string): string | null {
  const name = raw.trim();
  if (!name || name.length > STRATEGY_NAME_MAX || /[\u0000-\u001f\u007f]/.test(name)) return null;
  return name;
}

/** The effective stage of a strategy inside a transaction (unregistered → LIVE). */
export async function effectiveStage(tx: Tx, name: string): Promise<Stage> {
  return (await tx.strategies.get(name))?.stage ?? 'LIVE';
}

export function viewOf(name: string, rec: StrategyRecord | null): StrategyView {
  return rec ? { name: rec.name, stage: rec.stage, registered: true, since: rec.since, changedBy: rec.changedBy } : { name, stage: 'LIVE', registered: false, since: null, changedBy: null };
}

/** Register a strategy as SHADOW. Idempotent: a registered strategy is left as it is. */
export async function registerStrategy(ctx: EngineContext, rawName: string, actor: Actor): Promise<StrategyOutcome> {
  const name = normaliseStrategyName(rawName);
  if (!name) return BAD_NAME;
  if (!actor.roles.includes('admin')) return denied(ctx, actor, `register strategy ${name}`);
  const now = ctx.clock.now();
  const out = await ctx.store.tx(async (tx): Promise<StrategyOutcome> => {
    const existing = await tx.strategies.get(name);
    if (existing) return { ok: true, code: 'ALREADY_REGISTERED', changed: false, strategy: viewOf(name, existing) };
    // stage literal at the write: INV-PROMOTION-T2-1's source scan checks every upsert's stage
    await tx.strategies.upsert({ name, stage: 'SHADOW', since: now, changedBy: actor.name });
    const rec: StrategyRecord = { name, stage: 'SHADOW', since: now, changedBy: actor.name };
    tx.beads.append({ type: 'PROMOTION', intentId: null, ts: now, payload: { strategy: name, from: 'UNREGISTERED', to: 'SHADOW', event: 'REGISTERED', actor: actorRef(actor) } });
    const cancelled = await cancelProposed(ctx, tx, name, actor, `strategy ${name} registered as SHADOW by ${actor.name}`);
    return { ok: true, code: 'REGISTERED', changed: true, strategy: viewOf(name, rec), cancelled };
  });
  if (out.ok && out.changed) ctx.notify();
  return out;
}

/**
 * Back to SHADOW at once (admin, no ceremony). LIVE → SHADOW restarts the shadow period
 * (`since` = now: promotion evidence is gathered afresh). An unregistered strategy is
 * registered as SHADOW. Already SHADOW: the stage and its evidence window stay, but any
 * pending promotion card is withdrawn. Open PROPOSED trade cards of the strategy are
 * cancelled; positions already at the broker are left alone (exits keep working), and an
 * APPROVED entry not yet sent is refused by the execution gate (strategy is SHADOW).
 */
export async function demote(ctx: EngineContext, rawName: string, actor: Actor, reason = ''): Promise<StrategyOutcome> {
  const name = normaliseStrategyName(rawName);
  if (!name) return BAD_NAME;
  if (!actor.roles.includes('admin')) return denied(ctx, actor, `demote strategy ${name}`);
  const why = reason.trim().slice(0, 200);
  const now = ctx.clock.now();
  const out = await ctx.store.tx(async (tx): Promise<StrategyOutcome> => {
    const existing = await tx.strategies.get(name);
    const withdrawn = await withdrawPromotionCards(ctx, tx, name, actor);
    if (existing?.stage === 'SHADOW') return { ok: true, code: 'ALREADY_SHADOW', changed: withdrawn > 0, strategy: viewOf(name, existing), withdrawn };
    await tx.strategies.upsert({ name, stage: 'SHADOW', since: now, changedBy: actor.name });
    const rec: StrategyRecord = { name, stage: 'SHADOW', since: now, changedBy: actor.name };
    tx.beads.append({
      type: 'PROMOTION',
      intentId: null,
      ts: now,
      payload: { strategy: name, from: existing ? existing.stage : 'UNREGISTERED', to: 'SHADOW', event: 'DEMOTED', actor: actorRef(actor), ...(why ? { reason: why } : {}) },
    });
    const cancelled = await cancelProposed(ctx, tx, name, actor, `strategy ${name} demoted to SHADOW by ${actor.name}`);
    return { ok: true, code: 'DEMOTED', changed: true, strategy: viewOf(name, rec), by: actor.name, cancelled };
  });
  if (out.ok && out.changed) ctx.notify();
  return out;
}

export async function getStrategy(ctx: EngineContext, rawName: string): Promise<StrategyView | null> {
  const name = normaliseStrategyName(rawName);
  if (!name) return null;
  return ctx.store.tx(async (tx) => viewOf(name, await tx.strategies.get(name)));
}

export async function listStrategies(ctx: EngineContext): Promise<StrategyView[]> {
  return ctx.store.tx(async (tx) => (await tx.strategies.list()).map((r) => viewOf(r.name, r)));
}

/** PROPOSED trade cards of a strategy that just became SHADOW: cancel them, close their cards. */
async function cancelProposed(ctx: EngineContext, tx: Tx, name: string, actor: Actor, reason: string): Promise<number> {
  const now = ctx.clock.now();
  let n = 0;
  for (const intent of await tx.intents.listByState(AWAITING_DECISION)) {
    if (intent.strategy !== name) continue;
    await transition(ctx, tx, intent, 'CANCELLED', reason, {}, actor);
    const card = await tx.cards.bySubject(intent.id, 'TRADE');
    if (card && card.status === 'OPEN') {
      await tx.cards.update(card.id, { status: 'CLOSED', updatedAt: now });
      await tx.cards.touch(card.id, now);
    }
    n++;
  }
  return n;
}

/** Close open PROMOTION cards of a strategy (used by demote). Returns how many. */
async function withdrawPromotionCards(ctx: EngineContext, tx: Tx, name: string, actor: Actor): Promise<number> {
  let n = 0;
  for (const p of await openPromotionsOf(tx, name)) {
    await closePromotionCard(ctx, tx, p, actor, 'withdrawn: strategy demoted');
    n++;
  }
  return n;
}

async function denied(ctx: EngineContext, actor: Actor, action: string): Promise<StrategyOutcome> {
  await ctx.store.tx(async (tx) => {
    tx.beads.append({ type: 'ACCESS_DENIED', intentId: null, ts: ctx.clock.now(), payload: { userId: actor.id, chatId: null, action, reason: 'admin role needed' } });
  });
  return notAllowed('admin');
}

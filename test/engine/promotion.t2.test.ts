/**
 * INV-PROMOTION-T2-1 (SPEC 11): promotion is T2-gated like a trade. The only path that sets a
 * strategy LIVE is an approver's APPROVE on a PROMOTION card, which issues a single-use
 * PROMOTION token bound to the bundle hash, re-checks, consumes the token by compare-and-set,
 * emits the APPROVED bead and flips the stage — all in one transaction.
 *
 * "No other path" is proven two ways: statically (the sources contain exactly one write of
 * stage LIVE, after the token consume, and no other writer of the Strategy table) and
 * dynamically (every other entry point leaves the stage SHADOW; a lost compare-and-set rolls
 * the whole approval back).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { promotionDecisionText } from '../../src/present/promotion.text.js';
import { ConcurrentChangeError } from '../../src/engine/errors.js';
import type { Store } from '../../src/engine/store.port.js';
import { demote } from '../../src/engine/strategy.usecase.js';
import { admin, approver, stranger, viewer, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { beadsOfIntent, beadsOfType, register, runSessions, stageOf, trendAndRange } from './promotion.helpers.js';
import { engineWith } from '../support/engine-internals.js';

const ROOT = new URL('../..', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'generated' || name === 'generated-pg' || name === 'node_modules' ? [] : sources(p);
    return /\.(ts|mts|js|mjs|sql)$/.test(name) ? [p] : [];
  });
}

async function requested(h: Harness, name = 'orb') {
  await register(h, name);
  await runSessions(h, name, 20, trendAndRange);
  const r = await h.engine.promotions.request(name, admin);
  if (r.kind !== 'requested') throw new Error(JSON.stringify(r));
  return r;
}

describe('INV-PROMOTION-T2-1', () => {
  let h: Harness | undefined;
  const harness = useHarness();

  it('INV-PROMOTION-T2-1: statically, the sources hold exactly one write of stage LIVE — in approveInTx, after the token compare-and-set — and no other writer of the Strategy table', () => {
    const files = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'prisma')), ...sources(join(ROOT, 'scripts'))];
    const rel = (f: string) => relative(ROOT, f);
    // 1. callers of the repository's write
    const upsertCallers = files.filter((f) => /\.strategies\.upsert\(/.test(readFileSync(f, 'utf8'))).map(rel).sort();
    expect(upsertCallers).toEqual(['src/engine/promotion.decision.ts', 'src/engine/strategy.usecase.ts']);
    // 2. in those, every upsert call names its stage; only one says LIVE
    const calls: { file: string; stage: string; index: number }[] = [];
    for (const f of upsertCallers) {
      const text = readFileSync(join(ROOT, f), 'utf8');
      for (const m of text.matchAll(/\.strategies\.upsert\(([^;]*)\);/g)) {
        // every write spells its stage as a literal in the call (no variables to trace)
        const stage = /^\{[^}]*\bstage: '(LIVE|SHADOW)'[^}]*\}$/.exec((m[1] ?? '').trim())?.[1];
        calls.push({ file: f, stage: stage ?? 'UNKNOWN', index: m.index ?? 0 });
      }
    }
    expect(calls.filter((c) => c.stage === 'UNKNOWN')).toEqual([]);
    const live = calls.filter((c) => c.stage === 'LIVE');
    expect(live).toHaveLength(1);
    const promo = readFileSync(join(ROOT, 'src/engine/promotion.decision.ts'), 'utf8');
    const fnStart = promo.indexOf('async function approveInTx(');
    const consume = promo.indexOf('tx.tokens.consume(', fnStart);
    expect(live[0]?.file).toBe('src/engine/promotion.decision.ts');
    expect(fnStart).toBeGreaterThan(0);
    expect(consume).toBeGreaterThan(fnStart);
    expect(live[0]!.index).toBeGreaterThan(consume);
    expect(promo.indexOf('async function', fnStart + 10)).toBeGreaterThan(live[0]!.index); // still inside approveInTx
    // the consume's failure aborts the transaction before the flip
    expect(promo.slice(consume, live[0]!.index)).toMatch(/throw new ConcurrentChangeError/);
    // 3. nothing else writes the table: raw SQL only in the SQL adapters' upserts (SQLite's and
    //    PostgreSQL's, issue 18), the Prisma model only in the Prisma adapter's upsert, no seed
    //    rows in migrations or scripts
    const sqlWriters = files.filter((f) => /(INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE|REPLACE\s+INTO|DELETE\s+FROM)\s+"?Strategy"?\b/i.test(readFileSync(f, 'utf8'))).map(rel);
    expect(sqlWriters.sort()).toEqual(['src/store/pg.tx.ts', 'src/store/sqlite.tx.ts']);
    for (const adapter of sqlWriters) expect(readFileSync(join(ROOT, adapter), 'utf8').match(/INTO "Strategy"/g)).toHaveLength(1);
    const prismaWriters = files.filter((f) => /\.strategy\.(upsert|create|createMany|update|updateMany|delete|deleteMany)\(/.test(readFileSync(f, 'utf8'))).map(rel);
    expect(prismaWriters).toEqual(['src/store/prisma.records.ts']);
    expect(readFileSync(join(ROOT, 'src/store/prisma.records.ts'), 'utf8').match(/\.strategy\.(upsert|create|createMany|update|updateMany|delete|deleteMany)\(/g)).toHaveLength(1);
  });

  it('INV-PROMOTION-T2-1: APPROVE issues a PROMOTION token bound to the bundle hash and consumes it in the same transaction as the APPROVED bead and the flip', async () => {
    h = await harness();
    const req = await requested(h);
    const d = await h.engine.promotions.decide(req.cardId, 'APPROVE', approver);
    expect(d.kind).toBe('promoted');
    if (d.kind !== 'promoted') return;
    const token = await h.app.store.tx((tx) => tx.tokens.get(d.tokenId));
    expect(token).toMatchObject({ purpose: 'PROMOTION', intentId: req.promotionId, evidenceHash: req.bundleHash, usedAt: h.clock.now(), expiredAt: null, issuedTo: approver.id });
    expect(token!.expiresAt - token!.issuedAt).toBe(5 * 60_000);
    const beads = await beadsOfIntent(h, req.promotionId);
    const seqs = beads.filter((b) => ['T2_TOKEN', 'PROMOTION'].includes(b.type) && b.data.event !== 'REQUESTED');
    expect(seqs.map((b) => `${b.type}:${String(b.data.event)}`)).toEqual(['T2_TOKEN:ISSUED', 'T2_TOKEN:USED', 'PROMOTION:APPROVED']);
    expect(new Set(seqs.map((b) => b.ts)).size).toBe(1); // one transaction, one instant
    expect(seqs.every((b, i) => i === 0 || b.seq === seqs[i - 1]!.seq + 1)).toBe(true); // contiguous in the chain
    expect(seqs.map((b) => b.data.purpose ?? 'n/a')).toEqual(['PROMOTION', 'PROMOTION', 'n/a']);
    expect(seqs[2]?.data).toMatchObject({ strategy: 'orb', from: 'SHADOW', to: 'LIVE', bundleHash: req.bundleHash, tokenId: d.tokenId, actor: { name: approver.name } });
    expect(await stageOf(h, 'orb')).toBe('LIVE');
  });

  it('INV-PROMOTION-T2-1: a lost compare-and-set on the token rolls the whole approval back — no token row, no bead, stage SHADOW, card still open; a real approval afterwards works', async () => {
    h = await harness();
    const req = await requested(h);
    const real = h.app.store;
    const losing: Store = { tx: (fn) => real.tx((tx) => fn({ ...tx, tokens: { ...tx.tokens, consume: async () => false } })), close: () => real.close() };
    const racing = engineWith(h.engine, { store: losing });
    const beadsBefore = await h.app.db.bead.count();
    await expect(racing.promotions.decide(req.cardId, 'APPROVE', approver)).rejects.toBeInstanceOf(ConcurrentChangeError);
    expect(await h.app.db.approvalToken.count()).toBe(0);
    expect(await h.app.db.bead.count()).toBe(beadsBefore);
    expect(await stageOf(h, 'orb')).toBe('SHADOW');
    expect((await h.engine.promotions.cardView(req.cardId))?.card.status).toBe('OPEN');
    expect((await h.engine.promotions.decide(req.cardId, 'APPROVE', approver)).kind).toBe('promoted');
  });

  it('INV-PROMOTION-T2-1: no other entry point sets LIVE — request, PASS, replayed and foreign taps, an expired card, register and demote all leave the strategy SHADOW', async () => {
    h = await harness();
    const req = await requested(h);
    expect(await stageOf(h, 'orb')).toBe('SHADOW'); // requesting is not approving
    // viewers and strangers: refused and audited
    for (const who of [viewer, stranger]) {
      const r = await h.engine.promotions.decide(req.cardId, 'APPROVE', who);
      expect(r).toEqual({ kind: 'refused', why: 'NOT_ALLOWED', needs: ['approver', 'admin'] });
      expect(promotionDecisionText(r, h.engine.info.timeZone)).toBe('Only approvers and admins can decide promotion cards.');
    }
    const denied = (await beadsOfType(h, 'ACCESS_DENIED')).filter((b) => b.intentId === req.promotionId);
    expect(denied.map((b) => b.data.userId)).toEqual([viewer.id, stranger.id]);
    // non-admins cannot request at all
    expect((await h.engine.promotions.request('orb', approver)).kind).toBe('denied');
    // a second request while the card is open is refused
    const dup = await h.engine.promotions.request('orb', admin);
    expect(dup.kind === 'refused' && dup.missing.map((m) => m.code)).toEqual(['PROMOTION_PENDING']);
    // unknown / forged card ids, and a TRADE card id
    expect((await h.engine.promotions.decide('nope', 'APPROVE', approver)).kind).toBe('refused');
    // registering again changes nothing
    const again = await h.engine.promotions.register('orb', admin);
    expect(again.ok && again.changed).toBe(false);
    // PASS closes the card; a later APPROVE tap is a no-op
    expect((await h.engine.promotions.decide(req.cardId, 'PASS', approver)).kind).toBe('passed');
    const late = await h.engine.promotions.decide(req.cardId, 'APPROVE', admin);
    expect(late.kind).toBe('noop');
    expect(late).toMatchObject({ kind: 'noop', cardStatus: 'DECIDED', decision: 'PASSED', decidedBy: 'alice' });
    expect(promotionDecisionText(late, h.engine.info.timeZone)).toMatch(/Already passed by alice/);
    expect(await stageOf(h, 'orb')).toBe('SHADOW');
    expect(await h.app.db.approvalToken.count()).toBe(0);

    // an expired card does nothing (tapped after 5 min)
    const req2 = await h.engine.promotions.request('orb', admin);
    if (req2.kind !== 'requested') throw new Error(JSON.stringify(req2));
    await h.clock.advance(5 * 60_000);
    const exp = await h.engine.promotions.decide(req2.cardId, 'APPROVE', approver);
    expect(exp).toEqual({ kind: 'expired', strategy: 'orb', promotionId: req2.promotionId });
    expect(promotionDecisionText(exp, h.engine.info.timeZone)).toBe('This promotion card expired; nothing was done.');
    expect((await h.engine.promotions.decide(req2.cardId, 'APPROVE', approver)).kind).toBe('noop');
    // … also when the sweeper expired it first
    await h.clock.advance(60_000);
    const req3 = await h.engine.promotions.request('orb', admin);
    if (req3.kind !== 'requested') throw new Error(JSON.stringify(req3));
    await h.clock.advance(5 * 60_000 + 1);
    await h.engine.expireDue();
    expect((await h.engine.promotions.decide(req3.cardId, 'APPROVE', approver)).kind).toBe('noop');
    // demote is the other direction only
    await h.engine.promotions.demote('orb', admin);
    expect(await stageOf(h, 'orb')).toBe('SHADOW');
    expect(await h.app.db.approvalToken.count()).toBe(0);
    expect((await beadsOfType(h, 'PROMOTION')).some((b) => b.data.event === 'APPROVED' || b.data.to === 'LIVE' && b.data.event !== 'REQUESTED' && b.data.event !== 'REFUSED')).toBe(false);
  });

  it('INV-PROMOTION-T2-1: the PROMOTION token cannot submit a trade, a TRADE card cannot be decided as a promotion, and a tampered stored bundle is refused at approval', async () => {
    h = await harness();
    const req = await requested(h);
    // tamper with the stored request: the hash recorded in the audit chain no longer matches
    const stored = (await h.app.store.tx((tx) => tx.promotions.get(req.promotionId)))!;
    const tampered = { ...stored, bundle: { ...stored.bundle, evidence: { ...stored.bundle.evidence, sessionsObserved: 99 } } };
    await h.app.store.tx((tx) => tx.promotions.save(tampered, h!.clock.now()));
    const d = await h.engine.promotions.decide(req.cardId, 'APPROVE', approver);
    expect(d.kind === 'blocked' && d.missing.map((m) => m.code)).toEqual(['BUNDLE_CHANGED']);
    expect(await stageOf(h, 'orb')).toBe('SHADOW');

    // the dead promotion token is no trade token
    const live = await h.engine.submitIntent(h.intent({ strategy: 'other' }));
    if (live.kind !== 'accepted') throw new Error('expected accepted');
    const r = await h.engine.submitWithToken(live.intentId, `tok_${req.promotionId}`);
    expect(r).toEqual({ kind: 'refused', reason: 'token was not issued for a trade' });
    // and a TRADE card is not a promotion card
    const tradeCard = await h.app.store.tx((tx) => tx.cards.bySubject(live.intentId, 'TRADE'));
    const notPromotion = await h.engine.promotions.decide(tradeCard!.id, 'APPROVE', approver);
    expect(notPromotion).toEqual({ kind: 'refused', why: 'UNKNOWN_CARD' });
    expect(promotionDecisionText(notPromotion, h.engine.info.timeZone)).toBe('Unknown or invalid card.');
  });
});

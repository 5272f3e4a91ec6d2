/**
 * Strategy promotion on Telegram, end to end (SPEC 11, issue 7): the real grammY bot
 * long-polls the sandbox over HTTP, the real engine runs on a SQLite file with a FakeClock
 * (20 shadow sessions are recorded day by day), the sim broker fills.
 *
 *   /promote NAME (admin) → refusal listing every missing item, or a PROMOTION card with the
 *   evidence bundle and APPROVE / PASS → an approver's tap → the card edited in place
 *   (promoted → LIVE since, passed, expired, blocked with the missing items).
 *   /demote NAME (admin) → SHADOW at once.  /strategies (viewer+) → stage and since.
 */
import { describe, expect, it } from 'vitest';
import { parseCallback } from '../../src/bot/callback-data.js';
import { TEXT_LIMIT, visibleText } from '../../src/bot/html.js';
import { renderCard } from '../../src/bot/render/card.js';
import { renderPromotionRefusal } from '../../src/bot/render/promotion.js';
import type { CardRecord } from '../../src/engine/domain.js';
import type { MissingItem, PromotionBundle } from '../../src/engine/promotion.usecase.js';
import type { PromotionView } from '../../src/engine/queries.usecase.js';
import { parseHtml } from '../../src/sandbox/html-limits.js';
import type { SandboxMessage } from '../../src/sandbox/server.js';
import { intentOf } from '../support/harness.js';
import { register, runSessions, stageOf } from '../engine/promotion.helpers.js';
import { buttonsOf, CHAT, makeRig, messageById, payloadOf, type Rig } from './helpers.js';
import { clockTime, dateClockTime } from '../../src/engine/people-time.js';
import { aCard } from '../support/records.js';
import { closeAfterEach } from '../support/cleanup.js';

let rig: Rig | undefined;
const newRig = closeAfterEach(makeRig);

type Who = 'alice' | 'bob' | 'carol' | 'dave';

/** Send a command and wait for the next bot message in that chat after it. */
async function ask(r: Rig, who: Who, text: string, match: (m: SandboxMessage) => boolean = () => true): Promise<SandboxMessage> {
  const before = Math.max(0, ...r.sandbox.chat(CHAT).map((m) => m.message_id));
  r[who].send(CHAT, text);
  return r.waitMessage((m) => m.message_id > before && match(m), { label: `reply to ${text}` });
}

/** 20 trading sessions, trend on even ones and range on odd ones, each first intent settled (target, or stop every 4th). */
async function shadowPeriod(r: Rig, name = 'mes-orb'): Promise<void> {
  await register(r.h, name);
  await runSessions(r.h, name, 20, { regime: (n) => (n % 2 === 0 ? 'trend' : 'range'), settle: (n) => (n % 4 === 3 ? 'stop' : 'target') });
}

const promotionCards = (r: Rig): Promise<CardRecord[]> => r.h.app.db.card.findMany({ where: { kind: 'PROMOTION' }, orderBy: { createdAt: 'asc' } }).then((rows) => Promise.all(rows.map((c) => r.h.app.store.tx(async (tx) => (await tx.cards.get(c.id))!))));

/** /promote by the admin: wait for the PROMOTION card message (buttons naming the new card). */
async function promoteCard(r: Rig, name = 'mes-orb'): Promise<{ card: CardRecord; message: SandboxMessage }> {
  const message = await ask(r, 'bob', `/promote ${name}`);
  const cards = await promotionCards(r);
  const card = cards.at(-1);
  expect(card, message.text).toBeDefined();
  expect(buttonsOf(message)).toEqual([`v1:a:${card!.id}`, `v1:p:${card!.id}`]);
  return { card: card!, message };
}

/** The message, once its current text satisfies `pred`. */
const edited = (r: Rig, id: number, pred: (m: SandboxMessage) => boolean, label: string) =>
  r.sandbox.waitFor(() => {
    const m = messageById(r.sandbox, id);
    return m && pred(m) ? m : undefined;
  }, { label });

const withinLimits = (m: SandboxMessage) => {
  expect(m.text.length).toBeLessThanOrEqual(TEXT_LIMIT);
  expect(parseHtml(m.html).ok, m.html).toBe(true);
  expect(m.parse_mode).toBe('HTML');
};

describe('strategy promotion over the real bot', () => {
  it('INV-PROMOTION-T2-1: 20 shadow sessions (trend, range) → admin /promote → PROMOTION card with the bundle and APPROVE / PASS → approver taps APPROVE (PROMOTION token issued and used) → card shows promoted, LIVE since → the next intent gets a normal trade card that reaches the broker', async () => {
    rig = await newRig();
    await shadowPeriod(rig);
    expect(rig.botMessages().filter((m) => buttonsOf(m).length)).toHaveLength(0); // 40 shadow intents, no card
    expect((await ask(rig, 'carol', '/strategies')).text).toMatch(/🌘 mes-orb — SHADOW since 2026-11-24 10:00 EST \(by bob\)/);
    expect((await ask(rig, 'alice', '/promote mes-orb')).text).toBe('Not allowed: /promote needs the admin role.');

    const { card, message } = await promoteCard(rig);
    withinLimits(message);
    expect(message.reply_markup?.inline_keyboard[0]?.map((b) => b.text)).toEqual(['✅ APPROVE', '❌ PASS']);
    const requested = (await rig.beads('PROMOTION')).map((b) => payloadOf<{ event: string; bundleHash?: string; cardId?: string }>(b)).find((p) => p.event === 'REQUESTED');
    expect(requested?.cardId).toBe(card.id);
    for (const s of [
      'PAPER',
      'PROMOTION mes-orb: SHADOW → LIVE',
      'Requested by @bob at',
      'shadow since 2026-11-24 10:00 EST',
      'Sessions observed: 20 (min 20) ✅',
      'Regimes seen: range 20 · trend 20 (need trend + range) ✅',
      'Shadow trades: 20 resolved (15 wins · 5 losses) · 20 unknown · of 40 simulated',
      'P&L (resolved): $300.00',
      'Max drawdown: -$11.25 (-1.00R) · Worst day: -$11.25 on 2026-11-27',
      'Would-have-been kills: 0 of 40 intents',
      'Override rate: 0% (0 of 40 would-be cards had a failed red check)',
      'Safety at request: kill flags none · unresolved drifts none ✅',
      'Stage SHADOW now; APPROVE makes it LIVE',
      'mode PAPER',
      'Valid for 5m 00s',
      `bundle ${requested!.bundleHash!.slice(0, 'sha256:'.length + 12)}`,
      `card ${card.id}`,
    ]) {
      expect(message.text).toContain(s);
    }
    expect(message.text).toMatch(/Sharpe: \d+\.\d\d \(daily, annualised; recorded, no minimum\)/);

    await rig.h.clock.advance(30_000);
    const q = rig.alice.tap(CHAT, message.message_id, 'APPROVE');
    expect((await rig.alice.waitAnswer(q)).text).toBe('Promoted ✅ mes-orb is LIVE; its next intents get trade cards.');
    const done = await edited(rig, message.message_id, (m) => m.text.includes('PROMOTED'), 'card shows promoted');
    const at = rig.h.clock.now();
    expect(done.text).toContain(`PROMOTED by @alice at ${clockTime(at, 'America/New_York')}`);
    expect(done.text).toContain(`LIVE since ${dateClockTime(at, 'America/New_York')} — its next intents get trade cards.`);
    expect(done.text).toMatch(/PROMOTED by @alice at \d\d:\d\d E[SD]T/);
    expect(done.reply_markup).toBeUndefined();
    expect(done.text).not.toContain('Valid for');
    expect(done.text).not.toContain('APPROVE makes it LIVE');
    withinLimits(done);
    expect(rig.botMessages().filter((m) => m.text.includes(`card ${card.id}`))).toHaveLength(1); // edited in place
    expect(await stageOf(rig.h, 'mes-orb')).toBe('LIVE');
    // the T2 ceremony happened behind the tap: a PROMOTION token bound to the bundle, issued and used, then APPROVED
    const tokens = (await rig.beads('T2_TOKEN')).map((b) => payloadOf<{ event: string; purpose: string; tokenId: string }>(b)).filter((t) => t.purpose === 'PROMOTION');
    expect(tokens.map((t) => t.event)).toEqual(['ISSUED', 'USED']);
    const approved = (await rig.beads('PROMOTION')).map((b) => payloadOf<{ event: string; tokenId?: string; bundleHash?: string; actor?: { id: string } }>(b)).find((p) => p.event === 'APPROVED');
    expect(approved).toMatchObject({ tokenId: tokens[0]!.tokenId, bundleHash: requested!.bundleHash, actor: { id: '1001' } });
    expect((await ask(rig, 'carol', '/strategies')).text).toMatch(/🟢 mes-orb — LIVE since .* \(by @alice\)/);

    // LIVE: the strategy's next intent is a normal trade card with APPROVE / PASS
    const next = await rig.proposeAndWaitCard({ strategy: 'mes-orb', regime: 'trend' });
    expect(buttonsOf(next.message)).toEqual([`v1:a:${next.cardId}`, `v1:p:${next.cardId}`]);
    expect(next.message.text).toContain('Strategy: mes-orb');
    expect(next.message.text).toContain('BUY 1 MES Dec26');
    const t = rig.alice.tap(CHAT, next.message.message_id, 'APPROVE');
    expect((await rig.alice.waitAnswer(t)).text).toBe('Approved ✅ Order sent to the broker.');
    await rig.h.settle();
    expect((await intentOf(rig.h, next.intentId)).state).toBe('MANAGED');
  });

  it('INV-PROMOTION-EVIDENCE-1: /promote with incomplete evidence replies with every missing item (escaped, one message) and creates no card; unknown, missing and invalid names get clear errors', async () => {
    rig = await newRig();
    const name = 'orb <b>&amp; "x"';
    await register(rig.h, name);
    await runSessions(rig.h, name, 5, { regime: () => 'trend' });

    const r = await ask(rig, 'bob', `/promote ${name}`);
    withinLimits(r);
    expect(r.text.split('\n')).toEqual([
      `⛔ Promotion refused — 4 items missing for ${name}:`,
      ' • sessions observed: 5 of 20 (15 more trading sessions needed)',
      ' • simulated trades: 5 of 10 (5 more needed; 0 of 5 shadow intents were blocked by a gate and are no trades)',
      ' • distinct regimes: 1 of 2 (seen: trend)',
      " • regime 'range' not observed in shadow",
      '',
      `So far: 5 sessions since 2026-11-24 · regimes trend · 5 shadow intents: 5 would have been proposed, 0 blocked · 5 simulated trades`,
      'Nothing was requested. The refusal is in the audit log (PROMOTION REFUSED).',
    ]);
    expect(r.html).toContain('orb &lt;b&gt;&amp;amp; "x"');
    expect(buttonsOf(r)).toEqual([]);
    expect(await promotionCards(rig)).toHaveLength(0);
    const refused = (await rig.beads('PROMOTION')).map((b) => payloadOf<{ event: string; missing?: string[] }>(b)).filter((p) => p.event === 'REFUSED');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.missing).toHaveLength(4);
    expect(await stageOf(rig.h, name)).toBe('SHADOW');

    expect((await ask(rig, 'bob', '/promote ghost')).text).toContain('strategy ghost is not registered');
    expect((await ask(rig, 'bob', '/promote')).text).toBe('Which strategy? Usage: /promote STRATEGY — /strategies lists them.');
    expect((await ask(rig, 'bob', `/promote ${'x'.repeat(65)}`)).text).toBe('Invalid strategy name: strategy is longer than 64 characters. Usage: /promote STRATEGY');
    expect((await ask(rig, 'bob', '/promote two\nlines')).text).toBe('Invalid strategy name: strategy must be printable characters on one line. Usage: /promote STRATEGY');
    expect((await ask(rig, 'bob', '/demote')).text).toBe('Which strategy? Usage: /demote STRATEGY (a reason may follow on the next line) — /strategies lists them.');
    expect(await promotionCards(rig)).toHaveLength(0);
  });

  it('INV-PROMOTION-SAFE-1: a kill flag set after the card was sent blocks the APPROVE (card edited: blocked, with the missing item); /promote while the flag is active is refused and says why', async () => {
    rig = await newRig();
    await shadowPeriod(rig);
    const { message } = await promoteCard(rig);
    expect((await ask(rig, 'alice', '/halt FOMC')).text).toContain('Halted.');

    const q = rig.alice.tap(CHAT, message.message_id, 'APPROVE');
    const answer = await rig.alice.waitAnswer(q);
    expect(answer.text).toMatch(/^Blocked, mes-orb stays SHADOW — missing: kill flag active \(manual: FOMC, set by @alice\)$/);
    expect(answer.show_alert).toBe(true);
    const blocked = await edited(rig, message.message_id, (m) => m.text.includes('BLOCKED'), 'card shows blocked');
    expect(blocked.text).toContain('BLOCKED at approval (tapped by @alice at');
    expect(blocked.text).toContain('mes-orb stays SHADOW. 1 item missing:\n • KILL_FLAG_ACTIVE: kill flag active (manual: FOMC, set by @alice)');
    expect(blocked.reply_markup).toBeUndefined();
    withinLimits(blocked);
    expect(await stageOf(rig.h, 'mes-orb')).toBe('SHADOW');

    const refused = await ask(rig, 'bob', '/promote mes-orb');
    expect(refused.text).toContain('Promotion refused — 1 item missing for mes-orb:\n • kill flag active (manual: FOMC, set by @alice)');
    expect(buttonsOf(refused)).toEqual([]);
    expect(await promotionCards(rig)).toHaveLength(1); // only the blocked one
    expect(await stageOf(rig.h, 'mes-orb')).toBe('SHADOW');
  });

  it('CV foreign user taps: a stranger and a viewer tapping the promotion card are refused and audited (ACCESS_DENIED), nothing changes; the card still works for an approver', async () => {
    rig = await newRig();
    await shadowPeriod(rig);
    const { card, message } = await promoteCard(rig);

    const stranger = rig.mallory.tap(CHAT, message.message_id, 'APPROVE');
    expect((await rig.mallory.waitAnswer(stranger)).text).toBe('Not allowed.');
    const viewer = rig.carol.tap(CHAT, message.message_id, 'APPROVE');
    expect((await rig.carol.waitAnswer(viewer)).text).toBe('Only approvers and admins can decide promotion cards.');
    const viewerPass = rig.carol.tap(CHAT, message.message_id, 'PASS');
    expect((await rig.carol.waitAnswer(viewerPass)).text).toBe('Only approvers and admins can decide promotion cards.');

    expect(await stageOf(rig.h, 'mes-orb')).toBe('SHADOW');
    expect((await rig.h.app.store.tx((tx) => tx.cards.get(card.id)))?.status).toBe('OPEN');
    expect(buttonsOf(messageById(rig.sandbox, message.message_id))).toHaveLength(2);
    expect((await rig.beads('T2_TOKEN')).length).toBe(0);
    const denied = (await rig.beads('ACCESS_DENIED')).map((b) => payloadOf<{ userId: string; chatId: string | null; action: string; reason: string }>(b));
    expect(denied.filter((d) => d.userId === '666')).toEqual([expect.objectContaining({ reason: 'unknown user', chatId: String(CHAT) })]);
    expect(denied.filter((d) => d.userId === '1003')).toEqual([
      expect.objectContaining({ reason: 'not an approver or admin', action: `APPROVE promotion card ${card.id}`, chatId: String(CHAT) }),
      expect.objectContaining({ reason: 'not an approver or admin', action: `PASS promotion card ${card.id}` }),
    ]);

    const ok = rig.dave.tap(CHAT, message.message_id, 'APPROVE');
    expect((await rig.dave.waitAnswer(ok)).text).toBe('Promoted ✅ mes-orb is LIVE; its next intents get trade cards.');
    expect(await stageOf(rig.h, 'mes-orb')).toBe('LIVE');
  });

  it('CV stale card tapped: PASS edits the card; a replayed APPROVE on the passed card and a tap on an expired one (swept: PROMOTION EXPIRED bead) explain why nothing happens', async () => {
    rig = await newRig();
    await shadowPeriod(rig);
    const first = await promoteCard(rig);
    const pass = rig.dave.tap(CHAT, first.message.message_id, 'PASS');
    expect((await rig.dave.waitAnswer(pass)).text).toBe('Passed. mes-orb stays SHADOW.');
    const passed = await edited(rig, first.message.message_id, (m) => m.text.includes('PASSED'), 'card shows passed');
    expect(passed.text).toMatch(/PASSED by @dave at \d\d:\d\d E[SD]T — mes-orb stays SHADOW\./);
    expect(passed.reply_markup).toBeUndefined();
    const replay = rig.alice.tapRaw(CHAT, first.message.message_id, `v1:a:${first.card.id}`);
    expect((await rig.alice.waitAnswer(replay)).text).toMatch(/^Already passed by @dave at \d\d:\d\d E[SD]T; nothing was done\.$/);
    expect(await stageOf(rig.h, 'mes-orb')).toBe('SHADOW');

    // a second request expires: the sweeper edits the card and records the expiry
    const second = await promoteCard(rig);
    await rig.h.clock.advance(301_000);
    expect(await rig.h.engine.expireDue()).toMatchObject({ cards: 1 });
    const expired = await edited(rig, second.message.message_id, (m) => m.text.includes('EXPIRED'), 'card shows expired');
    expect(expired.text).toContain('EXPIRED at');
    expect(expired.text).toContain('without a decision — mes-orb stays SHADOW. Send /promote mes-orb again.');
    expect(expired.reply_markup).toBeUndefined();
    const events = (await rig.beads('PROMOTION')).map((b) => payloadOf<{ event: string; cardId?: string }>(b)).filter((p) => p.cardId === second.card.id).map((p) => p.event);
    expect(events).toEqual(['REQUESTED', 'EXPIRED']);
    const late = rig.alice.tapRaw(CHAT, second.message.message_id, `v1:a:${second.card.id}`);
    expect((await rig.alice.waitAnswer(late)).text).toBe('This promotion card expired; nothing was done.');
    expect(await stageOf(rig.h, 'mes-orb')).toBe('SHADOW');
    expect((await rig.beads('T2_TOKEN')).length).toBe(0);
  });

  it('/demote NAME (admin, no confirmation) puts a LIVE strategy back in SHADOW at once: DEMOTED bead with the reason, /strategies shows it, and its next intent produces no card', async () => {
    rig = await newRig();
    await shadowPeriod(rig);
    const { message } = await promoteCard(rig);
    const q = rig.alice.tap(CHAT, message.message_id, 'APPROVE');
    await rig.alice.waitAnswer(q);
    expect(await stageOf(rig.h, 'mes-orb')).toBe('LIVE');
    await rig.outboxDrained();

    expect((await ask(rig, 'alice', '/demote mes-orb')).text).toBe('Not allowed: /demote needs the admin role.');
    const reply = await ask(rig, 'bob', '/demote mes-orb\nslippage <too> high');
    withinLimits(reply);
    expect(reply.text).toContain('🌘 Strategy mes-orb demoted to SHADOW by @bob: new intents are recorded only.');
    expect(reply.text).toMatch(/mes-orb: SHADOW since \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T — its intents are recorded, never carded or sent\./);
    expect(await stageOf(rig.h, 'mes-orb')).toBe('SHADOW');
    const demoted = (await rig.beads('PROMOTION')).map((b) => payloadOf<{ event: string; from: string; reason?: string; actor?: { id: string } }>(b)).filter((p) => p.event === 'DEMOTED');
    expect(demoted).toEqual([expect.objectContaining({ from: 'LIVE', reason: 'slippage <too> high', actor: expect.objectContaining({ id: '1002' }) })]);
    expect((await ask(rig, 'carol', '/strategies')).text).toMatch(/🌘 mes-orb — SHADOW since .* \(by @bob\)/);
    // again: already SHADOW, nothing else changes
    expect((await ask(rig, 'bob', '/demote mes-orb')).text).toContain('Strategy mes-orb is already SHADOW; nothing else changed.');

    const cardsBefore = rig.botMessages().filter((m) => buttonsOf(m).length).length;
    const next = await rig.h.engine.submitIntent(rig.h.intent({ strategy: 'mes-orb', regime: 'trend' }));
    expect(next).toMatchObject({ kind: 'accepted', state: 'CANCELLED', shadow: true });
    if (next.kind !== 'accepted') return;
    expect(await rig.h.app.store.tx((tx) => tx.cards.bySubject(next.intentId, 'TRADE'))).toBeNull();
    await rig.outboxDrained();
    await ask(rig, 'carol', '/help'); // a barrier: every earlier update and card was handled
    expect(rig.botMessages().filter((m) => buttonsOf(m).length)).toHaveLength(cardsBefore);
  });
});

describe('promotion messages under hostile and huge input (pure rendering)', () => {
  const NOW = Date.parse('2026-12-21T15:06:00Z');
  const HOSTILE = '</b><script>&amp;\u202Eevil\nAPPROVED by admin' + 'x'.repeat(300);
  const bundle = (over: Partial<PromotionBundle['evidence']> = {}): PromotionBundle => ({
    kind: 'PROMOTION_BUNDLE',
    version: 2,
    strategy: HOSTILE,
    shadowSince: '2026-11-24T15:00:00.000Z',
    asOf: '2026-12-21T15:06:00.000Z',
    requirements: { minSessions: 20, minDistinctRegimes: 2, requiredRegimes: ['trend', 'range'], minSimulatedTrades: 10 },
    evidence: {
      intents: 4000, firstAt: NOW, lastAt: NOW, sessionsObserved: 20, sessionsBlockedOnly: 7, firstSession: '2026-11-24', lastSession: '2026-12-21',
      regimes: Object.fromEntries(Array.from({ length: 60 }, (_, k) => [`${HOSTILE.slice(0, 20)}${k}`, k])), distinctRegimes: 60, untaggedIntents: 3,
      wouldHaveBeenProposed: 10, wouldHaveBeenKills: { total: 3990, byCode: Object.fromEntries(Array.from({ length: 80 }, (_, k) => [`GATE_${k}_${'Z'.repeat(30)}`, k])) },
      override: { count: 1, of: 3, rate: 0.3333 }, trades: { simulated: 10, resolved: 0, wins: 0, losses: 0, unknown: 10 },
      totalPnlCents: 0, totalR: 0, maxDrawdown: { cents: 0, r: 0 }, worstDay: null, sharpe: null, ...over,
    },
    model: 'm',
    safety: { activeKillFlags: [], unresolvedDrifts: [] },
    missing: [],
  });
  const view = (decision: PromotionView['promotion']['decision'], status: CardRecord['status'] = decision ? 'DECIDED' : 'OPEN', blockedBy: string[] = []): PromotionView => ({
    kind: 'PROMOTION',
    card: aCard({ kind: 'PROMOTION', subjectId: 'prm_abc', chatId: String(CHAT), status, decidedBy: decision?.by ?? null, decidedAt: decision?.at ?? null }, NOW),
    promotion: { id: 'prm_abc', strategy: HOSTILE, cardId: 'k3j2h4g5f6', bundle: bundle(), bundleHash: `sha256:${'ab'.repeat(32)}`, requestedBy: { id: '1002', name: HOSTILE, via: 'telegram' }, requestedAt: NOW, expiresAt: NOW + 300_000, decision },
    strategy: { name: HOSTILE, stage: decision?.event === 'APPROVED' ? 'LIVE' : 'SHADOW', registered: true, since: NOW, changedBy: HOSTILE },
    now: NOW,
    mode: 'live',
    demo: false,
    timeZone: 'America/New_York',
    blockedBy,
  });

  it('every state of the card is valid HTML within 4096 characters; buttons only while open, ≤ 64 bytes, naming the card', () => {
    const many = Array.from({ length: 400 }, (_, k) => `DRIFT_UNRESOLVED: unresolved drift POSITION_SIZE (CRITICAL) #${k} ${HOSTILE}`);
    const states = [
      view(null),
      view({ event: 'APPROVED', by: HOSTILE, at: NOW, tokenId: 'tok_prm_abc' }),
      view({ event: 'PASSED', by: '@dave', at: NOW }),
      view({ event: 'EXPIRED', by: null, at: NOW }, 'EXPIRED'),
      view({ event: 'WITHDRAWN', by: '@bob', at: NOW, reason: HOSTILE }, 'CLOSED'),
      view({ event: 'REFUSED', by: '@alice', at: NOW, reason: 'x' }, 'DECIDED', many),
    ];
    for (const v of states) {
      const r = renderCard(v);
      expect(parseHtml(r.html).ok, r.html.slice(0, 200)).toBe(true);
      expect(visibleText(r.html).length).toBeLessThanOrEqual(TEXT_LIMIT);
      expect(visibleText(r.html)).not.toContain('\u202E');
      expect(visibleText(r.html)).toContain('LIVE — REAL MONEY');
      const data = r.keyboard.inline_keyboard.flat().map((b) => ('callback_data' in b ? b.callback_data : ''));
      if (v.promotion.decision === null) {
        expect(data).toEqual(['v1:a:k3j2h4g5f6', 'v1:p:k3j2h4g5f6']);
        for (const d of data) expect(Buffer.byteLength(d)).toBeLessThanOrEqual(64);
        expect(data.map((d) => parseCallback(d)?.id)).toEqual(['k3j2h4g5f6', 'k3j2h4g5f6']);
      } else expect(data).toEqual([]);
    }
    expect(visibleText(renderCard(view(null)).html)).toContain('Override rate: 33.3% (1 of 3 would-be cards had a failed red check)');
    expect(visibleText(renderCard(view(null)).html)).toContain('Sharpe: n/a');
  });

  it('a refusal with hundreds of items stays one message: every evidence item listed, long runs of one kind folded with a count and where to see them', () => {
    const missing: MissingItem[] = [
      { code: 'SESSIONS', message: 'sessions observed: 3 of 20 (17 more trading sessions needed)' },
      { code: 'REGIME_MISSING', message: "regime 'range' not observed in shadow" },
      { code: 'KILL_FLAG_ACTIVE', message: `kill flag active (manual: ${HOSTILE}, set by @alice)` },
      ...Array.from({ length: 300 }, (_, k): MissingItem => ({ code: 'DRIFT_UNRESOLVED', message: `unresolved drift POSITION_SIZE (CRITICAL) since 15:0${k % 10}:00 UTC #${k}` })),
    ];
    const html = renderPromotionRefusal(HOSTILE, missing, bundle());
    const text = visibleText(html);
    expect(parseHtml(html).ok).toBe(true);
    expect(text.length).toBeLessThanOrEqual(TEXT_LIMIT);
    expect(text).toContain('303 items missing');
    expect(text).toContain('sessions observed: 3 of 20');
    expect(text).toContain("regime 'range' not observed in shadow");
    expect(text).toContain('kill flag active (manual: </b><script>&amp;');
    expect(text).toMatch(/… and \d+ more DRIFT_UNRESOLVED \(\/drift lists them\)/);
    const shown = (text.match(/unresolved drift POSITION_SIZE/g) ?? []).length;
    const folded = Number(/… and (\d+) more DRIFT_UNRESOLVED/.exec(text)?.[1]);
    expect(shown + folded).toBe(300);
  });
});

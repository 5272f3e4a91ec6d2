/**
 * Issue 16, the trader's phone (SPEC 5, 9, 12), as pure renders: one clock for people (the
 * constitution's zone with its abbreviation), the card's decision line first and its details in
 * an expandable block, an approved card waiting for a dead broker and a resting bracket said in
 * words, drift in words, /pending by expiry with a way to the card, and the countdown's steps.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/bot/commands.js';
import { countdownStep, nextStepAt } from '../../src/bot/countdown.js';
import { visibleText } from '../../src/bot/html.js';
import { renderTradeCard } from '../../src/bot/render/card.js';
import { renderConfirmCard } from '../../src/bot/render/confirm-card.js';
import { driftSides, renderDrift, renderDriftList } from '../../src/bot/render/drift.js';
import { renderPending } from '../../src/bot/render/lists.js';
import { contractMonthLabel } from '../../src/bot/render/format.js';
import { messageLink } from '../../src/bot/render/parts.js';
import { renderStatusText } from '../../src/cli/status.text.js';
import type { CardRecord, IntentRecord, OrderRecord } from '../../src/engine/domain.js';
import { clockTime, clockTimeSec, countdown, dateClockTime, dayClockTime, signedUsd, usd } from '../../src/engine/people-time.js';
import type { ConfirmCardView, PendingRow, TradeCardView } from '../../src/engine/queries.usecase.js';
import type { StatusSnapshot } from '../../src/engine/status.usecase.js';
import type { DriftRecord } from '../../src/engine/store.port.js';
import { aCard, aKill, anIntent, anOrder } from '../support/records.js';
import { parseHtml } from '../../src/sandbox/html-limits.js';

const NY = 'America/New_York';
const NOW = Date.parse('2026-11-24T15:00:00Z'); // Tue 10:00 EST
const SUMMER = Date.parse('2026-07-14T14:00:00Z'); // Tue 10:00 EDT

const card = (over: Partial<CardRecord> = {}): CardRecord => aCard({ messageId: 42, renderedVersion: 1, expiresAt: NOW + 252_000, createdAt: NOW - 48_000, ...over }, NOW);
const intent = (over: Partial<IntentRecord> = {}): IntentRecord => anIntent({ cardExpiresAt: NOW + 252_000, createdAt: NOW - 48_000, ...over }, NOW);

function view(over: Partial<TradeCardView> = {}): TradeCardView {
  return {
    kind: 'TRADE', card: card(), intent: intent(), token: null, orders: [], now: NOW, mode: 'paper', demo: false, timeZone: NY, unprotected: null,
    broker: { canSubmit: true, state: 'READY', detail: null, downSince: null },
    limits: { maxRiskPerTradeUsd: 15, minDvs: 0.8, minEqs: 0.75, staleTtlSec: 900, tokenTtlSec: 300 },
    ...over,
  };
}

const order = (over: Partial<OrderRecord>): OrderRecord => anOrder({ brokerOrderId: '1001', status: 'WORKING', ...over }, NOW);
const lines = (html: string): string[] => visibleText(html).split('\n');

describe('SPEC-12 one clock for people', () => {
  it('SPEC-12: times are in the constitution\'s zone with the abbreviation Intl gives (EST in winter, EDT in summer), money has one sign rule', () => {
    expect(clockTime(NOW, NY)).toBe('10:00 EST');
    expect(clockTime(SUMMER, NY)).toBe('10:00 EDT');
    expect(clockTimeSec(NOW + 3_000, NY)).toBe('10:00:03 EST');
    expect(dayClockTime(NOW, NY)).toBe('Tue 10:00 EST');
    expect(dateClockTime(NOW, NY)).toBe('2026-11-24 10:00 EST');
    expect(clockTime(NOW, 'America/Chicago')).toBe('09:00 CST');
    expect(clockTime(null, NY)).toBe('—');
    expect([usd(-1125), usd(0), usd(1125), signedUsd(1125), signedUsd(-1125), signedUsd(0)]).toEqual(['-$11.25', '$0.00', '$11.25', '+$11.25', '-$11.25', '$0.00']);
    expect([countdown(252_000), countdown(60_000), countdown(29_001), countdown(0), countdown(-5), countdown(3_723_000)]).toEqual(['4:12', '1:00', '0:30', '0:00', '0:00', '1:02:03']);
    expect(contractMonthLabel('202612')).toBe('Dec26');
    expect(contractMonthLabel('20270319')).toBe('Mar27');
    expect(contractMonthLabel('odd')).toBe('odd');
  });

  it('SPEC-12: every time on a card, /status (CLI) and a decided card reads EST/EDT, never UTC', () => {
    const decided = view({ card: card({ status: 'DECIDED', decidedBy: '@alice', decidedAt: NOW }), intent: intent({ state: 'MANAGED', approvedBy: '@alice', approvedAt: NOW, submittedAt: NOW + 1_000, filledQty: 1, avgFillPrice: 6010.25 }) });
    const text = visibleText(renderTradeCard(decided).html);
    expect(text).toContain('APPROVED by @alice at 10:00 EST');
    expect(text).toContain('Submitted at 10:00 EST');
    expect(visibleText(renderTradeCard(view()).html)).toContain('until 10:04 EST');
    const summer = visibleText(renderTradeCard(view({ now: SUMMER, card: card({ expiresAt: SUMMER + 300_000 }) })).html);
    expect(summer).toContain('until 10:05 EDT');
    const snap = { at: NOW, mode: 'paper', demo: false, constitution: 'default', broker: { name: 'sim', state: 'READY', canSubmit: true, account: null }, kills: [aKill({ id: 'k', reason: 'news', setBy: '@bob', setAt: NOW - 60_000 })], open: [], pending: [], today: { realizedPnlCents: -1125, consecutiveLosses: 1, trades: 1 }, lastHeartbeat: { at: NOW - 5_000, status: 'OK' }, lastReconciliation: NOW - 120_000, outbox: { backlog: 0, lastSentAt: NOW - 1_000, lastError: null }, unresolvedDrifts: [], unprotected: [] } as unknown as StatusSnapshot;
    const cli = renderStatusText(snap, NY);
    expect(cli).toContain('at 2026-11-24 10:00 EST');
    expect(cli).toContain('KILL ACTIVE: manual (news) by @bob at 09:59 EST');
    expect(cli).toContain('Last reconciliation: 09:58 EST (2m 00s ago)');
    expect(cli).toContain('P&L -$11.25');
    for (const t of [text, summer, cli]) expect(t).not.toMatch(/UTC|\d\d:\d\d:\d\dZ|T\d\d:\d\d/);
  });
});

describe('SPEC-5 the card on a phone', () => {
  it('SPEC-5: the first line is the decision — side, size, instrument, risk $, R, mode, time left — then levels and scores; the buttons are APPROVE / PASS', () => {
    const r = renderTradeCard(view());
    const l = lines(r.html);
    expect(l[0]).toBe('🟢 BUY 1 MES Dec26 · risk $11.25 · 2.1R · PAPER · 4:12 left');
    expect(l[1]).toBe('Entry 6010.25 · Stop 6008.00 · Target 6015.00');
    expect(l[2]).toBe('Setup 0.82 · DVS 0.93 · EQS 0.88 · red checks 2/2 ✅');
    expect(r.keyboard.inline_keyboard.map((row) => row.map((x) => x.text))).toEqual([['✅ APPROVE', '❌ PASS']]);
    const sell = lines(renderTradeCard(view({ intent: intent({ side: 'SELL', stopLoss: 6012.5, takeProfit: 6005.75 }) })).html)[0];
    expect(sell).toBe('🔻 SELL 1 MES Dec26 · risk $11.25 · 2.0R · PAPER · 4:12 left');
    const failed = intent();
    const bad = { ...failed, payload: { ...failed.payload, evidence: { ...failed.payload.evidence, redChecks: [{ name: 'spread ok', passed: false }] } } };
    expect(lines(renderTradeCard(view({ intent: bad })).html)[2]).toBe('Setup 0.82 · DVS 0.93 · EQS 0.88 · ❗ 1 red check failed');
  });

  it('SPEC-12: the details (mode banner, strategy, sizing maths, breakdown, red checks, state, ids) fold into ONE expandable blockquote after the decision, levels and scores', () => {
    const r = renderTradeCard(view());
    expect(r.html.match(/<blockquote expandable>/g)).toHaveLength(1);
    const parsed = parseHtml(r.html);
    if (!parsed.ok) throw new Error(parsed.error);
    const quotes = parsed.entities.filter((e) => e.type === 'expandable_blockquote');
    expect(quotes).toHaveLength(1);
    const folded = parsed.text.slice(quotes[0]!.offset, quotes[0]!.offset + quotes[0]!.length);
    for (const s of ['📄 PAPER (IBKR paper account)', 'Strategy: mes-orb · BRACKET · FUT CME USD', 'Sizing: |6010.25 − 6008.00| × 1 × 5 = $11.25', 'Setup 0.82 — trend 0.90 · momentum 0.70 · volume 0.85', 'Red checks: 2/2 passed', 'DVS 0.93 (min 0.80)', 'State: 12s old', 'card k3j2h4g5f6 · intent int_abc']) expect(folded).toContain(s);
    expect(parsed.text.slice(0, quotes[0]!.offset)).not.toContain('Sizing');
    expect(quotes[0]!.offset).toBeGreaterThan(parsed.text.indexOf('Setup 0.82 · DVS'));
  });

  it('"A dead broker looks healthy": an approved card whose broker is down says since when and when the approval lapses — not "Submitting…"', () => {
    const token = { id: 'tok_1', intentId: 'int_abc', evidenceHash: 'sha256:x', purpose: 'TRADE', issuedAt: NOW, expiresAt: NOW + 300_000, usedAt: null, expiredAt: null } as unknown as TradeCardView['token'];
    const approved = { card: card({ status: 'DECIDED', decidedBy: '@alice', decidedAt: NOW }), intent: intent({ state: 'APPROVED', approvedBy: '@alice', approvedAt: NOW }), token };
    const down = visibleText(renderTradeCard(view({ ...approved, broker: { canSubmit: false, state: 'DOWN', detail: 'connect failed', downSince: NOW - 120_000 } })).html);
    expect(down).toContain('⏸ Broker down since 09:58 EST — waiting; the approval lapses at 10:05 EST. Nothing was sent.');
    expect(down).not.toContain('Submitting');
    const unknownSince = visibleText(renderTradeCard(view({ ...approved, broker: { canSubmit: false, state: 'DISCONNECTED', detail: null, downSince: null } })).html);
    expect(unknownSince).toContain('⏸ Broker down (disconnected) — waiting; the approval lapses at 10:05 EST.');
    const up = visibleText(renderTradeCard(view(approved)).html);
    expect(up).toContain('⏳ Submitting to the broker… (the approval lapses at 10:05 EST)');
  });

  it('an acknowledged resting bracket says it is working at the broker (entry LMT, since when), not "Waiting for the broker to acknowledge"', () => {
    const submitted = { card: card({ status: 'DECIDED' }), intent: intent({ state: 'SUBMITTED', approvedBy: '@alice', approvedAt: NOW, submittedAt: NOW, ackedAt: NOW + 2_000 }) };
    const resting = visibleText(renderTradeCard(view({ ...submitted, now: NOW + 60_000, orders: [order({ role: 'ENTRY', status: 'WORKING', brokerOrderId: '1001' }), order({ id: 'o2', role: 'STOP', status: 'WORKING' })] })).html);
    expect(resting).toContain('📈 Working at the broker: entry LMT 6010.25 resting since 10:00 EST (#1001).');
    expect(resting).not.toContain('Waiting for the broker to acknowledge');
    const notYet = visibleText(renderTradeCard(view({ ...submitted, intent: intent({ state: 'SUBMITTED', submittedAt: NOW }), orders: [order({ status: 'PENDING', brokerOrderId: null })] })).html);
    expect(notYet).toContain('⏳ Waiting for the broker to acknowledge.');
  });

  it('/resume answered: the card itself says RESUMED (or cancelled) and what holds now — the one confirmation', () => {
    const base = { kind: 'CONFIRM' as const, now: NOW, mode: 'paper' as const, demo: false, timeZone: NY, open: [], intent: null };
    const resumed = visibleText(renderConfirmCard({ ...base, card: card({ kind: 'CONFIRM_RESUME', status: 'DECIDED', decidedBy: '@bob', decidedAt: NOW }), activeKills: [] } as ConfirmCardView).html);
    expect(resumed).toContain('✅ RESUMED by @bob at 10:00 EST.');
    expect(resumed).toContain('No kill flag is active: new entries are allowed again.');
    const stale = aKill({ id: 'k', kind: 'STALE', reason: 'stale market state on sig-1', setBy: 'system', setAt: NOW - 60_000, expiresAt: NOW + 240_000 });
    const still = visibleText(renderConfirmCard({ ...base, card: card({ kind: 'CONFIRM_RESUME', status: 'DECIDED', decidedBy: '@bob', decidedAt: NOW }), activeKills: [stale] } as ConfirmCardView).html);
    expect(still).toContain('Still active (not lifted by /resume): 1');
    expect(still).toContain('ends 10:04 EST');
    const cancelled = visibleText(renderConfirmCard({ ...base, card: card({ kind: 'CONFIRM_RESUME', status: 'CLOSED', decidedBy: '@bob', decidedAt: NOW }), activeKills: [stale] } as ConfirmCardView).html);
    expect(cancelled).toContain('✖ RESUME cancelled by @bob at 10:00 EST — nothing was done.');
  });
});

describe('SPEC-12 drift in words', () => {
  const drift = (over: Partial<DriftRecord>): DriftRecord => ({ id: 'drf_abc', type: 'POSITION_SIZE', severity: 'CRITICAL', instrumentKey: 'FUT:MES:202612:USD', local: { contract: 'FUT:MES:202612:USD', quantity: 1 }, broker: { contract: 'FUT:MES:202612:USD', quantity: 2 }, fingerprint: 'f', detectedAt: NOW - 720_000, escalatedAt: null, resolvedAt: null, resolution: null, resolvedBy: null, note: null, ...over });

  it('each drift type reads as "Phoenix says X, broker says Y" (odd stored shapes never throw, never print JSON)', () => {
    expect(driftSides(drift({}))).toBe('Phoenix says long 1, broker says long 2');
    expect(driftSides(drift({ type: 'POSITION_COUNT', local: { quantity: 0 }, broker: { quantity: -1 } }))).toBe('Phoenix says flat, broker says short 1');
    expect(driftSides(drift({ type: 'ORDER_STATUS', local: { role: 'STOP', status: 'WORKING', quantity: 1, filledQty: 0, intentState: 'MANAGED' }, broker: { status: 'NOT_WORKING', quantity: 1, filledQty: 0 } }))).toBe('Phoenix says the STOP order is working (0/1 filled) (position managed), broker says not working (0/1 filled)');
    expect(driftSides(drift({ type: 'ORDER_STATUS', local: null, broker: { role: 'ENTRY', side: 'BUY', quantity: 1, status: 'WORKING', brokerOrderId: '77' } }))).toBe('Phoenix has no such ENTRY order, broker says BUY 1 ENTRY working (#77)');
    expect(driftSides(drift({ type: 'PNL', local: { avgFillPrice: 6010.25, realizedPnlCents: -1125 }, broker: { avgFillPrice: 6010.5, realizedPnlCents: -1250 } }))).toBe('Phoenix says entry 6010.25, P&L -$11.25; broker says entry 6010.50, P&L -$12.50');
    for (const odd of [null, 'x', 42, [1], { quantity: 'NaN' }]) expect(() => driftSides(drift({ local: odd, broker: odd }))).not.toThrow();
    expect(driftSides(drift({ local: 'x', broker: [1] }))).toBe('Phoenix says unknown, broker says unknown');
  });

  it('one drift = one message: instrument, both sides, since when in ET, at most three buttons with full labels, one per row; the list has only "check now"', () => {
    const r = renderDrift({ ...drift({}), stillPresent: true }, NOW, NY, true);
    expect(lines(r.html).slice(0, 3)).toEqual(['🚨 CRITICAL drift · MES Dec26 · position size', 'Phoenix says long 1, broker says long 2.', 'Since 09:48 EST (12m 00s ago) · still seen at the last check']);
    expect(r.keyboard.inline_keyboard.length).toBeLessThanOrEqual(3);
    expect(r.keyboard.inline_keyboard.every((row) => row.length === 1)).toBe(true);
    expect(r.keyboard.inline_keyboard.flat().map((x) => x.text)).toEqual(['👍 Acknowledge: known, leave it', '🛠 Corrected in Phoenix', '🏦 Corrected at the broker']);
    expect(renderDrift({ ...drift({}), stillPresent: true }, NOW, NY, false).keyboard.inline_keyboard).toEqual([]);
    const many = Array.from({ length: 19 }, (_, k) => drift({ id: `drf_${k}` }));
    const list = renderDriftList(many, NOW, NY);
    expect(list.keyboard.inline_keyboard.flat()).toHaveLength(1);
    expect(visibleText(list.html)).toContain('/drift drf_0');
    expect(visibleText(list.html)).toContain('… and 9 more');
    expect(visibleText(list.html)).not.toMatch(/[{}"]/);
  });
});

describe('smaller items', () => {
  const row = (id: string, expiresAt: number, messageId: number | null, over: Partial<IntentRecord> = {}): PendingRow => ({ intent: intent({ id, ...over }), card: card({ id: `c_${id}`, expiresAt, messageId }) });

  it('/pending: sorted by expiry (soonest first), each with a link that opens its card message (t.me/c/… for the supergroup)', () => {
    const html = renderPending([row('int_late', NOW + 280_000, 11, { strategy: 'late' }), row('int_soon', NOW + 30_000, 12, { strategy: 'soon' }), row('int_mid', NOW + 120_000, 13, { strategy: 'mid' })], NOW, NY);
    const text = visibleText(html);
    expect(text.indexOf('soon')).toBeLessThan(text.indexOf('mid'));
    expect(text.indexOf('mid')).toBeLessThan(text.indexOf('late'));
    expect(text).toContain('1. 🟢 BUY 1 MES Dec26 · risk $11.25 · 0:30 left (until 10:00 EST) · soon · → open card');
    const parsed = parseHtml(html);
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.entities.filter((e) => e.type === 'text_link').map((e) => e.url)).toEqual(['https://t.me/c/1001/12', 'https://t.me/c/1001/13', 'https://t.me/c/1001/11']);
    expect(messageLink('1001', 5)).toBeNull(); // a private chat has no message links
    expect(messageLink('-1001001', null)).toBeNull();
    expect(visibleText(renderPending([row('int_x', NOW + 60_000, null)], NOW, NY))).toContain('card not sent yet');
  });

  it('/help and the command menu: plain wording, no spec references, the role said once', () => {
    for (const c of COMMANDS) {
      expect(c.description, c.command).not.toMatch(/SPEC|\(admin|admin\)|approver\+|viewer\+/);
      expect(c.description.length, c.command).toBeLessThanOrEqual(200);
    }
    expect(COMMANDS.find((c) => c.command === 'resume')?.description).toBe('lift the kill flag, after one confirm tap');
  });

  it('the countdown steps: whole minutes, then 0:30, then none — exact at the boundaries', () => {
    expect([300_000, 240_001, 240_000, 60_001, 60_000, 30_001, 30_000, 1, 0, -1].map(countdownStep)).toEqual([5, 5, 4, 2, 1, 1, 0, 0, -1, -1]);
    expect([300_000, 252_000, 240_000, 60_001, 60_000, 30_001, 30_000].map(nextStepAt)).toEqual([240_000, 240_000, 180_000, 60_000, 30_000, 30_000, null]);
  });

  it('ONE formatter for money and times: no other usd/utc/iso-time helper for people in src (people-time.ts is the one)', () => {
    const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? (n === 'generated' || n === 'generated-pg' ? [] : files(join(dir, n))) : n.endsWith('.ts') ? [join(dir, n)] : []));
    const offenders = files('src')
      .filter((f) => !f.endsWith('people-time.ts'))
      .flatMap((f) => readFileSync(f, 'utf8').split('\n').map((l, i) => [f, i + 1, l] as const))
      .filter(([, , l]) => /\b(const\s+(usd|fmtUsd|usdAmount|utc|utcDay|fmtTime|formatLocal|timeFormatter)\s*=\s*\(|function\s+(usd|fmtUsd|usdAmount|utc|utcDay|fmtTime|formatLocal|timeFormatter)\s*\()/.test(l) || /toISOString\(\)\.slice\(11/.test(l))
      .map(([f, n, l]) => `${f}:${n}: ${l.trim()}`);
    expect(offenders).toEqual([]);
  });
});

/**
 * Card rendering under hostile input: every message is valid HTML the sandbox (Telegram's
 * parser rules, strict about bare "&") accepts, within 4096 characters, and every button's
 * callback data is at most 64 bytes and parses back to the card.
 */
import fc from 'fast-check';
import { Api } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLBACK_DATA_MAX_BYTES, encodeCallback, parseCallback } from '../../src/bot/callback-data.js';
import { chunkLines, clean, fitLines, line, lineText, renderFitted, TEXT_LIMIT, toast, visibleText, withDrop, b, code } from '../../src/bot/html.js';
import { renderCard, renderTradeCard } from '../../src/bot/render/card.js';
import { renderDriftList, renderStatus } from '../../src/bot/render/lists.js';
import { listRunbooks, markdownToLines, renderRunbook } from '../../src/bot/runbooks.js';
import type { CardRecord, IntentRecord, KillFlag } from '../../src/engine/domain.js';
import type { ConfirmCardView, TradeCardView } from '../../src/engine/queries.usecase.js';
import type { StatusSnapshot } from '../../src/engine/status.usecase.js';
import type { DriftRecord } from '../../src/engine/store.port.js';
import { parseHtml } from '../../src/sandbox/html-limits.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { aCard, aKill, anIntent, anIntentInput } from '../support/records.js';

const NOW = Date.parse('2026-11-24T15:00:00Z');
const HOSTILE = [
  '<script>alert(1)</script>',
  'AT&T & Co &amp; &lt;b&gt; &#60;',
  '</b></code></i><b>',
  '🚀🔥💥 emoji 👨‍👩‍👧‍👦',
  'שלום עולם مرحبا بالعالم',
  '\u202Eevil\u202C override \u2066isolate\u2069',
  'line\nbreak\r\nAPPROVED by admin',
  '"quotes" \'single\' `ticks` *stars* _under_',
  '\u0000\u0007control\u001b[31m',
  'x'.repeat(5000),
];

const card = (over: Partial<CardRecord> = {}): CardRecord => aCard(over, NOW);

/** The README intent with `text` in every free-text field a card shows (and 20 red checks). */
function intent(text: string, over: Partial<IntentRecord> = {}): IntentRecord {
  const checks = Array.from({ length: 20 }, (_, k) => ({ name: `${text.slice(0, 110)} #${k}`, passed: k % 3 !== 0 }));
  const breakdown = Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`${text.slice(0, 36)}${k}`, (k % 10) / 10]));
  const payload = anIntentInput({
    strategy: text,
    instrument: { symbol: text, secType: 'FUT', exchange: text, currency: text, contractMonth: '202612', multiplier: 5 },
    evidence: { setupScore: 0.82, breakdown, alignment: text, redChecks: checks, dvs: 0.93, eqs: 0.88 },
    stateHash: text,
  }, NOW);
  return anIntent({ payload, instrumentKey: 'MES.202612.CME', ...over }, NOW);
}

function tradeView(text: string, over: { intent?: Partial<IntentRecord>; card?: Partial<CardRecord>; mode?: TradeCardView['mode']; demo?: boolean } = {}): TradeCardView {
  return {
    kind: 'TRADE',
    card: card(over.card),
    intent: intent(text, over.intent),
    unprotected: null,
    token: null,
    orders: [],
    now: NOW,
    mode: over.mode ?? 'paper',
    demo: over.demo ?? false,
    timeZone: 'America/New_York',
    broker: { canSubmit: true, state: 'READY', detail: null, downSince: null },
    limits: { maxRiskPerTradeUsd: 15, minDvs: 0.8, minEqs: 0.75, staleTtlSec: 900, tokenTtlSec: 300 },
  };
}

/** Every state a trade card can be rendered in. */
const STATES: { intent?: Partial<IntentRecord>; card?: Partial<CardRecord> }[] = [
  {},
  { card: { status: 'EXPIRED' }, intent: { state: 'CANCELLED', stateReason: 'card_expired' } },
  { card: { status: 'DECIDED', decidedBy: '@x', decidedAt: NOW }, intent: { state: 'CANCELLED', stateReason: 'passed by @x' } },
  { card: { status: 'DECIDED', decidedBy: '@x', decidedAt: NOW }, intent: { state: 'CANCELLED', stateReason: 'blocked by gate at approval: KILL_ACTIVE' } },
  { card: { status: 'DECIDED', decidedBy: '@x', decidedAt: NOW }, intent: { state: 'SUBMITTED', approvedBy: '@x', approvedAt: NOW, submittedAt: NOW } },
  { card: { status: 'DECIDED', decidedBy: '@x', decidedAt: NOW }, intent: { state: 'MANAGED', approvedBy: '@x', approvedAt: NOW, submittedAt: NOW, filledQty: 1, avgFillPrice: 6010.25 } },
  { card: { status: 'DECIDED' }, intent: { state: 'CLOSED', approvedBy: '@x', approvedAt: NOW, submittedAt: NOW, filledQty: 1, avgFillPrice: 6010.25, realizedPnlCents: -1125, stateReason: 'stop hit at 6008; P&L -11.25 USD' } },
  { card: { status: 'DECIDED' }, intent: { state: 'REJECTED', approvedBy: '@x', approvedAt: NOW, submittedAt: NOW, stateReason: 'broker refused (201): <margin> & stuff' } },
  { card: { status: 'DECIDED' }, intent: { state: 'STALLED', approvedBy: '@x', approvedAt: NOW, submittedAt: NOW } },
  { card: { status: 'DECIDED' }, intent: { state: 'EXPIRED', approvedBy: '@x', approvedAt: NOW } },
];

/** Hostile text: arbitrary graphemes, or runs of the characters that break HTML, bidi and JSON. */
const hostileText = (maxLength: number) =>
  fc.oneof(
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: fc.constantFrom('<', '>', '&', '&amp;', '&#60;', '</b>', '<b>', '"', '\n', '\u202E', '\u2066', '\u0000', '\u001b', '🚀', '👨‍👩‍👧', 'א', 'م', 'x', ' ', '\uD83D', ':'), maxLength }),
  );

let sandbox: Sandbox;
let api: Api;
beforeAll(async () => {
  sandbox = await startSandbox();
  api = new Api('123:render', { apiRoot: sandbox.apiRoot });
});
afterAll(async () => sandbox.close());

function assertTelegramSafe(html: string): void {
  const parsed = parseHtml(html);
  if (!parsed.ok) throw new Error(`invalid HTML: ${parsed.error}\n${html.slice(0, 500)}`);
  expect(parsed.text.length).toBeLessThanOrEqual(TEXT_LIMIT);
  expect(visibleText(html)).toBe(parsed.text);
  expect(parsed.text).not.toMatch(/[\u202A-\u202E\u2066-\u2069\u0000-\u0008]/);
}

describe('evidence card rendering', () => {
  it('shows everything SPEC 5 asks for, glanceably', () => {
    const v = tradeView('mes-orb');
    const html = renderTradeCard({ ...v, intent: { ...v.intent, payload: { ...v.intent.payload, evidence: { setupScore: 0.82, breakdown: { trend: 0.9, momentum: 0.7 }, alignment: 'HTF up; LTF pullback to VWAP', redChecks: [{ name: 'no tier-1 news', passed: true }, { name: 'spread ok', passed: false }], dvs: 0.93, eqs: 0.88 } } } }).html;
    const text = visibleText(html);
    for (const s of ['PAPER', 'BUY 1 mes-orb Dec26', 'BRACKET', 'Strategy: mes-orb', 'Entry 6010.25 · Stop 6008.00 · Target 6015.00', 'Risk $11.25 (cap $15.00) · Reward 2.11R ($23.75)', 'Sizing: |6010.25 − 6008.00| × 1 × 5 = $11.25', 'Setup 0.82 — trend 0.90 · momentum 0.70', 'Alignment: HTF up; LTF pullback to VWAP', 'Red checks: 1 FAILED, 1 passed', '❗ spread ok', '✅ no tier-1 news', 'DVS 0.93 (min 0.80) · EQS 0.88 (min 0.75)', 'State: 12s old (stale after 15m 00s)', 'Valid for 5m 00s — until 10:05 EST']) {
      expect(text).toContain(s);
    }
    expect(text.indexOf('❗ spread ok')).toBeLessThan(text.indexOf('✅ no tier-1 news')); // failures first
  });

  it('PAPER / LIVE / OBSERVE are unmistakable on the decision line and DEMO is said plainly', () => {
    expect(visibleText(renderTradeCard(tradeView('s', { mode: 'live' })).html).split('\n')[0]).toBe('🟢 BUY 1 s Dec26 · risk $11.25 · 2.1R · 🔴 LIVE — REAL MONEY · 5:00 left');
    expect(visibleText(renderTradeCard(tradeView('s', { mode: 'paper', demo: true })).html).split('\n')[0]).toBe('🟢 BUY 1 s Dec26 · risk $11.25 · 2.1R · PAPER 🧪 DEMO · 5:00 left');
    expect(visibleText(renderTradeCard(tradeView('s', { mode: 'observe' })).html).split('\n')[0]).toBe('🟢 BUY 1 s Dec26 · risk $11.25 · 2.1R · OBSERVE (nothing is sent) · 5:00 left');
    // the full banner is still on the card, in its details
    expect(visibleText(renderTradeCard(tradeView('s', { mode: 'paper', demo: true })).html)).toContain('📄 PAPER (IBKR paper account) · 🧪 DEMO');
  });

  it('hostile strings in every free-text field render safely in every card state, under the limits, and the sandbox accepts them', async () => {
    let chat = -100900;
    for (const text of HOSTILE) {
      for (const st of STATES) {
        const r = renderCard(tradeView(text, st));
        assertTelegramSafe(r.html);
        for (const btn of r.keyboard.inline_keyboard.flat()) {
          const data = (btn as { callback_data: string }).callback_data;
          expect(Buffer.byteLength(data, 'utf8')).toBeLessThanOrEqual(CALLBACK_DATA_MAX_BYTES);
          expect(parseCallback(data)?.id).toBe('k3j2h4g5f6');
        }
        expect(r.html).not.toContain('<script>');
      }
      const r = renderCard(tradeView(text));
      const sent = await api.sendMessage(chat--, r.html, { parse_mode: 'HTML', reply_markup: r.keyboard });
      expect(sent.text?.length).toBeLessThanOrEqual(TEXT_LIMIT);
    }
  });

  it('a hostile value cannot fake a card line (newlines collapse) and bidi overrides are removed while RTL letters stay', () => {
    const text = visibleText(renderTradeCard(tradeView('line\nAPPROVED by admin \u202Eabc שלום')).html);
    expect(text.split('\n').some((l) => l.startsWith('APPROVED'))).toBe(false);
    expect(text).toContain('שלום');
    expect(text).not.toContain('\u202E');
  });

  it('over-long evidence is trimmed with "…" and keeps the essentials (numbers, buttons, failed checks)', () => {
    const r = renderTradeCard(tradeView('y'.repeat(5000)));
    const text = visibleText(r.html);
    expect(text.length).toBeLessThanOrEqual(4000);
    expect(text).toContain('…');
    expect(text).toContain('Risk $11.25');
    expect(text).toContain('DVS 0.93');
    expect(text).toContain('Valid for 5m 00s');
    expect(r.keyboard.inline_keyboard[0]).toHaveLength(2);
  });

  it('property: any strings in any field give valid HTML under 4096 characters', () => {
    fc.assert(
      fc.property(hostileText(400), fc.integer({ min: 0, max: STATES.length - 1 }), (s, k) => {
        assertTelegramSafe(renderCard(tradeView(s, STATES[k])).html);
      }),
      { numRuns: 300 },
    );
  });

  it('confirmation, drift and status messages are safe too', () => {
    const kills: KillFlag[] = HOSTILE.map((h, k) => aKill({ id: `kill_${k}`, reason: h, setBy: h }, NOW));
    for (const kind of ['CONFIRM_RESUME', 'CONFIRM_FLATTEN', 'CONFIRM_REPROTECT', 'CONFIRM_CLOSE', 'CONFIRM_CANCEL_STALLED'] as const) {
      for (const status of ['OPEN', 'DECIDED', 'CLOSED', 'EXPIRED'] as const) {
        const v: ConfirmCardView = { kind: 'CONFIRM', card: card({ kind, status, decidedBy: HOSTILE[0]!, decidedAt: NOW }), now: NOW, mode: 'live', demo: false, timeZone: 'America/New_York', activeKills: kills, open: HOSTILE.map((h) => intent(h, { state: 'MANAGED' })), intent: kind.endsWith('RESUME') || kind.endsWith('FLATTEN') ? null : intent(HOSTILE[3]!, { state: 'FILLED' }) };
        const r = renderCard(v);
        assertTelegramSafe(r.html);
        expect(r.keyboard.inline_keyboard.flat().length).toBe(status === 'OPEN' ? 2 : 0);
      }
    }
    const drifts: DriftRecord[] = HOSTILE.map((h, k) => ({ id: `drf_${k}`, type: 'POSITION_SIZE', severity: 'CRITICAL', instrumentKey: h, local: { q: h }, broker: { q: h.repeat(3) }, fingerprint: 'f', detectedAt: NOW - 60_000, escalatedAt: null, resolvedAt: null, resolution: null, resolvedBy: null, note: null }));
    const list = renderDriftList(drifts, NOW, 'America/New_York');
    assertTelegramSafe(list.html);
    for (const btn of list.keyboard.inline_keyboard.flat()) expect(Buffer.byteLength((btn as { callback_data: string }).callback_data)).toBeLessThanOrEqual(64);
    const snap: StatusSnapshot = {
      at: NOW,
      mode: 'paper',
      demo: true,
      constitution: HOSTILE[1]!,
      broker: { name: 'sim', state: 'READY', canSubmit: true, account: { accountId: HOSTILE[0]!, netLiquidation: 1, buyingPower: 1 } as never, detail: HOSTILE[9]! },
      kills,
      open: HOSTILE.map((h) => intent(h, { state: 'MANAGED' })),
      pending: [],
      today: { realizedPnlCents: -1234, consecutiveLosses: 1, trades: 1 },
      lastHeartbeat: { at: NOW - 5000, status: 'OK' },
      lastReconciliation: null,
      outbox: { backlog: 3, lastSentAt: null, lastError: HOSTILE[2]! },
      unresolvedDrifts: drifts,
      unprotected: HOSTILE.slice(0, 2).map((h) => ({ intentId: h, open: 1, stop: 'CANCELLED' })),
    };
    assertTelegramSafe(renderStatus(snap, 'America/New_York'));
  });
});

describe('callback data', () => {
  it('is v1:<action>:<opaque id>, at most 64 bytes, and parses strictly', () => {
    expect(encodeCallback('approve', 'k3j2h4g5f6')).toBe('v1:a:k3j2h4g5f6');
    expect(parseCallback('v1:p:k3j2h4g5f6')).toEqual({ action: 'pass', id: 'k3j2h4g5f6' });
    expect(Buffer.byteLength(encodeCallback('driftBrokerFixed', 'd'.repeat(48)))).toBeLessThanOrEqual(64);
    expect(() => encodeCallback('approve', 'd'.repeat(49))).toThrow();
    expect(() => encodeCallback('approve', 'a:b')).toThrow();
    expect(() => encodeCallback('approve', '')).toThrow();
    for (const bad of ['', 'v1:a:', 'v1:a:ü', 'v1:a:a b', 'V1:a:x', 'v1:a:x\n', ' v1:a:x', 'v1:q:x', `v1:a:${'x'.repeat(49)}`, '🚀'.repeat(20)]) expect(parseCallback(bad), bad).toBeNull();
    expect(parseCallback(undefined)).toBeNull();
  });

  it('property: parse never throws, and whatever parses re-encodes to the same bytes (≤ 64)', () => {
    fc.assert(
      fc.property(fc.oneof(hostileText(80), fc.string({ unit: fc.constantFrom('v', '1', ':', 'a', 'p', 'c', 'x', 'k', 'f', 'b', 'r', 'z', '_', '-', 'é'), maxLength: 70 })), (s) => {
        const p = parseCallback(s);
        if (p) {
          expect(encodeCallback(p.action, p.id)).toBe(s);
          expect(Buffer.byteLength(s)).toBeLessThanOrEqual(64);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('html toolkit', () => {
  it('fitLines drops low-priority lines behind one marker, then cuts; never splits surrogate pairs', () => {
    const lines = [line(b('head')), ...Array.from({ length: 400 }, (_, k) => withDrop(line(`🚀 item ${k} `, code('x'.repeat(20))), 1)), line('tail')];
    const fitted = fitLines(lines, 1000);
    const text = fitted.map(lineText).join('\n');
    expect(text.length).toBeLessThanOrEqual(1000);
    expect(text.startsWith('head')).toBe(true);
    expect(text.endsWith('tail')).toBe(true);
    expect(text).toMatch(/… \d+ lines trimmed to fit/);
    const cut = renderFitted([line('🚀'.repeat(3000))], 101);
    assertTelegramSafe(cut);
    expect(visibleText(cut).length).toBeLessThanOrEqual(101);
    expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(visibleText(cut))).toBe(false);
  });

  it('chunkLines splits long content into messages that each fit', () => {
    const chunks = chunkLines(Array.from({ length: 500 }, (_, k) => line(`line ${k} `, b('bold & <tag>'), ' ', 'z'.repeat(30))));
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) assertTelegramSafe(c);
  });

  it('toast is plain and at most 200 characters; clean collapses whitespace', () => {
    expect(toast('a'.repeat(500))).toHaveLength(200);
    expect(clean(' a\n\tb  c ')).toBe('a b c');
  });
});

describe('runbooks', () => {
  it('every runbook renders into Telegram-safe messages', async () => {
    const list = await listRunbooks('runbooks');
    expect(list.length).toBeGreaterThanOrEqual(11);
    for (const rb of list) {
      const r = await renderRunbook('runbooks', rb.id);
      if (!r.ok) throw new Error(r.message);
      for (const m of r.messages) assertTelegramSafe(m);
    }
    expect(markdownToLines('# T\n\n\n\ntext `code` **bold** [link](http://x)').map(lineText)).toEqual(['T', '', 'text code bold link']);
  });
});

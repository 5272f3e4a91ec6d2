/**
 * Evidence cards end to end: the real grammY bot long-polls the sandbox over HTTP, the real
 * engine runs on a SQLite file with a FakeClock, the sim broker fills.
 */
import { describe, expect, it } from 'vitest';
import { expectBeads } from '../support/beads-checked.js';
import { buttonsOf, CHAT, makeRig, messageById, payloadOf, type Rig } from './helpers.js';
import { intentOf } from '../support/harness.js';
import { closeAfterEach } from '../support/cleanup.js';

let rig: Rig | undefined;
const newRig = closeAfterEach(makeRig);

const entryOrders = async (r: Rig, intentId: string) => (await r.h.app.store.tx((tx) => tx.orders.listByIntent(intentId))).filter((o) => o.role === 'ENTRY');

describe('evidence card: APPROVE / PASS over the real bot', () => {
  it('intent → card with both buttons → approver taps APPROVE → order at the sim broker → card shows approved by whom/when and filled', async () => {
    rig = await newRig();
    const { intentId, cardId, message } = await rig.proposeAndWaitCard();
    expect(buttonsOf(message)).toEqual([`v1:a:${cardId}`, `v1:p:${cardId}`]);
    expect(message.reply_markup?.inline_keyboard[0]?.map((b) => b.text)).toEqual(['✅ APPROVE', '❌ PASS']);
    expect(message.parse_mode).toBe('HTML');
    for (const s of ['PAPER', 'BUY 1 MES Dec26', 'BRACKET', 'mes-orb', 'Entry 6010.25', 'Stop 6008.00', 'Target 6015.00', 'Risk $11.25', '2.11R', 'Setup 0.82', 'trend 0.90', 'HTF up; LTF pullback to VWAP', 'no tier-1 news', 'DVS 0.93', 'EQS 0.88', 'Sizing: |6010.25 − 6008.00| × 1 × 5 = $11.25', 'Valid for 5m 00s']) {
      expect(message.text).toContain(s);
    }

    const q = rig.alice.tap(CHAT, message.message_id, 'APPROVE');
    expect((await rig.alice.waitAnswer(q)).text).toBe('Approved ✅ Order sent to the broker.');
    const done = await rig.sandbox.waitFor(() => {
      const m = messageById(rig!.sandbox, message.message_id);
      return m && m.text.includes('FILLED') && m.text.includes('working at the broker') ? m : undefined;
    }, { label: 'card shows filled + managed' });
    expect(done.text).toContain('APPROVED by @alice at 10:00 EST');
    expect(done.text).toContain('FILLED 1/1 @ 6010.25');
    expect(done.reply_markup).toBeUndefined();
    expect(rig.botMessages().filter((m) => m.text.includes(`card ${cardId}`))).toHaveLength(1); // edited in place, never re-sent
    expect((await intentOf(rig.h, intentId)).state).toBe('MANAGED');
    expect(await entryOrders(rig, intentId)).toHaveLength(1);
    await rig.outboxDrained();
    const card = await rig.h.app.store.tx((tx) => tx.cards.get(cardId));
    expect(card?.messageId).toBe(message.message_id);
    expect(card?.renderedVersion).toBe(card?.version);
  });

  it('PASS cancels: no order, card says passed by whom', async () => {
    rig = await newRig();
    const { intentId, message } = await rig.proposeAndWaitCard();
    const q = rig.dave.tap(CHAT, message.message_id, 'PASS');
    expect((await rig.dave.waitAnswer(q)).text).toBe('Passed. Nothing will be sent.');
    const m = await rig.sandbox.waitFor(() => {
      const x = messageById(rig!.sandbox, message.message_id);
      return x?.text.includes('PASSED') ? x : undefined;
    });
    expect(m.text).toContain('PASSED by @dave at 10:00 EST — nothing was sent.');
    expect(m.reply_markup).toBeUndefined();
    expect((await intentOf(rig.h, intentId)).state).toBe('CANCELLED');
    expect(await entryOrders(rig, intentId)).toHaveLength(0);
  });

  it('CV foreign user taps: a viewer and a stranger are refused, nothing changes, both are audited (ACCESS_DENIED)', async () => {
    rig = await newRig();
    const { intentId, message } = await rig.proposeAndWaitCard();
    const viewerTap = rig.carol.tap(CHAT, message.message_id, 'APPROVE');
    expect((await rig.carol.waitAnswer(viewerTap)).text).toBe('Only approvers can decide trade cards.');
    const strangerTap = rig.mallory.tap(CHAT, message.message_id, 'APPROVE');
    expect((await rig.mallory.waitAnswer(strangerTap)).text).toBe('Not allowed.'); // neutral: nothing about the card
    const strangerPass = rig.mallory.tap(CHAT, message.message_id, 'PASS');
    expect((await rig.mallory.waitAnswer(strangerPass)).text).toBe('Not allowed.');

    expect((await intentOf(rig.h, intentId)).state).toBe('PROPOSED');
    expect(buttonsOf(messageById(rig.sandbox, message.message_id))).toHaveLength(2);
    const denied = (expectBeads(await rig.beads('ACCESS_DENIED'), 'ACCESS_DENIED')).map((b) => payloadOf<{ userId: string; reason: string; chatId: string | null }>(b));
    expect(denied.filter((d) => d.userId === '1003')).toEqual([expect.objectContaining({ reason: 'not an approver', chatId: String(CHAT) })]);
    expect(denied.filter((d) => d.userId === '666')).toHaveLength(2);
    expect(denied.find((d) => d.userId === '666')).toMatchObject({ reason: 'unknown user', chatId: String(CHAT) });
    expect(await entryOrders(rig, intentId)).toHaveLength(0);
  });

  it('CV forged callback data: malformed, oversized, unknown-card and wrong-kind data are refused and audited; the card stays open', async () => {
    rig = await newRig();
    const { intentId, cardId, message } = await rig.proposeAndWaitCard();
    const forged = ['v1:a:../../etc/passwd', 'v2:a:' + cardId, `v1:z:${cardId}`, 'v1:a:' + 'x'.repeat(49), 'approve', `v1:a:${cardId}:extra`, 'v1:a:zzzzzzzzzz', `v1:c:${cardId}`];
    for (const data of forged) {
      const q = rig.alice.tapRaw(CHAT, message.message_id, data);
      expect((await rig.alice.waitAnswer(q)).text, data).toBe('This button is not valid.');
    }
    expect((await intentOf(rig.h, intentId)).state).toBe('PROPOSED');
    const denied = (expectBeads(await rig.beads('ACCESS_DENIED'), 'ACCESS_DENIED')).map((b) => payloadOf<{ userId: string; reason: string; action: string }>(b));
    expect(denied.length).toBe(5); // audit is rate-limited per user (5 per 12 s of engine time)
    expect(denied.map((d) => d.reason)).toContain('malformed or forged callback data');
    // the next one after the window says how many were not recorded
    await rig.h.clock.advance(60_000);
    const q = rig.alice.tapRaw(CHAT, message.message_id, 'v1:a:');
    await rig.alice.waitAnswer(q);
    const last = payloadOf<{ reason: string }>((expectBeads(await rig.beads('ACCESS_DENIED'), 'ACCESS_DENIED')).at(-1)!);
    expect(last.reason).toBe('malformed or forged callback data (+3 earlier attempts not recorded: rate limit)');
  });

  it('CV stale card tapped: a replayed APPROVE on a decided card and a tap on an expired card explain why nothing happens', async () => {
    rig = await newRig();
    const first = await rig.proposeAndWaitCard();
    const q1 = rig.alice.tap(CHAT, first.message.message_id, 'APPROVE');
    await rig.alice.waitAnswer(q1);
    await rig.sandbox.waitFor(() => messageById(rig!.sandbox, first.message.message_id)?.reply_markup === undefined);
    // replay: the old button's data, after the buttons are gone
    const replay = rig.dave.tapRaw(CHAT, first.message.message_id, `v1:a:${first.cardId}`);
    expect((await rig.dave.waitAnswer(replay)).text).toMatch(/^Already decided by @alice at 10:00 EST \(now (SUBMITTED|FILLED|MANAGED)\); nothing was done\.$/);
    expect(await entryOrders(rig, first.intentId)).toHaveLength(1);
    const refused = (expectBeads(await rig.beads('CARD'), 'CARD')).map((b) => payloadOf<{ event: string; cardId: string }>(b)).filter((p) => p.event === 'TAP_REFUSED');
    expect(refused).toEqual([expect.objectContaining({ cardId: first.cardId })]);

    // expired card: engine time passes the card's TTL without a decision
    const second = await rig.proposeAndWaitCard({ instrument: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' }, entryPrice: 200, stopLoss: 199, takeProfit: 203 });
    await rig.h.clock.advance(301_000);
    const stale = rig.alice.tap(CHAT, second.message.message_id, 'APPROVE');
    expect((await rig.alice.waitAnswer(stale)).text).toBe('This card expired; nothing was done.');
    const m = await rig.sandbox.waitFor(() => {
      const x = messageById(rig!.sandbox, second.message.message_id);
      return x?.text.includes('EXPIRED') ? x : undefined;
    });
    expect(m.reply_markup).toBeUndefined();
    expect((await intentOf(rig.h, second.intentId)).stateReason).toBe('card_expired');
  });

  it('a gate that closes after the card was sent (kill flag) blocks the APPROVE: the card says which gate, nothing is sent', async () => {
    rig = await newRig();
    const { intentId, message } = await rig.proposeAndWaitCard();
    await rig.h.engine.halt({ id: '1002', name: '@bob', roles: ['viewer', 'approver', 'admin'], via: 'telegram' }, 'drill');
    const q = rig.alice.tap(CHAT, message.message_id, 'APPROVE');
    expect((await rig.alice.waitAnswer(q)).text).toMatch(/^Blocked by a gate: .*kill.*Nothing was sent\.$/i);
    const m = await rig.sandbox.waitFor(() => {
      const x = messageById(rig!.sandbox, message.message_id);
      return x?.text.includes('BLOCKED') ? x : undefined;
    });
    expect(m.text).toContain('BLOCKED at approval by gate KILL_ACTIVE (tapped by @alice at 10:00 EST) — nothing was sent.');
    expect(m.reply_markup).toBeUndefined();
    expect(await entryOrders(rig, intentId)).toHaveLength(0);
  });

  it('card expiry edits the card: engine time past the TTL, expireDue(), the card says expired and its buttons are gone', async () => {
    rig = await newRig();
    const { intentId, message } = await rig.proposeAndWaitCard({ ttlSec: 60 });
    expect(message.text).toContain('Valid for 1m 00s');
    await rig.h.clock.advance(61_000);
    expect(await rig.h.engine.expireDue()).toMatchObject({ cards: 1 });
    const m = await rig.sandbox.waitFor(() => {
      const x = messageById(rig!.sandbox, message.message_id);
      return x?.text.includes('EXPIRED') ? x : undefined;
    });
    expect(m.text).toContain('EXPIRED at 10:01 EST without a decision — nothing was sent.');
    expect(m.reply_markup).toBeUndefined();
    expect(m.edits).toBe(1);
    expect((await intentOf(rig.h, intentId)).state).toBe('CANCELLED');
  });

  it('CV two approvals of one intent at once: two approvers tap APPROVE in the same instant → exactly one order', async () => {
    // Polling off: both taps' updates enter the bot's middleware at once (its per-chat order
    // serializes them; the engine's compare-and-set would catch them if it did not).
    rig = await newRig({ start: false });
    await rig.phoenix.bot.init();
    rig.phoenix.syncer.start();
    const { intentId, message } = await rig.proposeAndWaitCard();
    const qa = rig.alice.tap(CHAT, message.message_id, 'APPROVE');
    const qd = rig.dave.tap(CHAT, message.message_id, 'APPROVE');
    const updates = rig.sandbox.pendingUpdates();
    expect(updates).toHaveLength(2);
    await Promise.all(updates.map((u) => rig!.phoenix.bot.handleUpdate(u as never)));
    // answers are sent without holding up the chat's next update: wait for them to arrive
    const answers = (await Promise.all([rig.alice.waitAnswer(qa), rig.dave.waitAnswer(qd)])).map((x) => x.text);
    expect(answers.filter((t) => t === 'Approved ✅ Order sent to the broker.')).toHaveLength(1);
    expect(answers.filter((t) => t !== 'Approved ✅ Order sent to the broker.')[0]).toMatch(/^(Already decided by @(alice|dave) at .*nothing was done\.|Someone decided this card at the same moment; your tap did nothing\.)$/);
    await rig.h.settle();
    expect(await entryOrders(rig, intentId)).toHaveLength(1);
    expect((await rig.h.broker.openOrders()).filter((o) => o.orderRef === intentId && o.role === 'ENTRY')).toHaveLength(0); // INSTANT: filled
    const tokens = (expectBeads(await rig.beads('T2_TOKEN'), 'T2_TOKEN')).map((b) => payloadOf<{ event: string }>(b).event);
    expect(tokens.filter((e) => e === 'ISSUED')).toHaveLength(1);
    expect(tokens.filter((e) => e === 'USED')).toHaveLength(1);
  });

  it('CV two approvals of one intent at once: back-to-back taps through long polling → exactly one order, both answered', async () => {
    rig = await newRig();
    const { intentId, message } = await rig.proposeAndWaitCard();
    const qa = rig.alice.tap(CHAT, message.message_id, 'APPROVE');
    const qd = rig.dave.tap(CHAT, message.message_id, 'APPROVE');
    const [a, d] = await Promise.all([rig.alice.waitAnswer(qa), rig.dave.waitAnswer(qd)]);
    expect([a.text, d.text].filter((t) => t === 'Approved ✅ Order sent to the broker.')).toHaveLength(1);
    await rig.h.settle();
    expect(await entryOrders(rig, intentId)).toHaveLength(1);
  });

  it('a 429 storm from the sandbox delays but loses no card', async () => {
    rig = await newRig();
    rig.sandbox.faults.push({ kind: '429', retryAfter: 1, count: 5 });
    const ids: string[] = [];
    for (const sym of ['MES', 'AAPL', 'MSFT']) {
      const over = sym === 'MES' ? {} : { instrument: { symbol: sym, secType: 'STK', exchange: 'SMART', currency: 'USD' }, entryPrice: 200, stopLoss: 199, takeProfit: 203 };
      const r = await rig.h.engine.submitIntent(rig.h.intent(over));
      if (r.kind === 'accepted') ids.push(r.intentId);
    }
    expect(ids).toHaveLength(3);
    await rig.sandbox.waitFor(() => rig!.botMessages().filter((m) => buttonsOf(m).length === 2).length === 3, { timeoutMs: 25_000, label: 'three cards despite 429s' });
    expect(rig.sandbox.calls.filter((c) => c.status === 429)).toHaveLength(5);
    await rig.outboxDrained();
    const cards = await rig.h.app.store.tx(async (tx) => Promise.all(ids.map((id) => tx.cards.bySubject(id, 'TRADE'))));
    for (const c of cards) {
      expect(c?.messageId).not.toBeNull();
      expect(c?.renderedVersion).toBe(c?.version);
    }
    expect(rig.botMessages()).toHaveLength(3); // no duplicates
  }, 30_000);
});

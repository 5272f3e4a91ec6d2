/**
 * SPEC 5/12 (issue 16): an open card's time left counts down in place, over the real bot and the
 * sandbox Bot API, at sensible steps, through THE per-chat budget at the lowest priority, and
 * never over a newer state of the card.
 */
import { describe, expect, it } from 'vitest';
import { countdownEdit } from '../../src/bot/countdown.js';
import { CHAT, makeRig, messageById, type Rig } from './helpers.js';
import { closeAfterEach } from '../support/cleanup.js';

let rig: Rig | undefined;
const newRig = closeAfterEach(makeRig);

const firstLine = (r: Rig, id: number): string => messageById(r.sandbox, id)?.text.split('\n')[0] ?? '';

async function until(r: Rig, id: number, what: string): Promise<void> {
  await r.sandbox.waitFor(() => firstLine(r, id).includes(what), { label: `card first line "${what}"` });
}

describe('card countdown', () => {
  it('SPEC-12 countdown: a 5-minute card is edited in place at 4:00, 3:00, 2:00, 1:00 and 0:30 left — 5 countdown edits per card, then the expiry edit; nothing in between', async () => {
    rig = await newRig({ bot: { countdown: true } });
    const { message } = await rig.proposeAndWaitCard();
    expect(message.text.split('\n')[0]).toBe('🟢 BUY 1 MES Dec26 · risk $11.25 · 2.1R · PAPER · 5:00 left');
    for (const label of ['4:00', '3:00', '2:00', '1:00']) {
      await rig.h.clock.advance(59_000);
      await rig.phoenix.countdown.idle();
      expect(firstLine(rig, message.message_id), `no edit before the ${label} step`).not.toContain(`${label} left`);
      await rig.h.clock.advance(1_000);
      await until(rig, message.message_id, `${label} left`);
    }
    await rig.h.clock.advance(30_000);
    await until(rig, message.message_id, '0:30 left');
    expect(messageById(rig.sandbox, message.message_id)?.edits).toBe(5);
    expect(rig.phoenix.countdown.stats).toMatchObject({ edits: 5, failures: 0 });
    // the last 30 s: no more countdown edits; the engine's expiry says EXPIRED and removes the buttons
    await rig.h.clock.advance(30_000);
    await rig.h.engine.expireDue();
    const expired = await rig.sandbox.waitFor(() => {
      const m = messageById(rig!.sandbox, message.message_id);
      return m?.text.includes('EXPIRED at 10:05 EST') ? m : undefined;
    });
    expect(expired.reply_markup).toBeUndefined();
    expect(expired.edits).toBe(6);
    expect(rig.phoenix.countdown.stats.edits).toBe(5);
  });

  it('SPEC-12 countdown: a decided, changed or moved card is never overwritten by a countdown edit (composed when the slot is granted)', async () => {
    rig = await newRig();
    const open = await rig.proposeAndWaitCard();
    await rig.outboxDrained();
    await rig.h.clock.advance(60_000);
    const edit = await countdownEdit(rig.h.engine, open.cardId, open.message.message_id);
    expect(edit?.text).toContain('4:00 left');
    expect(edit?.other.reply_markup.inline_keyboard.flat().map((b) => b.text)).toEqual(['✅ APPROVE', '❌ PASS']);
    expect(await countdownEdit(rig.h.engine, open.cardId, open.message.message_id + 1)).toBeNull(); // another message

    // a newer version not yet shown (the syncer will show it): hands off
    await rig.h.app.store.tx((tx) => tx.cards.touch(open.cardId, rig!.h.clock.now()));
    expect(await countdownEdit(rig.h.engine, open.cardId, open.message.message_id)).toBeNull();
    await rig.outboxDrained();
    expect(await countdownEdit(rig.h.engine, open.cardId, open.message.message_id)).not.toBeNull();

    // decided: hands off, and the card shows the decision
    const q = rig.alice.tap(CHAT, open.message.message_id, 'APPROVE');
    await rig.alice.waitAnswer(q);
    await rig.outboxDrained();
    expect(await countdownEdit(rig.h.engine, open.cardId, open.message.message_id)).toBeNull();
    expect(messageById(rig.sandbox, open.message.message_id)?.text).toContain('APPROVED by @alice');
  });

  it('SPEC-9 countdown never starves urgent sends: it asks for a slot only while the chat\'s budget is idle and half its group window is free; a skipped step is caught up with the time left of that moment', async () => {
    rig = await newRig({ flood: true, bot: { countdown: true } });
    const { message } = await rig.proposeAndWaitCard();
    const chat = String(CHAT);
    const budget = rig.phoenix.budget;
    expect(budget.limits.groupPerWindow).toBe(20); // Telegram's group limits, paced on the FakeClock

    // 1. something urgent holds the chat's slot across the 4:00 step: the countdown waits
    await rig.h.clock.advance(59_500);
    const urgent = await budget.take(chat, 'urgent');
    await rig.h.clock.advance(500);
    await rig.phoenix.countdown.idle();
    expect(rig.phoenix.countdown.stats.deferred).toBeGreaterThan(0);
    expect(messageById(rig.sandbox, message.message_id)?.edits).toBe(0);
    urgent.sent();
    await rig.h.clock.advance(1_000); // the chat's 1 s gap after the urgent send, then the retry
    await until(rig, message.message_id, '3:59 left');
    expect(messageById(rig.sandbox, message.message_id)?.edits).toBe(1);

    // 2. the group's rolling window is half used (10 of 20 sends in the last minute): the 3:00 step is not asked for
    for (let k = 0; k < 10; k++) budget.record(chat, rig.h.clock.now());
    await rig.h.clock.advance(59_000); // the 3:00 step
    await rig.phoenix.countdown.idle();
    expect(budget.recent(chat)).toBeGreaterThanOrEqual(10); // ours, plus the countdown edit of step 1
    expect(messageById(rig.sandbox, message.message_id)?.edits).toBe(1);
    expect(budget.waiting(chat)).toBe(0); // not queued either
    // 3. a second later those sends leave the window: the look then shows the time left of that moment
    await rig.h.clock.advance(1_000);
    await until(rig, message.message_id, '2:59 left');
    expect(messageById(rig.sandbox, message.message_id)?.edits).toBe(2);
  });
});

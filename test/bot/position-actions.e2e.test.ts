/**
 * MONEY-1 and SAFE-13 over the real bot (grammY ⇄ sandbox Bot API): an unprotected position's
 * card says so and offers 🛡 Re-protect / ⏹ Flatten; a STALLED card offers 🔎 Check broker &
 * cancel; each goes through a confirmation card that answers only its asker; /resolve records an
 * admin's check when the broker cannot answer.
 */
import { describe, expect, it } from 'vitest';
import { SimBroker } from '../../src/broker/sim/index.js';
import type { BracketRequest, PlacedLeg, SubmitPermit } from '../../src/engine/broker.port.js';
import { seededRandom } from '../../src/engine/ports.js';
import { intentOf } from '../support/harness.js';
import { CHAT, makeRig, messageById, type Rig } from './helpers.js';
import { closeAfterEach } from '../support/cleanup.js';

let rig: Rig | undefined;
const newRig = closeAfterEach(makeRig);

type Who = 'alice' | 'bob' | 'carol' | 'dave';

async function ask(r: Rig, who: Who, text: string, match: (m: { text: string }) => boolean = () => true) {
  const before = Math.max(0, ...r.sandbox.chat(CHAT).map((m) => m.message_id));
  r[who].send(CHAT, text);
  return r.waitMessage((m) => m.message_id > before && match(m), { label: `reply to ${text}` });
}

async function tapAndWait(r: Rig, who: Who, messageId: number, button: string) {
  return (await r[who].waitAnswer(r[who].tap(CHAT, messageId, button))).text ?? '';
}

async function newConfirm(r: Rig, verb: string, after: number) {
  return r.waitMessage((m) => m.message_id > after && m.text.includes(`Confirm ${verb}`), { label: `confirm ${verb}` });
}

const lastId = (r: Rig) => Math.max(0, ...r.sandbox.chat(CHAT).map((m) => m.message_id));

class LosesFirstPlacement extends SimBroker {
  private lost = false;
  constructor(clock: ConstructorParameters<typeof SimBroker>[0]['clock']) {
    super({ clock, random: seededRandom(5), profile: 'INSTANT', prices: { MES: 6010.25 } });
  }
  override async placeBracket(req: BracketRequest, permit: SubmitPermit): Promise<readonly PlacedLeg[]> {
    if (!this.lost) {
      this.lost = true;
      throw new Error('socket hang up');
    }
    return super.placeBracket(req, permit);
  }
}

describe('position actions from the card', () => {
  it('MONEY-1: INV-PROTECTED-1: the broker kills the stop → the card says UNPROTECTED with 🛡 Re-protect / ⏹ Flatten; a viewer is refused; the confirmation answers only its asker; the approver re-protects → MANAGED, buttons gone', async () => {
    rig = await newRig();
    const traded = await rig.proposeAndWaitCard();
    await rig.alice.waitAnswer(rig.alice.tap(CHAT, traded.message.message_id, 'APPROVE'));
    await rig.h.settle();
    const stop = (await rig.h.app.store.tx((tx) => tx.orders.listByIntent(traded.intentId))).find((o) => o.role === 'STOP')!;
    await rig.h.broker.cancel(stop.brokerOrderId!);
    await rig.h.settle();
    const card = await rig.sandbox.waitFor(() => {
      const m = messageById(rig!.sandbox, traded.message.message_id);
      return m?.text.includes('UNPROTECTED') ? m : undefined;
    }, { label: 'the card saying UNPROTECTED' });
    expect(card.text).toContain('UNPROTECTED: 1 open, stop CANCELLED at the broker');
    expect(card.reply_markup?.inline_keyboard.flat().map((b) => b.text)).toEqual(['🛡 Re-protect', '⏹ Flatten']);
    expect(await tapAndWait(rig, 'carol', card.message_id, 'Re-protect')).toBe('Not allowed: approver role needed.');
    const before = lastId(rig);
    expect(await tapAndWait(rig, 'alice', card.message_id, 'Re-protect')).toBe('Confirm in the message below (60 s); only you can.');
    const confirm = await newConfirm(rig, 'RE-PROTECT', before);
    expect(confirm.text).toContain('Place a new stop for what is open, at the approved stop price?');
    expect(await tapAndWait(rig, 'dave', confirm.message_id, 'Place the stop')).toMatch(/^Not yours/);
    expect(await tapAndWait(rig, 'alice', confirm.message_id, 'Place the stop')).toContain('Stop for 1 MES at 6008 sent to the broker');
    await rig.h.settle();
    expect((await intentOf(rig.h, traded.intentId)).state).toBe('MANAGED');
    await rig.sandbox.waitFor(() => {
      const m = messageById(rig!.sandbox, traded.message.message_id);
      return m && !m.text.includes('UNPROTECTED') && !m.reply_markup ? m : undefined;
    }, { label: 'the card protected again, without buttons' });
  });

  it('MONEY-1: ⏹ Flatten on the unprotected card (confirmed) closes that position', async () => {
    rig = await newRig();
    const traded = await rig.proposeAndWaitCard();
    await rig.alice.waitAnswer(rig.alice.tap(CHAT, traded.message.message_id, 'APPROVE'));
    await rig.h.settle();
    const stop = (await rig.h.app.store.tx((tx) => tx.orders.listByIntent(traded.intentId))).find((o) => o.role === 'STOP')!;
    await rig.h.broker.cancel(stop.brokerOrderId!);
    await rig.h.settle();
    const card = await rig.sandbox.waitFor(() => {
      const m = messageById(rig!.sandbox, traded.message.message_id);
      return m?.text.includes('UNPROTECTED') ? m : undefined;
    }, { label: 'UNPROTECTED card' });
    const before = lastId(rig);
    await tapAndWait(rig, 'dave', card.message_id, 'Flatten'); // any approver may ask
    const confirm = await newConfirm(rig, 'CLOSE', before);
    expect(await tapAndWait(rig, 'dave', confirm.message_id, 'Close it')).toContain('Flatten: closing 1 position(s)');
    await rig.h.settle();
    expect((await intentOf(rig.h, traded.intentId)).state).toBe('CLOSED');
  });

  it('SAFE-13: a STALLED entry with no broker id: 🔎 Check broker & cancel (admin, confirmed) cancels it when the broker knows nothing; with the broker down, /resolve records the admin\'s own check', async () => {
    rig = await newRig({ harness: { broker: (clock) => new LosesFirstPlacement(clock) } });
    const traded = await rig.proposeAndWaitCard({ ttlSec: 1800 });
    await rig.alice.waitAnswer(rig.alice.tap(CHAT, traded.message.message_id, 'APPROVE'));
    await rig.h.clock.advance(61_000);
    await rig.h.engine.detectStalls();
    const card = await rig.sandbox.waitFor(() => {
      const m = messageById(rig!.sandbox, traded.message.message_id);
      return m?.text.includes('STALLED') && m.reply_markup ? m : undefined;
    }, { label: 'STALLED card with its button' });
    expect(card.reply_markup?.inline_keyboard.flat().map((b) => b.text)).toEqual(['🔎 Check broker & cancel']);
    expect(await tapAndWait(rig, 'alice', card.message_id, 'Check broker')).toBe('Not allowed: admin role needed.');
    const before = lastId(rig);
    await tapAndWait(rig, 'bob', card.message_id, 'Check broker');
    const confirm = await newConfirm(rig, 'CANCEL STALLED', before);
    expect(await tapAndWait(rig, 'bob', confirm.message_id, 'Check and cancel')).toBe('Cancelled: the broker has no order for this intent.');
    expect((await intentOf(rig.h, traded.intentId)).state).toBe('CANCELLED');

    // a second one, with the broker down: the check cannot confirm; the admin checks TWS and says so
    const second = await rig.proposeAndWaitCard({ ttlSec: 1800 });
    (rig.h.broker as SimBroker).faults.timeoutNext();
    await rig.alice.waitAnswer(rig.alice.tap(CHAT, second.message.message_id, 'APPROVE'));
    await rig.h.app.store.tx(async (tx) => {
      for (const role of ['ENTRY', 'STOP', 'TARGET'] as const) await tx.orders.update(second.intentId, role, { brokerOrderId: null });
    });
    await rig.h.clock.advance(61_000);
    await rig.h.engine.detectStalls();
    (rig.h.broker as SimBroker).faults.disconnect();
    await rig.h.settle();
    expect((await ask(rig, 'bob', '/resolve')).text).toMatch(/^Usage: \/resolve int_… what you checked at the broker/);
    expect((await ask(rig, 'alice', `/resolve ${second.intentId} looked`)).text).toBe('Not allowed: /resolve needs the admin role.');
    const done = await ask(rig, 'bob', `/resolve ${second.intentId} TWS Orders and Trades: nothing with this Order Ref`);
    expect(done.text).toBe(`☑️ Resolved: ${second.intentId} is CANCELLED (checked at the broker by @bob: TWS Orders and Trades: nothing with this Order Ref).`);
    expect((await intentOf(rig.h, second.intentId)).state).toBe('CANCELLED');
  });
});

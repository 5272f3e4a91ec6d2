/**
 * Issue 16, "a dead broker looks healthy" (the card part), over the real bot and the sandbox:
 * an approval that waits for a broker that is down says so — since when, and when the
 * approval lapses — instead of "Submitting…" for five minutes; an entry the broker
 * acknowledged and left resting says it is working there, instead of "Waiting for the broker
 * to acknowledge".
 */
import { describe, expect, it } from 'vitest';
import { intentOf } from '../support/harness.js';
import { CHAT, makeRig, messageById, type Rig } from './helpers.js';
import { closeAfterEach } from '../support/cleanup.js';

let rig: Rig | undefined;
const newRig = closeAfterEach(makeRig);

const cardText = (r: Rig, id: number): string => messageById(r.sandbox, id)?.text ?? '';

describe('the card tells the truth about the broker', () => {
  it('approved while the broker is down: "Broker down since 10:01 EST — waiting; the approval lapses at 10:07 EST", not "Submitting…"; the broker comes back → submitted and filled', async () => {
    rig = await newRig();
    const { intentId, message } = await rig.proposeAndWaitCard();
    await rig.h.clock.advance(60_000);
    rig.h.sim!.faults.disconnect();
    await rig.h.engine.pendingEvents();
    await rig.h.clock.advance(60_000);
    const q = rig.alice.tap(CHAT, message.message_id, 'APPROVE');
    expect((await rig.alice.waitAnswer(q)).text).toMatch(/^Approved\. Waiting for the broker: broker disconnected/);
    const waiting = await rig.sandbox.waitFor(() => (cardText(rig!, message.message_id).includes('Broker down') ? cardText(rig!, message.message_id) : undefined), { label: 'card says the broker is down' });
    expect(waiting).toContain('✅ APPROVED by @alice at 10:02 EST');
    expect(waiting).toContain('⏸ Broker down since 10:01 EST — waiting; the approval lapses at 10:07 EST. Nothing was sent.');
    expect(waiting).not.toContain('Submitting');
    expect((await intentOf(rig.h, intentId)).state).toBe('APPROVED');

    rig.h.sim!.faults.reconnect();
    await rig.h.engine.pendingEvents();
    await rig.h.engine.retryWaiting();
    await rig.h.settle();
    await rig.sandbox.waitFor(() => cardText(rig!, message.message_id).includes('FILLED 1/1'), { label: 'card shows the fill' });
    expect(cardText(rig, message.message_id)).not.toContain('Broker down');
  });

  it('an acknowledged bracket resting at the broker: "Working at the broker: entry LMT 6010.25 resting since 10:00 EST", not "Waiting for the broker to acknowledge"', async () => {
    rig = await newRig();
    const { intentId, message } = await rig.proposeAndWaitCard();
    rig.h.sim!.faults.delayNext(10 * 60_000); // acknowledged now, filled ten minutes later
    const q = rig.alice.tap(CHAT, message.message_id, 'APPROVE');
    expect((await rig.alice.waitAnswer(q)).text).toBe('Approved ✅ Order sent to the broker.');
    await rig.h.engine.pendingEvents();
    const resting = await rig.sandbox.waitFor(() => (cardText(rig!, message.message_id).includes('Working at the broker') ? cardText(rig!, message.message_id) : undefined), { label: 'card says the entry rests at the broker' });
    expect(resting).toMatch(/📈 Working at the broker: entry LMT 6010\.25 resting since 10:00 EST \(#\w+\)\./);
    expect(resting).not.toContain('Waiting for the broker to acknowledge');
    expect((await intentOf(rig.h, intentId)).state).toBe('SUBMITTED');
    // a minute later it still says where the entry is
    await rig.h.clock.advance(60_000);
    await rig.outboxDrained();
    expect(cardText(rig, message.message_id)).toContain('Working at the broker: entry LMT 6010.25 resting');
  });
});

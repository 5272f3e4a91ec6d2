/** Alerts raised by the real engine travel the whole pipeline: outbox → digest → sandbox chat. */
import { describe, expect, it } from 'vitest';
import { countAlertsInText } from '../../src/alerts/render.js';
import { approver, cardOf } from '../support/harness.js';
import { chatView, drain, enqueue, makeRig, runFor, type Rig } from './helpers.js';
import { closeAfterEach } from '../support/cleanup.js';

let rig: Rig | undefined;
const newRig = closeAfterEach(makeRig);

describe('engine alerts through the pipeline', () => {
  it('halt (CRITICAL, at once), blocked intents (INFO digest after its wait), disconnect, and a stall folded into the disconnect alert (inhibition)', async () => {
    rig = await newRig();
    const { h, sandbox, sender } = rig;
    const t0 = h.clock.now();

    // an order that will stall: submitted, never acknowledged
    const sub = await h.engine.submitIntent(h.intent());
    if (sub.kind !== 'accepted') throw new Error(`intent not accepted: ${sub.kind}`);
    h.sim!.faults.timeoutNext(1);
    await h.engine.decide((await cardOf(h, sub.intentId)).id, 'APPROVE', approver);
    await h.settle();

    await h.engine.halt(approver, 'news <FOMC> & volatility');
    await runFor(h.clock, sender, 1000);
    const first = chatView(sandbox).texts;
    expect(first).toHaveLength(1);
    expect(first[0]).toContain('🔴 CRITICAL · Trading halted');
    expect(first[0]).toContain('news <FOMC> & volatility'); // escaped on the way, shown as typed
    expect(first[0]).toContain('Runbook: RB-004 — /runbook RB-004');

    for (let i = 0; i < 3; i++) await h.engine.submitIntent(h.intent());
    await runFor(h.clock, sender, 5000);
    expect(chatView(sandbox).texts).toHaveLength(1); // INFO waits for its group
    await runFor(h.clock, sender, 6000);
    const blocked = chatView(sandbox).texts.at(-1)!;
    expect(blocked).toContain('🔵 INFO · Intent blocked by a gate ×3');
    expect(blocked).toContain('Runbook: RB-005');

    h.sim!.faults.disconnect('socket dropped');
    await h.settle();
    await runFor(h.clock, sender, 2000);
    expect(chatView(sandbox).texts.at(-1)).toContain('🔴 CRITICAL · Broker connection lost');

    await h.clock.advance(60_000);
    await h.engine.detectStalls();
    await runFor(h.clock, sender, 35_000);
    const folded = chatView(sandbox).texts.at(-1)!;
    expect(folded).toContain('🔴 CRITICAL · Order stalled (no broker acknowledgement)');
    expect(folded).toContain('folded into “Broker connection lost”');

    await drain(h.app.store, h.clock, sender, 10 * 60_000);
    const view = chatView(sandbox);
    const rows = await h.app.store.tx((tx) => tx.alerts.backlog());
    expect(rows).toBe(0);
    const raised = (await h.app.store.tx((tx) => tx.alertOutbox.counts())).alerts;
    expect(raised).toBeGreaterThanOrEqual(6); // halt, 3 blocked, disconnect, stall (+ whatever else the engine said)
    expect(view.accounted).toBe(raised);
    expect(view.shown).toBe(view.texts.reduce((n, t) => n + countAlertsInText(t), 0));
    expect(h.clock.now() - t0).toBeGreaterThan(60_000);
  });
});

describe('repeat suppression through the sender', () => {
  it('the same alert again is held until something changes or the repeat interval passes, and still counted', async () => {
    rig = await newRig();
    const { h, sandbox, sender } = rig;
    const t0 = h.clock.now();
    const down = (summary: string) => enqueue(h.app.store, [{ type: 'IBKR_DISCONNECTED', at: h.clock.now(), payload: { summary } }]);
    await down('Broker disconnected: 1100 connectivity lost');
    await runFor(h.clock, sender, 1000);
    expect(chatView(sandbox).texts).toHaveLength(1);
    // the same condition re-raised every 90 s for 12 minutes: 8 repeats, nothing new
    for (let i = 0; i < 8; i++) {
      await runFor(h.clock, sender, 90_000, 1000);
      await down('Broker disconnected: 1100 connectivity lost');
    }
    await runFor(h.clock, sender, 1000);
    expect(chatView(sandbox).texts).toHaveLength(1);
    // the repeat interval (15 min) passes: one message with the 8 repeats
    await runFor(h.clock, sender, 15 * 60_000 - (h.clock.now() - t0) + 1000, 1000);
    const repeat = chatView(sandbox).texts.at(-1)!;
    expect(chatView(sandbox).texts).toHaveLength(2);
    expect(repeat).toContain('Broker connection lost ×8');
    expect(repeat).toContain('repeat: nothing new');
    // something changes: a different line goes out after the group interval (30 s), not 15 min
    await down('Broker disconnected: 2110 TWS-server connectivity broken');
    await runFor(h.clock, sender, 31_000, 1000);
    expect(chatView(sandbox).texts).toHaveLength(3);
    expect(chatView(sandbox).accounted).toBe(10);
  });
});

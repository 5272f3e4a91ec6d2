/** CV alert flood of 10,000: through the sandbox with its Telegram rate limits on, fake clock. */
import { describe, expect, it } from 'vitest';
import { countAlertsInText } from '../../src/alerts/render.js';
import type { AlertDraft } from '../../src/engine/alerts.table.js';
import { backlog, chatView, drain, enqueue, floodAlert, makeRig, maxInWindow, runFor, sends, type Rig } from './helpers.js';
import { closeAfterEach } from '../support/cleanup.js';

let rig: Rig | undefined;
const newRig = closeAfterEach(makeRig);

describe('alert flood', () => {
  it('CV alert flood of 10,000: 10,000 alerts over 60 s, 5 types, first CRITICAL → CRITICAL out within 1 s, ≤ 20 msgs/min, no 429, no text over 4096, counts add up to exactly 10,000', async () => {
    rig = await newRig();
    const { h, sandbox, sender } = rig;
    const total = 10_000;
    const floodMs = 60_000;
    const stepMs = 100;
    const perStep = total / (floodMs / stepMs);
    const t0 = h.clock.now();
    let i = 0;
    await runFor(h.clock, sender, floodMs, stepMs, async (now) => {
      const batch: AlertDraft[] = [];
      for (let k = 0; k < perStep && i < total; k++, i++) batch.push(floodAlert(i, now));
      await enqueue(h.app.store, batch);
    });
    expect(i).toBe(total);
    const drainMs = await drain(h.app.store, h.clock, sender, 30 * 60_000);
    expect(await backlog(h.app.store)).toBe(0);

    const calls = sends(sandbox);
    const ok = calls.filter((c) => c.ok);
    const first = ok[0]!;
    expect(String(first.payload.text)).toContain('🔴 <b>CRITICAL · Order stalled');
    expect(first.at - t0).toBeLessThanOrEqual(1000);
    expect(calls.filter((c) => c.status === 429)).toEqual([]);
    expect(calls.every((c) => c.ok)).toBe(true);
    expect(maxInWindow(ok.map((c) => c.at), 60_000)).toBeLessThanOrEqual(20);

    const view = chatView(sandbox);
    for (const t of view.texts) expect(t.length).toBeLessThanOrEqual(4096);
    expect(view.accounted).toBe(total);
    expect(view.shown).toBe(total); // no duplicates on a healthy link
    expect(view.texts.every((t) => /Runbook: RB-\d{3} — \/runbook RB-\d{3}/.test(t))).toBe(true);
    expect(sender.stats.tickErrors).toBe(0);
    const lastAt = ok[ok.length - 1]!.at;
    console.log(`flood: ${ok.length} messages, first CRITICAL after ${first.at - t0} ms, all accounted ${((lastAt - t0) / 1000).toFixed(0)} s after the first alert (drain ${drainMs / 1000} s), counts ${view.texts.map(countAlertsInText).join('+')}`);
  });
});

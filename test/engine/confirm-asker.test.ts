/**
 * SAFE-10 (issue 12): a confirmation answers only its asker; /resume lifts manual kills only and
 * says which temporary (stale-state) pauses remain and until when.
 */
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../src/engine/domain.js';
import { approveOne, beads, expectState } from '../jobs/helpers.js';
import { admin, approver, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';

const admin2: Actor = { id: '1005', name: 'erin', roles: ['viewer', 'approver', 'admin'], via: 'telegram' };

let h: Harness | undefined;
const harness = useHarness();

async function activeKills(hh: Harness) {
  return hh.app.store.tx((tx) => tx.kills.active(hh.clock.now()));
}

describe('SAFE-10: confirmations not bound to their asker; /resume clears stale kills', () => {
  it("SAFE-10: INV-CONFIRM-ASKER-1: another admin's tap on bob's /flatten confirmation is refused and audited, changes nothing; bob's own tap flattens", async () => {
    h = await harness();
    const id = await approveOne(h);
    const req = await h.engine.requestConfirmation('CONFIRM_FLATTEN', admin);
    if (!req.ok) throw new Error(req.message);
    const other = await h.engine.answerConfirmation(req.cardId, true, admin2);
    expect(other).toEqual({ ok: false, message: 'Not yours: only the admin who asked can answer this confirmation. Send the command yourself.' });
    await h.settle();
    await expectState(h, id, 'MANAGED');
    expect((await h.app.store.tx((tx) => tx.cards.get(req.cardId)))?.status).toBe('OPEN');
    const denied = (await beads(h, 'ACCESS_DENIED')).map((b) => b.data);
    expect(denied).toContainEqual(expect.objectContaining({ userId: '1005', action: 'confirm CONFIRM_FLATTEN', reason: 'confirmation belongs to user 1002' }));
    const mine = await h.engine.answerConfirmation(req.cardId, true, admin);
    expect(mine.ok).toBe(true);
    await h.settle();
    await expectState(h, id, 'CLOSED');
  });

  it("SAFE-10: INV-CONFIRM-ASKER-1: another admin cannot confirm (or cancel) bob's /resume either", async () => {
    h = await harness();
    await h.engine.halt(approver, 'news');
    const req = await h.engine.requestConfirmation('CONFIRM_RESUME', admin);
    if (!req.ok) throw new Error(req.message);
    expect((await h.engine.answerConfirmation(req.cardId, true, admin2)).ok).toBe(false);
    expect((await h.engine.answerConfirmation(req.cardId, false, admin2)).ok).toBe(false);
    expect(await activeKills(h)).toHaveLength(1);
    expect(await h.engine.answerConfirmation(req.cardId, true, admin)).toMatchObject({ message: 'Resumed: 1 kill flag(s) lifted.' });
    expect(await activeKills(h)).toHaveLength(0);
  });

  it('SAFE-10: /resume lifts the manual kill but not the 5-minute stale-state pause, and says which remains and until when (New York time)', async () => {
    h = await harness(); // 10:00 EST
    await h.engine.halt(approver, 'FOMC');
    const stale = await h.engine.submitIntent(h.intent({ stateAsOf: new Date(h.clock.now() - 60 * 60_000).toISOString() }));
    expect(stale.kind === 'accepted' && stale.denials.map((d) => d.code)).toContain('STATE_CONFLICT');
    expect((await activeKills(h)).map((k) => k.kind).sort()).toEqual(['MANUAL', 'STALE']);
    const r = await h.engine.resume(admin);
    expect(r.ok).toBe(true);
    expect(r.message).toMatch(/^Resumed: 1 kill flag\(s\) lifted\. Still active \(not lifted by \/resume; .*\): stale-state pause \(stale market state on .*\) until 10:05 EST\.$/);
    expect((await activeKills(h)).map((k) => k.kind)).toEqual(['STALE']);
    // a second /resume lifts nothing and says so
    expect((await h.engine.resume(admin)).message).toMatch(/^No manual kill flag was active; nothing lifted\. Still active/);
    // the pause ends on its own
    await h.clock.advance(5 * 60_000 + 1);
    expect(await activeKills(h)).toEqual([]);
    expect((await h.engine.resume(admin)).message).toBe('No kill flag was active; nothing changed.');
  });
});

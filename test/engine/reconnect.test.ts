import { afterEach, describe, expect, it } from 'vitest';
import { honourReconnectRequest, requestReconnect } from '../../src/engine/reconnect.usecase.js';
import { admin, approver, makeHarness, system, type Harness } from '../support/harness.js';

describe('broker reconnect on human request (RB-001)', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('a request from an admin is honoured once: the broker connects, a second pass does nothing', async () => {
    h = await makeHarness({ connect: false });
    expect(h.broker.health().state).not.toBe('READY');
    expect((await requestReconnect(h.engine.ctx, approver)).ok).toBe(false);
    expect((await requestReconnect(h.engine.ctx, admin)).ok).toBe(true);
    expect(await honourReconnectRequest(h.engine.ctx)).toBe('CONNECTED');
    expect(h.broker.health().state).toBe('READY');
    expect(await honourReconnectRequest(h.engine.ctx)).toBe('NONE');
    const beads = await h.app.store.tx((tx) => tx.beads.page(0, 100));
    expect(beads.some((b) => b.type === 'IBKR_SESSION' && b.payload.includes('RECONNECT_REQUESTED'))).toBe(true);
  });

  it('a failed reconnect on request escalates again (bead + IBKR_ESCALATION alert) and changes nothing else', async () => {
    h = await makeHarness({ connect: false });
    h.sim!.faults.failConnects(1);
    await requestReconnect(h.engine.ctx, system);
    expect(await honourReconnectRequest(h.engine.ctx)).toBe('FAILED');
    const alerts = await h.app.db.alert.findMany({ where: { type: 'IBKR_ESCALATION' } });
    expect(alerts).toHaveLength(1);
    expect(h.broker.health().state).not.toBe('READY');
  });
});

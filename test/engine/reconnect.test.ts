import { describe, expect, it } from 'vitest';
import { honourReconnectRequest, requestReconnect } from '../../src/engine/reconnect.usecase.js';
import { admin, approver, system, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';

describe('broker reconnect on human request (RB-001)', () => {
  let h: Harness;
  const harness = useHarness();

  it('a request from an admin is honoured once: the broker connects, a second pass does nothing', async () => {
    h = await harness({ connect: false });
    expect(h.broker.health().state).not.toBe('READY');
    expect((await h.engine.requestReconnect(approver)).ok).toBe(false);
    expect((await h.engine.requestReconnect(admin)).ok).toBe(true);
    expect(await h.engine.jobs.honourReconnectRequest()).toBe('CONNECTED');
    expect(h.broker.health().state).toBe('READY');
    expect(await h.engine.jobs.honourReconnectRequest()).toBe('NONE');
    const beads = await h.app.store.tx((tx) => tx.beads.page(0, 100));
    expect(beads.some((b) => b.type === 'IBKR_SESSION' && b.payload.includes('RECONNECT_REQUESTED'))).toBe(true);
  });

  it('a failed reconnect on request escalates again (bead + IBKR_ESCALATION alert) and changes nothing else', async () => {
    h = await harness({ connect: false });
    h.sim!.faults.failConnects(1);
    await h.engine.requestReconnect(system);
    expect(await h.engine.jobs.honourReconnectRequest()).toBe('FAILED');
    const alerts = await h.app.db.alert.findMany({ where: { type: 'IBKR_ESCALATION' } });
    expect(alerts).toHaveLength(1);
    expect(h.broker.health().state).not.toBe('READY');
  });
});

/**
 * Issue 18, INV-LEADER-FENCE-1 at the wire: the IBKR adapter asks its send gate right before
 * every write to TWS. A desk on PostgreSQL answers from the leader lease, so a leader frozen
 * past its lease wakes up refused: nothing it had queued (entry, child legs, exits, cancels)
 * reaches the gateway.
 */
import { describe, expect, it } from 'vitest';
import { BrokerUnavailableError } from '../../../src/engine/broker.port.js';
import { makeRig, mesBracket, permitFor, sleep, waitFor, type Rig } from './harness.js';
import { closeAfterEach } from '../../support/cleanup.js';

describe('INV-LEADER-FENCE-1: the IBKR send gate', () => {
  let rig: Rig | undefined;
  const newRig = closeAfterEach(makeRig);

  it('INV-LEADER-FENCE-1: a closed gate refuses a bracket before any leg is written (BrokerUnavailableError: nothing sent); open again, the next bracket goes out whole', async () => {
    let why: string | null = null; // open while the session starts (the leader connects)
    rig = await newRig({ broker: { sendGate: () => why } });
    why = 'leader lock not confirmed for 3200 ms';
    await expect(rig.broker.placeBracket(mesBracket('gate-1'), permitFor('gate-1'))).rejects.toBeInstanceOf(BrokerUnavailableError);
    await sleep(100);
    expect(rig.server.receivedOf('PLACE_ORDER')).toEqual([]);
    why = null;
    const legs = await rig.broker.placeBracket(mesBracket('gate-2'), permitFor('gate-2'));
    expect(legs).toHaveLength(3);
    await waitFor(() => rig!.server.placements.length === 3 || undefined, 2000, 'three legs');
    expect(rig.server.placements.map((p) => p.orderRef)).toEqual(['gate-2', 'gate-2', 'gate-2']);
  });

  it('INV-LEADER-FENCE-1: the gate closing between the entry\'s last look and its legs (a leader frozen mid-bracket) stops every leg not yet written', async () => {
    let closed = false;
    rig = await newRig({ broker: { sendGate: () => (closed ? 'this process does not lead the desk (lost)' : null) } });
    // the last look passes, then the lease lapses before the wire write (the freeze)
    const permit = { ...permitFor('gate-3'), beforeEntryLeaves: async () => void (closed = true) };
    await expect(rig.broker.placeBracket(mesBracket('gate-3'), permit)).rejects.toBeInstanceOf(BrokerUnavailableError);
    await sleep(150);
    expect(rig.server.receivedOf('PLACE_ORDER')).toEqual([]);
  });
});

/**
 * SAFE-13 (issue 12): a STALLED intent with no broker id was stuck forever (it counts against the
 * position limit; no path from Telegram or the CLI). Now: the broker check (cancelStalled) when the
 * broker can answer, and an admin's audited "checked at the broker" when it cannot.
 */
import { describe, expect, it } from 'vitest';
import { SimBroker } from '../../src/broker/sim/index.js';
import type { BracketRequest, PlacedLeg, SubmitPermit } from '../../src/engine/broker.port.js';
import { seededRandom } from '../../src/engine/ports.js';
import { stalledCancelText, stalledResolveText } from '../../src/present/stalled.text.js';
import { beads, expectState } from '../jobs/helpers.js';
import { admin, approver, cardOf, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';

let h: Harness | undefined;
const harness = useHarness();

/** The first placement is lost on the way (socket hang-up): outcome unknown, nothing at the broker. */
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

async function stalledWithoutBrokerId(hh: Harness): Promise<string> {
  const r = await hh.engine.submitIntent(hh.intent({ ttlSec: 1800 }));
  if (r.kind !== 'accepted') throw new Error('not accepted');
  const d = await hh.engine.decide((await cardOf(hh, r.intentId)).id, 'APPROVE', approver);
  expect(d).toMatchObject({ kind: 'approved', submit: { kind: 'unknown' } });
  await hh.clock.advance(61_000);
  expect(await hh.engine.detectStalls()).toEqual([r.intentId]);
  const orders = await hh.app.store.tx((tx) => tx.orders.listByIntent(r.intentId));
  expect(orders.every((o) => o.brokerOrderId === null)).toBe(true);
  return r.intentId;
}

describe('SAFE-13: a STALLED intent with no broker id is stuck forever', () => {
  it('SAFE-13: broker unreachable → the broker check cannot confirm; an admin who checked TWS resolves it with a note (audited), and the position limit is free again', async () => {
    h = await harness({ broker: (clock) => new LosesFirstPlacement(clock) });
    const id = await stalledWithoutBrokerId(h);
    // it blocks the next MES intent (max 1 per instrument)
    const blocked = await h.engine.submitIntent(h.intent());
    expect(blocked.kind === 'accepted' && blocked.denials.map((d) => d.code)).toContain('POSITION_LIMIT');
    await (h.broker as SimBroker).faults.disconnect();
    const unreachable = await h.engine.cancelStalled(id, admin);
    expect(unreachable).toMatchObject({ ok: false, code: 'BROKER_UNREACHABLE' });
    expect(stalledCancelText(unreachable)).toMatch(/^Broker unreachable: cannot confirm the cancel/);
    const notAdmin = await h.engine.resolveStalled(id, approver, 'TWS shows nothing');
    expect(notAdmin).toEqual({ ok: false, code: 'NOT_ALLOWED', needs: ['admin'] });
    expect(stalledResolveText(notAdmin)).toBe('Not allowed: admin role needed.');
    expect(await h.engine.resolveStalled(id, admin, '  ')).toMatchObject({ ok: false });
    await expectState(h, id, 'STALLED');
    const r = await h.engine.resolveStalled(id, admin, 'TWS Orders and Trades: no order with this Order Ref');
    expect(r).toEqual({ ok: true, code: 'RESOLVED', intentId: id, by: 'bob', note: 'TWS Orders and Trades: no order with this Order Ref' });
    const intent = await intentOf(h, id);
    expect(intent.state).toBe('CANCELLED');
    expect(intent.stateReason).toBe('resolved by bob after checking the broker: TWS Orders and Trades: no order with this Order Ref');
    const pos = (await beads(h, 'POSITION')).filter((b) => b.intentId === id).at(-1)!;
    expect(pos.data).toMatchObject({ from: 'STALLED', to: 'CANCELLED', actor: { id: '1002', name: 'bob' } });
    (h.broker as SimBroker).faults.reconnect();
    await h.settle();
    const next = await h.engine.submitIntent(h.intent());
    expect(next).toMatchObject({ kind: 'accepted', state: 'PROPOSED' });
  });

  it('SAFE-13: broker reachable and it knows nothing of the orderRef → the broker check cancels it; a hand resolution is refused while the broker knows the order', async () => {
    h = await harness({ broker: (clock) => new LosesFirstPlacement(clock) });
    const id = await stalledWithoutBrokerId(h);
    expect(await h.engine.cancelStalled(id, admin)).toMatchObject({ ok: true, code: 'CANCELLED' });
    await expectState(h, id, 'CANCELLED');
    // a second stalled intent that DID reach the broker (timed out there): no hand resolution
    const sim = h.broker as SimBroker;
    sim.faults.timeoutNext();
    const r = await h.engine.submitIntent(h.intent({ ttlSec: 1800 }));
    if (r.kind !== 'accepted') throw new Error('not accepted');
    await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    await h.clock.advance(61_000);
    await h.engine.detectStalls();
    await expectState(h, r.intentId, 'STALLED');
    const known = await h.engine.resolveStalled(r.intentId, admin, 'looked');
    expect(known).toMatchObject({ ok: false, code: 'BROKER_KNOWS_ORDER' });
    expect(stalledResolveText(known)).toMatch(/^The broker knows this order/);
    await expectState(h, r.intentId, 'STALLED');
  });
});

/**
 * SAFE-3 (issue 12): /halt must stop an order that is already past the submit gate. The kill gate
 * runs when the token is consumed; with IBKR the wire write comes seconds later (managed-accounts
 * round trip, the first contract qualification, the pacer queue). The last look re-checks the kill
 * in the pacer slot of the entry leg, inside the transaction that marks it sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IbkrBroker } from '../../src/broker/ibkr/index.js';
import { SimBroker } from '../../src/broker/sim/index.js';
import type { BracketRequest, PlacedLeg, SubmitPermit } from '../../src/engine/broker.port.js';
import { seededRandom, silentLogger, type Clock } from '../../src/engine/ports.js';
import { admin, approver, cardOf, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { TwsTestServer } from '../support/tws/index.js';
import { alerts, beads } from '../jobs/helpers.js';

const ACCOUNT = 'DU1234567';
/** the adapter's own clock: its pacer and timeouts run in real time */
const wallClock: Clock = {
  now: () => Date.now(),
  schedule: (ms, fn) => {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(t);
  },
};

let h: Harness | undefined;
let server: TwsTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});
const harness = useHarness();

async function until(probe: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('SAFE-3: /halt does not stop an order already past the submit gate', () => {
  it('SAFE-3: INV-KILL-LAST-MOMENT-1: over IBKR (@stoqey/ib ⇄ TWS test server), /halt while the first contract qualification is under way → no PLACE_ORDER reaches the server, the intent is CANCELLED and says why', async () => {
    server = new TwsTestServer({ accounts: [ACCOUNT] });
    const port = await server.start();
    server.movePrice('MES', 6010.25);
    server.contractDetailsDelayMs = 400; // a slow first qualification: the window the review found
    h = await harness({
      connect: false,
      broker: () =>
        new IbkrBroker({ host: '127.0.0.1', port, clientId: 43, account: ACCOUNT, mode: 'paper', allowLive: false, clock: wallClock, logger: silentLogger, connectTimeoutMs: 3000, requestTimeoutMs: 3000, accountCheckTimeoutMs: 2000, commissionWaitMs: 200, reconnect: { maxAttempts: 3, baseDelayMs: 30, maxDelayMs: 200 } }),
    });
    // the card is made while the gateway is away (contract facts by rule, MONEY-9), so the first
    // qualification of MES happens on the submission path, after the submit gate
    const r = await h.engine.submitIntent(h.intent());
    if (r.kind !== 'accepted' || r.state !== 'PROPOSED') throw new Error(`not proposed: ${JSON.stringify(r)}`);
    await h.broker.connect();
    expect(server.received.some((m) => m.msgId === 9)).toBe(false);
    const deciding = h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    // the token is consumed and the intent SUBMITTED; the adapter now waits for contract details
    await until(() => server!.received.some((m) => m.msgId === 9));
    expect((await intentOf(h, r.intentId)).state).toBe('SUBMITTED');
    const halted = await h.engine.halt(admin, 'news');
    expect(halted.ok).toBe(true);
    const d = await deciding;
    expect(d).toMatchObject({ kind: 'approved', submit: { kind: 'cancelled', reason: expect.stringContaining('kill flag MANUAL') } });
    await new Promise((res) => setTimeout(res, 100)); // anything still queued would reach the server now
    expect(server.placements.filter((p) => p.orderRef === r.intentId)).toEqual([]);
    const intent = await intentOf(h, r.intentId);
    expect(intent.state).toBe('CANCELLED');
    expect(intent.stateReason).toMatch(/^stopped before it left Phoenix: kill flag MANUAL set .* by bob \(news\)$/);
    const refused = (await beads(h, 'ORDER')).filter((b) => b.intentId === r.intentId && b.data.event === 'SEND_REFUSED');
    expect(refused).toHaveLength(1);
    expect(await alerts(h, 'ENTRY_STOPPED')).toHaveLength(1);
    expect((await h.app.store.tx((tx) => tx.orders.listByIntent(r.intentId))).map((o) => o.status)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);
  });

  it('SAFE-3: INV-KILL-LAST-MOMENT-1: the last look passes without a kill and records SENDING before the bracket leaves, and the whole bracket reaches the server', async () => {
    server = new TwsTestServer({ accounts: [ACCOUNT] });
    const port = await server.start();
    server.movePrice('MES', 6010.25);
    h = await harness({
      broker: () =>
        new IbkrBroker({ host: '127.0.0.1', port, clientId: 44, account: ACCOUNT, mode: 'paper', allowLive: false, clock: wallClock, logger: silentLogger, connectTimeoutMs: 3000, requestTimeoutMs: 3000, accountCheckTimeoutMs: 2000, commissionWaitMs: 200, reconnect: { maxAttempts: 3, baseDelayMs: 30, maxDelayMs: 200 } }),
    });
    const r = await h.engine.submitIntent(h.intent());
    if (r.kind !== 'accepted') throw new Error('not accepted');
    const d = await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    expect(d).toMatchObject({ kind: 'approved', submit: { kind: 'submitted' } });
    const order = (await beads(h, 'ORDER')).filter((b) => b.intentId === r.intentId).map((b) => b.data.event);
    expect(order.indexOf('SENDING')).toBeGreaterThan(order.indexOf('PLACING'));
    expect(order.indexOf('SENDING')).toBeLessThan(order.indexOf('PLACED'));
    await until(() => server!.placements.filter((p) => p.orderRef === r.intentId).length === 3);
    expect(server.placements.filter((p) => p.orderRef === r.intentId).map((p) => p.transmit)).toEqual([false, false, true]);
  });

  it('SAFE-3: INV-KILL-LAST-MOMENT-1: with the simulated broker too — a kill set while the placement waits in front of the last look → nothing recorded at the broker; a stale-state kill counts as well', async () => {
    for (const kind of ['manual', 'stale'] as const) {
      let release!: () => void;
      const held = new Promise<void>((res) => (release = res));
      h = await harness({ broker: (clock) => new HeldBeforeLook(clock, held) });
      const r = await h.engine.submitIntent(h.intent());
      if (r.kind !== 'accepted') throw new Error('not accepted');
      const deciding = h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
      await until(async () => (await intentOf(h!, r.intentId)).state === 'SUBMITTED');
      if (kind === 'manual') await h.engine.halt(approver, 'manual');
      else await h.engine.submitIntent(h.intent({ stateAsOf: new Date(h.clock.now() - 3_600_000).toISOString() })); // stale → 5-min kill
      release();
      const d = await deciding;
      expect(d).toMatchObject({ kind: 'approved', submit: { kind: 'cancelled', reason: expect.stringContaining(kind === 'manual' ? 'kill flag MANUAL' : 'kill flag STALE') } });
      expect(await h.broker.openOrders()).toEqual([]);
      expect((await h.broker.findByOrderRef(r.intentId)).orders).toEqual([]);
      await h.close();
      h = undefined;
    }
  });
});

/** A sim whose placeBracket waits (as IBKR's queues do) before it reaches the last look. */
class HeldBeforeLook extends SimBroker {
  constructor(
    clock: ConstructorParameters<typeof SimBroker>[0]['clock'],
    private readonly held: Promise<void>,
  ) {
    super({ clock, random: seededRandom(3), profile: 'INSTANT', prices: { MES: 6010.25 } });
  }
  override async placeBracket(req: BracketRequest, permit: SubmitPermit): Promise<readonly PlacedLeg[]> {
    await this.held;
    return super.placeBracket(req, permit);
  }
}

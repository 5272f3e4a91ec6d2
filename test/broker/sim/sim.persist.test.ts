/**
 * Issue 16: the simulated broker keeps its book (positions, working orders, executions, the
 * next order id) in Phoenix's database, so a restart of a BROKER=sim service on the same file
 * finds the broker as it left it. Before, the simulator forgot everything while the database
 * remembered open positions, and the start-up reconciliation reported CRITICAL drifts.
 *
 * Real SQLite files (and a real PostgreSQL database, issue 18) through `createApp` (the broker
 * the configuration builds, not one a test hands in), every store adapter, each reading what it
 * wrote before the "restart".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../../src/app.js';
import { SimBroker } from '../../../src/broker/sim/index.js';
import { reconcileNow } from '../../../src/engine/reconcile.usecase.js';
import { seededRandom, silentLogger } from '../../../src/engine/ports.js';
import { FakeClock, flushMicrotasks } from '../../support/fake-clock.js';
import { readmeIntentBody } from '../../support/fixtures.js';
import { approver, CHAT_ID, IN_SESSION, testConfig, testConstitution } from '../../support/harness.js';
import { PgStore } from '../../../src/store/pg.store.js';
import { adapterEnv, STORE_ADAPTERS, usePostgres } from '../../support/postgres.js';

const pg = usePostgres();

let seq = 0;

async function settle(app: App): Promise<void> {
  for (let i = 0; i < 4; i++) {
    await flushMicrotasks();
    await app.engine.pendingEvents();
  }
}

for (const adapter of STORE_ADAPTERS) {
  describe(`issue 16: the simulated broker's book survives a restart (${adapter} store)`, () => {
    let dir: string;
    let clock: FakeClock;
    const open: App[] = [];

    let env: Record<string, string>;
    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'phoenix-simbook-'));
      clock = new FakeClock(IN_SESSION);
      env = { DATABASE_URL: `file:${join(dir, 'phoenix.db')}`, AUDIT_ANCHOR_FILE: join(dir, 'anchors.jsonl'), ...(await adapterEnv(adapter, pg)) };
    });
    afterEach(async () => {
      for (const a of open.splice(0)) await a.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    // three trades in one day: more than the default two a day
    const config = () => testConfig(env, testConstitution({ limits: { maxTradesPerDay: 5 } }));

    /** the service's way: the broker comes from the configuration (BROKER=sim, persistence on) */
    async function start(broker?: SimBroker): Promise<{ app: App; sim: SimBroker }> {
      const app = await createApp({ config: config(), clock, random: seededRandom(++seq * 7919), logger: silentLogger, chatId: CHAT_ID, ...(broker ? { broker } : {}) });
      open.push(app);
      // PostgreSQL: each start is a new process that leads (a new epoch)
      if (app.store instanceof PgStore) await app.store.claimLeadership(`start ${seq}`, clock.now());
      app.engine.attachBroker();
      await app.broker.connect();
      await settle(app);
      return { app, sim: app.broker as SimBroker };
    }

    async function stop(app: App): Promise<void> {
      await app.close();
      open.splice(open.indexOf(app), 1);
    }

    async function approved(app: App, over: Record<string, unknown> = {}): Promise<string> {
      const r = await app.engine.submitIntent(readmeIntentBody(`persist-${++seq}`, new Date(clock.now()).toISOString(), over));
      if (r.kind !== 'accepted' || r.state !== 'PROPOSED') throw new Error(`not proposed: ${JSON.stringify(r)}`);
      const card = await app.store.tx((tx) => tx.cards.bySubject(r.intentId, 'TRADE'));
      await app.engine.decide(card!.id, 'APPROVE', approver);
      await settle(app);
      return r.intentId;
    }

    const stateOf = async (app: App, id: string) => (await app.store.tx((tx) => tx.intents.get(id)))!.state;

    it('issue 16: a restart on the same database keeps positions, working orders, executions and the next order id → reconciliation finds 0 drifts', async () => {
      const first = await start();
      expect(first.sim).toBeInstanceOf(SimBroker);
      // one position left open with its bracket resting, one closed at its target
      const held = await approved(first.app);
      const closed = await approved(first.app, { instrument: { symbol: 'MNQ', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 2 }, entryPrice: 21150, stopLoss: 21146, takeProfit: 21160 });
      first.sim.simulatePrice('MNQ', 21161);
      await settle(first.app);
      expect(await stateOf(first.app, held)).toBe('MANAGED');
      expect(await stateOf(first.app, closed)).toBe('CLOSED');
      const before = { positions: await first.sim.positions(), orders: await first.sim.openOrders(), executions: await first.sim.executions() };
      expect(before.positions.map((p) => [p.instrument.symbol, p.quantity])).toEqual([['MES', 1]]);
      expect(before.orders.map((o) => `${o.orderRef === held ? 'held' : o.orderRef} ${o.role} ${o.status}`).sort()).toEqual(['held STOP WORKING', 'held TARGET WORKING']);
      expect(before.executions).toHaveLength(3); // two entries and the MNQ target
      const clean = await first.app.engine.reconcileNow('before the restart');
      expect(clean.discrepancies).toEqual([]);
      await stop(first.app);

      clock.set(clock.now() + 60_000);
      const second = await start();
      expect(await second.sim.positions()).toEqual(before.positions);
      expect(await second.sim.openOrders()).toEqual(before.orders);
      expect(await second.sim.executions()).toEqual(before.executions);
      const r = await second.app.engine.reconcileNow('after the restart');
      expect(r.ran).toBe(true);
      expect(r.discrepancies).toEqual([]);
      expect(r.newDrifts).toEqual([]);
      expect(r.unresolved).toBe(0);

      // the restored bracket still protects: the market falls through the stop, the stop fills, the intent closes
      second.sim.simulatePrice('MES', 6007.5);
      await settle(second.app);
      expect(await stateOf(second.app, held)).toBe('CLOSED');
      expect(await second.sim.positions()).toEqual([]);

      // ids go on where they stopped: never a broker order id or execId used twice
      const next = await approved(second.app);
      const found = await second.sim.findByOrderRef(next);
      const maxBefore = Math.max(...before.orders.map((o) => Number(o.brokerOrderId)), ...before.executions.map((f) => Number(f.brokerOrderId)));
      expect(Math.min(...found.orders.map((o) => Number(o.brokerOrderId)))).toBeGreaterThan(maxBefore);
      const execIds = (await second.sim.executions()).map((f) => f.execId);
      expect(new Set(execIds).size).toBe(execIds.length);
      expect(execIds).toHaveLength(5); // + the stop of `held` + the entry of `next`

      // and a third start reads what the second one wrote after its own restore
      const snapshot = { positions: await second.sim.positions(), orders: await second.sim.openOrders(), executions: await second.sim.executions() };
      await stop(second.app);
      const third = await start();
      expect({ positions: await third.sim.positions(), orders: await third.sim.openOrders(), executions: await third.sim.executions() }).toEqual(snapshot);
      expect((await third.app.engine.reconcileNow('third start')).discrepancies).toEqual([]);
    });

    it('issue 16 (control): a simulator that forgets its book on restart is what produced the CRITICAL drifts', async () => {
      const first = await start();
      await approved(first.app);
      await stop(first.app);
      // a memory-only simulator on the same database: Phoenix remembers a position the broker does not
      const forgetful = new SimBroker({ clock, random: seededRandom(1), profile: 'INSTANT' });
      const second = await start(forgetful);
      const r = await second.app.engine.reconcileNow('after a forgetful restart');
      expect(r.newDrifts.length).toBeGreaterThan(0);
      expect(r.newDrifts.some((d) => d.severity === 'CRITICAL')).toBe(true);
    });
  });
}

describe('issue 16: the broker saves an execution before Phoenix books it', () => {
  it('issue 16: every execution Phoenix books was queued for saving in the broker\'s book first (same commit order), so a crash in between never leaves Phoenix remembering a fill the broker forgot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-simbook-order-'));
    const clock = new FakeClock(IN_SESSION);
    const app = await createApp({ config: testConfig({ DATABASE_URL: `file:${join(dir, 'phoenix.db')}` }), clock, random: seededRandom(3), logger: silentLogger, chatId: CHAT_ID });
    try {
      // number every transaction when it is queued (the SQLite store commits them in that order)
      const store = app.store;
      const tx = store.tx.bind(store);
      let queued = 0;
      const saved: { at: number; execIds: string[] }[] = [];
      const booked: { at: number; execId: string }[] = [];
      (store as { tx: typeof store.tx }).tx = (fn) => {
        const at = queued++;
        return tx((t) =>
          fn({
            ...t,
            simBook: { ...t.simBook, save: async (c, now) => (saved.push({ at, execIds: c.executions.map((f) => f.execId) }), t.simBook.save(c, now)) },
            fills: { ...t.fills, insertIfNew: async (f) => (booked.push({ at, execId: f.execId }), t.fills.insertIfNew(f)) },
          }),
        );
      };
      app.engine.attachBroker();
      await app.broker.connect();
      const r = await app.engine.submitIntent(readmeIntentBody('order-1', new Date(clock.now()).toISOString()));
      if (r.kind !== 'accepted') throw new Error('not accepted');
      const card = await app.store.tx((t) => t.cards.bySubject(r.intentId, 'TRADE'));
      await app.engine.decide(card!.id, 'APPROVE', approver);
      await settle(app);
      (app.broker as SimBroker).simulatePrice('MES', 6015.5);
      await settle(app);
      expect((await app.store.tx((t) => t.intents.get(r.intentId)))!.state).toBe('CLOSED');
      expect(booked.map((b) => b.execId)).toHaveLength(2); // entry and target
      for (const b of booked) {
        const first = saved.find((s) => s.execIds.includes(b.execId));
        expect(first, `save of ${b.execId}`).toBeDefined();
        expect(first!.at).toBeLessThan(b.at);
      }
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

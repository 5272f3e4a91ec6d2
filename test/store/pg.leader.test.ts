/**
 * One leader among several processes on one PostgreSQL database (issue 18, SPEC 17): the
 * database's advisory lock elects it, the lease epoch fences it (INV-LEADER-FENCE-1). Each
 * "process" here is its own connection pool, store and elector on a real server; the failover
 * drill (test/drill/failover.test.ts) does the same with real processes and SIGKILL.
 */
import { kvKeyOf } from '../../src/engine/kv.keys.js';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerUnavailableError, type BrokerPort } from '../../src/engine/broker.port.js';
import { seededRandom, silentLogger } from '../../src/engine/ports.js';
import { createApp, type App } from '../../src/app.js';
import { pgPool, pgPrisma } from '../../src/store/pg.database.js';
import { migratePostgres } from '../../src/store/pg.migrate.js';
import { PgLeaderElector } from '../../src/store/pg.leader.js';
import { FencedError, PgStore } from '../../src/store/pg.store.js';
import { SimBroker } from '../../src/broker/sim/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { approver, cardOf, CHAT_ID, intentOf, makeHarness, type Harness } from '../support/harness.js';
import { usePostgres } from '../support/postgres.js';
import { depsOf } from '../support/engine-internals.js';
import { anOrder } from '../support/records.js';

const pg = usePostgres();

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});

function storeOn(url: string): PgStore {
  const pool = pgPool(url, 4);
  const s = new PgStore(pgPrisma(pool), pool);
  cleanup.push(() => s.close());
  return s;
}

function elector(url: string, store: PgStore, name: string, over: Partial<ConstructorParameters<typeof PgLeaderElector>[0]> = {}) {
  const events: string[] = [];
  const e = new PgLeaderElector({
    url,
    store,
    clock: new FakeClock('2026-11-24T15:00:00Z'),
    logger: silentLogger,
    holder: name,
    pollMs: 100,
    onElected: async (epoch) => void events.push(`elected ${epoch}`),
    onLost: (why) => void events.push(`lost: ${why}`),
    ...over,
  });
  cleanup.push(() => e.stop());
  return { e, events };
}

const waitFor = async (what: string, ok: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('INV-LEADER-FENCE-1: one leader, fenced by the lease epoch', () => {
  it('INV-LEADER-FENCE-1: of three processes exactly one leads; when it stops, exactly one other takes over with the next epoch', async () => {
    const url = await pg().createDatabase();
    await migratePostgres(url);
    const all = ['a', 'b', 'c'].map((n) => elector(url, storeOn(url), n));
    const roles = await Promise.all(all.map((x) => x.e.attempt()));
    expect(roles.filter((r) => r === 'leader')).toHaveLength(1);
    const first = all[roles.indexOf('leader')]!;
    expect(first.e.epoch).toBe(1);
    for (const x of all) x.e.start();
    await new Promise((r) => setTimeout(r, 400)); // several polls: nobody else gets in
    expect(all.filter((x) => x.e.role === 'leader')).toEqual([first]);
    await first.e.stop();
    await waitFor('a takeover', () => all.filter((x) => x.e.role === 'leader').length === 1);
    const second = all.find((x) => x.e.role === 'leader')!;
    expect(second).not.toBe(first);
    expect(second.e.epoch).toBe(2);
    expect(second.events).toEqual(['elected 2']);
  });

  it('INV-LEADER-FENCE-1: a leader whose database session is killed loses the lock and knows it; a follower takes over within a second, with the next epoch', async () => {
    const url = await pg().createDatabase();
    await migratePostgres(url);
    const a = elector(url, storeOn(url), 'a');
    const b = elector(url, storeOn(url), 'b');
    expect(await a.e.attempt()).toBe('leader');
    expect(await b.e.attempt()).toBe('follower');
    b.e.start();
    const db = url.split('/').pop()!;
    const killed = await pg().query<{ ok: boolean }>(db, `SELECT pg_terminate_backend(pid) AS ok FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted`, [0x50480003]);
    expect(killed).toEqual([{ ok: true }]);
    const t0 = Date.now();
    await waitFor('b to lead', () => b.e.role === 'leader');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(b.e.epoch).toBe(2);
    await waitFor('a to learn it lost', () => a.e.role === 'lost');
    expect(a.events[0]).toBe('elected 1');
    expect(a.events[1]).toMatch(/^lost: /);
  });

  it('INV-LEADER-FENCE-1: a leader that goes silent (frozen: no pings) loses its lock to the server\'s idle_session_timeout; a follower takes over', async () => {
    const url = await pg().createDatabase();
    await migratePostgres(url);
    const a = elector(url, storeOn(url), 'a', { sessionTimeoutMs: 600 });
    const b = elector(url, storeOn(url), 'b', { sessionTimeoutMs: 600 });
    expect(await a.e.attempt()).toBe('leader');
    // freeze a: its pings stop (as when the whole process is paused)
    (a.e as unknown as { ping: () => Promise<void> }).ping = async () => {};
    b.e.start();
    await waitFor('b to lead', () => b.e.role === 'leader', 5000);
    expect(b.e.epoch).toBe(2);
  });

  it('INV-LEADER-FENCE-1: a frozen leader\'s open transaction (holding the desk\'s write lock) does not hold up the takeover: the new leader ends the old one\'s sessions, its work rolls back', async () => {
    const url = await pg().createDatabase();
    await migratePostgres(url);
    const aPool = pgPool(url, 2, 'a');
    const aStore = new PgStore(pgPrisma(aPool), aPool);
    cleanup.push(() => aStore.close());
    const a = elector(url, aStore, 'a', { sessionTimeoutMs: 600 });
    expect(await a.e.attempt()).toBe('leader');
    // A, frozen in the middle of a transaction: it holds the write lock and never commits
    const held = await aPool.connect();
    let released = false;
    cleanup.push(async () => void (released || held.release(true)));
    const errors: string[] = [];
    held.on('error', (e) => errors.push(e.message));
    await held.query('BEGIN');
    await held.query('SELECT pg_advisory_xact_lock($1)', [0x50480002]);
    await held.query(`INSERT INTO "SystemState"(key, value, "updatedAt") VALUES ('frozen', 'never committed', now())`);
    (a.e as unknown as { ping: () => Promise<void> }).ping = async () => {};
    const b = elector(url, storeOn(url), 'b', { sessionTimeoutMs: 600 });
    b.e.start();
    await waitFor('b to lead', () => b.e.role === 'leader', 10_000);
    expect(b.e.epoch).toBe(2);
    // A's transaction was ended by B (pg_terminate_backend: "administrator command"), not left to
    // the server's idle-in-transaction timeout; its connection is gone, its write undone
    await waitFor("A's session to end", () => errors.length > 0, 10_000);
    expect(errors[0]).toMatch(/administrator command/);
    released = true;
    held.release(true);
    const db = url.split('/').pop()!;
    expect(await pg().query(db, `SELECT value FROM "SystemState" WHERE key = 'frozen'`)).toEqual([]);
  });

  it('INV-LEADER-FENCE-1: a stale leader cannot mark an order sent — an approval it retries after a takeover rolls back in its own transaction (token unused, no order rows, nothing at the broker); the new leader sends it exactly once', async () => {
    const url = await pg().createDatabase();
    // process A leads (epoch 1); its broker is down, so the approval waits (token clock running)
    let brokerUp = false;
    let sim!: SimBroker;
    const h: Harness = await makeHarness({
      env: { DATABASE_URL: url },
      broker: (clock) => {
        sim = new SimBroker({ clock, random: seededRandom(5), profile: 'INSTANT', prices: { MES: 6010.25 } });
        return gated(sim, () => brokerUp);
      },
    });
    cleanup.push(() => h.close());
    const r = await h.engine.submitIntent(h.intent());
    if (r.kind !== 'accepted') throw new Error('not accepted');
    await h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver);
    expect((await intentOf(h, r.intentId)).state).toBe('APPROVED');
    // process B takes the lock and the next epoch (A's session is gone; A has not noticed yet)
    const bStore = storeOn(url);
    const b = elector(url, bStore, 'b');
    expect(await b.e.attempt()).toBe('leader');
    expect(b.e.epoch).toBe(2);
    // the broker comes back and A retries its waiting approval: fenced, rolled back
    brokerUp = true;
    await expect(h.engine.retryWaiting()).rejects.toBeInstanceOf(FencedError);
    const token = await bStore.tx((tx) => tx.tokens.latestForIntent(r.intentId));
    expect(token?.usedAt).toBeNull();
    expect(await bStore.tx((tx) => tx.orders.listByIntent(r.intentId))).toEqual([]);
    expect((await bStore.tx((tx) => tx.intents.get(r.intentId)))?.state).toBe('APPROVED');
    expect(await sim.openOrders()).toEqual([]);
    // every later transaction of A is refused too (a stale leader writes nothing)
    await expect(h.app.store.tx((tx) => tx.kv.set(kvKeyOf.contract('test-x'), 'y', h.clock.now()))).rejects.toBeInstanceOf(FencedError);
    // B, the leader, sends it: one bracket at the broker for this intent
    const bApp = await appOn(url, h.clock, sim, bStore);
    const out = await bApp.engine.retryWaiting();
    expect(out.map((o) => o.kind)).toEqual(['submitted']);
    expect(new Set((await sim.openOrders()).map((o) => o.orderRef))).toEqual(new Set([r.intentId]));
  });

  it('INV-LEADER-FENCE-1: a leader that loses the lease between marking the entry SUBMITTED and the wire write is stopped by the last look (fenced): nothing leaves, the new leader finds it unsent', async () => {
    const url = await pg().createDatabase();
    let takeover: (() => Promise<void>) | null = null;
    let sim!: SimBroker;
    const h: Harness = await makeHarness({
      env: { DATABASE_URL: url },
      broker: (clock) => {
        sim = new SimBroker({ clock, random: seededRandom(6), profile: 'INSTANT', prices: { MES: 6010.25 } });
        // the takeover happens while A's bracket is on its way (after the SUBMITTED commit)
        return { ...bind(sim), placeBracket: async (req, permit) => (await takeover?.(), sim.placeBracket(req, permit)) };
      },
    });
    cleanup.push(() => h.close());
    const bStore = storeOn(url);
    const b = elector(url, bStore, 'b');
    takeover = async () => void expect(await b.e.attempt()).toBe('leader');
    const r = await h.engine.submitIntent(h.intent());
    if (r.kind !== 'accepted') throw new Error('not accepted');
    await expect(h.engine.decide((await cardOf(h, r.intentId)).id, 'APPROVE', approver)).rejects.toBeInstanceOf(FencedError);
    expect(b.e.epoch).toBe(2);
    // committed while A still led: SUBMITTED with its orders PENDING; but nothing reached the broker
    expect((await bStore.tx((tx) => tx.intents.get(r.intentId)))?.state).toBe('SUBMITTED');
    expect(await sim.openOrders()).toEqual([]);
    expect(await sim.executions()).toEqual([]);
    const beads = await bStore.tx((tx) => tx.beads.listByIntent(r.intentId));
    expect(beads.some((x) => x.type === 'ORDER' && JSON.parse(x.payload).event === 'SENDING')).toBe(false);
  });

  it('INV-LEADER-FENCE-1: a process that never led never marks an order sent (follower)', async () => {
    const url = await pg().createDatabase();
    await migratePostgres(url);
    const follower = storeOn(url);
    const now = Date.parse('2026-11-24T15:00:00Z');
    const order = anOrder({ id: 'o1', intentId: 'int_1' }, now);
    await expect(follower.tx((tx) => tx.orders.insert(order))).rejects.toBeInstanceOf(FencedError);
    // it still writes what followers do (intake, decisions): one transaction each
    await follower.tx((tx) => tx.kv.set(kvKeyOf.contract('test-follower'), 'writes', now));
    expect(await follower.tx((tx) => tx.kv.get(kvKeyOf.contract('test-follower')))).toBe('writes');
    // a RESERVED exit (a flatten recorded for the leader to carry out) is not a send
    await follower.tx((tx) => tx.orders.insert({ ...order, id: 'o2', role: 'EXIT', status: 'RESERVED' }));
    await expect(follower.tx((tx) => tx.orders.update('int_1', 'EXIT', { status: 'PENDING', updatedAt: now }))).rejects.toBeInstanceOf(FencedError);
  });
});

/** A BrokerPort whose methods are the sim's, bound (spreading a class instance loses its prototype). */
function bind(sim: SimBroker): BrokerPort {
  const out: Record<string, unknown> = { name: sim.name };
  for (const k of ['connect', 'disconnect', 'health', 'accountSummary', 'qualify', 'placeBracket', 'placeOrder', 'cancel', 'resize', 'openOrders', 'executions', 'positions', 'findByOrderRef', 'onEvent'] as const) out[k] = (sim[k] as (...a: unknown[]) => unknown).bind(sim);
  return out as unknown as BrokerPort;
}

/** The sim, reporting itself down (cannot submit) until `up()` says otherwise. */
function gated(sim: SimBroker, up: () => boolean): BrokerPort {
  const b = bind(sim);
  return {
    ...b,
    health: () => (up() ? sim.health() : { ...sim.health(), state: 'DISCONNECTED', canSubmit: false, detail: 'test: gateway down' }),
    placeBracket: async (req, permit) => {
      if (!up()) throw new BrokerUnavailableError('test: gateway down');
      return sim.placeBracket(req, permit);
    },
  };
}

/** Process B's engine on the same database and broker (its store already holds the lease). */
async function appOn(url: string, clock: FakeClock, sim: SimBroker, store: PgStore): Promise<Pick<App, 'engine'>> {
  const { testConfig } = await import('../support/harness.js');
  // the broker is A's too: B's app must not disconnect it when it closes
  const app = await createApp({ config: testConfig({ DATABASE_URL: url, AUDIT_ANCHOR_FILE: 'off' }), clock, random: seededRandom(77), logger: silentLogger, broker: { ...bind(sim), disconnect: async () => {} }, chatId: CHAT_ID });
  cleanup.push(() => app.close());
  // B's engine uses the store that won the election (its epoch is the fencing token)
  const { Engine } = await import('../../src/engine/engine.js');
  return { engine: new Engine({ ...depsOf(app.engine), store }) };
}

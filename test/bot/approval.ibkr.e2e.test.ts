/**
 * Issue 4 done-when: the bot's end-to-end approval scenario (test/bot/approval.e2e.test.ts)
 * with BROKER=ibkr — the real IbkrBroker (@stoqey/ib over a real TCP socket, paper account
 * DU1234567) against the TWS wire-protocol test server on 127.0.0.1 instead of the sim.
 * The real grammY bot long-polls the sandbox; the engine runs on a SQLite file with a
 * FakeClock (the adapter keeps real time: its pacer and timeouts run on the wall clock).
 *
 * Besides what the bot test asserts, every approved intent is checked AT THE TEST SERVER:
 * exactly one bracket arrived — three linked legs (entry + target + stop, the exits
 * children of the entry in one OCA group), each carrying orderRef = intentId.
 */
import { describe, expect, it } from 'vitest';
import { IbkrBroker } from '../../src/broker/ibkr/index.js';
import type { Clock } from '../../src/engine/ports.js';
import { silentLogger } from '../../src/engine/ports.js';
import { buildBroker } from '../../src/app.js';
import { intentOf, testConfig, type makeHarness } from '../support/harness.js';
import { TwsTestServer } from '../support/tws/index.js';
import { buttonsOf, CHAT, makeRig, messageById, payloadOf, type Rig } from './helpers.js';
import { closeAfterEach } from '../support/cleanup.js';

const ACCOUNT = 'DU1234567';
const APPROVED_ANSWER = 'Approved ✅ Order sent to the broker.';

/** The adapter's own clock: its pacer spaces requests and its timeouts fire in real time. */
const wallClock: Clock = {
  now: () => Date.now(),
  schedule: (ms, fn) => {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(t);
  },
};

interface IbRig {
  readonly rig: Rig;
  readonly server: TwsTestServer;
  readonly broker: IbkrBroker;
  /** let the TWS round trip finish and the engine apply every event it produced */
  settle(): Promise<void>;
  close(): Promise<void>;
}

let current: IbRig | undefined;
const newIbRig = closeAfterEach(makeIbRig);

type HarnessOptions = NonNullable<Parameters<typeof makeHarness>[0]>;

async function makeIbRig(opts: { start?: boolean; constitution?: HarnessOptions['constitution']; viaEnv?: boolean } = {}): Promise<IbRig> {
  const server = new TwsTestServer({ accounts: [ACCOUNT] });
  const port = await server.start();
  // the bracket's entry (BUY LMT 6010.25) fills at once; its stop (6008) and target (6015) keep working
  server.movePrice('MES', 6010.25);
  let broker!: IbkrBroker;
  // the composition root's own path: BROKER=ibkr + IB_* in the environment, with a bot token
  // (the bot talks to the sandbox's Bot API; the sandbox chat alone never serves IBKR, INV-SANDBOX-PAPER-1)
  const viaEnv = opts.viaEnv
    ? await buildBroker(testConfig({ BROKER: 'ibkr', IB_HOST: '127.0.0.1', IB_PORT: String(port), IB_CLIENT_ID: '42', IB_ACCOUNT: ACCOUNT, TRADING_MODE: 'paper', TELEGRAM_BOT_TOKEN: '7000000003:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', TELEGRAM_CHAT_ID: String(CHAT), TELEGRAM_APPROVERS: '1001' }), wallClock, silentLogger)
    : null;
  const rig = await makeRig({
    ...(opts.start === false ? { start: false } : {}),
    harness: {
      ...(opts.constitution ? { constitution: opts.constitution } : {}),
      broker: () => {
        if (viaEnv) {
          const built = viaEnv;
          if (!(built instanceof IbkrBroker)) throw new Error(`BROKER=ibkr built ${built.name}`);
          broker = built;
          return broker;
        }
        broker = new IbkrBroker({
          host: '127.0.0.1',
          port,
          clientId: 41,
          account: ACCOUNT,
          mode: 'paper',
          allowLive: false,
          clock: wallClock,
          logger: silentLogger,
          connectTimeoutMs: 3000,
          requestTimeoutMs: 3000,
          accountCheckTimeoutMs: 2000,
          commissionWaitMs: 200,
          reconnect: { maxAttempts: 3, baseDelayMs: 30, maxDelayMs: 200 },
        });
        return broker;
      },
    },
  });
  const settle = async () => {
    await broker.sync();
    await rig.h.settle();
  };
  const r: IbRig = {
    rig,
    server,
    broker,
    settle,
    async close() {
      await rig.close();
      await server.close();
    },
  };
  current = r;
  return r;
}

const entryOrders = async (r: Rig, intentId: string) => (await r.h.app.store.tx((tx) => tx.orders.listByIntent(intentId))).filter((o) => o.role === 'ENTRY');

/** What reached the TWS test server for one orderRef: exactly one linked 3-leg bracket. */
function expectOneBracketAtServer(server: TwsTestServer, intentId: string): void {
  const legs = server.orders().filter((o) => o.orderRef === intentId);
  expect(legs, `orders at the TWS server for ${intentId}`).toHaveLength(3);
  const parents = legs.filter((o) => o.parentId === 0);
  expect(parents).toHaveLength(1);
  const entry = parents[0]!;
  expect(entry.account).toBe(ACCOUNT);
  expect(entry.action).toBe('BUY');
  expect(entry.orderType).toBe('LMT');
  const exits = legs.filter((o) => o !== entry);
  expect(exits.map((o) => o.parentId)).toEqual([entry.orderId, entry.orderId]);
  expect(exits.map((o) => o.orderType).sort()).toEqual(['LMT', 'STP']);
  expect(new Set(exits.map((o) => o.ocaGroup)).size).toBe(1);
  expect(exits[0]!.ocaGroup).not.toBe('');
  // PLACE_ORDER messages on the wire: three, never a re-send (no modify, no second bracket)
  const placed = server.placements.filter((p) => p.orderRef === intentId);
  expect(placed).toHaveLength(3);
  expect(new Set(placed.map((p) => p.orderId)).size).toBe(3);
  expect(placed.map((p) => p.transmit)).toEqual([false, false, true]);
}

describe('evidence card over the real bot with BROKER=ibkr (IbkrBroker ⇄ TWS test server over TCP)', () => {
  it('intent → card with both buttons → approver taps APPROVE → the bracket reaches the TWS server → card shows approved by whom/when and filled', async () => {
    const { rig, server, settle } = await newIbRig();
    const { intentId, cardId, message } = await rig.proposeAndWaitCard();
    expect(buttonsOf(message)).toEqual([`v1:a:${cardId}`, `v1:p:${cardId}`]);
    expect(message.reply_markup?.inline_keyboard[0]?.map((b) => b.text)).toEqual(['✅ APPROVE', '❌ PASS']);
    expect(message.parse_mode).toBe('HTML');
    for (const s of ['PAPER', 'BUY 1 MES Dec26', 'BRACKET', 'mes-orb', 'Entry 6010.25', 'Stop 6008.00', 'Target 6015.00', 'Risk $11.25', 'Valid for 5m 00s']) {
      expect(message.text).toContain(s);
    }
    expect(server.placements).toHaveLength(0);

    const q = rig.alice.tap(CHAT, message.message_id, 'APPROVE');
    expect((await rig.alice.waitAnswer(q)).text).toBe(APPROVED_ANSWER);
    const done = await rig.sandbox.waitFor(
      () => {
        const m = messageById(rig.sandbox, message.message_id);
        return m && m.text.includes('FILLED') && m.text.includes('working at the broker') ? m : undefined;
      },
      { timeoutMs: 10_000, label: 'card shows filled + managed' },
    );
    expect(done.text).toContain('APPROVED by @alice at 10:00 EST');
    expect(done.text).toContain('FILLED 1/1 @ 6010.25');
    expect(done.reply_markup).toBeUndefined();
    expect(rig.botMessages().filter((m) => m.text.includes(`card ${cardId}`))).toHaveLength(1);
    await settle();
    expect((await intentOf(rig.h, intentId)).state).toBe('MANAGED');
    expect(await entryOrders(rig, intentId)).toHaveLength(1);

    // at the broker: one bracket; the entry filled, the exits work as a linked OCA pair
    expectOneBracketAtServer(server, intentId);
    const legs = server.orders().filter((o) => o.orderRef === intentId);
    expect(legs.map((o) => o.status)).toEqual(['Filled', 'Submitted', 'Submitted']);
    expect(server.executions.filter((e) => e.orderRef === intentId)).toHaveLength(1);
    expect(server.positions()).toEqual([expect.objectContaining({ account: ACCOUNT, symbol: 'MES', pos: 1 })]);
    // the engine recorded the broker's order ids (the TWS ids, not made-up ones)
    const rows = await rig.h.app.store.tx((tx) => tx.orders.listByIntent(intentId));
    expect(rows.map((o) => Number(o.brokerOrderId)).sort((a, b) => a - b)).toEqual(legs.map((o) => o.orderId).sort((a, b) => a - b));
    await rig.outboxDrained();
    const card = await rig.h.app.store.tx((tx) => tx.cards.get(cardId));
    expect(card?.messageId).toBe(message.message_id);
    expect(card?.renderedVersion).toBe(card?.version);
  });

  it('PASS cancels: nothing reaches the TWS server, card says passed by whom', async () => {
    const { rig, server, settle } = await newIbRig();
    const { intentId, message } = await rig.proposeAndWaitCard();
    const q = rig.dave.tap(CHAT, message.message_id, 'PASS');
    expect((await rig.dave.waitAnswer(q)).text).toBe('Passed. Nothing will be sent.');
    const m = await rig.sandbox.waitFor(() => {
      const x = messageById(rig.sandbox, message.message_id);
      return x?.text.includes('PASSED') ? x : undefined;
    });
    expect(m.text).toContain('PASSED by @dave at 10:00 EST — nothing was sent.');
    expect(m.reply_markup).toBeUndefined();
    await settle();
    expect((await intentOf(rig.h, intentId)).state).toBe('CANCELLED');
    expect(await entryOrders(rig, intentId)).toHaveLength(0);
    expect(server.receivedOf('PLACE_ORDER')).toHaveLength(0);
    expect(server.orders()).toHaveLength(0);
  });

  it('CV two approvals of one intent at once: two approvers tap APPROVE in the same instant → exactly one bracket at the TWS server', async () => {
    // Polling off: both taps' updates enter the bot's middleware at once (its per-chat order
    // serializes them; the engine's compare-and-set would catch them if it did not).
    const { rig, server, settle } = await newIbRig({ start: false });
    await rig.phoenix.bot.init();
    rig.phoenix.syncer.start();
    const { intentId, message } = await rig.proposeAndWaitCard();
    const qa = rig.alice.tap(CHAT, message.message_id, 'APPROVE');
    const qd = rig.dave.tap(CHAT, message.message_id, 'APPROVE');
    const updates = rig.sandbox.pendingUpdates();
    expect(updates).toHaveLength(2);
    await Promise.all(updates.map((u) => rig.phoenix.bot.handleUpdate(u as never)));
    // answers are sent without holding up the chat's next update: wait for them to arrive
    const answers = (await Promise.all([rig.alice.waitAnswer(qa), rig.dave.waitAnswer(qd)])).map((x) => x.text);
    expect(answers.filter((t) => t === APPROVED_ANSWER)).toHaveLength(1);
    expect(answers.filter((t) => t !== APPROVED_ANSWER)[0]).toMatch(/^(Already decided by @(alice|dave) at .*nothing was done\.|Someone decided this card at the same moment; your tap did nothing\.)$/);
    await settle();
    await rig.sandbox.waitFor(() => (server.orders().filter((o) => o.orderRef === intentId && o.status === 'Filled').length === 1 ? true : undefined), {
      timeoutMs: 5000,
      label: 'entry filled at the server',
    });
    await settle();
    expect(await entryOrders(rig, intentId)).toHaveLength(1);
    expectOneBracketAtServer(server, intentId);
    const tokens = (await rig.beads('T2_TOKEN')).map((b) => payloadOf<{ event: string }>(b).event);
    expect(tokens.filter((e) => e === 'ISSUED')).toHaveLength(1);
    expect(tokens.filter((e) => e === 'USED')).toHaveLength(1);
  });

  it('CV two approvals of one intent at once: back-to-back taps through long polling → exactly one bracket at the TWS server, both answered', async () => {
    const { rig, server, settle } = await newIbRig();
    const { intentId, message } = await rig.proposeAndWaitCard();
    const qa = rig.alice.tap(CHAT, message.message_id, 'APPROVE');
    const qd = rig.dave.tap(CHAT, message.message_id, 'APPROVE');
    const [a, d] = await Promise.all([rig.alice.waitAnswer(qa), rig.dave.waitAnswer(qd)]);
    expect([a.text, d.text].filter((t) => t === APPROVED_ANSWER)).toHaveLength(1);
    await settle();
    await rig.sandbox.waitFor(() => ((messageById(rig.sandbox, message.message_id)?.text ?? '').includes('working at the broker') ? true : undefined), {
      timeoutMs: 10_000,
      label: 'card shows managed',
    });
    expect(await entryOrders(rig, intentId)).toHaveLength(1);
    expectOneBracketAtServer(server, intentId);
    expect((await intentOf(rig.h, intentId)).state).toBe('MANAGED');
  });

  it('BROKER=ibkr through the composition root (buildBroker from IB_HOST/IB_PORT/IB_CLIENT_ID/IB_ACCOUNT): APPROVE → one bracket at the TWS server → card filled', async () => {
    const { rig, server, broker, settle } = await newIbRig({ viaEnv: true });
    expect(broker.name).toBe('ibkr');
    expect(broker.accountId).toBe(ACCOUNT);
    const { intentId, message } = await rig.proposeAndWaitCard();
    const q = rig.alice.tap(CHAT, message.message_id, 'APPROVE');
    expect((await rig.alice.waitAnswer(q)).text).toBe(APPROVED_ANSWER);
    await rig.sandbox.waitFor(() => ((messageById(rig.sandbox, message.message_id)?.text ?? '').includes('FILLED 1/1 @ 6010.25') ? true : undefined), {
      timeoutMs: 10_000,
      label: 'card shows filled',
    });
    await settle();
    expectOneBracketAtServer(server, intentId);
    expect(server.orders().every((o) => o.clientId === 42)).toBe(true);
  });

  it('three intents approved one after another: one bracket each at the TWS server, the broker order ids never reused', async () => {
    const { rig, server, settle } = await newIbRig({ constitution: { limits: { maxTradesPerDay: 10, maxPositionPerInstrument: 10 } } });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { intentId, message } = await rig.proposeAndWaitCard();
      const q = rig.alice.tap(CHAT, message.message_id, 'APPROVE');
      expect((await rig.alice.waitAnswer(q)).text).toBe(APPROVED_ANSWER);
      ids.push(intentId);
    }
    await rig.sandbox.waitFor(() => (server.orders().filter((o) => o.status === 'Filled').length === 3 ? true : undefined), { timeoutMs: 10_000, label: 'three entries filled' });
    await settle();
    for (const id of ids) expectOneBracketAtServer(server, id);
    expect(server.orders()).toHaveLength(9);
    expect(new Set(server.orders().map((o) => o.orderId)).size).toBe(9);
    expect(server.duplicateIdErrors).toBe(0);
    expect(server.protocolErrors).toEqual([]);
  });
});

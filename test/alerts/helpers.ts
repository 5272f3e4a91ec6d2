/** Shared rig for alert pipeline tests: harness app + sandbox (fake clock) + sender. */
import { SimBroker } from '../../src/broker/sim/index.js';
import { createApp, type App } from '../../src/app.js';
import { AlertSender, type AlertSenderOptions } from '../../src/alerts/sender.js';
import { countAlertsInText } from '../../src/alerts/render.js';
import type { AlertTransport } from '../../src/alerts/transport.js';
import { createGrammyAlertTransport } from '../../src/bot/alert.transport.js';
import type { AlertDraft, AlertType } from '../../src/engine/alerts.table.js';
import { seededRandom, silentLogger } from '../../src/engine/ports.js';
import type { Store } from '../../src/engine/store.port.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import type { FakeClock } from '../support/fake-clock.js';
import { CHAT_ID, makeHarness, type Harness } from '../support/harness.js';

export const TOKEN = '123:abc';
export const CHAT = Number(CHAT_ID);

export interface Rig {
  h: Harness;
  sandbox: Sandbox;
  transport: AlertTransport;
  sender: AlertSender;
  close(): Promise<void>;
}

export async function makeRig(opts: { timeoutMs?: number; sender?: Partial<AlertSenderOptions>; transport?: (t: AlertTransport) => AlertTransport; rateLimits?: boolean; env?: Record<string, string> } = {}): Promise<Rig> {
  const h = await makeHarness(opts.env ? { env: opts.env } : {});
  const sandbox = await startSandbox({ rateLimits: opts.rateLimits ?? true, clock: { now: () => h.clock.now() } });
  const base = createGrammyAlertTransport({ token: TOKEN, apiRoot: sandbox.apiRoot, timeoutMs: opts.timeoutMs ?? 10_000 });
  const transport = opts.transport ? opts.transport(base) : base;
  const sender = new AlertSender({ store: h.app.store, clock: h.clock, transport, chatId: CHAT_ID, ...opts.sender });
  await sender.start();
  return {
    h,
    sandbox,
    transport,
    sender,
    async close() {
      await sender.stop();
      await sandbox.close();
      await h.close();
    },
  };
}

/** Move fake time in steps, letting each sender tick (and its real HTTP) finish in between. */
export async function runFor(clock: FakeClock, sender: AlertSender, ms: number, step = 250, each?: (now: number) => Promise<void> | void): Promise<void> {
  const end = clock.now() + ms;
  while (clock.now() < end) {
    if (each) await each(clock.now());
    await clock.advance(Math.min(step, end - clock.now()));
    await sender.settled();
  }
}

/** Run until the outbox is empty (or `maxMs` passes); returns the time it took. */
export async function drain(store: Store, clock: FakeClock, sender: AlertSender, maxMs: number, step = 1000): Promise<number> {
  const start = clock.now();
  while (clock.now() - start < maxMs) {
    if ((await backlog(store)) === 0 && sender.pendingInMemory() === 0) return clock.now() - start;
    await runFor(clock, sender, step, 250);
  }
  return clock.now() - start;
}

export const backlog = (store: Store): Promise<number> => store.tx((tx) => tx.alerts.backlog());

export async function enqueue(store: Store, drafts: readonly AlertDraft[]): Promise<void> {
  if (!drafts.length) return;
  await store.tx(async (tx) => {
    for (const d of drafts) tx.alerts.enqueue(d);
  });
}

export interface ChatView {
  /** alert messages in the chat, oldest first */
  texts: string[];
  /** message ref → copies seen */
  copies: Map<string, number>;
  /** alerts accounted for by distinct messages (a duplicate copy is counted once) */
  accounted: number;
  /** alerts the chat shows, duplicates included */
  shown: number;
}

export function chatView(sandbox: Sandbox, chatId = CHAT): ChatView {
  const texts = sandbox.chat(chatId).filter((m) => m.from_bot).map((m) => m.text);
  const copies = new Map<string, number>();
  let accounted = 0;
  let shown = 0;
  for (const t of texts) {
    const ref = /ref (am_[\w-]+)/.exec(t)?.[1] ?? `noref:${t}`;
    const n = countAlertsInText(t);
    shown += n;
    if (!copies.has(ref)) accounted += n;
    copies.set(ref, (copies.get(ref) ?? 0) + 1);
  }
  return { texts, copies, accounted, shown };
}

/** sendMessage calls the sandbox answered, with their clock time and status. */
export const sends = (sandbox: Sandbox) => sandbox.calls.filter((c) => c.method === 'sendMessage');

/** Most sends that succeeded in any rolling window of `windowMs`. */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  let best = 0;
  const t = [...times].sort((a, b) => a - b);
  for (let i = 0, j = 0; i < t.length; i++) {
    while ((t[i] as number) - (t[j] as number) >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/** A second app on the same database file: what a restarted process gets. */
export async function reopen(h: Harness): Promise<App> {
  const broker = new SimBroker({ clock: h.clock, random: seededRandom(7), profile: 'INSTANT', prices: { MES: 6010.25 } });
  return createApp({ config: h.config, clock: h.clock, random: seededRandom(9), logger: silentLogger, broker, chatId: CHAT_ID });
}

const SYMBOLS = ['MES', 'ES', 'NQ', 'MNQ', 'AAPL', 'MSFT', 'CL', 'GC'];

/** A runaway-strategy mix: stalls (CRITICAL), rejects, blocked intents (2 gate codes), pacing, stale state. */
export function floodAlert(i: number, at: number): AlertDraft {
  const sym = SYMBOLS[i % SYMBOLS.length] as string;
  const kinds: AlertType[] = ['POSITION_STALLED', 'ORDER_REJECTED', 'INTENT_BLOCKED', 'PACING_VIOLATION', 'STATE_CONFLICT'];
  const type = i === 0 ? 'POSITION_STALLED' : (kinds[i % kinds.length] as AlertType);
  switch (type) {
    case 'POSITION_STALLED':
      return { type, at, payload: { summary: `BUY 1 ${sym}: no broker acknowledgement for 61 s. Not retried; check the broker.`, intentId: `in_${i}`, instrumentKey: sym } };
    case 'ORDER_REJECTED':
      return { type, at, payload: { summary: `SELL 1 ${sym} rejected by broker: margin <insufficient> & "cash". Not retried.`, intentId: `in_${i}`, instrumentKey: sym } };
    case 'INTENT_BLOCKED':
      return { type, at, payload: { summary: `BUY 1 ${sym} (orb) blocked: ${i % 2 ? 'kill flag active' : 'daily loss cap reached'}`, intentId: `in_${i}`, facts: { code: i % 2 ? 'KILL' : 'DAILY_LOSS', signal: `s-${i}` } } };
    case 'PACING_VIOLATION':
      return { type, at, payload: { summary: `IBKR error 100: max rate of messages per second exceeded (${sym})`, facts: { code: 100 } } };
    default:
      return { type, at, payload: { summary: `Stale market state on ${sym}: entries paused for 5 min`, facts: { signal: `s-${i}` } } };
  }
}

/**
 * Builds a real Phoenix for tests: a fresh SQLite FILE database (migrated), the engine,
 * a FakeClock (default Tue 2026-11-24 10:00 New York, inside the session), seeded
 * randomness and the simulated broker (INSTANT) unless another broker is given.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app.js';
import { SimBroker } from '../../src/broker/sim/index.js';
import type { AppConfig } from '../../src/config/load.js';
import { envSchema } from '../../src/config/env.schema.js';
import type { BrokerPort } from '../../src/engine/broker.port.js';
import { constitutionSchema, type Constitution } from '../../src/engine/constitution.js';
import { SYSTEM_ACTOR, type Actor } from '../../src/engine/domain.js';
import type { Engine } from '../../src/engine/engine.js';
import { seededRandom, silentLogger } from '../../src/engine/ports.js';
import { PgStore } from '../../src/store/pg.store.js';
import { FakeClock, flushMicrotasks } from './fake-clock.js';
import { readmeIntentBody } from './fixtures.js';

export const IN_SESSION = '2026-11-24T15:00:00Z'; // Tuesday 10:00 America/New_York
export const CHAT_ID = '-1001001';

export const approver: Actor = { id: '1001', name: 'alice', roles: ['viewer', 'approver'], via: 'telegram' };
export const admin: Actor = { id: '1002', name: 'bob', roles: ['viewer', 'approver', 'admin'], via: 'telegram' };
export const viewer: Actor = { id: '1003', name: 'carol', roles: ['viewer'], via: 'telegram' };
export const stranger: Actor = { id: '666', name: 'mallory', roles: [], via: 'telegram' };
export const system = SYSTEM_ACTOR;

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export function testConstitution(over: DeepPartial<Constitution> = {}): Constitution {
  const o = over as Record<string, Record<string, unknown> | undefined>;
  return constitutionSchema.parse({
    ...over,
    limits: { ...o.limits },
    staleState: { ...o.staleState },
    approval: { ...o.approval },
    session: { ...o.session },
    reconciliation: { ...o.reconciliation },
  });
}

export function testConfig(env: Record<string, string> = {}, constitution: Constitution = testConstitution()): AppConfig {
  return { env: envSchema.parse(env), constitution, constitutionPath: '(test)', digest: 'test' };
}

export interface Harness {
  readonly app: App;
  readonly engine: Engine;
  readonly clock: FakeClock;
  readonly broker: BrokerPort;
  readonly sim: SimBroker | null;
  readonly dbFile: string;
  readonly config: AppConfig;
  /** a valid intent (MES bracket, risk $11.25) with stateAsOf = now; override any field */
  intent(over?: Record<string, unknown>): Record<string, unknown>;
  /** let broker events arrive and be applied */
  settle(): Promise<void>;
  close(): Promise<void>;
}

let seq = 0;

export async function makeHarness(opts: {
  constitution?: DeepPartial<Constitution>;
  env?: Record<string, string>;
  clockStart?: string;
  broker?: (clock: FakeClock) => BrokerPort;
  connect?: boolean;
  seed?: number;
} = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-test-'));
  const dbFile = join(dir, 'phoenix.db');
  const clock = new FakeClock(opts.clockStart ?? IN_SESSION);
  // a postgresql:// DATABASE_URL (issue 18) has no file to put the anchor journal beside
  const pgEnv: Record<string, string> = opts.env?.DATABASE_URL?.startsWith('postgresql:') && !opts.env.AUDIT_ANCHOR_FILE ? { AUDIT_ANCHOR_FILE: join(dir, 'phoenix.anchors.jsonl') } : {};
  const config = testConfig({ DATABASE_URL: `file:${dbFile}`, ...pgEnv, ...opts.env }, testConstitution(opts.constitution));
  const sim = opts.broker ? null : new SimBroker({ clock, random: seededRandom((opts.seed ?? 1) + 1), profile: 'INSTANT', prices: { MES: 6010.25, AAPL: 200 } });
  const broker = opts.broker ? opts.broker(clock) : sim!;
  const app = await createApp({ config, clock, random: seededRandom(opts.seed ?? 1), logger: silentLogger, broker, chatId: CHAT_ID });
  // on PostgreSQL only the leader marks orders sent: the harness's one process leads
  if (app.store instanceof PgStore) await app.store.claimLeadership('harness', clock.now());
  app.engine.attachBroker();
  if (opts.connect !== false) await broker.connect();
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      await flushMicrotasks();
      await app.engine.pendingEvents();
    }
  };
  await settle();
  return {
    app,
    engine: app.engine,
    clock,
    broker,
    sim,
    dbFile,
    config,
    intent: (over = {}) => readmeIntentBody(`sig-${++seq}-${clock.now()}`, new Date(clock.now()).toISOString(), over),
    settle,
    async close() {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The TRADE card of an intent (cards are how humans approve). */
export async function cardOf(h: Harness, intentId: string) {
  const card = await h.app.store.tx((tx) => tx.cards.bySubject(intentId, 'TRADE'));
  if (!card) throw new Error(`no card for ${intentId}`);
  return card;
}

export async function intentOf(h: Harness, intentId: string) {
  const i = await h.app.store.tx((tx) => tx.intents.get(intentId));
  if (!i) throw new Error(`no intent ${intentId}`);
  return i;
}

export async function beadsOf(h: Harness, intentId: string) {
  return h.app.store.tx((tx) => tx.beads.listByIntent(intentId));
}

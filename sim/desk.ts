/**
 * The simulated desk: who is in the chat, what is traded, which secrets are configured, and the
 * Phoenix configuration (env + constitution) every process of a run starts with.
 */
import type { AppConfig } from '../src/config/load.js';
import { envSchema } from '../src/config/env.schema.js';
import { constitutionSchema, type Constitution } from '../src/engine/index.js';
import type { SimCalendar } from './calendar.js';
import type { TgUser } from './telegram.js';

export const CHAT_ID = -1001001;

/** approvers alice + dave, admins bob + erin (admins approve too), viewer carol, stranger mallory */
export const USERS = {
  alice: { id: 1001, first_name: 'Alice', username: 'alice' },
  bob: { id: 1002, first_name: 'Bob', username: 'bob' },
  carol: { id: 1003, first_name: 'Carol', username: 'carol' },
  dave: { id: 1004, first_name: 'Dave', username: 'dave' },
  erin: { id: 1005, first_name: 'Erin', username: 'erin' },
  mallory: { id: 666, first_name: 'Mallory', username: 'mallory' },
} as const satisfies Record<string, TgUser>;
export type UserKey = keyof typeof USERS;
export const APPROVERS: readonly UserKey[] = ['alice', 'dave', 'bob', 'erin'];
export const ADMINS: readonly UserKey[] = ['bob', 'erin'];

/** Configured secrets (INV-SECRET-1): none of their forms may appear in a row, a log line or a message. */
export const SECRETS = {
  TELEGRAM_BOT_TOKEN: '7000000009:AAHsimBotTokenNeverLeak_4f9c2e7a1b',
  INTAKE_TOKEN: 'sim-intake-token-8d3f6a0c2e91b7',
  TELEGRAM_WEBHOOK_SECRET: 'simWebhookSecret_5b7e1c9d3a',
} as const;

/** Every form a secret may take in text: raw, its secret half (bot token), URL- and JSON-encoded. */
export function secretForms(): string[] {
  const out = new Set<string>();
  for (const s of Object.values(SECRETS)) {
    for (const v of [s, s.includes(':') ? (s.split(':')[1] as string) : s]) {
      out.add(v);
      out.add(encodeURIComponent(v));
      out.add(JSON.stringify(v).slice(1, -1));
    }
  }
  return [...out];
}

export interface Product {
  readonly symbol: string;
  readonly secType: 'STK' | 'FUT';
  readonly multiplier: number;
  readonly tick: number;
  readonly base: number;
  /** how the strategies spell it (one contract each: INV-INSTRUMENT-ID-1) */
  readonly symbols: readonly string[];
  readonly exchanges: readonly string[];
}

export const PRODUCTS: readonly Product[] = [
  { symbol: 'MES', secType: 'FUT', multiplier: 5, tick: 0.25, base: 6000, symbols: ['MES', 'mes', ' MES', 'Mes '], exchanges: ['CME', 'cme', ' CME ', 'GLOBEX'] },
  { symbol: 'MNQ', secType: 'FUT', multiplier: 2, tick: 0.25, base: 21000, symbols: ['MNQ', 'mnq'], exchanges: ['CME', 'GLOBEX'] },
  { symbol: 'AAPL', secType: 'STK', multiplier: 1, tick: 0.01, base: 200, symbols: ['AAPL', 'aapl', ' AAPL '], exchanges: ['SMART', 'NASDAQ', 'smart'] },
  { symbol: 'MSFT', secType: 'STK', multiplier: 1, tick: 0.01, base: 420, symbols: ['MSFT', 'msft'], exchanges: ['SMART', 'nasdaq'] },
];

export const productOf = (symbol: string): Product => {
  const p = PRODUCTS.find((x) => x.symbol === symbol.trim().toUpperCase());
  if (!p) throw new Error(`unknown product ${symbol}`);
  return p;
};

/** Two desks: the shipped limits, or a busier one (more trades and room), chosen per seed. */
export type DeskVariant = 'default' | 'busy';

export function deskConstitution(variant: DeskVariant, cal: SimCalendar): Constitution {
  const limits =
    variant === 'busy'
      ? { dailyLossCapUsd: 60, maxConsecutiveLosses: 3, maxTradesPerDay: 6, maxPositionPerInstrument: 2, maxRiskPerTradeUsd: 25 }
      : {};
  return constitutionSchema.parse({
    name: `sim-${variant}`,
    limits,
    staleState: {},
    approval: {},
    session: { holidays: [...cal.holidays] },
    reconciliation: {},
  });
}

/** `databaseUrl`: `file:…` (SQLite) or `postgresql://…` */
export function deskConfig(databaseUrl: string, constitution: Constitution): AppConfig {
  const env = envSchema.parse({
    DATABASE_URL: databaseUrl,
    BROKER: 'sim',
    TRADING_MODE: 'paper',
    LOG_LEVEL: 'debug',
    TELEGRAM_BOT_TOKEN: SECRETS.TELEGRAM_BOT_TOKEN,
    TELEGRAM_CHAT_ID: String(CHAT_ID),
    TELEGRAM_APPROVERS: [USERS.alice.id, USERS.dave.id].join(','),
    TELEGRAM_ADMINS: [USERS.bob.id, USERS.erin.id].join(','),
    TELEGRAM_VIEWERS: String(USERS.carol.id),
    TELEGRAM_WEBHOOK_URL: 'https://phoenix.sim.invalid/telegram',
    TELEGRAM_WEBHOOK_SECRET: SECRETS.TELEGRAM_WEBHOOK_SECRET,
    INTAKE_TOKEN: SECRETS.INTAKE_TOKEN,
    // the anchor journal is real file I/O finishing on the wall clock's time, not the simulated
    // one: runs would differ (INV-AUDIT-ANCHOR-1 has its own tests)
    AUDIT_ANCHOR_FILE: 'off',
  });
  return { env, constitution, constitutionPath: '(simulation)', digest: `sim:${constitution.name}` };
}

/**
 * Environment variables: the public contract operators put in service files (SPEC 2).
 * Every value is validated here, and every variable has its fix in plain words (ENV_FIXES);
 * the rules between variables are in env.rules.ts, checked in the same round.
 */
import { z } from 'zod';
import { parseRestartWindow, parseWeeklyLogin } from '../engine/index.js';
import { addressEntryProblem } from '../http/client-address.js';
import { isLoopbackBindHost } from '../runtime/loopback.js';
import { envRuleProblems } from './env.rules.js';

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' }).transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number({ error: 'must be a port number 1-65535' }).int('must be a port number 1-65535').min(1, 'must be a port number 1-65535').max(65535, 'must be a port number 1-65535');
const whole = (what: string) => z.coerce.number({ error: `must be ${what}` }).int(`must be ${what}`);
const httpUrl = (what: string) =>
  z.url({ error: `must be ${what}` }).refine((u) => /^https?:\/\//i.test(u), `must be ${what}`);

/**
 * Telegram ids are whole numbers of at most 52 significant bits (Bot API: User.id, Chat.id).
 * People have positive ids; groups, supergroups (-100…) and channels negative ones. Written
 * without leading zeros: ids are compared as text.
 */
const MAX_TELEGRAM_ID = 2 ** 52 - 1;
const isWholeId = (s: string) => /^-?[1-9]\d*$/.test(s) && Math.abs(Number(s)) <= MAX_TELEGRAM_ID;
const USER_IDS_RULE = 'must be Telegram user ids: positive whole numbers, comma-separated (negative ids are groups and channels, not people)';
const userIds = z.string().transform((s, ctx) => {
  const ids = s.split(',').map((x) => x.trim()).filter(Boolean);
  const bad = ids.filter((id) => !isWholeId(id) || id.startsWith('-'));
  if (bad.length) ctx.addIssue({ code: 'custom', message: `${USER_IDS_RULE}, got ${bad.map((b) => (/^-?\d+$/.test(b) ? b : JSON.stringify(b))).join(', ')}` });
  return ids;
});

/** A text setting read by `parse` (engine/gateway-day.ts): its value, or the problem it names. */
const parsedText = <T>(parse: (s: string) => T | string, def: string) =>
  z
    .string()
    .transform((s, ctx) => {
      const r = parse(s);
      if (typeof r === 'string') {
        ctx.addIssue({ code: 'custom', message: r });
        return z.NEVER;
      }
      return r;
    })
    .prefault(def);

/** comma-separated addresses, CIDR blocks or the word tradingview (TradingView's published senders) */
const addressList = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .superRefine((list, ctx) => {
    const bad = list.map(addressEntryProblem).filter((p): p is string => p !== null);
    if (bad.length) ctx.addIssue({ code: 'custom', message: bad.join('; ') });
  });

export const envSchemaFields = {
  // a SQLite file (the default, one process) or a PostgreSQL server (several processes, one leader: issue 18)
  DATABASE_URL: z
    .string()
    .refine((u) => u.startsWith('file:') || /^postgres(ql)?:\/\/[^/\s]+\/[^/\s]+/i.test(u), 'must be a SQLite file URL like file:./data/phoenix.db or a PostgreSQL URL like postgresql://phoenix:secret@db:5432/phoenix')
    .default('file:./data/phoenix.db'),
  /** which SQLite adapter (a postgresql:// DATABASE_URL always runs the PostgreSQL store) */
  STORE_ADAPTER: z.enum(['sqlite', 'prisma'], { error: 'must be sqlite or prisma' }).default('sqlite'),
  TRADING_MODE: z.enum(['observe', 'paper', 'live'], { error: 'must be observe, paper or live' }).default('paper'),
  IBKR_ALLOW_LIVE: bool.default(false),
  BROKER: z.enum(['sim', 'ibkr'], { error: 'must be sim or ibkr' }).default('sim'),
  SIM_PROFILE: z.enum(['INSTANT', 'REALISTIC', 'ADVERSARIAL'], { error: 'must be INSTANT, REALISTIC or ADVERSARIAL' }).default('INSTANT'),
  SIM_SEED: whole('a whole number').default(42),
  IB_HOST: z.string().min(1).default('127.0.0.1'),
  IB_PORT: port.default(4002),
  IB_CLIENT_ID: whole('a whole number 0-2147483647').min(0, 'must be a whole number 0-2147483647').max(2147483647, 'must be a whole number 0-2147483647').default(17),
  IB_ACCOUNT: z.string().regex(/^(DU|U)\d+$/, 'must look like DU1234567 (paper) or U1234567 (live)').optional(),
  // IB Gateway's day (BROKER=ibkr), in the constitution's time zone (America/New_York)
  IB_RESTART_WINDOW: parsedText(parseRestartWindow, '23:45-00:05'),
  IB_WEEKLY_LOGIN: parsedText(parseWeeklyLogin, 'Sun 18:00'),
  IB_LOGIN_REMINDER_MIN: whole('a whole number of minutes, 0-1440 (0 = no reminder)').min(0, 'must be a whole number of minutes, 0-1440 (0 = no reminder)').max(1440, 'must be a whole number of minutes, 0-1440 (0 = no reminder)').default(60),
  INTAKE_HOST: z.string().min(1).default('127.0.0.1'),
  INTAKE_PORT: port.default(8787),
  INTAKE_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  INTAKE_RATE_PER_MIN: whole('a positive whole number').positive('must be a positive whole number').default(600),
  // TradingView webhooks (POST /v1/tradingview): the secret travels in the alert body
  TRADINGVIEW_PASSPHRASE: z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, 'must be 16-256 characters of A-Z a-z 0-9 _ -').optional(),
  TRADINGVIEW_MAPPING_PATH: z.string().min(1).default('config/tradingview.yaml'),
  TRADINGVIEW_ALLOWED_IPS: addressList.default([]),
  TRADINGVIEW_TRUSTED_PROXIES: addressList.default([]),
  TELEGRAM_BOT_TOKEN: z.string().regex(/^\d+:[A-Za-z0-9_-]{20,}$/, 'must look like 123456789:AA… (from BotFather)').optional(),
  TELEGRAM_API_ROOT: httpUrl('an http(s) URL like http://127.0.0.1:8081').refine((u) => !u.endsWith('/'), 'must not end with /').optional(),
  TELEGRAM_CHAT_ID: z
    .string()
    .refine(isWholeId, 'must be a numeric Telegram chat id: your user id for a private chat, a negative number for a group (-100… for a supergroup)')
    .optional(),
  TELEGRAM_APPROVERS: userIds.default([]),
  TELEGRAM_ADMINS: userIds.default([]),
  TELEGRAM_VIEWERS: userIds.default([]),
  TELEGRAM_WEBHOOK_URL: z.url({ error: 'must be an https:// URL' }).refine((u) => u.startsWith('https://'), 'must be an https:// URL').optional(),
  TELEGRAM_WEBHOOK_SECRET: z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, 'must be 16-256 characters of A-Z a-z 0-9 _ -').optional(),
  TELEGRAM_WEBHOOK_PORT: port.default(8443),
  // The sandbox chat has no login: whoever reaches it can tap APPROVE, so it stays on this machine.
  SANDBOX_HOST: z.string().refine(isLoopbackBindHost, 'must be 127.0.0.1, localhost or ::1: the sandbox chat has no login, so it only listens on this machine').default('127.0.0.1'),
  SANDBOX_PORT: port.default(8788),
  HEARTBEAT_PING_URL: httpUrl('an http(s) URL').optional(),
  AUDIT_ANCHOR_FILE: z.string().min(1).optional(),
  AUDIT_ANCHOR_URL: httpUrl('an http(s) URL that accepts POSTed NDJSON').optional(),
  CONSTITUTION_PATH: z.string().default('config/constitution.yaml'),
  // notification level per alert type: on | silent | off (the default file may be missing: all on)
  ALERTS_CONFIG_PATH: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be one of fatal, error, warn, info, debug, trace, silent' }).default('info'),
};

export type EnvKey = keyof typeof envSchemaFields;
const envFields = z.object(envSchemaFields);
export type Env = z.infer<typeof envFields>;

/**
 * Every variable, then the rules between them (for callers that build an Env directly, like
 * tests). The loader checks the two in one round through `checkEnv` (env.rules.ts).
 */
export const envSchema = envFields.superRefine((e, ctx) => {
  for (const p of envRuleProblems(e, (k) => e[k] !== undefined)) ctx.addIssue({ code: 'custom', path: [p.key], message: `${p.problem} → ${p.fix}` });
});

/** The fix printed under a variable whose value does not validate (one per variable). */
export const ENV_FIXES: Record<EnvKey, string> = {
  DATABASE_URL: 'use a SQLite file URL, e.g. DATABASE_URL=file:./data/phoenix.db, or a PostgreSQL one, e.g. DATABASE_URL=postgresql://phoenix:secret@db:5432/phoenix',
  STORE_ADAPTER: 'STORE_ADAPTER=sqlite (the default) or prisma (SQLite only; PostgreSQL has one store)',
  TRADING_MODE: 'TRADING_MODE=observe, paper (the default) or live',
  IBKR_ALLOW_LIVE: 'for real money set IBKR_ALLOW_LIVE=true deliberately (with IB_ACCOUNT=U…); otherwise use TRADING_MODE=paper',
  BROKER: 'BROKER=sim (simulated, the default) or BROKER=ibkr with IB_HOST/IB_PORT/IB_ACCOUNT',
  SIM_PROFILE: 'SIM_PROFILE=INSTANT, REALISTIC or ADVERSARIAL',
  SIM_SEED: 'SIM_SEED must be a whole number, e.g. SIM_SEED=42',
  IB_HOST: 'IB_HOST is the machine running IB Gateway/TWS (usually 127.0.0.1)',
  IB_PORT: 'IB Gateway listens on 4002 (paper) / 4001 (live); TWS on 7497 (paper) / 7496 (live)',
  IB_CLIENT_ID: 'IB_CLIENT_ID is a whole number unique per API connection (default 17)',
  IB_ACCOUNT: 'set IB_ACCOUNT to the account that matches TRADING_MODE: DU… for paper, U… for live (IB Gateway shows it; phoenix doctor lists the managed accounts)',
  IB_RESTART_WINDOW: 'set it around the gateway\'s daily auto-restart time (IB Gateway: Configure → Settings → Lock and Exit), in the constitution\'s time zone (New York), e.g. IB_RESTART_WINDOW=23:45-00:05; off = none',
  IB_WEEKLY_LOGIN: 'when you do IBKR\'s weekly full login with 2FA, in the constitution\'s time zone (New York), e.g. IB_WEEKLY_LOGIN=Sun 18:00; off = no reminder',
  IB_LOGIN_REMINDER_MIN: 'minutes before IB_WEEKLY_LOGIN the reminder goes out, e.g. IB_LOGIN_REMINDER_MIN=60 (0 = no reminder)',
  INTAKE_HOST: 'INTAKE_HOST=127.0.0.1 (this machine only) or 0.0.0.0 (all interfaces; set INTAKE_TOKEN)',
  INTAKE_PORT: 'pick a free port, e.g. INTAKE_PORT=8787',
  INTAKE_TOKEN: 'generate one: INTAKE_TOKEN=$(openssl rand -hex 24)',
  INTAKE_RATE_PER_MIN: 'INTAKE_RATE_PER_MIN must be a positive whole number (default 600)',
  TRADINGVIEW_PASSPHRASE: 'generate one: TRADINGVIEW_PASSPHRASE=$(openssl rand -hex 24), and put the same value in the alert template as "passphrase"',
  TRADINGVIEW_MAPPING_PATH: 'point TRADINGVIEW_MAPPING_PATH at the mapping file (copy config/tradingview.yaml from the repository)',
  TRADINGVIEW_ALLOWED_IPS: 'TRADINGVIEW_ALLOWED_IPS=tradingview (its published addresses), or addresses/CIDR blocks like 203.0.113.7,198.51.100.0/24; unset = any source',
  TRADINGVIEW_TRUSTED_PROXIES: 'the addresses of your reverse proxy, e.g. TRADINGVIEW_TRUSTED_PROXIES=127.0.0.1',
  TELEGRAM_BOT_TOKEN: 'copy the token from @BotFather (/mybots → your bot → API Token); it looks like 123456789:AA…',
  TELEGRAM_API_ROOT: 'the Bot API address without a trailing slash, e.g. http://127.0.0.1:8081 (unset = https://api.telegram.org)',
  TELEGRAM_CHAT_ID: 'send /start to the bot (or add it to your group), then read the chat id from getUpdates; groups are negative (-100…)',
  TELEGRAM_APPROVERS: 'TELEGRAM_APPROVERS=<numeric Telegram user id> (ask @userinfobot for yours); comma-separate several',
  TELEGRAM_ADMINS: 'TELEGRAM_ADMINS=<numeric Telegram user ids> (ask @userinfobot), comma-separated',
  TELEGRAM_VIEWERS: 'TELEGRAM_VIEWERS=<numeric Telegram user ids> (ask @userinfobot), comma-separated',
  TELEGRAM_WEBHOOK_URL: 'an https:// URL that reaches this server, or unset it to use long polling',
  TELEGRAM_WEBHOOK_SECRET: 'generate one: TELEGRAM_WEBHOOK_SECRET=$(openssl rand -hex 24)',
  TELEGRAM_WEBHOOK_PORT: 'a free local port for the webhook server (default 8443)',
  SANDBOX_HOST: 'SANDBOX_HOST=127.0.0.1 (for a phone elsewhere use real Telegram: set TELEGRAM_BOT_TOKEN)',
  SANDBOX_PORT: 'pick a free port, e.g. SANDBOX_PORT=8788',
  HEARTBEAT_PING_URL: 'a full URL like https://hc-ping.com/<uuid>, or unset it',
  AUDIT_ANCHOR_FILE: 'a file path for the audit anchor journal, ideally on a disk the database owner cannot write (e.g. AUDIT_ANCHOR_FILE=/mnt/audit/phoenix.anchors.jsonl); unset = next to the database; off = none',
  AUDIT_ANCHOR_URL: 'a full http(s) URL that accepts POSTed NDJSON lines, or unset it',
  CONSTITUTION_PATH: 'point CONSTITUTION_PATH at a constitution file (config/constitution.yaml, or config/constitution.demo.yaml for demos)',
  ALERTS_CONFIG_PATH: 'point ALERTS_CONFIG_PATH at the notification levels file (copy config/alerts.yaml from the repository), or unset it for every alert type on',
  LOG_LEVEL: 'LOG_LEVEL=info (or fatal, error, warn, debug, trace, silent)',
};

/** Names whose values never appear in logs or messages. */
export const SECRET_ENV = ['TELEGRAM_BOT_TOKEN', 'INTAKE_TOKEN', 'TELEGRAM_WEBHOOK_SECRET', 'TRADINGVIEW_PASSPHRASE', 'AUDIT_ANCHOR_URL'] as const;

/**
 * Environment variables: the public contract operators put in service files (SPEC 2).
 * Every value is validated here; cross-field rules say what to do when they disagree.
 */
import { z } from 'zod';
import { addressEntryProblem } from '../http/client-address.js';
import { isLoopbackBindHost } from '../runtime/loopback.js';

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' }).transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number({ error: 'must be a port number' }).int('must be a whole number').min(1, 'must be 1-65535').max(65535, 'must be 1-65535');
const idList = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^-?\d{1,20}$/, 'must be numeric Telegram user ids, comma-separated')));

const addressList = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .superRefine((list, ctx) => {
    for (const e of list) {
      const problem = addressEntryProblem(e);
      if (problem) ctx.addIssue({ code: 'custom', message: `${problem}; use comma-separated addresses, CIDR blocks or the word tradingview` });
    }
  });

export const envSchema = z
  .object({
    DATABASE_URL: z.string().startsWith('file:', 'must be a SQLite file URL like file:./data/phoenix.db').default('file:./data/phoenix.db'),
    STORE_ADAPTER: z.enum(['sqlite', 'prisma'], { error: 'must be sqlite or prisma' }).default('sqlite'),
    TRADING_MODE: z.enum(['observe', 'paper', 'live'], { error: 'must be observe, paper or live' }).default('paper'),
    IBKR_ALLOW_LIVE: bool.default(false),
    BROKER: z.enum(['sim', 'ibkr'], { error: 'must be sim or ibkr' }).default('sim'),
    SIM_PROFILE: z.enum(['INSTANT', 'REALISTIC', 'ADVERSARIAL'], { error: 'must be INSTANT, REALISTIC or ADVERSARIAL' }).default('INSTANT'),
    SIM_SEED: z.coerce.number({ error: 'must be a number' }).int().default(42),
    IB_HOST: z.string().min(1).default('127.0.0.1'),
    IB_PORT: port.default(4002),
    IB_CLIENT_ID: z.coerce.number({ error: 'must be a number' }).int().min(0).max(2147483647).default(17),
    IB_ACCOUNT: z.string().regex(/^(DU|U)\d+$/, 'must look like DU1234567 (paper) or U1234567 (live)').optional(),
    INTAKE_HOST: z.string().min(1).default('127.0.0.1'),
    INTAKE_PORT: port.default(8787),
    INTAKE_TOKEN: z.string().min(16, 'must be at least 16 characters (use: openssl rand -hex 24)').optional(),
    INTAKE_RATE_PER_MIN: z.coerce.number().int().positive().default(600),
    // TradingView webhooks (POST /v1/tradingview): the secret travels in the alert body
    TRADINGVIEW_PASSPHRASE: z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, 'must be 16-256 characters of A-Z a-z 0-9 _ - (use: openssl rand -hex 24)').optional(),
    TRADINGVIEW_MAPPING_PATH: z.string().min(1).default('config/tradingview.yaml'),
    TRADINGVIEW_ALLOWED_IPS: addressList.default([]),
    TRADINGVIEW_TRUSTED_PROXIES: addressList.default([]),
    TELEGRAM_BOT_TOKEN: z.string().regex(/^\d+:[A-Za-z0-9_-]{20,}$/, 'must look like 123456789:AA… (from BotFather)').optional(),
    TELEGRAM_API_ROOT: z.url({ error: 'must be a URL like http://127.0.0.1:8081' }).refine((u) => !u.endsWith('/'), 'must not end with /').optional(),
    TELEGRAM_CHAT_ID: z.string().regex(/^-?\d{1,20}$/, 'must be a numeric chat id (groups are negative)').optional(),
    TELEGRAM_APPROVERS: idList.default([]),
    TELEGRAM_ADMINS: idList.default([]),
    TELEGRAM_VIEWERS: idList.default([]),
    TELEGRAM_WEBHOOK_URL: z.url({ error: 'must be a URL' }).refine((u) => u.startsWith('https://'), 'must be https://').optional(),
    TELEGRAM_WEBHOOK_SECRET: z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, 'must be 16-256 characters of A-Z a-z 0-9 _ -').optional(),
    TELEGRAM_WEBHOOK_PORT: port.default(8443),
    // The sandbox chat has no login: whoever reaches it can tap APPROVE, so it stays on this machine.
    SANDBOX_HOST: z.string().refine(isLoopbackBindHost, 'must be 127.0.0.1, localhost or ::1: the sandbox chat has no login, so it only listens on this machine (for a phone elsewhere use real Telegram: TELEGRAM_BOT_TOKEN)').default('127.0.0.1'),
    SANDBOX_PORT: port.default(8788),
    HEARTBEAT_PING_URL: z.url({ error: 'must be a URL' }).optional(),
    // SAFE-12: where the audit head is anchored outside the database (src/runtime/anchor-journal.ts)
    AUDIT_ANCHOR_FILE: z.string().min(1).optional(),
    AUDIT_ANCHOR_URL: z.url({ error: 'must be a URL' }).refine((u) => /^https?:\/\//.test(u), 'must be http:// or https://').optional(),
    CONSTITUTION_PATH: z.string().default('config/constitution.yaml'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be one of fatal, error, warn, info, debug, trace, silent' }).default('info'),
  })
  .superRefine((e, ctx) => {
    const need = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (e.TRADING_MODE === 'live' && !e.IBKR_ALLOW_LIVE) need('IBKR_ALLOW_LIVE', 'TRADING_MODE=live needs IBKR_ALLOW_LIVE=true (set it deliberately, then restart)');
    if (e.TRADING_MODE === 'live' && e.BROKER !== 'ibkr') need('BROKER', 'TRADING_MODE=live needs BROKER=ibkr (the simulator has no real money)');
    if (e.TRADING_MODE === 'live' && !e.IB_ACCOUNT) need('IB_ACCOUNT', 'TRADING_MODE=live needs IB_ACCOUNT=U… (your live account id)');
    if (e.IB_ACCOUNT && e.TRADING_MODE === 'paper' && !e.IB_ACCOUNT.startsWith('DU')) need('IB_ACCOUNT', `${e.IB_ACCOUNT} is a live account but TRADING_MODE=paper; use your DU… paper account`);
    if (e.IB_ACCOUNT && e.TRADING_MODE === 'live' && !e.IB_ACCOUNT.startsWith('U')) need('IB_ACCOUNT', `${e.IB_ACCOUNT} is a paper account but TRADING_MODE=live`);
    if (e.TELEGRAM_BOT_TOKEN) {
      if (!e.TELEGRAM_CHAT_ID) need('TELEGRAM_CHAT_ID', 'needed with TELEGRAM_BOT_TOKEN: the chat that receives cards and alerts (send /start to the bot, then run npx phoenix doctor)');
      if (!e.TELEGRAM_APPROVERS.length) need('TELEGRAM_APPROVERS', 'needed with TELEGRAM_BOT_TOKEN: comma-separated Telegram user ids allowed to approve');
    }
    // INV-SANDBOX-PAPER-1: without a bot token `npm start` runs the local sandbox chat, where
    // anyone at this machine can tap APPROVE as any user; it never releases orders to IBKR or real money.
    if (!e.TELEGRAM_BOT_TOKEN && (e.BROKER !== 'sim' || e.TRADING_MODE === 'live')) {
      const what = [e.BROKER !== 'sim' ? `BROKER=${e.BROKER}` : '', e.TRADING_MODE === 'live' ? 'TRADING_MODE=live' : ''].filter(Boolean).join(' and ');
      need('TELEGRAM_BOT_TOKEN', `not set, so Phoenix would approve orders in the local sandbox chat, which runs only with BROKER=sim in paper or observe mode (you set ${what}): set TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID and TELEGRAM_APPROVERS for real Telegram, or use BROKER=sim TRADING_MODE=paper to try the sandbox`);
    }
    if (e.TELEGRAM_WEBHOOK_URL && !e.TELEGRAM_WEBHOOK_SECRET) need('TELEGRAM_WEBHOOK_SECRET', 'needed with TELEGRAM_WEBHOOK_URL (use: openssl rand -hex 24)');
    if (e.TELEGRAM_WEBHOOK_URL && !e.TELEGRAM_BOT_TOKEN) need('TELEGRAM_BOT_TOKEN', 'webhook mode needs a real bot token');
  });

export type Env = z.infer<typeof envSchema>;

/** Names whose values never appear in logs or messages. */
export const SECRET_ENV = ['TELEGRAM_BOT_TOKEN', 'INTAKE_TOKEN', 'TELEGRAM_WEBHOOK_SECRET', 'TRADINGVIEW_PASSPHRASE', 'AUDIT_ANCHOR_URL'] as const;

/**
 * pino logger with secrets redacted (SPEC 2; SAFE-6, INV-SECRET-1): the bot token, the intake
 * token, the webhook secret, the TradingView passphrase and authorization headers never reach
 * the log.
 *
 * Two layers. `REDACT_PATHS` censors the fields secrets live in, wherever a config, request
 * or Bot API payload object is logged. `secrets` (the values of SECRET_ENV, passed by
 * `npm start`) are also cut out of every finished line, and so is any `bot<id>:<token>` URL
 * path, so a secret embedded in free text (an error message, a URL) cannot get through
 * either. Telegram errors are already redacted where they are created (src/bot/telegram-api.ts);
 * this is the last line of defence for everything else.
 */
import { pino, type Logger as Pino } from 'pino';
import type { Logger } from '../engine/index.js';

const secretFields = ['token', 'botToken', 'intakeToken', 'webhookSecret', 'secret', 'secret_token', 'authorization', 'passphrase', 'TELEGRAM_BOT_TOKEN', 'INTAKE_TOKEN', 'TELEGRAM_WEBHOOK_SECRET', 'TRADINGVIEW_PASSPHRASE'];

export const REDACT_PATHS = [
  ...secretFields.flatMap((f) => [f, `*.${f}`]),
  'headers.authorization',
  'req.headers.authorization',
  'headers["x-telegram-bot-api-secret-token"]',
  'req.headers["x-telegram-bot-api-secret-token"]',
  'payload.secret_token',
  '*.payload.secret_token',
  'webhook.secret',
  '*.webhook.secret',
  'config.token',
  'config.webhook.secret',
  ...['TELEGRAM_BOT_TOKEN', 'INTAKE_TOKEN', 'TELEGRAM_WEBHOOK_SECRET', 'TRADINGVIEW_PASSPHRASE'].flatMap((k) => [`config.${k}`, `env.${k}`, `config.env.${k}`]),
];

export interface LoggerOptions {
  /** secret VALUES to cut out of every line (e.g. the SECRET_ENV values); short ones (< 6) are ignored */
  readonly secrets?: readonly (string | undefined)[];
}

export function createLogger(level: string, destination?: NodeJS.WritableStream, opts: LoggerOptions = {}): Logger & { pino: Pino } {
  const values = (opts.secrets ?? []).filter((s): s is string => typeof s === 'string' && s.length >= 6);
  const p = pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { app: 'phoenix' },
      hooks: { streamWrite: (line) => scrubSecrets(line, values) },
    },
    destination as never,
  );
  return wrap(p);
}

function wrap(p: Pino): Logger & { pino: Pino } {
  return {
    pino: p,
    debug: (o, m) => p.debug(o, m),
    info: (o, m) => p.info(o, m),
    warn: (o, m) => p.warn(o, m),
    error: (o, m) => p.error(o, m),
    child: (b) => wrap(p.child(b)),
  };
}

/**
 * Scrub known secret values (also as they appear inside JSON strings and URLs) and any
 * `bot<id>:<token>` path from free text.
 */
export function scrubSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text.replace(/bot\d+:[A-Za-z0-9_-]+/g, 'bot[redacted]');
  for (const s of secrets) {
    if (!s || s.length < 6) continue;
    for (const form of new Set([s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s)])) out = out.split(form).join('[redacted]');
  }
  return out;
}

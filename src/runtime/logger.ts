/**
 * pino logger with secrets redacted (SPEC 2): bot token, intake token, webhook secret and
 * authorization headers never reach the log, wherever they appear in an object.
 */
import { pino, type Logger as Pino } from 'pino';
import type { Logger } from '../engine/ports.js';

export const REDACT_PATHS = [
  'token',
  '*.token',
  'botToken',
  '*.botToken',
  'intakeToken',
  '*.intakeToken',
  'webhookSecret',
  '*.webhookSecret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'config.TELEGRAM_BOT_TOKEN',
  'config.INTAKE_TOKEN',
  'config.TELEGRAM_WEBHOOK_SECRET',
  'TELEGRAM_BOT_TOKEN',
  'INTAKE_TOKEN',
  'TELEGRAM_WEBHOOK_SECRET',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger & { pino: Pino } {
  const p = pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { app: 'phoenix' } }, destination as never);
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

/** Also scrub known secret values from free text (error messages can embed URLs with the token). */
export function scrubSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 6) out = out.split(s).join('[redacted]');
  return out;
}

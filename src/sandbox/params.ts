/**
 * Readers for Bot API call parameters. Telegram accepts query strings, urlencoded and JSON
 * bodies, so values may arrive as strings ("123", "true", '{"inline_keyboard":…}') and are
 * coerced the way the real server does.
 */
import { badRequest } from './api-error.js';

export type Params = Record<string, unknown>;

/** Fields that carry JSON objects/arrays and arrive as JSON strings in urlencoded bodies. */
const JSON_FIELDS = new Set([
  'reply_markup',
  'allowed_updates',
  'link_preview_options',
  'reply_parameters',
  'entities',
  'commands',
  'scope',
]);

/** Decode JSON-valued fields that came in as strings. */
export function normalizeParams(raw: Params): Params {
  const out: Params = {};
  for (const [key, value] of Object.entries(raw)) {
    if (JSON_FIELDS.has(key) && typeof value === 'string' && value !== '') {
      try {
        out[key] = JSON.parse(value);
      } catch {
        throw badRequest(`can't parse ${key} JSON object`);
      }
    } else {
      out[key] = value;
    }
  }
  return out;
}

export function intParam(p: Params, key: string): number | undefined {
  const v = p[key];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isInteger(n) ? n : NaN;
}

export function stringParam(p: Params, key: string): string | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : String(v);
}

export function boolParam(p: Params, key: string): boolean {
  const v = p[key];
  return v === true || v === 'true' || v === 1 || v === '1';
}

/** chat_id: required; `@username` strings never match a sandbox chat. */
export function chatIdParam(p: Params): number {
  const v = p.chat_id;
  if (v === undefined || v === null || v === '') throw badRequest('chat_id is empty');
  const n = intParam(p, 'chat_id');
  if (n === undefined || Number.isNaN(n)) throw badRequest('chat not found');
  return n;
}

export function messageIdParam(p: Params): number {
  const n = intParam(p, 'message_id');
  if (n === undefined) throw badRequest('message identifier is not specified');
  if (Number.isNaN(n)) throw badRequest('invalid message identifier specified');
  return n;
}

/**
 * Callback data is untrusted input (SPEC 5): a button carries only a version, a one-letter
 * action and an opaque server-side id — `v1:a:<cardId>` — which the bot looks up. Parsing is
 * one strict regex after a byte-length check; anything else is refused. Encoding refuses to
 * build data Telegram would reject (over 64 bytes), so a bad button is a bug caught at render
 * time, never a 400 from Telegram.
 */

export const CALLBACK_DATA_MAX_BYTES = 64;

export type CallbackAction =
  | 'approve'
  | 'pass'
  | 'confirm'
  | 'cancel'
  | 'driftAck'
  | 'driftPhoenixFixed'
  | 'driftBrokerFixed'
  | 'checkNow'
  /** on a trade card: ask to re-protect / close the unprotected position (MONEY-1) */
  | 'reprotect'
  | 'closeOne'
  /** on a STALLED trade card: ask the broker and cancel (SAFE-13) */
  | 'cancelStalled'
  /** on a repeating WARNING alert digest: its types sound no more for 1 h (the id is the outbox message) */
  | 'snoozeAlerts';

const CODE: Readonly<Record<CallbackAction, string>> = {
  approve: 'a',
  pass: 'p',
  confirm: 'c',
  cancel: 'x',
  driftAck: 'k',
  driftPhoenixFixed: 'f',
  driftBrokerFixed: 'b',
  checkNow: 'r',
  reprotect: 'o',
  closeOne: 'z',
  cancelStalled: 's',
  snoozeAlerts: 'n',
};
const ACTION_BY_CODE = new Map(Object.entries(CODE).map(([action, c]) => [c, action as CallbackAction]));

/** Ids are opaque: letters, digits, `_` and `-`, at most 48 characters. */
const ID = /^[A-Za-z0-9_-]{1,48}$/;
const DATA = /^v1:([apcxkfbrozsn]):([A-Za-z0-9_-]{1,48})$/;

export interface ParsedCallback {
  readonly action: CallbackAction;
  readonly id: string;
}

export class CallbackDataError extends Error {}

export function encodeCallback(action: CallbackAction, id: string): string {
  if (!ID.test(id)) throw new CallbackDataError(`callback id must match ${ID} (got ${JSON.stringify(id.slice(0, 60))})`);
  const data = `v1:${CODE[action]}:${id}`;
  if (Buffer.byteLength(data, 'utf8') > CALLBACK_DATA_MAX_BYTES) throw new CallbackDataError(`callback data over ${CALLBACK_DATA_MAX_BYTES} bytes`);
  return data;
}

/** Strict parse; null for anything that is not exactly what `encodeCallback` builds. */
export function parseCallback(data: unknown): ParsedCallback | null {
  if (typeof data !== 'string' || data.length === 0 || Buffer.byteLength(data, 'utf8') > CALLBACK_DATA_MAX_BYTES) return null;
  const m = DATA.exec(data);
  if (!m) return null;
  const action = ACTION_BY_CODE.get(m[1] ?? '');
  const id = m[2];
  return action && id ? { action, id } : null;
}

/** Shown in audit records: the raw data, made printable and short. */
export const describeData = (data: unknown): string =>
  typeof data === 'string' ? JSON.stringify(data.slice(0, 80)) : `(${typeof data})`;

/**
 * TWS API wire protocol pieces for the test server (server version 193, V100+ framing).
 *
 * Framing, both directions: `[uint32 BE payload length][field0 \0 field1 \0 … fieldN \0]`.
 * The client's very first bytes are the handshake `"API\0" + uint32 BE len + "v100..193"`.
 * See /work/shared/reference/ibkr.md §3 and node_modules/@stoqey/ib/dist/core/io/{socket,decoder,encoder}.js.
 */

/** Messages the server sends (decoder IN_MSG_ID). */
export const IN = {
  ORDER_STATUS: 3,
  ERR_MSG: 4,
  OPEN_ORDER: 5,
  NEXT_VALID_ID: 9,
  CONTRACT_DATA: 10,
  EXECUTION_DATA: 11,
  MANAGED_ACCTS: 15,
  CURRENT_TIME: 49,
  CONTRACT_DATA_END: 52,
  OPEN_ORDER_END: 53,
  EXECUTION_DATA_END: 55,
  COMMISSION_REPORT: 59,
  POSITION: 61,
  POSITION_END: 62,
  ACCOUNT_SUMMARY: 63,
  ACCOUNT_SUMMARY_END: 64,
  COMPLETED_ORDER: 101,
  COMPLETED_ORDERS_END: 102,
} as const;

/** Messages the client sends (encoder OUT_MSG_ID). */
export const OUT = {
  PLACE_ORDER: 3,
  CANCEL_ORDER: 4,
  REQ_OPEN_ORDERS: 5,
  REQ_EXECUTIONS: 7,
  REQ_IDS: 8,
  REQ_CONTRACT_DATA: 9,
  REQ_AUTO_OPEN_ORDERS: 15,
  REQ_ALL_OPEN_ORDERS: 16,
  REQ_MANAGED_ACCTS: 17,
  REQ_CURRENT_TIME: 49,
  REQ_GLOBAL_CANCEL: 58,
  REQ_MARKET_DATA_TYPE: 59,
  REQ_POSITIONS: 61,
  REQ_ACCOUNT_SUMMARY: 62,
  CANCEL_ACCOUNT_SUMMARY: 63,
  CANCEL_POSITIONS: 64,
  START_API: 71,
  REQ_COMPLETED_ORDERS: 99,
  SET_SERVER_LOGLEVEL: 14,
} as const;

const OUT_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(OUT).map(([name, id]) => [id, name]),
);

export function outMessageName(id: number): string {
  return OUT_NAMES[id] ?? `MSG_${id}`;
}

export const SERVER_VERSION = 193;
export const MIN_CLIENT_VERSION = 100;
/** "not set" double / int as TWS sends them */
export const UNSET_DOUBLE = '1.7976931348623157E308';
export const UNSET_INT = '2147483647';

export type Field = string | number | boolean | undefined | null;

/** Field → wire text: undefined/null → "", booleans → 1/0, numbers as JS prints them. */
export function fmt(v: Field): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'boolean') return v ? '1' : '0';
  return String(v);
}

/** Encode one message (fields, field 0 = message id) into a length-prefixed frame. */
export function frame(fields: readonly Field[]): Buffer {
  const payload = Buffer.from(fields.map(fmt).join('\0') + '\0', 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(payload.length, 0);
  return Buffer.concat([head, payload]);
}

export type Incoming =
  | { readonly kind: 'handshake'; readonly minVersion: number; readonly maxVersion: number; readonly raw: string }
  | { readonly kind: 'message'; readonly fields: string[] }
  | { readonly kind: 'error'; readonly reason: string };

/**
 * Re-assembles client bytes into the handshake and then length-prefixed messages. Several
 * messages may arrive in one chunk and one message may span several chunks.
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  private handshakeDone = false;

  push(chunk: Buffer): Incoming[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Incoming[] = [];
    for (;;) {
      if (!this.handshakeDone) {
        if (this.buf.length < 8) break;
        if (this.buf.subarray(0, 4).toString('latin1') !== 'API\0') {
          out.push({ kind: 'error', reason: 'bad handshake prefix' });
          this.buf = Buffer.alloc(0);
          break;
        }
        const len = this.buf.readUInt32BE(4);
        if (this.buf.length < 8 + len) break;
        const raw = this.buf.subarray(8, 8 + len).toString('utf8');
        this.buf = this.buf.subarray(8 + len);
        this.handshakeDone = true;
        const m = /^v(\d+)(?:\.\.(\d+))?/.exec(raw);
        if (!m) {
          out.push({ kind: 'error', reason: `bad version string ${JSON.stringify(raw)}` });
          continue;
        }
        const min = Number(m[1]);
        const max = m[2] !== undefined ? Number(m[2]) : min;
        out.push({ kind: 'handshake', minVersion: min, maxVersion: max, raw });
        continue;
      }
      if (this.buf.length < 4) break;
      const len = this.buf.readUInt32BE(0);
      if (this.buf.length < 4 + len) break;
      const payload = this.buf.subarray(4, 4 + len).toString('utf8');
      this.buf = this.buf.subarray(4 + len);
      const fields = payload.split('\0');
      // the payload ends with \0, so split leaves one trailing empty string
      if (fields.length > 0 && fields[fields.length - 1] === '') fields.pop();
      out.push({ kind: 'message', fields });
    }
    return out;
  }
}

/** "yyyyMMdd HH:mm:ss UTC" as TWS formats times (we always report UTC). */
export function twsTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} UTC`;
}

export function num(s: string | undefined): number | undefined {
  if (s === undefined || s === '') return undefined;
  const v = Number(s);
  if (!Number.isFinite(v) || v >= 1.7e308) return undefined;
  return v;
}

export function int(s: string | undefined, dflt = 0): number {
  const v = num(s);
  return v === undefined || v === 2147483647 ? dflt : Math.trunc(v);
}

/**
 * IB API message codes grouped into named sets, with one classifier. How they reach us in
 * @stoqey/ib: id −1 → `info(message, code)`, otherwise `error(err, code, reqId)`; client-side
 * codes (5xx) always come as `error` with reqId −1. Sources: IBKR "message codes" page and
 * /work/shared/reference/ibkr.md §5.
 */

/** TWS lost its connection to IBKR (socket to TWS may still be up): pause submissions. */
export const CONNECTIVITY_LOST: ReadonlySet<number> = new Set([1100, 2110]);
/** 1101 restored, data lost (re-subscribe); 1102 restored, data kept. Both: reconcile. */
export const CONNECTIVITY_RESTORED: ReadonlySet<number> = new Set([1101, 1102]);
/** Data-farm OK notices, normal at every connect. */
export const FARM_OK: ReadonlySet<number> = new Set([2104, 2106, 2158, 2107, 2108, 2119]);
/** Data-farm broken notices (usually transient). */
export const FARM_BROKEN: ReadonlySet<number> = new Set([2103, 2105, 2157]);
/** Proof that an order was NOT accepted (terminal for that order). */
export const ORDER_REJECTION: ReadonlySet<number> = new Set([
  103, // duplicate order id (our placement was refused)
  106, // can't transmit order id
  107, // cannot transmit incomplete order
  109, // price out of range
  110, // price does not conform to the minimum tick
  111, // tif and order type incompatible
  116, 117, 118, 119, // exchange / order-type problems
  140, 141, // size / price checks
  146, 147, 148, 151, 152, 153, 154, 155, 156, 157, 158, 160, 163, 164, 166, 167, 168,
  200, // no security definition (order for an unknown contract)
  201, // order rejected – reason …
  203, // security not available/allowed for this account
  382, 383, 387, 388, // size / price limits
  434, 435, 436, 437, // size zero, missing/invalid fields
]);
/** Order cancelled (by us, OCA, parent, TWS or the exchange). */
export const ORDER_CANCELLED: ReadonlySet<number> = new Set([202]);
/** Cancel could not be done (not found / not cancellable: parse the state; Filled ≠ cancelled). */
export const CANCEL_FAILED: ReadonlySet<number> = new Set([10147, 10148, 161, 135]);
/** IBKR pacing: more than 50 messages per second. */
export const PACING: ReadonlySet<number> = new Set([100]);
/** Client-side connection problems (connect failure, not connected, lost). */
export const CLIENT_CONNECTIVITY: ReadonlySet<number> = new Set([502, 504, 509, 1300]);
/** Client id already in use: the socket is closed by TWS. */
export const CLIENT_ID_IN_USE: ReadonlySet<number> = new Set([326]);
/** Our decoder could not read a message (protocol mismatch). */
export const DECODE_ERROR: ReadonlySet<number> = new Set([505, 506, 507, 508]);
/** Warnings: 2100–2999 and a few informational codes; an order is still live after these. */
export const WARNING_CODES: ReadonlySet<number> = new Set([399, 10090, 10167, 492, 2100, 2109]);

export type IbCodeClass =
  | 'CONNECTIVITY_LOST'
  | 'CONNECTIVITY_RESTORED'
  | 'FARM_OK'
  | 'FARM_BROKEN'
  | 'ORDER_REJECTION'
  | 'ORDER_CANCELLED'
  | 'CANCEL_FAILED'
  | 'PACING'
  | 'CLIENT_CONNECTIVITY'
  | 'CLIENT_ID_IN_USE'
  | 'DECODE_ERROR'
  | 'WARNING'
  | 'OTHER';

/** The one classifier. Order matters: specific sets before the 2100–2999 warning range. */
export function classifyIbCode(code: number, message = ''): IbCodeClass {
  if (CONNECTIVITY_LOST.has(code)) return 'CONNECTIVITY_LOST';
  if (CONNECTIVITY_RESTORED.has(code)) return 'CONNECTIVITY_RESTORED';
  if (FARM_OK.has(code)) return 'FARM_OK';
  if (FARM_BROKEN.has(code)) return 'FARM_BROKEN';
  if (PACING.has(code)) return 'PACING';
  if (ORDER_CANCELLED.has(code)) return 'ORDER_CANCELLED';
  if (CANCEL_FAILED.has(code)) return 'CANCEL_FAILED';
  if (CLIENT_CONNECTIVITY.has(code)) return 'CLIENT_CONNECTIVITY';
  if (CLIENT_ID_IN_USE.has(code)) return 'CLIENT_ID_IN_USE';
  if (DECODE_ERROR.has(code)) return 'DECODE_ERROR';
  if (WARNING_CODES.has(code) || (code >= 2100 && code <= 2999) || /warning:/i.test(message)) return 'WARNING';
  if (ORDER_REJECTION.has(code)) return 'ORDER_REJECTION';
  return 'OTHER';
}

/** 10148 text "… cannot be cancelled, state: Filled." → "Filled". */
export function parseCancelFailedState(message: string): string | undefined {
  const m = /state:\s*([A-Za-z]+)/.exec(message);
  return m?.[1];
}

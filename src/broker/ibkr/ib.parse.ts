/**
 * PURE mapping tables between IB (@stoqey/ib) and the broker-port domain: order status,
 * side, order type, time in force, instrument ↔ Contract, execution time. No I/O, no state.
 */
import { OrderAction, OrderType, SecType as IbSecType, TimeInForce, type Contract } from '@stoqey/ib';
import { instrumentId, type BrokerOrderStatus, type Instrument, type OrderRole, type Side } from '../../engine/index.js';

// === Order status

/**
 * IB order status → port status. PendingCancel stays WORKING: the cancel is not confirmed
 * yet (an unknown outcome is never reported as final). Inactive = rejected / not accepted.
 */
export const IB_ORDER_STATUS: Readonly<Record<string, BrokerOrderStatus>> = Object.freeze({
  PendingSubmit: 'PENDING',
  ApiPending: 'PENDING',
  PreSubmitted: 'WORKING',
  Submitted: 'WORKING',
  PendingCancel: 'WORKING',
  Filled: 'FILLED',
  ApiCancelled: 'CANCELLED',
  Cancelled: 'CANCELLED',
  Inactive: 'REJECTED',
});

/** undefined for statuses IB adds in the future or "Unknown". */
export function mapOrderStatus(ibStatus: string | undefined): BrokerOrderStatus | undefined {
  return ibStatus === undefined ? undefined : IB_ORDER_STATUS[ibStatus];
}

export const TERMINAL_STATUSES: ReadonlySet<BrokerOrderStatus> = new Set(['FILLED', 'CANCELLED', 'REJECTED']);

// === Side

export const SIDE_TO_ACTION: Readonly<Record<Side, OrderAction>> = Object.freeze({
  BUY: OrderAction.BUY,
  SELL: OrderAction.SELL,
});

/** IB order actions and execution sides (BOT/SLD) → port side. */
export const IB_SIDE: Readonly<Record<string, Side>> = Object.freeze({
  BUY: 'BUY',
  BOT: 'BUY',
  SELL: 'SELL',
  SLD: 'SELL',
  SSHORT: 'SELL',
  SLONG: 'SELL',
});

export function mapSide(ib: string | undefined): Side | undefined {
  return ib === undefined ? undefined : IB_SIDE[ib.toUpperCase()];
}

export function exitSide(side: Side): Side {
  return side === 'BUY' ? 'SELL' : 'BUY';
}

// === Order type / TIF

export type DomainOrderType = 'MKT' | 'LMT' | 'STP';

export const ORDER_TYPE_TO_IB: Readonly<Record<DomainOrderType, OrderType>> = Object.freeze({
  MKT: OrderType.MKT,
  LMT: OrderType.LMT,
  STP: OrderType.STP,
});

/** IB order types we may meet on recovery → the closest port type. */
export const IB_ORDER_TYPE: Readonly<Record<string, DomainOrderType>> = Object.freeze({
  MKT: 'MKT',
  MOC: 'MKT',
  MOO: 'MKT',
  LMT: 'LMT',
  LOC: 'LMT',
  LOO: 'LMT',
  STP: 'STP',
  'STP LMT': 'STP',
  TRAIL: 'STP',
  'TRAIL LIMIT': 'STP',
});

export function mapOrderType(ib: string | undefined): DomainOrderType {
  return (ib !== undefined ? IB_ORDER_TYPE[ib.toUpperCase()] : undefined) ?? 'MKT';
}

/** Entries live for the day; protective exits stay until cancelled (bracket children). */
export const TIF_FOR_ROLE: Readonly<Record<OrderRole, TimeInForce>> = Object.freeze({
  ENTRY: TimeInForce.DAY,
  EXIT: TimeInForce.DAY,
  STOP: TimeInForce.GTC,
  TARGET: TimeInForce.GTC,
});

/**
 * OCA type of the protective exits (MONEY-10). IBKR: 1 = cancel the rest with block, 2 = reduce
 * the rest with block, 3 = reduce without block. Type 1 cancels the WHOLE stop when the target
 * fills one lot of two: the other lot is naked. Reduce keeps the stop covering what is left. We
 * take 2 over 3: "with block" is IBKR's overfill protection (one member routed at a time), so a
 * stop and a target racing in a fast market cannot both fill and turn the position around — the
 * over-exit MONEY-3 had to detect after the fact.
 */
export const OCA_REDUCE_WITH_BLOCK = 2;

/**
 * Protective exits of futures trade in the overnight session too (CME Globex ~23 h a day); without
 * outsideRth IBKR triggers a stop only in regular hours, so a gap at 20:00 would find it asleep.
 * Entries are sent in the session only and keep IBKR's default (false); stocks have no overnight.
 */
export function worksOutsideRth(instrument: Instrument, role: OrderRole): boolean {
  return instrument.secType === 'FUT' && role !== 'ENTRY';
}

/**
 * Role of an order seen only through IB (after a restart). Bracket children: STP → STOP,
 * LMT → TARGET. A parentless order with children is the ENTRY; a parentless order without
 * children was placed by placeOrder(), which is exits only → EXIT.
 */
export function inferRole(parentId: number, orderType: DomainOrderType, hasChildren: boolean): OrderRole {
  if (parentId > 0) return orderType === 'STP' ? 'STOP' : 'TARGET';
  return hasChildren ? 'ENTRY' : 'EXIT';
}

// === Instruments and contracts

/** Cache key for contract qualification and the order book: THE instrument identity (engine/instrument.ts). */
export function instrumentKey(i: Instrument): string {
  return instrumentId(i);
}

/**
 * Contract description used for reqContractDetails (before qualification). The multiplier is left
 * out on purpose (MONEY-10): it is what the contract details must tell us, not what the strategy
 * said — with it in the query a wrong multiplier would read as "no such contract" (error 200).
 */
export function instrumentToContract(i: Instrument): Contract {
  if (i.secType === 'FUT') {
    return {
      symbol: i.symbol,
      secType: IbSecType.FUT,
      exchange: i.exchange,
      currency: i.currency,
      lastTradeDateOrContractMonth: i.contractMonth,
    };
  }
  return { symbol: i.symbol, secType: IbSecType.STK, exchange: i.exchange, currency: i.currency };
}

/** Contract sent with orders once qualified: conId plus the routing exchange. */
export function qualifiedOrderContract(i: Instrument, conId: number): Contract {
  return {
    conId,
    symbol: i.symbol,
    secType: i.secType === 'FUT' ? IbSecType.FUT : IbSecType.STK,
    exchange: i.exchange,
    currency: i.currency,
  };
}

/** Best-effort Instrument for a contract reported by IB (recovery, positions). */
export function contractToInstrument(c: Contract): Instrument | undefined {
  const secType = c.secType === IbSecType.FUT ? 'FUT' : c.secType === IbSecType.STK ? 'STK' : undefined;
  if (!secType || !c.symbol) return undefined;
  const base = {
    symbol: c.symbol,
    secType,
    exchange: c.exchange || c.primaryExch || (secType === 'STK' ? 'SMART' : ''),
    currency: c.currency || 'USD',
  } as const;
  if (secType === 'FUT') {
    return {
      ...base,
      contractMonth: (c.lastTradeDateOrContractMonth ?? '').slice(0, 6) || undefined,
      multiplier: c.multiplier && c.multiplier > 0 ? c.multiplier : 1,
    };
  }
  return { ...base, multiplier: 1 };
}

// === Prices

/** Tick arithmetic has one definition (engine/contract-facts.ts): the gates and the adapter agree. */
export { isOnTick, snapToTick } from '../../engine/index.js';

// === Time

/**
 * IB execution time → epoch ms. Formats: "yyyyMMdd  HH:mm:ss", "yyyyMMdd HH:mm:ss <IANA or UTC>",
 * "yyyyMMdd-HH:mm:ss" (UTC). Without a zone IB uses the TWS login zone, which we cannot know;
 * we then read it as UTC. undefined when unparseable.
 */
export function parseIbTime(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const m = /^(\d{4})(\d{2})(\d{2})[\s-]+(\d{2}):(\d{2}):(\d{2})(?:\s+(\S+))?/.exec(s.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se, tz] = m;
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se));
  if (!tz || /^(UTC|GMT|Z)$/i.test(tz)) return utc;
  const offset = zoneOffsetMs(tz, utc);
  return offset === undefined ? utc : utc - offset;
}

/** Offset of an IANA zone from UTC at (about) the given instant, via Intl; undefined if unknown. */
function zoneOffsetMs(zone: string, atUtc: number): number | undefined {
  try {
    const fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    const parts = Object.fromEntries(fmt.formatToParts(new Date(atUtc)).map((p) => [p.type, p.value]));
    const asUtc = Date.UTC(
      Number(parts.year),
      Number(parts.month) - 1,
      Number(parts.day),
      Number(parts.hour),
      Number(parts.minute),
      Number(parts.second),
    );
    return asUtc - atUtc;
  } catch {
    return undefined;
  }
}

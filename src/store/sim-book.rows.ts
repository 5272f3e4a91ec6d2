/**
 * Row ↔ record mapping of the simulated broker's book (SimBook, SimOrder, SimExecution,
 * SimPosition), shared by both store adapters. Dates are left to the adapter (ISO text for
 * better-sqlite3, Date for Prisma); everything else is the same column layout.
 */
import type { BrokerFill, Instrument, SimOrderState, SimPositionState } from '../engine/index.js';

/** the one SimBook row */
export const SIM_BOOK_ID = 'sim';

type Row = Record<string, unknown>;
const num = (v: unknown): number => Number(v);
const opt = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));

export function simOrderColumns(o: SimOrderState) {
  return {
    brokerOrderId: o.brokerOrderId,
    orderRef: o.orderRef,
    role: o.role,
    instrument: JSON.stringify(o.instrument),
    side: o.side,
    quantity: o.quantity,
    type: o.type,
    limitPrice: o.limitPrice ?? null,
    stopPrice: o.stopPrice ?? null,
    parentId: o.parentId ?? null,
    ocaGroup: o.ocaGroup ?? null,
    status: o.status,
    filledQty: o.filledQty,
    avgFillPrice: o.avgFillPrice,
  };
}

export function simOrderFromRow(r: Row): SimOrderState {
  const limitPrice = opt(r.limitPrice);
  const stopPrice = opt(r.stopPrice);
  return {
    brokerOrderId: String(r.brokerOrderId),
    orderRef: String(r.orderRef),
    role: String(r.role) as SimOrderState['role'],
    instrument: JSON.parse(String(r.instrument)) as Instrument,
    side: String(r.side) as SimOrderState['side'],
    quantity: num(r.quantity),
    type: String(r.type) as SimOrderState['type'],
    ...(limitPrice !== undefined ? { limitPrice } : {}),
    ...(stopPrice !== undefined ? { stopPrice } : {}),
    ...(r.parentId !== null && r.parentId !== undefined ? { parentId: String(r.parentId) } : {}),
    ...(r.ocaGroup !== null && r.ocaGroup !== undefined ? { ocaGroup: String(r.ocaGroup) } : {}),
    status: String(r.status) as SimOrderState['status'],
    filledQty: num(r.filledQty),
    avgFillPrice: r.avgFillPrice === null || r.avgFillPrice === undefined ? null : num(r.avgFillPrice),
  };
}

/** the execution's columns without `time` and `seq` (the adapter encodes the time, the table numbers them) */
export function simExecutionColumns(f: BrokerFill) {
  return { execId: f.execId, brokerOrderId: f.brokerOrderId, orderRef: f.orderRef, role: f.role, side: f.side, quantity: f.quantity, price: f.price, commission: f.commission };
}

export function simExecutionFromRow(r: Row, time: number): BrokerFill {
  return {
    execId: String(r.execId),
    brokerOrderId: String(r.brokerOrderId),
    orderRef: String(r.orderRef),
    role: String(r.role) as BrokerFill['role'],
    side: String(r.side) as BrokerFill['side'],
    quantity: num(r.quantity),
    price: num(r.price),
    commission: num(r.commission),
    time,
  };
}

export function simPositionColumns(p: SimPositionState) {
  return { instrumentKey: p.instrumentKey, instrument: JSON.stringify(p.instrument), quantity: p.quantity, avgCost: p.avgCost };
}

export function simPositionFromRow(r: Row): SimPositionState {
  return { instrumentKey: String(r.instrumentKey), instrument: JSON.parse(String(r.instrument)) as Instrument, quantity: num(r.quantity), avgCost: num(r.avgCost) };
}

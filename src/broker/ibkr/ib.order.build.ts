/**
 * Pure: the IB `Order` for one leg and the book entry that remembers it. Bracket flags (MONEY-10):
 * exits share an OCA group of type 2 (reduce on fill, with block); futures exits carry
 * outsideRth so they trigger in the overnight session; a modify repeats the first placement's
 * `wire` fields unchanged (IBKR error 105 otherwise).
 */
import type { Order } from '@stoqey/ib';
import type { Instrument, OrderRole } from '../../engine/index.js';
import { OCA_REDUCE_WITH_BLOCK, ORDER_TYPE_TO_IB, SIDE_TO_ACTION, TIF_FOR_ROLE, worksOutsideRth, type DomainOrderType } from './ib.parse.js';
import type { NewLeg, OrderWire } from './order.record.js';

export interface LegSpec {
  readonly conId: number;
  readonly orderId: number;
  readonly orderRef: string;
  readonly role: OrderRole;
  readonly req: { readonly instrument: Instrument; readonly quantity: number };
  readonly side: 'BUY' | 'SELL';
  readonly type: DomainOrderType;
  readonly price: number | undefined;
  readonly parentId: number;
  readonly ocaGroup: string;
  readonly transmit: boolean;
  /** the account orders are sent for */
  readonly account: string | undefined;
}

export interface BuiltLeg {
  readonly leg: NewLeg;
  readonly order: Order;
}

export function buildLeg(l: LegSpec): BuiltLeg {
  const wire: OrderWire = {
    conId: l.conId,
    tif: TIF_FOR_ROLE[l.role],
    ocaGroup: l.ocaGroup,
    ocaType: l.ocaGroup ? OCA_REDUCE_WITH_BLOCK : undefined,
    outsideRth: worksOutsideRth(l.req.instrument, l.role),
    account: l.account,
  };
  const order = orderFor(l.orderId, l.orderRef, l.side, l.type, l.price, l.req.quantity, l.parentId, wire, l.transmit);
  const leg: NewLeg = {
    orderId: l.orderId,
    orderRef: l.orderRef,
    role: l.role,
    instrument: l.req.instrument,
    side: l.side,
    quantity: l.req.quantity,
    type: l.type,
    parentId: l.parentId,
    wire,
    ...(l.type === 'LMT' && l.price !== undefined ? { limitPrice: l.price } : {}),
    ...(l.type === 'STP' && l.price !== undefined ? { stopPrice: l.price } : {}),
  };
  return { leg, order };
}

/** The IB order for a leg (a first placement, or a modify repeating `wire` unchanged). */
export function orderFor(
  orderId: number,
  orderRef: string,
  side: 'BUY' | 'SELL',
  type: DomainOrderType,
  price: number | undefined,
  quantity: number,
  parentId: number,
  wire: OrderWire,
  transmit: boolean,
): Order {
  return {
    orderId,
    action: SIDE_TO_ACTION[side],
    orderType: ORDER_TYPE_TO_IB[type],
    totalQuantity: quantity,
    tif: wire.tif as Order['tif'],
    orderRef,
    account: wire.account,
    transmit,
    outsideRth: wire.outsideRth,
    ...(type === 'LMT' ? { lmtPrice: price } : {}),
    ...(type === 'STP' ? { auxPrice: price } : {}),
    ...(parentId > 0 ? { parentId } : {}),
    ...(wire.ocaGroup ? { ocaGroup: wire.ocaGroup, ocaType: wire.ocaType ?? OCA_REDUCE_WITH_BLOCK } : {}),
  };
}

/** What OrderBook (order.book.ts) keeps per order, and what a placement registers. */
import type { BrokerOrderStatus, Instrument, OrderRole, Side } from '../../engine/index.js';
import type { DomainOrderType } from './ib.parse.js';

export interface OrderRecord {
  brokerOrderId: string;
  orderId: number | undefined;
  clientId: number | undefined;
  permId: number | undefined;
  parentId: number;
  parentPermId: number;
  orderRef: string;
  /** set when we placed the order ourselves; otherwise inferred from the bracket shape */
  role: OrderRole | undefined;
  instrument: Instrument;
  side: Side;
  quantity: number;
  type: DomainOrderType;
  limitPrice: number | undefined;
  stopPrice: number | undefined;
  status: BrokerOrderStatus;
  /** IBKR PreSubmitted: accepted but not active at the exchange */
  held: boolean;
  filledQty: number;
  avgFillPrice: number | null;
  lastKey: string;
  /** what a modify (resize) must send again unchanged (IBKR error 105 otherwise) */
  wire: OrderWire;
}

/** The order fields IBKR needs repeated in a modify, as first sent (or echoed after a restart). */
export interface OrderWire {
  readonly conId: number;
  readonly tif: string | undefined;
  readonly ocaGroup: string;
  readonly ocaType: number | undefined;
  readonly outsideRth: boolean;
  readonly account: string | undefined;
}

export interface NewLeg {
  readonly orderId: number;
  readonly orderRef: string;
  readonly role: OrderRole;
  readonly instrument: Instrument;
  readonly side: Side;
  readonly quantity: number;
  readonly type: DomainOrderType;
  readonly limitPrice?: number;
  readonly stopPrice?: number;
  readonly parentId: number;
  readonly wire: OrderWire;
}

/**
 * BrokerPort: the only way the engine talks to a broker (simulated or IBKR).
 *
 * Invariants every implementation keeps (checked by test/broker/contract.ts):
 * - `placeBracket` refuses (throws BrokerRefusedError) without a SubmitPermit whose
 *   intentId equals the request's orderRef (INV-T2-GATE-1, last line of defence);
 * - every order it places carries `orderRef` so it can be found again after a restart
 *   (`findByOrderRef`), and it never dedupes on its own: the engine guarantees one
 *   placement per intent (INV-IDEMPOTENT-ORDER-1);
 * - events are delivered through `onEvent` listeners in the order the broker produced them;
 * - an unknown outcome (timeout, disconnect) is never reported as a rejection.
 */

export type SecType = 'STK' | 'FUT';
export type Side = 'BUY' | 'SELL';

export interface Instrument {
  readonly symbol: string;
  readonly secType: SecType;
  readonly exchange: string;
  readonly currency: string;
  /** YYYYMM, futures only */
  readonly contractMonth?: string;
  /** contract multiplier: 1 for stocks, e.g. 5 for MES */
  readonly multiplier: number;
}

/** Leg of an order group; the entry plus its two protective exits. */
export type OrderRole = 'ENTRY' | 'STOP' | 'TARGET' | 'EXIT';

/** Proof produced by the execution gate after consuming an approval token. */
export interface SubmitPermit {
  readonly tokenId: string;
  readonly intentId: string;
  readonly evidenceHash: string;
  readonly usedAt: number;
  /**
   * The last look (INV-KILL-LAST-MOMENT-1): an adapter awaits this at the last moment before
   * the entry leg is handed to the wire (after its own queues, account checks and contract
   * qualification). It records the leg as sent in one transaction that re-checks the kill
   * flag and flatten; it rejects with BrokerRefusedError (code KILL_ACTIVE or FLATTENING) when
   * the entry may no longer leave, and then nothing of the bracket may be sent.
   */
  readonly beforeEntryLeaves?: () => Promise<void>;
}

/** Codes of a last-look refusal: the engine has already recorded why; nothing left Phoenix. */
export const LAST_LOOK_CODES: readonly string[] = ['KILL_ACTIVE', 'FLATTENING', 'NOT_SUBMITTED'];

/**
 * Entry with linked protective stop and target (one-cancels-other). `entryType` MKT sends
 * a market parent, LMT a limit parent at `limitPrice`.
 */
export interface BracketRequest {
  /** = intentId; echoed on every leg so Phoenix can find its own orders again */
  readonly orderRef: string;
  readonly instrument: Instrument;
  readonly side: Side;
  readonly quantity: number;
  readonly entryType: 'MKT' | 'LMT';
  readonly limitPrice?: number;
  readonly stopPrice: number;
  readonly targetPrice: number;
}

/** A single order (used for exits: flatten, manual close). */
export interface SingleOrderRequest {
  readonly orderRef: string;
  readonly role: OrderRole;
  readonly instrument: Instrument;
  readonly side: Side;
  readonly quantity: number;
  readonly type: 'MKT' | 'LMT' | 'STP';
  readonly limitPrice?: number;
  readonly stopPrice?: number;
}

export interface PlacedLeg {
  readonly role: OrderRole;
  readonly brokerOrderId: string;
}

export type BrokerOrderStatus =
  | 'PENDING' // sent, not yet acknowledged
  | 'WORKING' // acknowledged, live at the broker (incl. held bracket children)
  | 'FILLED'
  | 'CANCELLED'
  | 'REJECTED';

export interface BrokerOrder {
  readonly brokerOrderId: string;
  readonly orderRef: string;
  readonly role: OrderRole;
  readonly instrument: Instrument;
  readonly side: Side;
  readonly quantity: number;
  readonly filledQty: number;
  readonly avgFillPrice: number | null;
  readonly status: BrokerOrderStatus;
  readonly type: 'MKT' | 'LMT' | 'STP';
  readonly limitPrice?: number;
  readonly stopPrice?: number;
  /**
   * WORKING but not active at the exchange (IBKR PreSubmitted): a bracket child held until its
   * parent fills, or a stop IBKR holds and triggers itself. Left out by brokers that do not hold.
   */
  readonly held?: boolean;
}

export interface BrokerFill {
  /**
   * unique per execution. IBKR corrections keep the base and bump the last part
   * (`0000e0d5.6553a3b2.01.01` → `….01.02`): the engine books a correction in place of the
   * execution it corrects (same base), never in addition to it, across restarts too.
   */
  readonly execId: string;
  readonly brokerOrderId: string;
  readonly orderRef: string;
  readonly role: OrderRole;
  readonly side: Side;
  readonly quantity: number;
  readonly price: number;
  /** USD; 0 while the broker's commission report has not arrived (a `commission` event follows) */
  readonly commission: number;
  /** epoch ms of the execution at the exchange (not of its delivery; replays keep it) */
  readonly time: number;
  /** the account the execution belongs to, when the broker says */
  readonly account?: string;
}

export interface BrokerPosition {
  readonly account: string;
  readonly instrument: Instrument;
  /** signed: long > 0, short < 0 */
  readonly quantity: number;
  readonly avgCost: number;
}

export interface AccountSummary {
  readonly accountId: string;
  readonly netLiquidation: number;
  readonly buyingPower: number;
  readonly currency: string;
}

/**
 * WAITING_FOR_LOGIN: the gateway answers on its socket but nobody is logged in (no managed
 * accounts, or the API handshake stalls before nextValidId): a human must log in (2FA); the
 * adapter keeps polling, never escalates, and nothing can be sent.
 */
export type ConnectionState = 'DISCONNECTED' | 'CONNECTING' | 'READY' | 'PAUSED' | 'DOWN' | 'WAITING_FOR_LOGIN';

export interface BrokerHealth {
  readonly state: ConnectionState;
  /** true only when orders may be sent now (READY and account checked) */
  readonly canSubmit: boolean;
  readonly account: AccountSummary | null;
  readonly detail?: string;
}

export type BrokerEvent =
  | {
      readonly kind: 'orderStatus';
      readonly orderRef: string;
      readonly role: OrderRole;
      readonly brokerOrderId: string;
      readonly status: BrokerOrderStatus;
      /** cumulative quantity the broker says is filled (may run ahead of the `fill` events) */
      readonly filledQty: number;
      readonly reason?: string;
      readonly code?: number;
      /**
       * WORKING but not active at the exchange yet (IBKR PreSubmitted: a bracket child held until
       * its parent fills, a stop held outside regular hours). A held STOP does not protect.
       */
      readonly held?: boolean;
    }
  | { readonly kind: 'fill'; readonly fill: BrokerFill }
  /** a commission report that arrived after its fill was delivered (booked as a correction) */
  | { readonly kind: 'commission'; readonly orderRef: string; readonly execId: string; readonly commission: number }
  | { readonly kind: 'connection'; readonly state: ConnectionState; readonly code?: number; readonly detail: string; readonly attempt?: number }
  | { readonly kind: 'error'; readonly code: number; readonly message: string; readonly orderRef?: string };

export interface QualifiedContract {
  /** the broker's canonical description (multiplier from the contract details) */
  readonly instrument: Instrument;
  readonly conId: number;
  readonly minTick: number;
  readonly localSymbol?: string;
}

/** Everything the broker knows about one orderRef (restart recovery). */
export interface OrderRefReport {
  readonly orders: readonly BrokerOrder[];
  readonly fills: readonly BrokerFill[];
}

export interface BrokerPort {
  readonly name: string;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  health(): BrokerHealth;
  accountSummary(): Promise<AccountSummary>;
  qualify(instrument: Instrument): Promise<QualifiedContract>;
  placeBracket(req: BracketRequest, permit: SubmitPermit): Promise<readonly PlacedLeg[]>;
  /** exits only (flatten/close); never used for entries */
  placeOrder(req: SingleOrderRequest): Promise<PlacedLeg>;
  cancel(brokerOrderId: string): Promise<void>;
  /**
   * Lower the total quantity of an open exit leg (STOP, TARGET, EXIT) to `quantity` (MONEY-10:
   * bracket children follow the entry's filled quantity once its remainder is dead). The current
   * total again is a no-op (an OCA group may have reduced it already). Never an entry, never up,
   * never to or below what the leg already filled (cancel it instead): BrokerRefusedError
   * ('INVALID_REQUEST' | 'UNKNOWN_ORDER' | 'NOT_CANCELLABLE') and nothing is sent.
   */
  resize(brokerOrderId: string, quantity: number): Promise<void>;
  openOrders(): Promise<readonly BrokerOrder[]>;
  executions(): Promise<readonly BrokerFill[]>;
  positions(): Promise<readonly BrokerPosition[]>;
  findByOrderRef(orderRef: string): Promise<OrderRefReport>;
  onEvent(listener: (e: BrokerEvent) => void): () => void;
}

/** A broker response that proves the order was not (and will not be) accepted by us. */
export class BrokerRefusedError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'BrokerRefusedError';
  }
}

/** The request could not be sent (not connected, paused); nothing reached the broker. */
export class BrokerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BrokerUnavailableError';
  }
}

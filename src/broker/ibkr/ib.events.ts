/**
 * The @stoqey/ib listeners of one session: each IB callback handed to the part that owns it
 * (order book, account, contracts, snapshot, orders), and IB's error/info codes sorted into
 * order rejections, cancellations, notices and port `error` events. Nothing thrown inside a
 * listener escapes (every listener is wrapped and logged).
 */
import {
  EventName,
  type CommissionReport,
  type Contract,
  type ContractDetails,
  type Execution,
  type IBApi,
  type Order,
  type OrderState,
} from '@stoqey/ib';
import type { BrokerEvent, Logger } from '../../engine/index.js';
import type { IbSession } from './connection.js';
import type { EventOutbox } from './event.outbox.js';
import type { IbAccount } from './ib.account.js';
import type { IbContracts } from './ib.contracts.js';
import { classifyIbCode } from './ib.errors.js';
import type { IbOrders } from './ib.orders.js';
import type { IbSnapshot } from './ib.snapshot.js';
import type { OrderBook } from './order.book.js';

export interface IbListenerParts {
  readonly log: Logger;
  readonly outbox: EventOutbox;
  readonly book: OrderBook;
  readonly orders: IbOrders;
  readonly account: IbAccount;
  readonly contracts: IbContracts;
  readonly snapshot: IbSnapshot;
  /** the session our listeners are attached to */
  readonly attached: () => IbSession | null;
}

/** Install every listener on a fresh IBApi (before it connects). */
export function attachListeners(ib: IBApi, sessionId: number, p: IbListenerParts): void {
  const on = <A extends unknown[]>(name: string, fn: (...a: A) => void) => (...a: A): void => {
    try {
      fn(...a);
    } catch (e) {
      p.log.error({ err: e, event: name, sessionId }, 'ibkr listener failed (contained)');
    }
  };
  const emitAll = (events: readonly BrokerEvent[]): void => {
    for (const e of events) p.outbox.push(e);
  };
  ib.on(EventName.error, on('error', (err: Error, code: number, reqId: number) => onIbError(p, ib, err, code, reqId)));
  ib.on(EventName.info, on('info', (message: string, code: number) => onIbInfo(p, code, message)));
  ib.on(EventName.nextValidId, on('nextValidId', (id: number) => p.orders.seed(id)));
  ib.on(
    EventName.managedAccounts,
    on('managedAccounts', (csv: string) => {
      const list = String(csv ?? '')
        .split(',')
        .map((a) => a.trim())
        .filter((a) => a !== '');
      p.account.onManagedAccounts(list, p.attached()?.id === sessionId);
    }),
  );
  ib.on(EventName.sent, on('sent', (tokens: unknown[]) => p.orders.onSent(tokens, ib.serverVersion)));
  ib.on(
    EventName.openOrder,
    on('openOrder', (orderId: number, contract: Contract, order: Order, state: OrderState) => emitAll(p.book.onOpenOrder(orderId, contract, order, state))),
  );
  ib.on(
    EventName.orderStatus,
    on(
      'orderStatus',
      (orderId: number, status: string, filled: number, _remaining: number, avgFillPrice: number, permId?: number, _parentId?: number, _last?: number, clientId?: number) =>
        emitAll(p.book.onOrderStatus(orderId, status, filled, avgFillPrice, permId, clientId)),
    ),
  );
  ib.on(
    EventName.completedOrder,
    on('completedOrder', (contract: Contract, order: Order, state: OrderState) => emitAll(p.book.onCompletedOrder(contract, order, state))),
  );
  ib.on(EventName.currentTime, on('currentTime', () => p.snapshot.onCurrentTime()));
  ib.on(EventName.openOrderEnd, on('openOrderEnd', () => p.snapshot.onOpenOrderEnd()));
  ib.on(EventName.completedOrdersEnd, on('completedOrdersEnd', () => p.snapshot.onCompletedOrdersEnd()));
  ib.on(
    EventName.execDetails,
    on('execDetails', (_reqId: number, contract: Contract, exec: Execution) => {
      p.contracts.learn(contract);
      const execId = p.book.onExecution(contract, exec);
      if (execId) p.outbox.pushFill(execId, p.book.hasCommission(execId));
    }),
  );
  ib.on(EventName.execDetailsEnd, on('execDetailsEnd', (reqId: number) => p.snapshot.onExecDetailsEnd(reqId)));
  ib.on(
    EventName.commissionReport,
    on('commissionReport', (r: CommissionReport) => {
      if (!r.execId) return;
      if (p.book.onCommission(r.execId, r.commission)) p.outbox.commissionArrived(r.execId);
    }),
  );
  ib.on(EventName.contractDetails, on('contractDetails', (reqId: number, d: ContractDetails) => p.contracts.onDetails(reqId, d)));
  ib.on(EventName.contractDetailsEnd, on('contractDetailsEnd', (reqId: number) => p.contracts.onDetailsEnd(reqId)));
  ib.on(
    EventName.accountSummary,
    on('accountSummary', (reqId: number, account: string, tag: string, value: string, currency: string) =>
      p.account.onAccountSummary(reqId, account, tag, value, currency),
    ),
  );
  ib.on(
    EventName.position,
    on('position', (account: string, contract: Contract, pos: number, avgCost?: number) => p.snapshot.onPosition(account, contract, pos, avgCost)),
  );
  ib.on(EventName.positionEnd, on('positionEnd', () => p.snapshot.onPositionEnd()));
}

function onIbError(p: IbListenerParts, ib: IBApi, err: Error, code: number, reqId: number): void {
  const message = err?.message ?? String(err);
  if (p.contracts.onError(reqId, code, message)) return;
  const cls = classifyIbCode(code, message);
  const own = reqId > 0 && p.book.hasOwnOrder(reqId);
  const orderRef = own ? p.book.get(String(reqId))?.orderRef : undefined;
  const push = (events: readonly BrokerEvent[]): void => {
    for (const e of events) p.outbox.push(e);
  };
  switch (cls) {
    case 'ORDER_REJECTION':
      if (own) {
        p.log.warn({ code, reqId, message }, 'order rejected by IB');
        push(p.book.onRejected(reqId, code, message));
        if (code === 103) p.orders.onDuplicateId(ib); // duplicate id: re-seed from TWS
        return;
      }
      break;
    case 'ORDER_CANCELLED':
      if (own) {
        push(p.book.onCancelled(reqId, code, message));
        return;
      }
      break;
    case 'WARNING':
    case 'FARM_OK':
    case 'FARM_BROKEN':
      p.log.info({ code, reqId, message }, 'ibkr notice');
      return;
    case 'CLIENT_CONNECTIVITY':
      p.log.warn({ code, reqId, message }, 'ibkr client connectivity');
      return;
    case 'DECODE_ERROR':
      p.log.error({ code, message }, 'ibkr decoder error (protocol mismatch)');
      break;
    case 'PACING':
      p.log.error({ code, reqId, message }, 'ibkr pacing violation (error 100)');
      break;
    default:
      break;
  }
  p.outbox.push({ kind: 'error', code, message, ...(orderRef ? { orderRef } : {}) });
}

function onIbInfo(p: IbListenerParts, code: number, message: string): void {
  const cls = classifyIbCode(code, message);
  switch (cls) {
    case 'CONNECTIVITY_LOST':
    case 'CONNECTIVITY_RESTORED':
      return; // connection.ts turns these into PAUSED / READY events
    case 'FARM_OK':
    case 'WARNING':
      p.log.debug({ code, message }, 'ibkr info');
      return;
    case 'FARM_BROKEN':
      p.log.warn({ code, message }, 'ibkr data farm broken');
      return;
    case 'PACING':
    case 'CLIENT_ID_IN_USE':
    case 'DECODE_ERROR':
    case 'OTHER':
    default:
      if (code === 501 || code === 504) return; // "already connected"/"not connected" notices from the client
      p.log.warn({ code, message }, 'ibkr system message');
      p.outbox.push({ kind: 'error', code, message });
  }
}

/**
 * OrderBook: the adapter's view of IB orders and executions, keyed so that `orderStatus`
 * (which has no orderRef) can be mapped back to Phoenix's orderRef and leg role.
 *
 * No I/O: every `on*` method takes what @stoqey/ib delivered and returns the port events to
 * emit. Rules:
 * - identical repeated statuses are normal → an event only when (status, filledQty, held) changes;
 * - PreSubmitted is WORKING with `held` (MONEY-10): accepted, not active at the exchange — a bracket
 *   child waiting for its parent, or a stop IBKR holds and triggers itself; Submitted clears it;
 * - the quantity follows the order's echo (an OCA group with reduce-on-fill lowers a sibling; a
 *   resize lowers a child);
 * - terminal statuses stick (REJECTED and FILLED are final; CANCELLED → FILLED is allowed for a
 *   fill that raced the cancel; CANCELLED → REJECTED when a rejection code arrives late);
 * - executions are deduped on execId; a correction (same prefix, higher ".NN" suffix) updates the
 *   stored fill and is not a new fill (ib.executions.ts);
 * - brokerOrderId is the IB orderId for this clientId, `c<clientId>:<orderId>` for other clients,
 *   and `perm:<permId>` for completed orders whose orderId we never saw (IB does not send it).
 */
import type { Contract, Execution, Order, OrderState } from '@stoqey/ib';
import { ExecutionLog, type StoredFill } from './ib.executions.js';
import type { NewLeg, OrderRecord } from './order.record.js';
import type { BrokerEvent, BrokerFill, BrokerOrder, BrokerOrderStatus, Instrument, OrderRefReport, OrderRole } from '../../engine/index.js';
import {
  TERMINAL_STATUSES,
  contractToInstrument,
  inferRole,
  mapOrderStatus,
  mapOrderType,
  mapSide,
} from './ib.parse.js';

export class OrderBook {
  private readonly records = new Map<string, OrderRecord>();
  private readonly byPerm = new Map<number, string>();
  private readonly executions: ExecutionLog;
  private readonly pendingStatus = new Map<string, { status: string; filled: number; avg: number }>();

  constructor(
    private readonly clientId: number,
    /** instrument for a conId we qualified ourselves (exact object the engine used) */
    private readonly instrumentFor: (conId: number | undefined) => Instrument | undefined,
    now: () => number,
  ) {
    this.executions = new ExecutionLog(now);
  }

  // === Keys

  private keyFor(orderId: number | undefined, clientId: number | undefined, permId: number | undefined): string | undefined {
    if (permId !== undefined && permId > 0) {
      const k = this.byPerm.get(permId);
      if (k) return k;
    }
    if (orderId === undefined || orderId <= 0) return permId !== undefined && permId > 0 ? `perm:${permId}` : undefined;
    if (clientId === undefined || clientId === this.clientId) return String(orderId);
    return `c${clientId}:${orderId}`;
  }

  private linkPerm(rec: OrderRecord, permId: number | undefined): void {
    if (permId === undefined || permId <= 0) return;
    rec.permId = permId;
    this.byPerm.set(permId, rec.brokerOrderId);
  }

  // === Our own placements

  register(leg: NewLeg): void {
    const rec: OrderRecord = {
      brokerOrderId: String(leg.orderId),
      orderId: leg.orderId,
      clientId: this.clientId,
      permId: undefined,
      parentId: leg.parentId,
      parentPermId: 0,
      orderRef: leg.orderRef,
      role: leg.role,
      instrument: leg.instrument,
      side: leg.side,
      quantity: leg.quantity,
      type: leg.type,
      limitPrice: leg.limitPrice,
      stopPrice: leg.stopPrice,
      status: 'PENDING',
      held: false,
      filledQty: 0,
      avgFillPrice: null,
      lastKey: 'PENDING|0||',
      wire: leg.wire,
    };
    this.records.set(rec.brokerOrderId, rec);
  }

  /** A resize was written: the book carries the new total until TWS echoes it. */
  resized(brokerOrderId: string, quantity: number): void {
    const rec = this.records.get(brokerOrderId);
    if (rec) rec.quantity = quantity;
  }

  /** Drop legs that were registered but never sent (a last-look refusal). */
  forget(brokerOrderId: string): void {
    this.records.delete(brokerOrderId);
  }

  /** Our order id (this clientId) is known to the book. */
  hasOwnOrder(orderId: number): boolean {
    return this.records.has(String(orderId));
  }

  get(brokerOrderId: string): OrderRecord | undefined {
    return this.records.get(brokerOrderId);
  }

  /** The highest order id this client is known to have used (orders and executions), 0 for none. */
  maxOwnOrderId(): number {
    let max = 0;
    const own = (clientId: number | undefined) => clientId === undefined || clientId === this.clientId;
    for (const r of this.records.values()) if (r.orderId !== undefined && own(r.clientId)) max = Math.max(max, r.orderId);
    for (const f of this.executions.all()) if (f.orderId !== undefined && own(f.clientId)) max = Math.max(max, f.orderId);
    return max;
  }

  // === IB callbacks

  onOpenOrder(orderId: number | undefined, contract: Contract, order: Order, state: OrderState): BrokerEvent[] {
    const key = this.keyFor(orderId, order.clientId, order.permId);
    if (!key) return [];
    let rec = this.records.get(key);
    if (!rec) {
      const created = this.createFromIb(key, orderId, contract, order);
      if (!created) return [];
      rec = created;
      const pending = this.pendingStatus.get(key);
      this.pendingStatus.delete(key);
      this.linkPerm(rec, order.permId);
      const out = pending ? this.applyIbStatus(rec, pending.status, pending.filled, pending.avg) : [];
      return [...out, ...this.applyIbStatus(rec, state.status, rec.filledQty, rec.avgFillPrice ?? 0)];
    }
    this.linkPerm(rec, order.permId);
    if (order.orderRef && !rec.orderRef) rec.orderRef = order.orderRef;
    if (order.totalQuantity !== undefined && order.totalQuantity > 0) rec.quantity = order.totalQuantity;
    return this.applyIbStatus(rec, state.status, rec.filledQty, rec.avgFillPrice ?? 0);
  }

  onOrderStatus(
    orderId: number,
    status: string,
    filled: number | undefined,
    avgFillPrice: number | undefined,
    permId: number | undefined,
    clientId: number | undefined,
  ): BrokerEvent[] {
    const key = this.keyFor(orderId, clientId, permId);
    if (!key) return [];
    const rec = this.records.get(key);
    if (!rec) {
      // orderStatus before openOrder (or for an order we never learned about): keep the latest
      this.pendingStatus.set(key, { status, filled: filled ?? 0, avg: avgFillPrice ?? 0 });
      return [];
    }
    this.linkPerm(rec, permId);
    return this.applyIbStatus(rec, status, filled ?? rec.filledQty, avgFillPrice ?? 0);
  }

  onCompletedOrder(contract: Contract, order: Order, state: OrderState): BrokerEvent[] {
    const permId = order.permId;
    const key = this.keyFor(order.orderId, order.clientId, permId);
    if (!key) return [];
    let rec = this.records.get(key);
    if (!rec) {
      const created = this.createFromIb(key, order.orderId, contract, order);
      if (!created) return [];
      rec = created;
      this.linkPerm(rec, permId);
    }
    if (order.parentPermId && order.parentPermId > 0) rec.parentPermId = order.parentPermId;
    const filled = order.filledQuantity ?? rec.filledQty;
    return this.applyIbStatus(rec, state.status, filled, rec.avgFillPrice ?? 0);
  }

  /** An order-level error code that proves rejection (201, 203, 110 …). */
  onRejected(orderId: number, code: number, reason: string): BrokerEvent[] {
    const rec = this.records.get(String(orderId));
    if (!rec) return [];
    return this.transition(rec, 'REJECTED', rec.filledQty, rec.avgFillPrice, reason, code);
  }

  /** 202: cancelled (ours, OCA, parent, TWS or exchange). */
  onCancelled(orderId: number, code: number, reason: string): BrokerEvent[] {
    const rec = this.records.get(String(orderId));
    if (!rec) return [];
    return this.transition(rec, 'CANCELLED', rec.filledQty, rec.avgFillPrice, reason, code);
  }

  /**
   * Execution (live reqId −1 or a reqExecutions replay). Returns the execId when this is a new
   * fill to emit, undefined for duplicates and corrections.
   */
  onExecution(contract: Contract, exec: Execution): string | undefined {
    if (!exec.execId || !mapSide(exec.side) || this.executions.has(exec.execId)) return undefined;
    this.adoptOrderId(exec);
    void contract;
    return this.executions.add(exec);
  }

  /** Returns true when the commission belongs to a known execution. */
  onCommission(execId: string, commission: number | undefined): boolean {
    return this.executions.commission(execId, commission);
  }

  hasCommission(execId: string): boolean {
    return this.executions.hasCommission(execId);
  }

  // === Views

  fill(execId: string): BrokerFill | undefined {
    const f = this.executions.get(execId);
    return f ? this.toFill(f) : undefined;
  }

  allFills(): BrokerFill[] {
    return this.executions.byTime().map((f) => this.toFill(f));
  }

  openOrders(): BrokerOrder[] {
    return [...this.records.values()].filter((r) => !TERMINAL_STATUSES.has(r.status)).map((r) => this.toOrder(r));
  }

  byOrderRef(orderRef: string): OrderRefReport {
    const orders = [...this.records.values()].filter((r) => r.orderRef === orderRef).map((r) => this.toOrder(r));
    const fills = this.allFills().filter((f) => f.orderRef === orderRef);
    return { orders, fills };
  }

  roleOf(rec: OrderRecord): OrderRole {
    if (rec.role) return rec.role;
    const hasChildren = [...this.records.values()].some(
      (r) =>
        (rec.orderId !== undefined && r.parentId === rec.orderId && r.clientId === rec.clientId) ||
        (rec.permId !== undefined && r.parentPermId === rec.permId),
    );
    return inferRole(rec.parentId > 0 || rec.parentPermId > 0 ? 1 : 0, rec.type, hasChildren);
  }

  // === Internals

  private createFromIb(key: string, orderId: number | undefined, contract: Contract, order: Order): OrderRecord | undefined {
    const instrument = this.instrumentFor(contract.conId) ?? contractToInstrument(contract);
    const side = mapSide(order.action);
    if (!instrument || !side) return undefined;
    const type = mapOrderType(order.orderType);
    const rec: OrderRecord = {
      brokerOrderId: key,
      orderId: orderId !== undefined && orderId > 0 ? orderId : undefined,
      clientId: order.clientId,
      permId: undefined,
      parentId: order.parentId ?? 0,
      parentPermId: order.parentPermId ?? 0,
      orderRef: order.orderRef ?? '',
      role: undefined,
      instrument,
      side,
      quantity: order.totalQuantity ?? 0,
      type,
      limitPrice: type === 'LMT' ? order.lmtPrice : undefined,
      stopPrice: type === 'STP' ? order.auxPrice : undefined,
      status: 'PENDING',
      held: false,
      filledQty: 0,
      avgFillPrice: null,
      lastKey: '',
      wire: {
        conId: contract.conId ?? 0,
        tif: order.tif,
        ocaGroup: order.ocaGroup ?? '',
        ocaType: order.ocaType,
        outsideRth: order.outsideRth === true,
        account: order.account,
      },
    };
    this.records.set(key, rec);
    return rec;
  }

  /** A completed order known only by permId gets its real id once an execution names it. */
  private adoptOrderId(exec: Execution): void {
    const permId = exec.permId;
    if (permId === undefined || exec.orderId === undefined || exec.orderId <= 0) return;
    const key = this.byPerm.get(permId);
    if (!key || !key.startsWith('perm:')) return;
    const rec = this.records.get(key);
    if (!rec) return;
    const newKey = exec.clientId === undefined || exec.clientId === this.clientId ? String(exec.orderId) : `c${exec.clientId}:${exec.orderId}`;
    if (this.records.has(newKey)) return;
    this.records.delete(key);
    rec.brokerOrderId = newKey;
    rec.orderId = exec.orderId;
    rec.clientId = exec.clientId;
    this.records.set(newKey, rec);
    this.byPerm.set(permId, newKey);
  }

  private applyIbStatus(rec: OrderRecord, ibStatus: string, filled: number, avg: number): BrokerEvent[] {
    const status = mapOrderStatus(ibStatus);
    if (!status) return [];
    const reason = status === 'REJECTED' ? `IB status ${ibStatus}` : undefined;
    // "Filled" means completely filled, whatever the message carried (openOrder has no filled qty)
    const qty = status === 'FILLED' ? Math.max(filled, rec.quantity) : filled;
    return this.transition(rec, status, qty, avg > 0 ? avg : rec.avgFillPrice, reason, undefined, ibStatus === 'PreSubmitted');
  }

  private transition(
    rec: OrderRecord,
    status: BrokerOrderStatus,
    filled: number,
    avg: number | null,
    reason: string | undefined,
    code: number | undefined,
    held = false,
  ): BrokerEvent[] {
    const from = rec.status;
    if (from === 'FILLED' && status !== 'FILLED') return [];
    if (from === 'REJECTED' && status !== 'REJECTED') return [];
    if (from === 'CANCELLED' && status !== 'FILLED' && !(status === 'REJECTED' && code !== undefined) && status !== 'CANCELLED') {
      return [];
    }
    if (from === 'WORKING' && status === 'PENDING') return [];
    rec.status = status;
    rec.held = status === 'WORKING' && held;
    if (filled > rec.filledQty) rec.filledQty = filled;
    if (avg !== null && avg > 0) rec.avgFillPrice = avg;
    const key = `${status}|${rec.filledQty}|${status === 'REJECTED' ? (code ?? '') : ''}|${rec.held ? 'held' : ''}`;
    if (key === rec.lastKey) return [];
    // a later REJECTED without a code adds nothing to one that had the code
    if (status === 'REJECTED' && code === undefined && rec.lastKey.startsWith('REJECTED|')) return [];
    rec.lastKey = key;
    return [
      {
        kind: 'orderStatus',
        orderRef: rec.orderRef,
        role: this.roleOf(rec),
        brokerOrderId: rec.brokerOrderId,
        status,
        filledQty: rec.filledQty,
        ...(reason !== undefined ? { reason } : {}),
        ...(code !== undefined ? { code } : {}),
        ...(rec.held ? { held: true } : {}),
      },
    ];
  }

  private recordForFill(f: StoredFill): OrderRecord | undefined {
    const key = this.keyFor(f.orderId, f.clientId, f.permId);
    return key ? this.records.get(key) : undefined;
  }

  private toFill(f: StoredFill): BrokerFill {
    const rec = this.recordForFill(f);
    return {
      execId: f.execId,
      brokerOrderId: rec?.brokerOrderId ?? this.keyFor(f.orderId, f.clientId, f.permId) ?? '',
      orderRef: f.orderRef || rec?.orderRef || '',
      role: rec ? this.roleOf(rec) : 'EXIT',
      side: f.side,
      quantity: f.quantity,
      price: f.price,
      commission: f.commission ?? 0,
      time: f.time,
    };
  }

  private toOrder(r: OrderRecord): BrokerOrder {
    return {
      brokerOrderId: r.brokerOrderId,
      orderRef: r.orderRef,
      role: this.roleOf(r),
      instrument: r.instrument,
      side: r.side,
      quantity: r.quantity,
      filledQty: r.filledQty,
      avgFillPrice: r.avgFillPrice,
      status: r.status,
      type: r.type,
      ...(r.limitPrice !== undefined ? { limitPrice: r.limitPrice } : {}),
      ...(r.stopPrice !== undefined ? { stopPrice: r.stopPrice } : {}),
      ...(r.held ? { held: true } : {}),
    };
  }
}

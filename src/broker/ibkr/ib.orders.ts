/**
 * Orders: placement (brackets, single exits), resize (an IBKR modify) and cancel, with the
 * order-id counter. Rules kept here:
 * - INV-T2-GATE-1 (last line): placeBracket refuses without a permit for this orderRef;
 * - before anything is sent: mode, readiness, a fresh managed-accounts check
 *   (INV-IBKR-ACCOUNT-CHECK-1), qualification, the contract's multiplier and tick;
 * - a placement resolves when all its legs were written to the socket (`sent` event); a bracket
 *   cut by a disconnect after some legs were written resolves with an error event (unknown
 *   outcome, reconcile via findByOrderRef); the entry's last look runs in its pacer slot;
 * - an exit leg is resized down (a modify) when the entry remainder died after a partial fill.
 */
import type { Contract, IBApi } from '@stoqey/ib';
import {
  BrokerRefusedError,
  BrokerUnavailableError,
  WAITING_FOR_LOGIN_TEXT,
  type BracketRequest,
  type BrokerEvent,
  type Cancel,
  type Clock,
  type Instrument,
  type Logger,
  type PlacedLeg,
  type SingleOrderRequest,
  type SubmitPermit,
} from '../../engine/index.js';
import type { IbSession } from './connection.js';
import type { IbAccount } from './ib.account.js';
import type { IbContracts, QualifiedEntry } from './ib.contracts.js';
import { buildLeg, orderFor, type BuiltLeg } from './ib.order.build.js';
import { TERMINAL_STATUSES, exitSide, instrumentKey, qualifiedOrderContract } from './ib.parse.js';
import type { IbRequests, Pending } from './ib.requests.js';
import { tickPrice, validateBracket, validateSingle } from './ib.validate.js';
import type { OrderBook } from './order.book.js';

export interface IbOrdersDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly requests: IbRequests;
  readonly account: IbAccount;
  readonly contracts: IbContracts;
  readonly book: OrderBook;
  readonly emit: (e: BrokerEvent) => void;
  readonly requireReady: () => IbSession;
  /** the session our listeners are attached to (for the 103 re-seed) */
  readonly attached: () => IbSession | null;
  /** the recovery snapshot on `s`, then ids above every order of ours it found (ib.session.ts) */
  readonly recover: (s: IbSession) => Promise<void>;
  /** the gateway reports no managed account: it lost its login (→ WAITING_FOR_LOGIN) */
  readonly loginLost: (detail: string) => void;
}

export class IbOrders {
  private nextOrderId = 0;
  /** the session whose orders were matched (snapshot) and ids placed above them */
  private matchedOn: IbSession | null = null;
  private readonly sendWaiters = new Map<number, Pending<boolean>>();

  constructor(private readonly d: IbOrdersDeps) {}

  /** The next order id this client will use (0 before the first nextValidId). */
  get nextId(): number {
    return this.nextOrderId;
  }

  /** nextValidId from TWS (handshake or reqIds): never lower what we already used. */
  seed(nextValidId: number): void {
    this.nextOrderId = Math.max(this.nextOrderId, nextValidId);
  }

  /**
   * The recovery snapshot of session `s` matched the gateway's orders to ours (orderRef,
   * permId): ids continue above the highest order id of this client it found, whatever
   * nextValidId said (a gateway restart may roll it back; an id of a live order would modify
   * it, a used one is refused with 103). Returns true when that raised the counter.
   */
  matched(s: IbSession, highestOwnId: number): boolean {
    this.matchedOn = s;
    if (highestOwnId < this.nextOrderId) return false;
    this.nextOrderId = highestOwnId + 1;
    return true;
  }

  async placeBracket(req: BracketRequest, permit: SubmitPermit): Promise<readonly PlacedLeg[]> {
    if (!permit || !permit.tokenId || permit.intentId !== req.orderRef) {
      throw new BrokerRefusedError('NO_PERMIT', `no submit permit for orderRef ${req.orderRef}`);
    }
    validateBracket(req);
    const { contract, minTick, conId } = await this.prepareSubmit(req.instrument);
    const entryPrice = req.entryType === 'LMT' ? tickPrice(req.limitPrice, minTick, 'limitPrice') : undefined;
    const stopPrice = tickPrice(req.stopPrice, minTick, 'stopPrice');
    const targetPrice = tickPrice(req.targetPrice, minTick, 'targetPrice');
    const s = this.d.requireReady();
    const parentId = this.allocateIds(3);
    const exit = exitSide(req.side);
    const oca = `phx:${req.orderRef}:${parentId}`;
    const account = this.d.account.accountId ?? undefined;
    const common = { conId, orderRef: req.orderRef, req, account };
    const legs: BuiltLeg[] = [
      buildLeg({ ...common, orderId: parentId, role: 'ENTRY', side: req.side, type: req.entryType, price: entryPrice, parentId: 0, ocaGroup: '', transmit: false }),
      buildLeg({ ...common, orderId: parentId + 1, role: 'TARGET', side: exit, type: 'LMT', price: targetPrice, parentId, ocaGroup: oca, transmit: false }),
      buildLeg({ ...common, orderId: parentId + 2, role: 'STOP', side: exit, type: 'STP', price: stopPrice, parentId, ocaGroup: oca, transmit: true }),
    ];
    return this.sendLegs(s, contract, legs, permit.beforeEntryLeaves);
  }

  async placeOrder(req: SingleOrderRequest): Promise<PlacedLeg> {
    if (req.role === 'ENTRY') {
      throw new BrokerRefusedError('NO_PERMIT', `placeOrder is for exits only; entry ${req.orderRef} needs placeBracket with a permit`);
    }
    validateSingle(req);
    const { contract, minTick, conId } = await this.prepareSubmit(req.instrument);
    const price =
      req.type === 'LMT' ? tickPrice(req.limitPrice, minTick, 'limitPrice') : req.type === 'STP' ? tickPrice(req.stopPrice, minTick, 'stopPrice') : undefined;
    const s = this.d.requireReady();
    const id = this.allocateIds(1);
    const account = this.d.account.accountId ?? undefined;
    const one = buildLeg({ conId, orderId: id, orderRef: req.orderRef, role: req.role, req, side: req.side, type: req.type, price, parentId: 0, ocaGroup: '', transmit: true, account });
    const [leg] = await this.sendLegs(s, contract, [one]);
    if (!leg) throw new Error('placeOrder: no leg');
    return leg;
  }

  /**
   * IBKR modify: the same order id sent again with every field as before and the new total
   * quantity (a changed non-modifiable field would be error 105). Exit legs only, only down.
   */
  async resize(brokerOrderId: string, quantity: number): Promise<void> {
    const book = this.d.book;
    const id = Number(brokerOrderId);
    const rec = Number.isInteger(id) && id > 0 ? book.get(String(id)) : undefined;
    if (!rec) throw new BrokerRefusedError('UNKNOWN_ORDER', `cannot resize ${brokerOrderId}: not an order of this client`);
    const role = book.roleOf(rec);
    if (role === 'ENTRY') throw new BrokerRefusedError('INVALID_REQUEST', `order ${brokerOrderId} is an entry: entries are never resized`);
    if (TERMINAL_STATUSES.has(rec.status)) throw new BrokerRefusedError('NOT_CANCELLABLE', `order ${brokerOrderId} (${rec.orderRef} ${role}) is ${rec.status}`);
    if (quantity === rec.quantity) return; // already that size (e.g. reduced by its OCA group)
    if (!(Number.isInteger(quantity) && quantity > rec.filledQty && quantity < rec.quantity)) {
      throw new BrokerRefusedError('INVALID_REQUEST', `resize of ${brokerOrderId} to ${quantity}: must be a whole number below ${rec.quantity} and above the ${rec.filledQty} already filled`);
    }
    const s = this.d.requireReady();
    const conId = rec.wire.conId || (await this.d.contracts.qualify(rec.instrument)).conId;
    const price = rec.type === 'LMT' ? rec.limitPrice : rec.type === 'STP' ? rec.stopPrice : undefined;
    const order = orderFor(id, rec.orderRef, rec.side, rec.type, price, quantity, rec.parentId, rec.wire, true);
    const sent = this.awaitSent(3, id);
    this.d.requests.paced(s, sent, () => s.ib.placeOrder(id, qualifiedOrderContract(rec.instrument, conId), order));
    if (!(await sent.promise)) this.d.log.warn({ orderId: id }, 'resize handed to the client but not confirmed written');
    book.resized(String(id), quantity);
  }

  async cancel(brokerOrderId: string): Promise<void> {
    const id = Number(brokerOrderId);
    if (!Number.isInteger(id) || id <= 0) {
      throw new BrokerRefusedError('UNKNOWN_ORDER', `cannot cancel ${brokerOrderId}: not an order id of this client`);
    }
    const known = this.d.book.get(String(id));
    if (known && TERMINAL_STATUSES.has(known.status)) {
      throw new BrokerRefusedError('NOT_CANCELLABLE', `order ${brokerOrderId} (${known.orderRef} ${known.role ?? ''}) is ${known.status}`);
    }
    const s = this.d.requireReady();
    const sent = this.awaitSent(4, id);
    this.d.requests.paced(s, sent, () => s.ib.cancelOrder(id));
    if (!(await sent.promise)) this.d.log.warn({ orderId: id }, 'cancel handed to the client but not confirmed written');
  }

  // === listener hooks (events.ts)

  /** The client's `sent` event: PLACE_ORDER (3) / CANCEL_ORDER (4) for an order id reached the socket. */
  onSent(tokens: unknown[], serverVersion: number): void {
    const msgId = Number(tokens?.[0]);
    if (msgId !== 3 && msgId !== 4) return;
    // PLACE_ORDER has a version field below sv 145, CANCEL_ORDER below sv 192
    const versioned = msgId === 3 ? serverVersion < 145 : serverVersion < 192;
    this.sendWaiters.get(msgId * 1e10 + Number(tokens[versioned ? 2 : 1]))?.resolve(true);
  }

  /** 103 (duplicate order id) on `ib`: ask TWS for a fresh nextValidId. */
  onDuplicateId(ib: IBApi): void {
    const s = this.d.attached();
    if (s?.ib === ib) this.d.requests.paced(s, null, () => s.ib.reqIds(1));
  }

  // === internals

  /** Mode, readiness, fresh account check, contract qualification. Throws before anything is sent. */
  private async prepareSubmit(instrument: Instrument): Promise<QualifiedEntry> {
    const account = this.d.account;
    account.assertModeSubmits();
    const s = this.d.requireReady();
    if (this.matchedOn !== s) await this.rematch(s);
    const managed = await account.queryManaged(s);
    if (managed.length === 0) {
      const detail = `${WAITING_FOR_LOGIN_TEXT}: the gateway reports no managed account`;
      this.d.loginLost(detail);
      throw new BrokerUnavailableError(`${detail}; nothing sent`);
    }
    account.verify(managed);
    const q = await this.d.contracts.qualify(instrument);
    account.verify(); // an unsolicited account change may have arrived meanwhile
    if (Math.abs(q.instrument.multiplier - instrument.multiplier) > 1e-9) {
      throw new BrokerRefusedError(
        'MULTIPLIER_MISMATCH',
        `${instrumentKey(instrument)}: the order says multiplier ${instrument.multiplier}, contract ${q.localSymbol ?? q.conId} has ${q.instrument.multiplier}`,
      );
    }
    return q;
  }

  /** The session started without a complete snapshot: match (and place ids) before anything is sent. */
  private async rematch(s: IbSession): Promise<void> {
    try {
      await this.d.recover(s);
    } catch (e) {
      throw new BrokerUnavailableError(`the gateway's orders are not matched to ours yet (${(e as Error).message}); nothing sent`);
    }
  }

  private allocateIds(n: number): number {
    if (this.nextOrderId <= 0) throw new BrokerUnavailableError('order ids not seeded (no nextValidId yet)');
    const first = this.nextOrderId;
    this.nextOrderId += n;
    return first;
  }

  /**
   * Register and send legs in order (the last one transmits the group); resolve once every leg
   * was written to the socket. Connection lost before any leg left → BrokerUnavailableError
   * (nothing reached the broker). Lost after some left → resolve + error event (unknown outcome).
   */
  private async sendLegs(s: IbSession, contract: Contract, legs: readonly BuiltLeg[], lastLook?: () => Promise<void>): Promise<PlacedLeg[]> {
    const { book, requests } = this.d;
    const waits = legs.map(({ leg }) => {
      book.register(leg);
      return this.awaitSent(3, leg.orderId);
    });
    // The entry's last look (INV-KILL-LAST-MOMENT-1) runs when its pacer slot comes up, after
    // every queue and round trip above; a refusal drops the whole bracket unsent.
    let refused: unknown = null;
    legs.forEach(({ leg, order }, i) => {
      const wait = waits[i] ?? null;
      if (i === 0 && lastLook) {
        requests.pacedAfter(s, wait, lastLook, (e) => (refused = e), () => s.ib.placeOrder(leg.orderId, contract, order));
      } else {
        requests.paced(s, wait, () => {
          if (refused) throw refused;
          s.ib.placeOrder(leg.orderId, contract, order);
        });
      }
    });
    const results = await Promise.allSettled(waits.map((w) => w.promise));
    if (refused) {
      for (const { leg } of legs) book.forget(String(leg.orderId));
      throw refused;
    }
    // fulfilled true: written; fulfilled false: handed to the client, write not confirmed (unknown); rejected: never sent
    const maybeSent = results.filter((r) => r.status === 'fulfilled').length;
    const confirmed = results.filter((r) => r.status === 'fulfilled' && r.value).length;
    const placed = legs.map(({ leg }) => ({ role: leg.role, brokerOrderId: String(leg.orderId) }));
    const orderRef = legs[0]?.leg.orderRef ?? '';
    if (confirmed === legs.length) return placed;
    if (maybeSent === 0) {
      throw new BrokerUnavailableError(`connection lost before orderRef ${orderRef} was sent; nothing reached the broker`);
    }
    const message = `orderRef ${orderRef}: ${confirmed}/${legs.length} legs confirmed written (${maybeSent - confirmed} unconfirmed); outcome unknown, reconcile`;
    this.d.log.error({ orderRef, confirmed, maybeSent }, message);
    this.d.emit({ kind: 'error', code: 504, message, orderRef });
    return placed;
  }

  /**
   * true when the client wrote message `msgId` for `orderId` (its `sent` event); false when it was
   * handed to the client but no write was seen within the request timeout (unknown); rejects when
   * the session died first (never written: the session's IBApi and queues are discarded).
   */
  private awaitSent(msgId: number, orderId: number): Pending<boolean> {
    const key = msgId * 1e10 + orderId;
    const p = this.d.requests.pending<boolean>(`send ${msgId}/${orderId}`, 0);
    this.sendWaiters.set(key, p);
    let cancelTimer: Cancel | null = null;
    const forget = (): void => {
      cancelTimer?.();
      this.sendWaiters.delete(key);
    };
    void p.promise.then(forget, forget);
    return {
      ...p,
      arm: () => {
        if (cancelTimer || !this.sendWaiters.has(key)) return;
        cancelTimer = this.d.clock.schedule(this.d.requests.timeoutMs, () => p.resolve(false));
      },
    };
  }
}

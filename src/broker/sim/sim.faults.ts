/**
 * Fault injection for the simulated broker, `broker.faults` (SimFaults):
 *   timeoutNext(n = 1)            next n placements: recorded as PENDING (visible in openOrders
 *                                 and findByOrderRef) but no ack, fill or event at all
 *   releaseTimeouts(): number     late ack + full fill for all of them; lateFill(orderRef) for one
 *   rejectNext(reason?, code?)    ack, then REJECTED with that reason (default 201 margin)
 *   partialNext(ratio)            fills floor(q × ratio), kept strictly partial (0.5 of 2 → 1)
 *   delayNext(ms)                 full fill ms of clock time after the ack
 *   failConnects(n = 1)           the next n connect() calls throw BrokerUnavailableError
 *   disconnect(detail?)           `connection` DISCONNECTED (1100) now; canSubmit false; events
 *                                 produced while down (delayed fills, triggers) are lost, as on
 *                                 a dropped socket; reconnect() → `connection` READY (1102)
 *   spoofPosition(target, q|null) positions() reports q instead of reality (null clears)
 *   setAccount(id, netLiq?)       e.g. 'U1234567', a live account behind a paper Phoenix
 *   setNetLiquidation(n), clear()
 * Placement injections queue up; each placement takes the oldest one instead of its profile.
 *
 * Placement injections (`timeoutNext`, `rejectNext`, `partialNext`, `delayNext`) form one
 * FIFO: each placement (placeBracket or placeOrder) takes the oldest pending injection, if
 * any, instead of drawing from its profile. The other faults act at once through the broker.
 */
import type { Instrument } from '../../engine/index.js';
import { DEFAULT_REJECT, type PlacementOutcome } from './sim.profiles.js';

/** What SimFaults needs from the broker to act on it immediately. */
export interface FaultHost {
  dropConnection(detail: string): void;
  restoreConnection(): void;
  /** Late ack + fill of held (timed-out) placements; all when orderRef is undefined. Returns how many. */
  release(orderRef: string | undefined): number;
  spoof(target: string | Instrument, quantity: number | null): void;
  setAccount(accountId: string | undefined, netLiquidation: number | undefined): void;
  foreign(account: string, instrument: Instrument, quantity: number | null): void;
  /** the broker cancels one working order on its own; false when it is not working */
  cancelByBroker(brokerOrderId: string, reason: string): boolean;
  /** the working remainder of an entry of `orderRef` fills now; false when there is none */
  fillRemainder(orderRef: string): boolean;
}

export class SimFaults {
  private readonly placements: PlacementOutcome[] = [];
  private connectFailures = 0;
  private readonly cancelRaces: ('before' | 'after')[] = [];

  constructor(private readonly host: FaultHost) {}

  /** The next `n` placements are recorded at the broker but nothing is heard: no ack, fill or event. */
  timeoutNext(n = 1): void {
    for (let i = 0; i < n; i++) this.placements.push({ kind: 'TIMEOUT' });
  }

  /** The next placement is acknowledged, then rejected with this reason (no fill). */
  rejectNext(reason: string = DEFAULT_REJECT.reason, code: number = DEFAULT_REJECT.code): void {
    this.placements.push({ kind: 'REJECT', reason, code });
  }

  /** The next placement fills `floor(quantity × ratio)` (kept strictly partial) and leaves the rest working. */
  partialNext(ratio: number): void {
    if (!(ratio > 0 && ratio < 1)) throw new RangeError(`partial ratio must be in (0, 1), got ${ratio}`);
    this.placements.push({ kind: 'PARTIAL', ratio });
  }

  /** The next placement is acknowledged and fills completely `delayMs` of clock time later. */
  delayNext(delayMs: number): void {
    if (!(delayMs >= 0)) throw new RangeError(`delay must be >= 0 ms, got ${delayMs}`);
    this.placements.push({ kind: 'DELAY', delayMs });
  }

  /**
   * The next cancel of an entry that still has something to fill races a fill of it:
   * - `before`: the remainder fills first, then the cancel finds nothing to cancel
   *   (BrokerRefusedError NOT_CANCELLABLE, like IB's "too late to cancel");
   * - `after`: the cancel is confirmed (CANCELLED), then the execution that was already on its
   *   way arrives and the order ends FILLED (IB: a fill can follow a Cancelled status).
   */
  fillNextCancel(n = 1, when: 'before' | 'after' = 'before'): void {
    for (let i = 0; i < n; i++) this.cancelRaces.push(when);
  }

  /** @internal used by SimBroker: how this cancel of a working entry races its fill, if it does. */
  takeCancelRace(): 'before' | 'after' | undefined {
    return this.cancelRaces.shift();
  }

  /** The next `n` calls to connect() fail with BrokerUnavailableError (reconnect exhaustion tests). */
  failConnects(n = 1): void {
    this.connectFailures += n;
  }

  /** Late ack + full fill for every timed-out placement, oldest first. Returns how many were released. */
  releaseTimeouts(): number {
    return this.host.release(undefined);
  }

  /** Late ack + full fill for the timed-out placement(s) of one orderRef; throws if none is held. */
  lateFill(orderRef: string): void {
    if (this.host.release(orderRef) === 0) throw new Error(`no timed-out placement held for orderRef ${orderRef}`);
  }

  /** Connection drops now: `connection` DISCONNECTED event, canSubmit false, later events are lost. */
  disconnect(detail = 'Connectivity between IB and Trader Workstation has been lost.'): void {
    this.host.dropConnection(detail);
  }

  /** Connection comes back: `connection` READY event. */
  reconnect(): void {
    this.host.restoreConnection();
  }

  /**
   * positions() reports `quantity` for this instrument (instrument, instrumentKey or symbol of
   * an instrument the broker has seen) instead of the real one; 0 reports it flat, null
   * removes the spoof. Orders, fills and executions are not affected.
   */
  spoofPosition(target: string | Instrument, quantity: number | null): void {
    this.host.spoof(target, quantity);
  }

  /**
   * positions() also reports `quantity` of `instrument` in ANOTHER managed account (an advisor or
   * family login sees several); null removes it. Phoenix must never net it with its own.
   */
  foreignPosition(account: string, instrument: Instrument, quantity: number | null): void {
    this.host.foreign(account, instrument, quantity);
  }

  /**
   * The broker cancels a working order itself (e.g. a stop cancelled at the exchange, IB 202):
   * a "dead stop". Only that order; returns false when it is not working.
   */
  cancelByBroker(brokerOrderId: string, reason = 'Order Canceled - reason: cancelled by the exchange'): boolean {
    return this.host.cancelByBroker(brokerOrderId, reason);
  }

  /** The working remainder of the entry of `orderRef` fills now at the market (late remainder fill). */
  fillRemainder(orderRef: string): boolean {
    return this.host.fillRemainder(orderRef);
  }

  /** Switch the account behind the session, e.g. `setAccount('U1234567')` (a live id). */
  setAccount(accountId: string, netLiquidation?: number): void {
    this.host.setAccount(accountId, netLiquidation);
  }

  setNetLiquidation(netLiquidation: number): void {
    this.host.setAccount(undefined, netLiquidation);
  }

  /** Forget every pending placement injection and connect failure (spoofs stay: clear them with null). */
  clear(): void {
    this.placements.length = 0;
    this.connectFailures = 0;
    this.cancelRaces.length = 0;
  }

  /** @internal used by SimBroker: the injection for the placement being made, if any. */
  takePlacement(): PlacementOutcome | undefined {
    return this.placements.shift();
  }

  /** @internal used by SimBroker: whether this connect() attempt must fail. */
  takeConnectFailure(): boolean {
    if (this.connectFailures === 0) return false;
    this.connectFailures--;
    return true;
  }
}

/**
 * Request plumbing shared by every part of the adapter: request ids, promises that time out or
 * die with the session (`pending`), and the session's Pacer as the only way onto the socket
 * (`paced`, `pacedAfter`). Nothing here knows what a request means.
 */
import { BrokerUnavailableError, type Cancel, type Clock } from '../../engine/index.js';
import type { IbSession } from './connection.js';

export interface Pending<T> {
  readonly promise: Promise<T>;
  resolve(v: T): void;
  reject(e: Error): void;
  /** start the timeout (deferred pendings start it when their request is actually sent) */
  arm(): void;
}

/** Request ids of our own (contract details, executions, account summary), far from order ids. */
const FIRST_REQ_ID = 1_900_000_000;

export class IbRequests {
  private readonly inflight = new Set<(e: Error) => void>();
  private reqSeq = FIRST_REQ_ID;

  constructor(
    private readonly clock: Clock,
    /** default timeout of request/response exchanges */
    readonly timeoutMs: number,
    /** the session our listeners are attached to is still `s` */
    private readonly isCurrent: (s: IbSession) => boolean,
    /** asked right before every write to the socket: a reason not to send, or null (IbkrBrokerOptions.sendGate) */
    private readonly sendGate?: () => string | null,
  ) {}

  /** The send gate refuses: nothing is written. */
  private gate(): void {
    const why = this.sendGate?.();
    if (why) throw new BrokerUnavailableError(`not sent: ${why}`);
  }

  nextReqId(): number {
    return this.reqSeq++;
  }

  /** The session is gone: every pending exchange fails with `err`. */
  abortAll(err: Error): void {
    for (const abort of [...this.inflight]) abort(err);
  }

  /**
   * Queue a request on the session's pacer; `p` (if any) is armed when sent, rejected if the
   * session is gone or `send` throws (then nothing was written).
   */
  paced(s: IbSession, p: Pending<unknown> | null, send: () => void): void {
    const queued = s.pacer.run(() => {
      try {
        this.gate();
        send();
      } catch (e) {
        p?.reject(e as Error);
        return;
      }
      p?.arm();
    });
    if (!queued) p?.reject(new BrokerUnavailableError('connection to TWS/IB Gateway lost; request not sent'));
  }

  /** Like `paced`, but `check` is awaited in the pacer slot first (holding the queue); a refusal is reported and nothing is sent. */
  pacedAfter(s: IbSession, p: Pending<unknown> | null, check: () => Promise<void>, onRefused: (e: unknown) => void, send: () => void): void {
    const queued = s.pacer.run(async () => {
      try {
        await check();
      } catch (e) {
        onRefused(e);
        p?.reject(e as Error);
        return;
      }
      if (s.pacer.isClosed || !this.isCurrent(s)) {
        p?.reject(new BrokerUnavailableError('connection to TWS/IB Gateway lost during the last look; request not sent'));
        return;
      }
      try {
        this.gate();
      } catch (e) {
        onRefused(e);
        p?.reject(e as Error);
        return;
      }
      send();
      p?.arm();
    });
    if (!queued) p?.reject(new BrokerUnavailableError('connection to TWS/IB Gateway lost; request not sent'));
  }

  /**
   * A promise that rejects on timeout (0 = none) or when the session is lost. `deferred`: the
   * timeout starts at arm() (when the request actually leaves the pacer), not now.
   */
  pending<T>(label: string, timeoutMs: number = this.timeoutMs, deferred = false): Pending<T> {
    let resolveFn!: (v: T) => void;
    let rejectFn!: (e: Error) => void;
    const promise = new Promise<T>((res, rej) => {
      resolveFn = res;
      rejectFn = rej;
    });
    let cancelTimer: Cancel | null = null;
    let done = false;
    const settle = (): void => {
      done = true;
      cancelTimer?.();
      this.inflight.delete(abort);
    };
    const abort = (e: Error): void => {
      if (done) return;
      settle();
      rejectFn(e);
    };
    this.inflight.add(abort);
    const arm = (): void => {
      if (done || cancelTimer || timeoutMs <= 0) return;
      cancelTimer = this.clock.schedule(timeoutMs, () => abort(new BrokerUnavailableError(`${label} timed out after ${timeoutMs} ms`)));
    };
    if (!deferred) arm();
    promise.catch(() => undefined); // callers may not attach before a synchronous abort
    return {
      promise,
      resolve: (v: T) => {
        if (done) return;
        settle();
        resolveFn(v);
      },
      reject: abort,
      arm,
    };
  }
}

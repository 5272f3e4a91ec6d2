/**
 * What TWS knows, asked for in one go: the recovery snapshot (open + completed orders, then
 * today's executions: restart recovery and every findByOrderRef), positions, and the `sync`
 * barrier (a REQ_CURRENT_TIME round trip through the same FIFO). The answers themselves land
 * in the order book through the listeners (events.ts); this part only waits for the "end"
 * markers. Every exchange is single flight.
 */
import type { Contract } from '@stoqey/ib';
import type { BrokerPosition, Instrument } from '../../engine/index.js';
import type { IbSession } from './connection.js';
import { contractToInstrument } from './ib.parse.js';
import type { IbRequests, Pending } from './ib.requests.js';

export class IbSnapshot {
  private syncWaiters: Array<Pending<void>> = [];
  private openOrderEndWaiters: Array<Pending<void>> = [];
  private completedEndWaiters: Array<Pending<void>> = [];
  private readonly execEndWaiters = new Map<number, Pending<void>>();
  private snapshotInFlight: Promise<void> | null = null;
  private positionCollector: { rows: BrokerPosition[]; done: Pending<void> } | null = null;
  private positionsInFlight: Promise<BrokerPosition[]> | null = null;

  constructor(
    private readonly requests: IbRequests,
    private readonly isCurrent: (s: IbSession) => boolean,
    private readonly instrumentFor: (conId: number | undefined) => Instrument | undefined,
  ) {}

  /** Open + completed orders, then today's executions (restart recovery, findByOrderRef). */
  refresh(s: IbSession): Promise<void> {
    if (this.snapshotInFlight) return this.snapshotInFlight;
    const r = this.requests;
    const p = (async () => {
      const open = r.pending<void>('open orders', r.timeoutMs, true);
      const completed = r.pending<void>('completed orders', r.timeoutMs, true);
      this.openOrderEndWaiters.push(open);
      this.completedEndWaiters.push(completed);
      r.paced(s, open, () => s.ib.reqAllOpenOrders());
      r.paced(s, completed, () => s.ib.reqCompletedOrders(true));
      await Promise.all([open.promise, completed.promise]);
      const reqId = r.nextReqId();
      const execs = r.pending<void>('executions', r.timeoutMs, true);
      this.execEndWaiters.set(reqId, execs);
      try {
        r.paced(s, execs, () => s.ib.reqExecutions(reqId, {}));
        await execs.promise;
      } finally {
        this.execEndWaiters.delete(reqId);
      }
    })().finally(() => {
      if (this.snapshotInFlight === p) this.snapshotInFlight = null;
    });
    this.snapshotInFlight = p;
    return p;
  }

  /** Resolves once TWS answered everything queued on `s` before this call. */
  async sync(s: IbSession): Promise<void> {
    const p = this.requests.pending<void>('sync', this.requests.timeoutMs, true);
    this.syncWaiters.push(p);
    this.requests.paced(s, p, () => s.ib.reqCurrentTime());
    await p.promise;
  }

  /** `session` is asked for only when no query is in flight (one in flight is shared). */
  positions(session: () => IbSession): Promise<readonly BrokerPosition[]> {
    if (this.positionsInFlight) return this.positionsInFlight;
    const s = session();
    const r = this.requests;
    const p = (async () => {
      const done = r.pending<void>('positions', r.timeoutMs, true);
      const rows: BrokerPosition[] = [];
      this.positionCollector = { rows, done };
      try {
        r.paced(s, done, () => s.ib.reqPositions());
        await done.promise;
        return rows.filter((row) => row.quantity !== 0);
      } finally {
        this.positionCollector = null;
        if (this.isCurrent(s)) r.paced(s, null, () => s.ib.cancelPositions());
      }
    })().finally(() => {
      this.positionsInFlight = null;
    });
    this.positionsInFlight = p;
    return p;
  }

  // === listener hooks (events.ts)

  onCurrentTime(): void {
    this.syncWaiters.shift()?.resolve();
  }

  onOpenOrderEnd(): void {
    this.openOrderEndWaiters.shift()?.resolve();
  }

  onCompletedOrdersEnd(): void {
    this.completedEndWaiters.shift()?.resolve();
  }

  onExecDetailsEnd(reqId: number): void {
    this.execEndWaiters.get(reqId)?.resolve();
  }

  onPosition(account: string, contract: Contract, pos: number, avgCost?: number): void {
    const c = this.positionCollector;
    if (!c) return;
    const instrument = this.instrumentFor(contract.conId) ?? contractToInstrument(contract);
    if (!instrument) return;
    c.rows.push({ account, instrument, quantity: pos ?? 0, avgCost: avgCost ?? 0 });
  }

  onPositionEnd(): void {
    this.positionCollector?.done.resolve();
  }
}

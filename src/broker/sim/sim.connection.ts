/**
 * The simulated broker's connection: its state, and what happens to events while it is down —
 * lost, as on a dropped socket, or kept and replayed after the reconnect like the IBKR adapter
 * does (`replayOnReconnect`): the latest status of each order that changed, then the executions.
 */
import { BrokerUnavailableError, type BrokerEvent, type ConnectionState } from '../../engine/index.js';
import type { EventQueue } from './sim.events.js';

export class SimConnection {
  state: ConnectionState = 'DISCONNECTED';
  detail = 'not connected';
  private missed: BrokerEvent[] = [];

  constructor(
    private readonly events: EventQueue,
    private readonly replayOnReconnect: boolean,
    /** before any event leaves: the book is saved first, so the engine never books what the broker would forget */
    private readonly beforeEmit: () => void,
  ) {}

  emit(e: BrokerEvent): void {
    this.beforeEmit();
    if (this.state === 'READY' || e.kind === 'connection') this.events.push(e);
    else if (this.replayOnReconnect) this.missed.push(e);
  }

  /** After a reconnect: the latest status of each order that changed while down, then the executions. */
  replayMissed(): void {
    const missed = this.missed;
    this.missed = [];
    const latest = new Map<string, BrokerEvent>();
    for (const e of missed) if (e.kind === 'orderStatus') latest.set(e.brokerOrderId, e);
    for (const e of latest.values()) this.events.push(e);
    for (const e of missed) if (e.kind !== 'orderStatus') this.events.push(e);
  }

  setState(state: ConnectionState, detail: string, code?: number): void {
    this.state = state;
    this.detail = detail;
    this.emit({ kind: 'connection', state, detail, ...(code !== undefined ? { code } : {}) });
  }

  requireReady(op: string): void {
    if (this.state !== 'READY') throw new BrokerUnavailableError(`simulated broker is ${this.state}: ${op} not sent`);
  }
}

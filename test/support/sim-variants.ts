/**
 * Simulated brokers that behave like IBKR does on a bad day, for the money tests: events that
 * never reach Phoenix (a dropped connection), and commission reports that come late.
 */
import { SimBroker, type SimBrokerOptions } from '../../src/broker/sim/index.js';
import type { BrokerEvent } from '../../src/engine/broker.port.js';
import { seededRandom } from '../../src/engine/ports.js';

type Clock = SimBrokerOptions['clock'];
type Listener = (e: BrokerEvent) => void;

const defaults = (clock: Clock, seed: number): SimBrokerOptions => ({ clock, random: seededRandom(seed), profile: 'INSTANT', prices: { MES: 6010.25, MNQ: 21010.25 } });

/** Events are produced at the broker but not delivered while `muted` (a dropped socket). */
export class MutedSim extends SimBroker {
  muted = false;
  constructor(clock: Clock, seed = 11) {
    super(defaults(clock, seed));
  }
  override onEvent(listener: Listener): () => void {
    return super.onEvent((e) => {
      if (!this.muted || e.kind === 'connection') listener(e);
    });
  }
}

/** Fills arrive with commission 0; their COMMISSION_REPORT only when `releaseCommissions()` is called. */
export class LateCommissionSim extends SimBroker {
  private readonly listeners = new Set<Listener>();
  private held: Extract<BrokerEvent, { kind: 'commission' }>[] = [];
  constructor(clock: Clock, seed = 13) {
    super(defaults(clock, seed));
  }
  override onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    const off = super.onEvent((e) => {
      if (e.kind !== 'fill') return listener(e);
      if (e.fill.commission > 0) this.held.push({ kind: 'commission', orderRef: e.fill.orderRef, execId: e.fill.execId, commission: e.fill.commission });
      listener({ kind: 'fill', fill: { ...e.fill, commission: 0 } });
    });
    return () => {
      this.listeners.delete(listener);
      off();
    };
  }
  releaseCommissions(): number {
    const out = this.held;
    this.held = [];
    for (const e of out) for (const l of this.listeners) l(e);
    return out.length;
  }
}

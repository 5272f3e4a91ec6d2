/**
 * Runs the invariants against the world: after every step (`afterStep`), every simulated second
 * while time runs (`tick`), and at the broker's door (`observer`). Collects violations; the
 * runner stops at the first step that has any.
 */
import type { IntentRecord, StoredBead } from '../src/engine/index.js';
import type { Act } from './actions.js';
import { allInvariants } from './invariants/index.js';
import { truthCache, type Invariant, type SimView, type Truth } from './invariants/types.js';
import type { BrokerObserver } from './process-broker.js';
import type { Violation, World } from './world.js';

export class Checker {
  readonly invariants: Invariant[];
  private readonly only: ReadonlySet<string> | null;
  private lastSeq = 0;
  /** every spoof's interval (the driver records them) */
  readonly spoofLog: { symbol: string; from: number; to: number | null }[] = [];
  private readonly found: Violation[] = [];
  /** which invariants run (all by default) */
  constructor(
    private readonly world: World,
    readonly spoofs: Map<string, number>,
    only?: readonly string[],
  ) {
    // all of them always run (their clocks decide when time may leap, so a replay must see the
    // same ones); `only` just keeps the others quiet
    this.invariants = allInvariants();
    this.only = only ? new Set(only) : null;
    this.truth = truthCache(world.broker);
  }

  private readonly truth: () => Truth;

  private view(newBeads: readonly StoredBead[] = []): SimView {
    const w = this.world;
    const reader = w.reader;
    if (!reader) throw new Error('world not started');
    const truthNow = this.truth;
    let truth: Truth | undefined;
    let booked: Set<string> | undefined;
    const intents = new Map<string, IntentRecord | null>();
    return {
      now: w.now(),
      reader,
      broker: w.broker,
      constitution: w.constitution,
      calendar: w.calendar,
      telegram: w.telegram,
      aliveSince: w.aliveSince,
      brokerReadySince: w.brokerReadySince,
      spoofs: this.spoofs,
      spoofedBetween: (from, to) => this.spoofs.size > 0 || this.spoofLog.some((x) => x.from <= to && (x.to === null || x.to >= from)),
      get truth() {
        return (truth ??= truthNow());
      },
      intent(id) {
        if (!intents.has(id)) intents.set(id, reader.intent(id));
        return intents.get(id) ?? null;
      },
      isBooked(execId) {
        booked ??= new Set(reader.all(`SELECT execId FROM "Fill"`).map((r) => String(r.execId)));
        return booked.has(execId);
      },
      newBeads,
    };
  }

  private reporter(id: string) {
    if (this.only && !this.only.has(id)) return () => {};
    return (message: string) => this.found.push({ id, message });
  }

  readonly observer: BrokerObserver = {
    entryLeaving: (orderRef) => {
      if (!this.world.reader) return null;
      const v = this.view();
      for (const inv of this.invariants) inv.entryLeaving?.(v, orderRef, this.reporter(inv.id));
      return orderRef;
    },
    entryLeft: () => {},
    mutation: (m) => {
      if (!this.world.reader) return;
      const v = this.view();
      for (const inv of this.invariants) inv.mutation?.(v, m, this.reporter(inv.id));
    },
  };

  /** After a step: every check, and the acts' own promises. */
  afterStep(acts: readonly Act[], aliveThrough: boolean): Violation[] {
    const w = this.world;
    const newBeads = w.reader!.beadsAfter(this.lastSeq);
    if (newBeads.length) this.lastSeq = newBeads[newBeads.length - 1]!.seq;
    const v = this.view(newBeads);
    for (const inv of this.invariants) {
      const report = this.reporter(inv.id);
      inv.check?.(v, report);
      inv.timed?.(v, report);
      for (const a of acts) inv.afterAct?.(v, a, aliveThrough, report);
    }
    return this.take();
  }

  /** A simulated second passed (time runs): the timed checks. */
  tick(): Violation[] {
    const v = this.view();
    for (const inv of this.invariants) inv.timed?.(v, this.reporter(inv.id));
    return this.take();
  }

  /** The timed checks whose clock runs now (the driver must not leap while there is any). */
  runningIds(): string[] {
    const v = this.view();
    return this.invariants.filter((i) => i.running?.(v) === true).map((i) => i.id);
  }

  private take(): Violation[] {
    const pending = this.world.pending.splice(0).filter((v) => !this.only || this.only.has(v.id));
    return [...pending, ...this.found.splice(0)];
  }
}

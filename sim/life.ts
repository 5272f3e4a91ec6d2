/**
 * The life of one simulated Phoenix process, and how it ends. A kill is armed by an action
 * ("die at the 3rd store transaction from now, just before it commits"; "after the 2nd broker
 * call returns") and fires when that point is reached, wherever in the code it is. From then on
 * the process runs nothing: its timers are cancelled and every call it makes into the store,
 * the broker or Telegram never returns (a promise that never settles is what a dead process's
 * continuation looks like). Whatever it had committed stays in the database file; whatever the
 * broker or Telegram had received stays there.
 */
export type KillPoint = 'commit' | 'broker';
export type KillPhase = 'before' | 'after';

export interface KillPlan {
  readonly on: KillPoint;
  /** absolute count of that kind of call at which to die */
  readonly at: number;
  readonly phase: KillPhase;
}

/** A promise that never settles: the continuation of a dead process. */
export function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}

export class Life {
  alive = true;
  /** store transactions started / broker calls made by this process */
  readonly calls: Record<KillPoint, number> = { commit: 0, broker: 0 };
  private plan: KillPlan | null = null;
  private readonly onDeath: (() => void)[] = [];
  /** where it died, for the history */
  deathNote: string | null = null;

  constructor(readonly generation: number, readonly bornAt: number) {}

  /** Arm a kill `n` calls from now (n ≥ 1), replacing an earlier plan. */
  arm(on: KillPoint, n: number, phase: KillPhase): void {
    this.plan = { on, at: this.calls[on] + Math.max(1, n), phase };
  }

  /** Count a call and return its number. */
  count(on: KillPoint): number {
    return ++this.calls[on];
  }

  /** Whether call `n` of kind `on` is where this process dies, in `phase`. */
  dueAt(on: KillPoint, n: number, phase: KillPhase): boolean {
    const p = this.plan;
    return this.alive && p !== null && p.on === on && p.at === n && p.phase === phase;
  }

  whenDead(fn: () => void): void {
    if (!this.alive) fn();
    else this.onDeath.push(fn);
  }

  die(note: string): void {
    if (!this.alive) return;
    this.alive = false;
    this.deathNote = note;
    this.plan = null;
    for (const fn of this.onDeath.splice(0)) fn();
  }
}

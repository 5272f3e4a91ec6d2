/**
 * Readiness of the process (SPEC 17): /healthz answers 503 until every part that must run
 * (the bot, the alert sender, the jobs) says it runs. The service marks the parts as it starts
 * them, and marks them stopped on the way down so a load balancer drains before the exit.
 * Kept outside the engine: it is about this process, not about trading state.
 */

/** `on-leader`: a follower on PostgreSQL (issue 18): the leader process runs this part; counts as ready */
export type PartState = 'waiting' | 'running' | 'disabled' | 'on-leader' | 'stopped';

/** What /healthz reads. */
export interface ReadinessView {
  readonly ready: boolean;
  /** part → state, in registration order */
  parts(): Readonly<Record<string, PartState>>;
  /** parts that keep the process from being ready, in plain words */
  blocking(): string[];
}

const LABELS: Record<string, string> = { bot: 'the bot', alerts: 'the alert sender', jobs: 'the jobs' };

export class Readiness implements ReadinessView {
  private readonly states = new Map<string, PartState>();

  /** `parts`: what must run before the process is ready (e.g. bot, alerts, jobs). */
  constructor(parts: readonly string[]) {
    for (const p of parts) this.states.set(p, 'waiting');
  }

  /** Nothing to wait for (a bare intake server in tests and tools). */
  static none(): Readiness {
    return new Readiness([]);
  }

  /** `disabled` counts as ready: the caller turned that part off on purpose (tests). */
  set(part: string, state: PartState): void {
    if (!this.states.has(part)) throw new Error(`readiness: unknown part ${part} (known: ${[...this.states.keys()].join(', ')})`);
    this.states.set(part, state);
  }

  /** Mark every part stopped (shutdown: stop taking traffic first). */
  stopAll(): void {
    for (const p of this.states.keys()) this.states.set(p, 'stopped');
  }

  get ready(): boolean {
    return this.blocking().length === 0;
  }

  parts(): Readonly<Record<string, PartState>> {
    return Object.fromEntries(this.states);
  }

  blocking(): string[] {
    const out: string[] = [];
    for (const [p, s] of this.states) if (s === 'waiting' || s === 'stopped') out.push(`${LABELS[p] ?? p} ${s === 'waiting' ? 'not running yet' : 'stopped'}`);
    return out;
  }
}

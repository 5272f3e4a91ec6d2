/**
 * Fault injection: a FIFO of one-shot (or N-shot) faults plus an optional outage window.
 * The server asks `next(method)` before running a bot call and acts out what it gets back.
 *
 * A fault without `method` matches every method EXCEPT getUpdates: the idle long-poll loop
 * would otherwise swallow faults meant for sendMessage. Name getUpdates explicitly to hit it.
 */
import type { SandboxClock } from './rate-limit.js';

export type FaultKind = '429' | '5xx' | 'timeout' | 'delay' | 'network';

export interface Fault {
  method?: string | RegExp;
  kind: FaultKind;
  /** how many matching calls it affects (default 1) */
  count?: number;
  /** seconds, for '429' (default 1) */
  retryAfter?: number;
  /** HTTP status for '5xx' (default 502) */
  status?: number;
  /** real milliseconds for 'delay' (default 1000) */
  delayMs?: number;
}

export interface Outage extends Omit<Fault, 'count'> {
  /** clock ms at which the outage ends; omitted = until setOutage(undefined) */
  until?: number;
}

export function methodMatches(pattern: string | RegExp | undefined, method: string): boolean {
  if (pattern === undefined) return method !== 'getUpdates';
  if (typeof pattern === 'string') return pattern.toLowerCase() === method.toLowerCase();
  pattern.lastIndex = 0; // a /g regex must not remember previous matches
  return pattern.test(method);
}

/** Holds the queue tests push into (`sandbox.faults`) and the current outage. */
export class FaultInjector {
  readonly queue: Fault[] = [];
  private outage: Outage | undefined;

  constructor(private readonly clock: SandboxClock) {}

  setOutage(outage: Outage | undefined): void {
    this.outage = outage;
  }

  /** The fault to act out for this call, consuming one use of a queued fault. */
  next(method: string): Fault | undefined {
    const o = this.outage;
    if (o) {
      if (o.until !== undefined && this.clock.now() >= o.until) this.outage = undefined;
      else if (methodMatches(o.method, method)) return o;
    }
    const index = this.queue.findIndex((f) => methodMatches(f.method, method));
    if (index === -1) return undefined;
    const fault = this.queue[index] as Fault;
    const left = (fault.count ?? 1) - 1;
    if (left > 0) this.queue[index] = { ...fault, count: left };
    else this.queue.splice(index, 1);
    return fault;
  }

  clear(): void {
    this.queue.length = 0;
    this.outage = undefined;
  }
}

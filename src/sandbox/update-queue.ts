/**
 * Pending updates with Telegram's delivery semantics: an update stays queued (and is
 * re-delivered) until a getUpdates `offset` above its id confirms it; `allowed_updates`
 * filters updates when they are created; long polls wait for the next update.
 */
import { ApiError } from './api-error.js';
import type { TgUpdate, UpdateKind } from './types.js';

/** Types delivered when allowed_updates is [] (everything except the opt-in kinds). */
const OPT_IN_KINDS = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);

interface Poller {
  wake: () => void;
  /** ends this poll with an error (a newer getUpdates took over) */
  terminate: (err: ApiError) => void;
}

export class UpdateQueue {
  private pending: TgUpdate[] = [];
  private nextId = 1;
  private allowed: Set<string> | undefined;
  private poller: Poller | undefined;
  private listeners = new Set<() => void>();

  /** Remember allowed_updates like Telegram: undefined keeps the previous value, [] resets. */
  setAllowed(list: unknown): void {
    if (list === undefined || list === null) return;
    this.allowed = Array.isArray(list) && list.length > 0 ? new Set(list.map(String)) : undefined;
  }

  allowedUpdates(): string[] | undefined {
    return this.allowed ? [...this.allowed] : undefined;
  }

  private isAllowed(kind: UpdateKind): boolean {
    return this.allowed ? this.allowed.has(kind) : !OPT_IN_KINDS.has(kind);
  }

  /** Queue an update unless the bot opted out of its type. Returns it, or undefined when filtered. */
  enqueue<K extends UpdateKind>(kind: K, payload: NonNullable<TgUpdate[K]>): TgUpdate | undefined {
    if (!this.isAllowed(kind)) return undefined;
    const update = { update_id: this.nextId++, [kind]: payload } as TgUpdate;
    this.pending.push(update);
    this.poller?.wake();
    for (const l of [...this.listeners]) l();
    return update;
  }

  onEnqueue(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** getUpdates offset: positive confirms ids below it; negative keeps only the last |offset|. */
  confirm(offset: number | undefined): void {
    if (offset === undefined || offset === 0) return;
    if (offset > 0) this.pending = this.pending.filter((u) => u.update_id >= offset);
    else this.pending = this.pending.slice(offset);
  }

  /** Drop one delivered update (webhook mode confirms by 2xx). */
  remove(updateId: number): void {
    this.pending = this.pending.filter((u) => u.update_id !== updateId);
  }

  peek(limit: number): TgUpdate[] {
    return this.pending.slice(0, limit).map((u) => structuredClone(u));
  }

  get size(): number {
    return this.pending.length;
  }

  dropAll(): void {
    this.pending = [];
  }

  /** End the pending long poll, if any, with `err` (e.g. a webhook was just set). */
  terminatePoll(err: ApiError): void {
    this.poller?.terminate(err);
  }

  /**
   * Wait until an update is queued, `timeoutMs` passes, or `signal` aborts. Like Telegram, a
   * newer long poll terminates an older one with 409.
   */
  wait(timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (this.pending.length > 0 || timeoutMs <= 0 || signal.aborted) return Promise.resolve();
    this.poller?.terminate(
      new ApiError(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running'),
    );
    return new Promise<void>((resolve, reject) => {
      const done = (err?: ApiError): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (this.poller === me) this.poller = undefined;
        if (err) reject(err);
        else resolve();
      };
      const onAbort = (): void => done();
      const me: Poller = { wake: () => done(), terminate: (err) => done(err) };
      const timer = setTimeout(() => done(), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.poller = me;
    });
  }
}

/**
 * Publishing audit anchors outside the database (SAFE-12, INV-AUDIT-ANCHOR-1).
 *
 * When: after EVERY committed transaction that appended beads, the store calls
 * `AnchorPublisher.committed` with the range it appended, and a `commit` line goes to the
 * journal file (and the URL). A head anchored only once a day would let someone append beads
 * after it unnoticed; a line per commit makes every bead attributable to a Phoenix process,
 * so one that no line covers is forged (or was written in the instant before a crash, which
 * start-up adopts and alerts about). On clean shutdown `flush` writes what is still queued.
 *
 * Never on the engine's critical path: `committed` only formats a line and queues it (a few
 * µs; measured in docs/AUDIT.md). The file is appended asynchronously, batching whatever
 * queued up meanwhile; the URL gets batches, one request at a time. Failures are logged (the
 * URL only by its origin: a path or query may hold a token) and retried; they never reach
 * the engine. Lines that could never be written leave beads unanchored, and verify says so.
 */
import { appendFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { anchorLine, type AnchorLine, type Clock, type CommittedBeads, type Logger } from '../engine/index.js';

/** Lines kept while a destination is failing; beyond this the oldest are dropped (and logged). */
const MAX_QUEUED = 100_000;
const RETRY_MS = 5_000;
const LOG_EVERY_MS = 60_000;

export interface AnchorSink {
  write(lines: readonly string[]): void;
  /** wait for queued lines (bounded: a dead URL does not hold up shutdown) */
  flush(): Promise<void>;
}

/** Appends lines to a file; one append in flight, batching what queued up meanwhile. */
export class AnchorFileSink implements AnchorSink {
  private queue: string[] = [];
  private running: Promise<void> | null = null;
  private retry: NodeJS.Timeout | null = null;
  private lastLog = -Infinity;

  constructor(
    readonly path: string,
    private readonly logger: Logger,
  ) {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (e) {
      // not fatal: a mount that is not there yet fails the appends, which are logged and retried
      logger.error({ path, err: (e as NodeJS.ErrnoException).code ?? (e as Error).message }, 'audit anchor file: cannot create its directory');
    }
  }

  write(lines: readonly string[]): void {
    this.queue.push(...lines);
    if (this.queue.length > MAX_QUEUED) {
      const dropped = this.queue.splice(0, this.queue.length - MAX_QUEUED).length;
      this.logger.error({ path: this.path, dropped }, 'audit anchor file: lines dropped (the file cannot be written); those beads will verify as not anchored');
    }
    this.kick();
  }

  private kick(): void {
    if (this.running || this.retry || !this.queue.length) return;
    this.running = this.drain().finally(() => {
      this.running = null;
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.slice();
      try {
        await appendFile(this.path, batch.join(''), { mode: 0o640 });
        this.queue.splice(0, batch.length);
      } catch (e) {
        const now = Date.now();
        if (now - this.lastLog > LOG_EVERY_MS) {
          this.lastLog = now;
          this.logger.error({ path: this.path, err: (e as NodeJS.ErrnoException).code ?? (e as Error).message, queued: this.queue.length }, 'audit anchor file: append failed; retrying');
        }
        this.retry = setTimeout(() => {
          this.retry = null;
          this.kick();
        }, RETRY_MS);
        this.retry.unref();
        return;
      }
    }
  }

  async flush(): Promise<void> {
    if (this.retry) {
      clearTimeout(this.retry);
      this.retry = null;
      this.kick(); // one last attempt
    }
    while (this.running) await this.running;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
  }
}

/** What the URL is called in logs: its origin only (no user, password, path or query). */
export function urlForLogs(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * POSTs lines as NDJSON (the body is journal lines: a receiver that appends bodies to a file
 * has a journal `phoenix audit verify --anchor FILE` reads). One request at a time, at most
 * one a second, backing off to a minute while it fails.
 */
export class AnchorUrlSink implements AnchorSink {
  private queue: string[] = [];
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private lastStart = -Infinity;
  private lastLog = -Infinity;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    private readonly opts: { readonly fetch?: typeof fetch; readonly timeoutMs?: number; readonly minGapMs?: number } = {},
  ) {}

  write(lines: readonly string[]): void {
    this.queue.push(...lines);
    if (this.queue.length > MAX_QUEUED) this.queue.splice(0, this.queue.length - MAX_QUEUED);
    this.schedule();
  }

  private schedule(): void {
    if (this.closed || this.running || this.timer || !this.queue.length) return;
    const backoff = this.failures ? Math.min(60_000, 1000 * 2 ** (this.failures - 1)) : 0;
    const wait = Math.max(backoff, this.lastStart + (this.opts.minGapMs ?? 1000) - Date.now(), 0);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.post().finally(() => {
        this.running = null;
        this.schedule();
      });
    }, wait);
    this.timer.unref();
  }

  private async post(timeoutMs = this.opts.timeoutMs ?? 10_000): Promise<void> {
    if (!this.queue.length) return;
    this.lastStart = Date.now();
    const batch = this.queue.slice(0, 1000);
    try {
      const res = await (this.opts.fetch ?? fetch)(this.url, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: batch.join(''), signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel().catch(() => {});
      if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
      this.queue.splice(0, batch.length);
      if (this.failures) this.logger.info({ url: urlForLogs(this.url) }, 'audit anchor URL reachable again');
      this.failures = 0;
    } catch (e) {
      this.failures++;
      const now = Date.now();
      if (now - this.lastLog > LOG_EVERY_MS) {
        this.lastLog = now;
        // the origin and a status or error code only: never the path, query or body
        const err = e as Error & { status?: number; cause?: { code?: string } };
        this.logger.warn({ url: urlForLogs(this.url), status: err.status, code: err.cause?.code ?? (err.name === 'TimeoutError' ? 'TIMEOUT' : undefined), queued: this.queue.length }, 'audit anchor URL: POST failed; retrying');
      }
    }
  }

  async flush(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running) await this.running;
    if (this.queue.length) await this.post(3_000); // one bounded last try
  }
}

/**
 * The store's `onBeadsCommitted` target: one `commit` line per committed transaction to
 * every configured destination. `line` publishes other kinds (start, adopt).
 */
export class AnchorPublisher {
  constructor(
    private readonly sinks: readonly AnchorSink[],
    private readonly clock: Clock,
  ) {}

  get enabled(): boolean {
    return this.sinks.length > 0;
  }

  readonly committed = (c: CommittedBeads): void => {
    if (this.sinks.length) this.line(anchorLine('commit', c, this.clock.now()));
  };

  line(l: AnchorLine): void {
    const text = `${JSON.stringify(l)}\n`;
    for (const s of this.sinks) s.write([text]);
  }

  async flush(): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.flush()));
  }
}

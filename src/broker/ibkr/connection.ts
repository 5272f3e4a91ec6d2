/**
 * IbConnection: one TWS/IB Gateway session at a time, its ConnectionState, and reconnects.
 *
 * - connect(): fresh IBApi, TCP connect, wait for nextValidId (+ managed accounts) within
 *   connectTimeoutMs, then the owner's `ready` hook (account guard, id seeding, recovery) →
 *   READY. Failure → DOWN with a clear detail. A fresh IBApi per session means nothing queued
 *   for a dead socket (the client's rate-limit FIFO, its paused command buffer) can leak into
 *   the next one.
 * - socket drop while READY/PAUSED → DISCONNECTED, then at most `maxAttempts` reconnects with
 *   exponential backoff (base·2^(n−1), capped); all failed → DOWN (attempt = maxAttempts), and it
 *   stays DOWN until connect() is called again (a human action). INV-IBKR-RECONNECT-1.
 * - 1100/2110 → PAUSED; 1101/1102 → READY with the code (the engine reconciles on it).
 * Every transition is reported through `emit` as a `connection` event, with `attempt` for
 * reconnect attempts, so the engine can write IBKR_SESSION beads.
 */
import { EventName, IBApi } from '@stoqey/ib';
import type { BrokerEvent, ConnectionState } from '../../engine/broker.port.js';
import type { Cancel, Clock, Logger } from '../../engine/ports.js';
import { classifyIbCode } from './ib.errors.js';
import { Pacer } from './pacer.js';

/** @stoqey/ib's own limiter, a backstop behind our Pacer (IBKR's limit is 50/s). */
const CLIENT_MAX_REQ_PER_SEC = 40;

export interface ReconnectPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = Object.freeze({ maxAttempts: 3, baseDelayMs: 2000, maxDelayMs: 30000 });

export interface IbConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly clientId: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly connectTimeoutMs: number;
  readonly reconnect: ReconnectPolicy;
  /** our Pacer's even rate (messages per second, ≤ 40; IBKR allows 50) */
  readonly maxReqPerSec: number;
}

export interface IbSession {
  readonly id: number;
  readonly ib: IBApi;
  /** send every request through this (FIFO, evenly spaced); closed when the session ends */
  readonly pacer: Pacer;
  readonly nextValidId: number;
  readonly accounts: readonly string[];
  readonly serverVersion: number;
}

export type ReadyVerdict = { readonly ok: true; readonly detail?: string } | { readonly ok: false; readonly code: string; readonly detail: string };

export interface ConnectionHooks {
  /** install the owner's listeners on a fresh IBApi (before connect) */
  attach(ib: IBApi, sessionId: number): void;
  /** session is up: validate, seed ids, recover. ok:false → DOWN and disconnect. */
  ready(session: IbSession, attempt: number): Promise<ReadyVerdict>;
  /** the current session is gone (socket closed, not by us) */
  lost(sessionId: number): void;
  /** TWS ↔ IBKR connectivity restored (1101 data lost / 1102 data kept) */
  restored(code: number): void;
  emit(event: BrokerEvent): void;
}

/** Thrown by connect() when the session could not be established or was refused. */
export class ConnectFailedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConnectFailedError';
  }
}

/**
 * @stoqey/ib's decoder rethrows anything that is not an underrun (e.g. JSON.parse of a bad
 * advancedOrderReject) from inside the socket's 'data' handler: an uncaught exception that
 * would kill the process. Wrap the client's (internal) Socket.onData: contain the exception,
 * drop the rest of that one message from the decoder queue (else the next message would be
 * misaligned and lost), and continue with the bytes already buffered. No-op (returns false)
 * if the internals ever change shape.
 */
export function containDecoderExceptions(ib: IBApi, report: (e: unknown) => void): boolean {
  type Internals = { controller?: { socket?: { onData?: (data: Buffer) => void }; decoder?: { dataQueue?: unknown[] } } };
  const controller = (ib as unknown as Internals).controller;
  const socket = controller?.socket;
  const original = socket?.onData;
  if (!socket || typeof original !== 'function') return false;
  socket.onData = (data: Buffer): void => {
    let chunk = data;
    for (let guard = 0; guard < 10_000; guard++) {
      try {
        original.call(socket, chunk);
        return;
      } catch (e) {
        report(e);
        const decoder = controller?.decoder;
        if (decoder && Array.isArray(decoder.dataQueue)) decoder.dataQueue = [];
        chunk = Buffer.alloc(0); // messages already buffered behind the bad one still get processed
      }
    }
  };
  return true;
}

export function backoffDelay(policy: ReconnectPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
}

export class IbConnection {
  private stateValue: ConnectionState = 'DISCONNECTED';
  private detailValue = 'not connected';
  private session: IbSession | null = null;
  private sessionSeq = 0;
  private connecting: Promise<void> | null = null;
  private reconnectTimer: Cancel | null = null;
  /** bumps on connect()/disconnect() so stale reconnect loops stop */
  private generation = 0;
  private readonly log: Logger;

  constructor(
    private readonly opts: IbConnectionOptions,
    private readonly hooks: ConnectionHooks,
  ) {
    this.log = opts.logger.child({ component: 'ibkr.connection' });
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  get detail(): string {
    return this.detailValue;
  }

  /** The live session (READY or PAUSED), else null. */
  get current(): IbSession | null {
    return this.stateValue === 'READY' || this.stateValue === 'PAUSED' ? this.session : null;
  }

  /** Connect (or re-arm after DOWN). Resolves when READY; rejects with ConnectFailedError. */
  connect(): Promise<void> {
    if (this.stateValue === 'READY' || this.stateValue === 'PAUSED') return Promise.resolve();
    if (this.connecting) return this.connecting;
    this.generation++;
    this.cancelReconnect();
    const p = this.establish(0, this.generation).finally(() => {
      if (this.connecting === p) this.connecting = null;
    });
    this.connecting = p;
    return p;
  }

  /** Human/system stop: no reconnects; state DISCONNECTED. */
  disconnect(detail = 'disconnect requested'): void {
    const active = this.stateValue !== 'DISCONNECTED' || this.reconnectTimer !== null;
    this.generation++;
    this.cancelReconnect();
    this.closeSession();
    if (active) this.setState('DISCONNECTED', detail);
  }

  // === Establishing a session

  private async establish(attempt: number, gen: number): Promise<void> {
    const where = `${this.opts.host}:${this.opts.port} clientId ${this.opts.clientId}`;
    this.setState('CONNECTING', attempt > 0 ? `reconnect attempt ${attempt}/${this.opts.reconnect.maxAttempts} to ${where}` : `connecting to ${where}`, attempt > 0 ? { attempt } : {});
    let session: IbSession;
    try {
      session = await this.openSession();
    } catch (e) {
      const msg = (e as Error).message;
      if (gen !== this.generation) throw new ConnectFailedError('CANCELLED', 'connect superseded');
      if (attempt === 0) this.setState('DOWN', `connect failed: ${msg}`);
      throw new ConnectFailedError('CONNECT_FAILED', `IBKR connect to ${where} failed: ${msg}`);
    }
    if (gen !== this.generation) {
      session.pacer.close();
      this.discard(session.ib);
      throw new ConnectFailedError('CANCELLED', 'connect superseded');
    }
    this.session = session;
    let verdict: ReadyVerdict;
    try {
      verdict = await this.hooks.ready(session, attempt);
    } catch (e) {
      verdict = { ok: false, code: 'READY_FAILED', detail: (e as Error).message };
    }
    if (gen !== this.generation) throw new ConnectFailedError('CANCELLED', 'connect superseded');
    if (this.session !== session) {
      const msg = `connection lost while starting the session${verdict.ok ? '' : ` (${verdict.detail})`}`;
      if (attempt === 0) this.setState('DOWN', `connect failed: ${msg}`);
      throw new ConnectFailedError('CONNECT_FAILED', msg);
    }
    if (!verdict.ok) {
      this.closeSession();
      this.setState('DOWN', verdict.detail, { attempt: attempt > 0 ? attempt : undefined });
      throw new ConnectFailedError(verdict.code, verdict.detail);
    }
    const base = attempt > 0 ? `reconnected on attempt ${attempt}` : 'connected';
    this.setState('READY', verdict.detail ? `${base}; ${verdict.detail}` : base, { attempt: attempt > 0 ? attempt : undefined });
  }

  /** TCP connect + handshake; resolves after nextValidId and the managed-accounts list. */
  private openSession(): Promise<IbSession> {
    const id = ++this.sessionSeq;
    const ib = new IBApi({ host: this.opts.host, port: this.opts.port, maxReqPerSec: CLIENT_MAX_REQ_PER_SEC });
    const pacer = new Pacer(this.opts.clock, Math.min(CLIENT_MAX_REQ_PER_SEC, this.opts.maxReqPerSec), (e) =>
      this.log.error({ err: e }, 'ibkr request failed to encode/send'),
    );
    return new Promise<IbSession>((resolve, reject) => {
      let nextId: number | undefined;
      let accounts: string[] | undefined;
      let lastError = '';
      let settled = false;
      const finish = (err: string | null): void => {
        if (settled) return;
        settled = true;
        cancelTimer();
        if (err !== null) {
          pacer.close();
          this.discard(ib);
          reject(new Error(err));
          return;
        }
        resolve({ id, ib, pacer, nextValidId: nextId ?? 0, accounts: accounts ?? [], serverVersion: ib.serverVersion });
      };
      const cancelTimer = this.opts.clock.schedule(this.opts.connectTimeoutMs, () =>
        finish(`no nextValidId within ${this.opts.connectTimeoutMs} ms${lastError ? ` (${lastError})` : ''}`),
      );
      const guard = <A extends unknown[]>(name: string, fn: (...a: A) => void) => (...a: A): void => {
        try {
          fn(...a);
        } catch (e) {
          this.log.error({ err: e, event: name }, 'ibkr connection listener failed');
        }
      };
      ib.on(
        EventName.error,
        guard('error', (err: Error, code: number) => {
          if (!settled) lastError = `${code}: ${err?.message ?? String(err)}`;
        }),
      );
      ib.on(
        EventName.nextValidId,
        guard('nextValidId', (orderId: number) => {
          if (nextId !== undefined) return;
          nextId = orderId;
          if (accounts === undefined && !settled) ib.reqManagedAccts();
          if (accounts !== undefined) finish(null);
        }),
      );
      ib.on(
        EventName.managedAccounts,
        guard('managedAccounts', (csv: string) => {
          accounts = String(csv ?? '')
            .split(',')
            .map((a) => a.trim())
            .filter((a) => a !== '');
          if (nextId !== undefined) finish(null);
        }),
      );
      ib.on(
        EventName.disconnected,
        guard('disconnected', () => {
          if (!settled) finish(`connection closed during handshake${lastError ? ` (${lastError})` : ''}`);
          else this.onSocketClosed(id);
        }),
      );
      ib.on(
        EventName.info,
        guard('info', (message: string, code: number) => {
          if (!settled && classifyIbCode(code, message) !== 'FARM_OK') lastError = `${code}: ${message}`;
          this.onInfo(id, code, message);
        }),
      );
      this.hooks.attach(ib, id);
      const contained = containDecoderExceptions(ib, (e) => {
        this.log.error({ err: e, sessionId: id }, 'ibkr decoder exception contained');
        this.hooks.emit({ kind: 'error', code: 505, message: `decoder exception contained: ${(e as Error)?.message ?? String(e)}` });
      });
      if (!contained) this.log.warn({}, '@stoqey/ib internals changed: decoder exceptions are not contained');
      try {
        ib.connect(this.opts.clientId);
      } catch (e) {
        finish((e as Error).message);
      }
    });
  }

  // === Live session events

  private onInfo(sessionId: number, code: number, message: string): void {
    if (this.session?.id !== sessionId) return;
    const cls = classifyIbCode(code, message);
    if (cls === 'CONNECTIVITY_LOST' && (this.stateValue === 'READY' || this.stateValue === 'PAUSED')) {
      this.setState('PAUSED', `${code}: ${message}`, { code });
    } else if (cls === 'CONNECTIVITY_RESTORED' && (this.stateValue === 'READY' || this.stateValue === 'PAUSED')) {
      this.setState('READY', `${code}: ${message}`, { code });
      this.hooks.restored(code);
    }
  }

  private onSocketClosed(sessionId: number): void {
    if (this.session?.id !== sessionId) return; // a session we closed ourselves
    const { ib, pacer } = this.session;
    this.session = null;
    pacer.close();
    this.discard(ib);
    this.hooks.lost(sessionId);
    if (this.stateValue !== 'READY' && this.stateValue !== 'PAUSED') return; // still starting: establish() handles it
    this.setState('DISCONNECTED', 'connection to TWS/IB Gateway lost', { attempt: 0 });
    this.scheduleReconnect(1, this.generation, 'connection lost');
  }

  private scheduleReconnect(attempt: number, gen: number, lastFailure: string): void {
    const policy = this.opts.reconnect;
    if (attempt > policy.maxAttempts) {
      this.setState(
        'DOWN',
        `reconnect failed after ${policy.maxAttempts} attempts (${lastFailure}); staying down until connect() is called`,
        { attempt: policy.maxAttempts },
      );
      return;
    }
    const delay = backoffDelay(policy, attempt);
    this.log.info({ attempt, delay }, 'ibkr reconnect scheduled');
    this.reconnectTimer = this.opts.clock.schedule(delay, () => {
      this.reconnectTimer = null;
      if (gen !== this.generation) return;
      const p = this.establish(attempt, gen);
      this.connecting = p;
      p.then(
        () => {
          if (this.connecting === p) this.connecting = null;
        },
        (e: unknown) => {
          if (this.connecting === p) this.connecting = null;
          if (gen !== this.generation) return;
          const err = e as ConnectFailedError;
          if (this.stateValue === 'DOWN') return; // refused by the ready hook (e.g. account mismatch): no retry
          const msg = err.message ?? String(e);
          this.setState('DISCONNECTED', `reconnect attempt ${attempt}/${policy.maxAttempts} failed: ${msg}`, { attempt });
          this.scheduleReconnect(attempt + 1, gen, msg);
        },
      );
    });
  }

  private cancelReconnect(): void {
    this.reconnectTimer?.();
    this.reconnectTimer = null;
  }

  private closeSession(): void {
    const s = this.session;
    this.session = null;
    if (s) {
      s.pacer.close();
      this.hooks.lost(s.id);
      this.discard(s.ib);
    }
  }

  /** Drop an IBApi: detach everything, keep a no-op error listener, close the socket. */
  private discard(ib: IBApi): void {
    try {
      ib.removeAllListeners();
      ib.on(EventName.error, () => undefined);
      ib.disconnect();
    } catch (e) {
      this.log.warn({ err: e }, 'ibkr discard failed');
    }
  }

  private setState(state: ConnectionState, detail: string, extra: { code?: number; attempt?: number } = {}): void {
    this.stateValue = state;
    this.detailValue = detail;
    this.log.info({ state, detail, ...extra }, 'ibkr connection');
    this.hooks.emit({
      kind: 'connection',
      state,
      detail,
      ...(extra.code !== undefined ? { code: extra.code } : {}),
      ...(extra.attempt !== undefined ? { attempt: extra.attempt } : {}),
    });
  }
}

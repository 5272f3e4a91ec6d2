/**
 * IbConnection: one TWS/IB Gateway session at a time, its ConnectionState, and reconnects.
 *
 * - connect(): a session (ib.handshake.ts: TCP, API handshake, nextValidId + managed accounts
 *   within connectTimeoutMs), then the owner's `ready` hook (account guard, id seeding,
 *   recovery) → READY. Failure → DOWN with a clear detail.
 * - gateway up but nobody logged in (no managed accounts, or the handshake stalls before
 *   nextValidId) → WAITING_FOR_LOGIN: the socket is dropped and a fresh session is tried every
 *   `loginPollMs`, quietly (one event when the state is entered, one when it is left); never
 *   escalated: a human must log in (2FA).
 * - socket drop while READY/PAUSED → DISCONNECTED, then at most `maxAttempts` reconnects with
 *   exponential backoff (base·2^(n−1), capped); all failed → DOWN (attempt = maxAttempts), and it
 *   stays DOWN until connect() is called again (a human action). INV-IBKR-RECONNECT-1.
 *   Inside the gateway's daily restart window (`inRestartWindow`) the drop is expected: failed
 *   attempts keep going every maxDelayMs and do not escalate; the first failure after the
 *   window ends does (DOWN).
 * - 1100/2110 → PAUSED; 1101/1102 → READY with the code (the engine reconciles on it).
 * Every transition is reported through `emit` as a `connection` event, with `attempt` for
 * reconnect attempts, so the engine can write IBKR_SESSION beads.
 */
import { EventName, type IBApi } from '@stoqey/ib';
import type { BrokerEvent, Cancel, Clock, ConnectionState, Logger } from '../../engine/index.js';
import { classifyIbCode } from './ib.errors.js';
import { LoginPendingError, openSession } from './ib.handshake.js';
import type { Pacer } from './pacer.js';

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
  /** while WAITING_FOR_LOGIN, try a fresh session this often */
  readonly loginPollMs: number;
  /** inside the gateway's daily restart window now (failed reconnects do not escalate) */
  readonly inRestartWindow?: () => boolean;
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
    // a login poll is quiet: the state stays WAITING_FOR_LOGIN until something changes
    const polling = this.stateValue === 'WAITING_FOR_LOGIN';
    if (!polling) this.setState('CONNECTING', attempt > 0 ? `reconnect attempt ${attempt}/${this.opts.reconnect.maxAttempts} to ${where}` : `connecting to ${where}`, attempt > 0 ? { attempt } : {});
    let session: IbSession;
    try {
      session = await this.openSession();
    } catch (e) {
      const msg = (e as Error).message;
      if (gen !== this.generation) throw new ConnectFailedError('CANCELLED', 'connect superseded');
      if (e instanceof LoginPendingError) {
        this.waitForLogin(msg, gen);
        throw new ConnectFailedError('WAITING_FOR_LOGIN', msg);
      }
      if (attempt === 0 && !polling) this.setState('DOWN', `connect failed: ${msg}`);
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
      if (attempt === 0 && !polling) this.setState('DOWN', `connect failed: ${msg}`);
      throw new ConnectFailedError('CONNECT_FAILED', msg);
    }
    if (!verdict.ok) {
      this.closeSession();
      this.setState('DOWN', verdict.detail, { attempt: attempt > 0 ? attempt : undefined });
      throw new ConnectFailedError(verdict.code, verdict.detail);
    }
    const base = polling ? 'logged in: connected' : attempt > 0 ? `reconnected on attempt ${attempt}` : 'connected';
    this.setState('READY', verdict.detail ? `${base}; ${verdict.detail}` : base, { attempt: attempt > 0 ? attempt : undefined });
  }

  private openSession(): Promise<IbSession> {
    const o = this.opts;
    return openSession({
      id: ++this.sessionSeq,
      host: o.host,
      port: o.port,
      clientId: o.clientId,
      clock: o.clock,
      log: this.log,
      connectTimeoutMs: o.connectTimeoutMs,
      maxReqPerSec: o.maxReqPerSec,
      attach: (ib, id) => this.hooks.attach(ib, id),
      decoderException: (e) => {
        this.log.error({ err: e }, 'ibkr decoder exception contained');
        this.hooks.emit({ kind: 'error', code: 505, message: `decoder exception contained: ${(e as Error)?.message ?? String(e)}` });
      },
      info: (id, code, message) => this.onInfo(id, code, message),
      closed: (id) => this.onSocketClosed(id),
      discard: (ib) => this.discard(ib),
    });
  }

  // === Waiting for a login (2FA)

  /**
   * The gateway answers but nobody is logged in: WAITING_FOR_LOGIN (one event), then a fresh
   * session every loginPollMs until one has accounts (→ READY) or the gateway stops answering
   * (→ DISCONNECTED and the normal reconnect policy). Never escalated to DOWN.
   */
  private waitForLogin(detail: string, gen: number): void {
    const text = `${detail}; trying again every ${Math.max(1, Math.round(this.opts.loginPollMs / 1000))} s`;
    if (this.stateValue !== 'WAITING_FOR_LOGIN') this.setState('WAITING_FOR_LOGIN', text);
    else this.detailValue = text;
    this.cancelReconnect();
    this.attemptLater(this.opts.loginPollMs, 0, gen, (e) => {
      const code = (e as ConnectFailedError).code;
      if (gen !== this.generation || code === 'WAITING_FOR_LOGIN' || code === 'CANCELLED' || this.stateValue === 'DOWN') return;
      const msg = (e as Error).message ?? String(e);
      this.setState('DISCONNECTED', `gateway stopped answering while waiting for login: ${msg}`, { attempt: 0 });
      this.scheduleReconnect(1, gen, msg);
    });
  }

  /** The live session lost its login (the gateway reports no managed account): WAITING_FOR_LOGIN. */
  loginLost(detail: string): void {
    if (this.stateValue !== 'READY' && this.stateValue !== 'PAUSED') return;
    this.closeSession();
    this.waitForLogin(detail, this.generation);
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
    let delay = backoffDelay(policy, attempt);
    if (attempt > policy.maxAttempts) {
      if (!this.opts.inRestartWindow?.()) {
        this.setState(
          'DOWN',
          `reconnect failed after ${policy.maxAttempts} attempts (${lastFailure}); staying down until connect() is called`,
          { attempt: policy.maxAttempts },
        );
        return;
      }
      // the gateway's daily restart: keep trying at the slowest pace, do not escalate
      attempt = policy.maxAttempts;
      delay = policy.maxDelayMs;
    }
    this.log.info({ attempt, delay }, 'ibkr reconnect scheduled');
    this.attemptLater(delay, attempt, gen, (e) => {
      if (gen !== this.generation) return;
      const err = e as ConnectFailedError;
      // refused by the ready hook (e.g. account mismatch): no retry; waiting for a login: polling
      if (this.stateValue === 'DOWN' || this.stateValue === 'WAITING_FOR_LOGIN') return;
      const msg = err.message ?? String(e);
      const held = this.opts.inRestartWindow?.() ? '; inside the gateway restart window: retrying, not escalating' : '';
      this.setState('DISCONNECTED', `reconnect attempt ${attempt}/${policy.maxAttempts} failed: ${msg}${held}`, { attempt });
      this.scheduleReconnect(attempt + 1, gen, msg);
    });
  }

  /** After `delayMs`, one more session attempt of generation `gen`; `onFail` decides what its failure leads to. */
  private attemptLater(delayMs: number, attempt: number, gen: number, onFail: (e: unknown) => void): void {
    this.reconnectTimer = this.opts.clock.schedule(delayMs, () => {
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
          onFail(e);
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

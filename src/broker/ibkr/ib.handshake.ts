/**
 * One TWS/IB Gateway session's start: a fresh IBApi, TCP connect, the API handshake, then
 * nextValidId and the managed-accounts list within the connect timeout. Two ways it can end
 * short of a session:
 * - LoginPendingError: the gateway answered the handshake (server version) but nobody is
 *   logged in: no managed accounts, or no nextValidId in time; farm errors (2103/2105/2157)
 *   seen meanwhile are named. The caller shows WAITING_FOR_LOGIN and polls.
 * - any other Error: no gateway there (refused, closed, silent socket).
 * A fresh IBApi per session means nothing queued for a dead socket (the client's rate-limit
 * FIFO, its paused command buffer) can leak into the next one.
 */
import { EventName, IBApi } from '@stoqey/ib';
import { WAITING_FOR_LOGIN_TEXT, type Clock, type Logger } from '../../engine/index.js';
import type { IbSession } from './connection.js';
import { classifyIbCode, FARM_BROKEN } from './ib.errors.js';
import { Pacer } from './pacer.js';

/** @stoqey/ib's own limiter, a backstop behind our Pacer (IBKR's limit is 50/s). */
const CLIENT_MAX_REQ_PER_SEC = 40;

/** The gateway is up and speaking the API, but not logged in. */
export class LoginPendingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoginPendingError';
  }
}

export interface HandshakeOptions {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly clientId: number;
  readonly clock: Clock;
  readonly log: Logger;
  readonly connectTimeoutMs: number;
  /** our Pacer's even rate (messages per second) */
  readonly maxReqPerSec: number;
  /** install the owner's listeners (before connect) */
  attach(ib: IBApi, sessionId: number): void;
  /** a decoder exception was contained (reported as error 505) */
  decoderException(e: unknown): void;
  /** an `info` message (1100/1101/… for the live session) */
  info(sessionId: number, code: number, message: string): void;
  /** the socket closed after the session was handed over */
  closed(sessionId: number): void;
  /** drop an IBApi (listeners off, socket closed) */
  discard(ib: IBApi): void;
}

/** TCP connect + handshake; resolves after nextValidId and a non-empty managed-accounts list. */
export function openSession(o: HandshakeOptions): Promise<IbSession> {
  const { id } = o;
  const ib = new IBApi({ host: o.host, port: o.port, maxReqPerSec: CLIENT_MAX_REQ_PER_SEC });
  const pacer = new Pacer(o.clock, Math.min(CLIENT_MAX_REQ_PER_SEC, o.maxReqPerSec), (e) => o.log.error({ err: e }, 'ibkr request failed to encode/send'));
  return new Promise<IbSession>((resolve, reject) => {
    let nextId: number | undefined;
    let accounts: string[] | undefined;
    let apiUp = false;
    let lastError = '';
    const farmErrors = new Set<number>();
    let settled = false;
    const where = `${o.host}:${o.port}`;
    const farms = (): string => (farmErrors.size ? `; data farm errors ${[...farmErrors].sort().join(', ')}` : '');
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      cancelTimer();
      if (err !== null) {
        pacer.close();
        o.discard(ib);
        reject(err);
        return;
      }
      resolve({ id, ib, pacer, nextValidId: nextId ?? 0, accounts: accounts ?? [], serverVersion: ib.serverVersion });
    };
    /** both halves of the handshake are in: a session, or a gateway nobody is logged in to */
    const complete = (): void => {
      if (nextId === undefined || accounts === undefined) return;
      if (accounts.length > 0) finish(null);
      else finish(new LoginPendingError(`${WAITING_FOR_LOGIN_TEXT}: ${where} answers but reports no managed account${farms()}`));
    };
    const cancelTimer = o.clock.schedule(o.connectTimeoutMs, () => {
      if (!apiUp) return finish(new Error(`no nextValidId within ${o.connectTimeoutMs} ms${lastError ? ` (${lastError})` : ''}`));
      const missing = nextId === undefined ? 'no nextValidId' : 'no managed accounts';
      finish(new LoginPendingError(`${WAITING_FOR_LOGIN_TEXT}: ${where} answers the API handshake but sends ${missing} within ${o.connectTimeoutMs} ms${farms()}`));
    });
    const guard = <A extends unknown[]>(name: string, fn: (...a: A) => void) => (...a: A): void => {
      try {
        fn(...a);
      } catch (e) {
        o.log.error({ err: e, event: name }, 'ibkr connection listener failed');
      }
    };
    const farm = (code: number): void => {
      if (FARM_BROKEN.has(code)) farmErrors.add(code);
    };
    ib.on(EventName.connected, guard('connected', () => (apiUp = true)));
    ib.on(
      EventName.error,
      guard('error', (err: Error, code: number) => {
        if (settled) return;
        farm(code);
        lastError = `${code}: ${err?.message ?? String(err)}`;
      }),
    );
    ib.on(
      EventName.nextValidId,
      guard('nextValidId', (orderId: number) => {
        if (nextId !== undefined) return;
        nextId = orderId;
        if (accounts === undefined && !settled) ib.reqManagedAccts();
        complete();
      }),
    );
    ib.on(
      EventName.managedAccounts,
      guard('managedAccounts', (csv: string) => {
        accounts = String(csv ?? '')
          .split(',')
          .map((a) => a.trim())
          .filter((a) => a !== '');
        complete();
      }),
    );
    ib.on(
      EventName.disconnected,
      guard('disconnected', () => {
        if (!settled) finish(new Error(`connection closed during handshake${lastError ? ` (${lastError})` : ''}`));
        else o.closed(id);
      }),
    );
    ib.on(
      EventName.info,
      guard('info', (message: string, code: number) => {
        if (!settled) {
          farm(code);
          if (classifyIbCode(code, message) !== 'FARM_OK') lastError = `${code}: ${message}`;
        }
        o.info(id, code, message);
      }),
    );
    o.attach(ib, id);
    if (!containDecoderExceptions(ib, (e) => o.decoderException(e))) o.log.warn({}, '@stoqey/ib internals changed: decoder exceptions are not contained');
    try {
      ib.connect(o.clientId);
    } catch (e) {
      finish(e as Error);
    }
  });
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

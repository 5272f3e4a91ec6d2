/**
 * The adapter's side of the connection (connection.ts owns the socket, states and reconnects):
 * which session our listeners are attached to, the "must be connected / ready" checks, and the
 * hooks connection.ts calls when a session starts (account guard, id seeding, account summary,
 * recovery snapshot, in that order, all before READY), is lost, or regains IBKR.
 */
import { BrokerUnavailableError, type Logger } from '../../engine/index.js';
import type { IbConnection, IbSession, ReadyVerdict } from './connection.js';
import type { IbAccount } from './ib.account.js';
import type { IbOrders } from './ib.orders.js';
import type { IbRequests } from './ib.requests.js';
import type { IbSnapshot } from './ib.snapshot.js';
import type { OrderBook } from './order.book.js';

/** The attached session and the connection, for every part that sends. */
export class IbLink {
  /** session our listeners are attached to (set while starting, before READY) */
  session: IbSession | null = null;
  private connection: IbConnection | null = null;

  bind(conn: IbConnection): void {
    this.connection = conn;
  }

  get conn(): IbConnection {
    if (!this.connection) throw new Error('IbLink used before bind()');
    return this.connection;
  }

  isCurrent(s: IbSession): boolean {
    return this.session === s;
  }

  requireSession(): IbSession {
    const s = this.conn.current;
    if (!s) throw new BrokerUnavailableError(`IBKR not connected (${this.conn.state}: ${this.conn.detail})`);
    return s;
  }

  requireReady(): IbSession {
    const s = this.conn.current;
    if (!s || this.conn.state !== 'READY') {
      throw new BrokerUnavailableError(`IBKR not ready for orders (${this.conn.state}: ${this.conn.detail})`);
    }
    return s;
  }
}

export interface SessionParts {
  readonly link: IbLink;
  readonly account: IbAccount;
  readonly orders: IbOrders;
  readonly snapshot: IbSnapshot;
  readonly requests: IbRequests;
  readonly book: OrderBook;
  readonly log: Logger;
  readonly mode: string;
}

/** connection.ts `ready` hook: everything a session needs before it may be READY. */
export async function sessionReady(p: SessionParts, s: IbSession, attempt: number): Promise<ReadyVerdict> {
  p.link.session = s;
  p.orders.seed(s.nextValidId);
  const refused = p.account.admit(s, attempt);
  if (refused) return refused;
  p.account.subscribeSummary(s);
  await p.account.waitForSummary(Math.min(p.requests.timeoutMs, 3000));
  let recovery = 'recovered';
  try {
    await recoverIds(p, s);
  } catch (e) {
    recovery = `recovery incomplete (orders are matched before the first submit): ${(e as Error).message}`;
    p.log.warn({ err: e }, 'ibkr recovery snapshot failed');
  }
  const rolledBack = s.nextValidId < p.orders.nextId ? ` (the gateway said ${s.nextValidId}: ids continue above the ones already used)` : '';
  return {
    ok: true,
    detail: `account ${p.account.accountId ?? '(none)'} mode ${p.mode}, nextValidId ${p.orders.nextId}${rolledBack}, ${recovery}`,
  };
}

/**
 * After ANY (re)connect, before anything new is sent: the open and completed orders and today's
 * executions (snapshot) match the gateway's orders to ours by orderRef/permId, and order ids
 * continue above the highest id of this client found there (nextValidId may roll back).
 */
export async function recoverIds(p: SessionParts, s: IbSession): Promise<void> {
  await p.snapshot.refresh(s);
  if (p.orders.matched(s, p.book.maxOwnOrderId())) p.log.warn({ nextValidId: s.nextValidId, next: p.orders.nextId }, 'ibkr nextValidId below ids already used: continuing above them');
}

/** connection.ts `lost` hook: the attached session is gone; every pending exchange fails. */
export function sessionLost(p: SessionParts, sessionId: number): void {
  if (p.link.session?.id !== sessionId) return;
  p.link.session = null;
  p.account.sessionLost();
  p.requests.abortAll(new BrokerUnavailableError('connection to TWS/IB Gateway lost'));
}

/** connection.ts `restored` hook. 1101: TWS lost data subscriptions → re-subscribe; 1102 keeps them. The engine reconciles on the event. */
export function sessionRestored(p: SessionParts, code: number): void {
  const s = p.link.session;
  if (code === 1101 && s) p.account.subscribeSummary(s);
}

/**
 * The account side of the session: which managed account we trade, whether it fits the mode
 * (INV-IBKR-PAPER-GUARD-1 / INV-IBKR-ACCOUNT-CHECK-1: at session start and again before EVERY
 * submit, against a freshly re-queried managed-accounts list), and the account summary
 * subscription (net liquidation, buying power).
 */
import { BrokerRefusedError, type AccountSummary, type Clock, type Logger } from '../../engine/index.js';
import { checkAccountForMode, pickAccount, type TradingMode } from './account.guard.js';
import type { IbSession, ReadyVerdict } from './connection.js';
import type { IbRequests, Pending } from './ib.requests.js';

const ACCOUNT_TAGS = 'NetLiquidation,BuyingPower,TotalCashValue,AvailableFunds';

export interface IbAccountOptions {
  /** IB_ACCOUNT: must be among the managed accounts; default = the single managed account */
  readonly account: string | undefined;
  readonly mode: TradingMode;
  readonly allowLive: boolean;
  readonly clock: Clock;
  readonly log: Logger;
  /** managed-accounts re-query before each submit */
  readonly accountCheckTimeoutMs: number;
}

export class IbAccount {
  private managed: string[] = [];
  private accountIdValue: string | null = null;
  private accountOk = false;
  private summary: { netLiquidation?: number; buyingPower?: number; currency?: string } = {};
  private summaryValue: AccountSummary | null = null;
  private summaryReqId: number | null = null;
  private summaryWaiters: Array<() => void> = [];
  private accountsWaiters: Array<Pending<string[]>> = [];
  private accountsQuery: Promise<string[]> | null = null;

  constructor(
    private readonly opts: IbAccountOptions,
    private readonly requests: IbRequests,
    private readonly isCurrent: (s: IbSession) => boolean,
  ) {}

  /** Managed accounts last reported by the gateway. */
  get managedAccounts(): readonly string[] {
    return this.managed;
  }

  /** The account orders are sent for (null before connect / when none fits). */
  get accountId(): string | null {
    return this.accountIdValue;
  }

  /** The trading account was checked against the mode (false in OBSERVE). */
  get ok(): boolean {
    return this.accountOk;
  }

  /** The latest full summary (null until net liquidation and buying power arrived). */
  get current(): AccountSummary | null {
    return this.summaryValue;
  }

  /**
   * Session start: take the managed accounts and run the guard. A refusal verdict (wrong mode,
   * not managed, or the account changed across a reconnect) or null when the session may go on.
   */
  admit(s: IbSession, attempt: number): ReadyVerdict | null {
    this.managed = [...s.accounts];
    const pick = pickAccount(this.managed, this.opts.account);
    if (this.opts.mode === 'observe') {
      this.accountIdValue = pick.ok ? pick.accountId : null;
      this.accountOk = false;
    } else {
      const problem = !pick.ok
        ? `${pick.code}: ${pick.detail}`
        : (() => {
            const g = checkAccountForMode(pick.accountId, this.opts.mode, this.opts.allowLive);
            return g.ok ? null : `${g.code}: ${g.detail}`;
          })();
      if (problem) {
        this.accountOk = false;
        this.accountIdValue = pick.ok ? pick.accountId : null;
        return { ok: false, code: 'ACCOUNT_MODE_MISMATCH', detail: `ACCOUNT_MODE_MISMATCH ${problem}; refusing the session` };
      }
      if (this.accountIdValue !== null && pick.ok && pick.accountId !== this.accountIdValue && attempt > 0) {
        this.accountOk = false;
        return {
          ok: false,
          code: 'ACCOUNT_MODE_MISMATCH',
          detail: `ACCOUNT_MODE_MISMATCH ACCOUNT_CHANGED: was ${this.accountIdValue}, gateway now reports ${pick.accountId}`,
        };
      }
      this.accountIdValue = pick.ok ? pick.accountId : null;
      this.accountOk = true;
    }
    if (this.summaryValue && this.summaryValue.accountId !== this.accountIdValue) {
      this.summaryValue = null;
      this.summary = {};
    }
    return null;
  }

  /** OBSERVE never submits; LIVE needs IBKR_ALLOW_LIVE. Throws before anything is asked of TWS. */
  assertModeSubmits(): void {
    if (this.opts.mode === 'observe') {
      throw new BrokerRefusedError('ACCOUNT_MODE_MISMATCH', 'ACCOUNT_MODE_MISMATCH OBSERVE_NEVER_SUBMITS: mode OBSERVE never submits orders');
    }
    if (this.opts.mode === 'live' && !this.opts.allowLive) {
      throw new BrokerRefusedError('ACCOUNT_MODE_MISMATCH', 'ACCOUNT_MODE_MISMATCH LIVE_NOT_ALLOWED: IBKR_ALLOW_LIVE is not set');
    }
  }

  /** INV-IBKR-ACCOUNT-CHECK-1: the account we trade must still be managed and fit the mode. */
  verify(managed: readonly string[] = this.managed): void {
    const pick = pickAccount(managed, this.opts.account);
    const problem = !pick.ok
      ? `${pick.code}: ${pick.detail}`
      : pick.accountId !== this.accountIdValue
        ? `ACCOUNT_CHANGED: trading account ${this.accountIdValue ?? '(none)'} is now ${pick.accountId}`
        : (() => {
            const g = checkAccountForMode(pick.accountId, this.opts.mode, this.opts.allowLive);
            return g.ok ? null : `${g.code}: ${g.detail}`;
          })();
    if (problem) {
      this.accountOk = false;
      this.opts.log.error({ managed, mode: this.opts.mode, problem }, 'submit refused: account/mode mismatch');
      throw new BrokerRefusedError('ACCOUNT_MODE_MISMATCH', `ACCOUNT_MODE_MISMATCH ${problem}`);
    }
    this.accountOk = true;
  }

  /** Re-query managed accounts (single flight: concurrent submits share one round trip). */
  queryManaged(s: IbSession): Promise<string[]> {
    if (this.accountsQuery) return this.accountsQuery;
    const p = this.requests.pending<string[]>('managed accounts', this.opts.accountCheckTimeoutMs, true);
    this.accountsWaiters.push(p);
    this.requests.paced(s, p, () => s.ib.reqManagedAccts());
    const q = p.promise.finally(() => {
      if (this.accountsQuery === q) this.accountsQuery = null;
    });
    this.accountsQuery = q;
    return q;
  }

  subscribeSummary(s: IbSession): void {
    const old = this.summaryReqId;
    if (old !== null && this.isCurrent(s)) this.requests.paced(s, null, () => s.ib.cancelAccountSummary(old));
    const reqId = this.requests.nextReqId();
    this.summaryReqId = reqId;
    this.requests.paced(s, null, () => s.ib.reqAccountSummary(reqId, 'All', ACCOUNT_TAGS));
  }

  /** Resolves once a full summary is known, or after `timeoutMs` (never rejects). */
  waitForSummary(timeoutMs: number): Promise<void> {
    if (this.summaryValue) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const cancel = this.opts.clock.schedule(timeoutMs, () => {
        this.summaryWaiters = this.summaryWaiters.filter((w) => w !== done);
        resolve();
      });
      const done = (): void => {
        cancel();
        resolve();
      };
      this.summaryWaiters.push(done);
    });
  }

  /** The session is gone: its summary subscription with it. */
  sessionLost(): void {
    this.summaryReqId = null;
  }

  // === listener hooks (events.ts)

  /** MANAGED_ACCTS (an answer to our re-query, or unsolicited); `current`: from the attached session. */
  onManagedAccounts(list: string[], current: boolean): void {
    if (current) this.managed = list;
    const waiters = this.accountsWaiters;
    this.accountsWaiters = [];
    for (const w of waiters) w.resolve(list);
  }

  onAccountSummary(reqId: number, account: string, tag: string, value: string, currency: string): void {
    if (reqId !== this.summaryReqId) return;
    const acct = this.accountIdValue;
    if (acct && account !== acct) return;
    const v = Number(value);
    if (!Number.isFinite(v)) return;
    if (tag === 'NetLiquidation') {
      this.summary.netLiquidation = v;
      this.summary.currency = currency || this.summary.currency;
    } else if (tag === 'BuyingPower') this.summary.buyingPower = v;
    if (this.summary.netLiquidation !== undefined && this.summary.buyingPower !== undefined) {
      this.summaryValue = Object.freeze({
        accountId: acct ?? account,
        netLiquidation: this.summary.netLiquidation,
        buyingPower: this.summary.buyingPower,
        currency: this.summary.currency ?? 'USD',
      });
      const waiters = this.summaryWaiters;
      this.summaryWaiters = [];
      for (const w of waiters) w();
    }
  }
}

/**
 * PURE mode/account gate (SPEC §4, INV-IBKR-PAPER-GUARD-1, INV-IBKR-ACCOUNT-CHECK-1).
 *
 * - OBSERVE never submits (any account may be read);
 * - PAPER requires an IBKR paper account (id starts with "DU");
 * - LIVE requires allowLive (IBKR_ALLOW_LIVE=true, fixed at start-up) AND a live account
 *   (id starts with "U", not "DU").
 * The adapter runs it at connect and again before EVERY submission.
 */

export type TradingMode = 'observe' | 'paper' | 'live';

export type AccountGuardCode =
  | 'OBSERVE_NEVER_SUBMITS'
  | 'NO_ACCOUNT'
  | 'PAPER_REQUIRES_DU_ACCOUNT'
  | 'LIVE_NOT_ALLOWED'
  | 'LIVE_REQUIRES_U_ACCOUNT';

export type AccountGuardResult =
  | { readonly ok: true; readonly accountId: string; readonly mode: TradingMode }
  | { readonly ok: false; readonly code: AccountGuardCode; readonly detail: string };

export const isPaperAccount = (id: string): boolean => /^DU[A-Z0-9]+$/i.test(id.trim());
export const isLiveAccount = (id: string): boolean => /^U\d+$/i.test(id.trim());

export function checkAccountForMode(
  accountId: string | null | undefined,
  mode: TradingMode,
  allowLive: boolean,
): AccountGuardResult {
  if (mode === 'observe') {
    return { ok: false, code: 'OBSERVE_NEVER_SUBMITS', detail: 'mode OBSERVE never submits orders' };
  }
  const id = (accountId ?? '').trim();
  if (id === '') return { ok: false, code: 'NO_ACCOUNT', detail: 'no broker account selected' };
  if (mode === 'paper') {
    return isPaperAccount(id)
      ? { ok: true, accountId: id, mode }
      : { ok: false, code: 'PAPER_REQUIRES_DU_ACCOUNT', detail: `mode PAPER requires a paper account (DU…), got ${id}` };
  }
  if (!allowLive) {
    return { ok: false, code: 'LIVE_NOT_ALLOWED', detail: `mode LIVE requires IBKR_ALLOW_LIVE=true at start-up (account ${id})` };
  }
  return isLiveAccount(id)
    ? { ok: true, accountId: id, mode }
    : { ok: false, code: 'LIVE_REQUIRES_U_ACCOUNT', detail: `mode LIVE requires a live account (U…), got ${id}` };
}

export type AccountPick =
  | { readonly ok: true; readonly accountId: string }
  | { readonly ok: false; readonly code: 'ACCOUNT_NOT_MANAGED' | 'NO_MANAGED_ACCOUNT' | 'AMBIGUOUS_ACCOUNT'; readonly detail: string };

/**
 * Which managed account to trade: the configured one (must be managed by this session), else
 * the single managed account. Several accounts and none configured → ambiguous (refuse).
 */
export function pickAccount(managed: readonly string[], configured: string | undefined): AccountPick {
  const list = managed.map((a) => a.trim()).filter((a) => a !== '');
  if (configured !== undefined && configured.trim() !== '') {
    const want = configured.trim();
    return list.includes(want)
      ? { ok: true, accountId: want }
      : { ok: false, code: 'ACCOUNT_NOT_MANAGED', detail: `account ${want} is not among managed accounts [${list.join(',')}]` };
  }
  if (list.length === 0) return { ok: false, code: 'NO_MANAGED_ACCOUNT', detail: 'the gateway reported no managed account' };
  if (list.length > 1) {
    return { ok: false, code: 'AMBIGUOUS_ACCOUNT', detail: `several managed accounts [${list.join(',')}]; set IB_ACCOUNT` };
  }
  return { ok: true, accountId: list[0] as string };
}

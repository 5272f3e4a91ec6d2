export { IbkrBroker, type IbkrBrokerOptions } from './ib.broker.js';
export { checkAccountForMode, pickAccount, isLiveAccount, isPaperAccount } from './account.guard.js';
export type { AccountGuardCode, AccountGuardResult, AccountPick, TradingMode } from './account.guard.js';
export { DEFAULT_RECONNECT, backoffDelay, type ReconnectPolicy } from './connection.js';
export { classifyIbCode, type IbCodeClass } from './ib.errors.js';

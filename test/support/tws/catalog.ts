/** Contracts the TWS test server knows (REQ_CONTRACT_DATA, PLACE_ORDER by conId or symbol). */
export interface TwsContract {
  readonly conId: number;
  readonly symbol: string;
  readonly secType: 'STK' | 'FUT';
  /** routing exchange returned in contract details (SMART for stocks, CME for MES) */
  readonly exchange: string;
  readonly primaryExch: string;
  readonly currency: string;
  readonly localSymbol: string;
  readonly tradingClass: string;
  /** FUT: last trade date yyyyMMdd; STK: "" */
  readonly lastTradeDate: string;
  /** FUT: yyyyMM; STK: "" */
  readonly contractMonth: string;
  readonly multiplier: number;
  readonly minTick: number;
  readonly longName: string;
  /** starting market price for fills */
  readonly lastPrice: number;
}

const stk = (conId: number, symbol: string, primaryExch: string, longName: string, lastPrice: number): TwsContract => ({
  conId,
  symbol,
  secType: 'STK',
  exchange: 'SMART',
  primaryExch,
  currency: 'USD',
  localSymbol: symbol,
  tradingClass: primaryExch === 'ARCA' ? symbol : 'NMS',
  lastTradeDate: '',
  contractMonth: '',
  multiplier: 1,
  minTick: 0.01,
  longName,
  lastPrice,
});

const fut = (
  conId: number,
  symbol: string,
  localSymbol: string,
  lastTradeDate: string,
  multiplier: number,
  longName: string,
  lastPrice: number,
): TwsContract => ({
  conId,
  symbol,
  secType: 'FUT',
  exchange: 'CME',
  primaryExch: '',
  currency: 'USD',
  localSymbol,
  tradingClass: symbol,
  lastTradeDate,
  contractMonth: lastTradeDate.slice(0, 6),
  multiplier,
  minTick: 0.25,
  longName,
  lastPrice,
});

export const DEFAULT_CONTRACTS: readonly TwsContract[] = [
  stk(265598, 'AAPL', 'NASDAQ', 'APPLE INC', 190),
  stk(272093, 'MSFT', 'NASDAQ', 'MICROSOFT CORP', 420),
  stk(756733, 'SPY', 'ARCA', 'SPDR S&P 500 ETF TRUST', 560),
  stk(76792991, 'TSLA', 'NASDAQ', 'TESLA INC', 250),
  fut(770561201, 'MES', 'MESZ6', '20261218', 5, 'Micro E-Mini S&P 500 Stock Price Index', 6000),
  fut(793356225, 'MES', 'MESH7', '20270319', 5, 'Micro E-Mini S&P 500 Stock Price Index', 6000),
  fut(637533641, 'ES', 'ESZ6', '20261218', 50, 'E-mini S&P 500', 6000),
];

export interface ContractQuery {
  conId?: number;
  symbol?: string;
  secType?: string;
  lastTradeDateOrContractMonth?: string;
  exchange?: string;
  currency?: string;
  localSymbol?: string;
}

/** All catalog entries matching a REQ_CONTRACT_DATA / PLACE_ORDER contract description. */
export function matchContracts(catalog: readonly TwsContract[], q: ContractQuery): TwsContract[] {
  if (q.conId !== undefined && q.conId > 0) return catalog.filter((c) => c.conId === q.conId);
  return catalog.filter((c) => {
    if (!q.symbol || c.symbol.toUpperCase() !== q.symbol.toUpperCase()) return false;
    if (q.secType && c.secType !== q.secType.toUpperCase()) return false;
    if (q.currency && c.currency !== q.currency.toUpperCase()) return false;
    if (q.localSymbol && c.localSymbol !== q.localSymbol) return false;
    if (q.lastTradeDateOrContractMonth) {
      const v = q.lastTradeDateOrContractMonth;
      if (v.length === 6 ? c.contractMonth !== v : c.lastTradeDate !== v) return false;
    }
    if (q.exchange && q.exchange !== 'SMART' && q.exchange !== c.exchange && q.exchange !== c.primaryExch) return false;
    return true;
  });
}

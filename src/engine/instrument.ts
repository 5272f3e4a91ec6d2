/**
 * THE instrument identity (SPEC 4; INV-INSTRUMENT-ID-1). Every limit, the reconciliation, the
 * broker adapters' books and caches key on `instrumentId`: two spellings of one contract are
 * one instrument.
 *
 * Rule: security type, symbol (trimmed, upper case), currency, and for futures the contract
 * month (YYYYMM; a YYYYMMDD last-trade date counts as its month). The exchange is left out on
 * purpose: it is routing (SMART vs NASDAQ for a stock; CME vs the old GLOBEX name for a
 * future), and IBKR's contract id ignores it too. Leaving it out can only merge two listings
 * into one limit (stricter), never split one contract into two (the hole this closes).
 */
import type { Instrument } from './broker.port.js';

export function instrumentId(i: Pick<Instrument, 'symbol' | 'secType' | 'currency' | 'contractMonth'>): string {
  const symbol = i.symbol.trim().toUpperCase();
  const currency = (i.currency || 'USD').trim().toUpperCase();
  return i.secType === 'FUT' ? `FUT:${symbol}:${(i.contractMonth ?? '').trim().slice(0, 6)}:${currency}` : `${i.secType}:${symbol}:${currency}`;
}

/** The same contract in canonical spelling: what cards show and orders carry. */
export function normalizeInstrument<T extends Instrument>(i: T): T {
  return { ...i, symbol: i.symbol.trim().toUpperCase(), exchange: i.exchange.trim().toUpperCase(), currency: i.currency.trim().toUpperCase() };
}

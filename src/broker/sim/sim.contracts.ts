/**
 * Contract qualification for the simulated broker: deterministic conIds, tick sizes,
 * multipliers and futures local symbols, so the same instrument always qualifies the same way.
 * The sim's listing is the rule table of engine/contract-facts.ts (US stocks: tick 0.01,
 * multiplier 1; MES/ES/MNQ/NQ/… with their CME ticks and multipliers); any other future is
 * unknown, like IB's error 200. The multiplier reported is the listing's, never the request's.
 *
 * Entry points: `qualifyInstrument` (throws BrokerRefusedError like IB's error 200) and
 * `checkAgainstContract` (the tick and multiplier checks IBKR makes before accepting an order).
 */
import { BrokerRefusedError, isOnTick, knownContract, type Instrument, type QualifiedContract } from '../../engine/index.js';
import { instrumentKey } from './sim.book.js';

const MONTH_CODES = 'FGHJKMNQUVXZ';

/** FNV-1a of the instrument key, folded into a positive 31-bit int (IB conIds are ints). */
export function conIdFor(i: Instrument): number {
  let h = 0x811c9dc5;
  for (const ch of instrumentKey(i)) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % 0x7ffffffe) + 1;
}

/** MES + 202612 → MESZ6, the way IB spells a futures local symbol. */
export function futuresLocalSymbol(symbol: string, contractMonth: string): string | undefined {
  const m = /^(\d{4})(\d{2})$/.exec(contractMonth);
  const code = m ? MONTH_CODES[Number(m[2]) - 1] : undefined;
  return m && code ? `${symbol}${code}${(m[1] as string).slice(-1)}` : undefined;
}

export function qualifyInstrument(instrument: Instrument, unknownSymbols: ReadonlySet<string>): QualifiedContract {
  const listed = knownContract(instrument);
  if (unknownSymbols.has(instrument.symbol) || !listed) {
    throw new BrokerRefusedError('NO_SECURITY', `No security definition has been found for ${instrument.symbol}`);
  }
  const trusted: Instrument = { ...instrument, multiplier: listed.multiplier };
  if (instrument.secType === 'STK') {
    return Object.freeze({ instrument: trusted, conId: conIdFor(instrument), minTick: listed.minTick, localSymbol: instrument.symbol });
  }
  const localSymbol = instrument.contractMonth ? futuresLocalSymbol(instrument.symbol, instrument.contractMonth) : undefined;
  if (!localSymbol) {
    throw new BrokerRefusedError(
      'AMBIGUOUS_CONTRACT',
      `future ${instrument.symbol} needs a contract month YYYYMM (got ${instrument.contractMonth ?? 'none'})`,
    );
  }
  return Object.freeze({ instrument: trusted, conId: conIdFor(instrument), minTick: listed.minTick, localSymbol });
}

/**
 * What IBKR checks before accepting an order: every price on the contract's tick (error 110) and,
 * as Phoenix's adapter does, the order's multiplier equal to the contract's. Throws before anything
 * is recorded.
 */
export function checkAgainstContract(q: QualifiedContract, orderRef: string, multiplier: number, prices: ReadonlyArray<readonly [string, number | undefined]>): void {
  if (Math.abs(q.instrument.multiplier - multiplier) > 1e-9) {
    throw new BrokerRefusedError('MULTIPLIER_MISMATCH', `order ${orderRef}: multiplier ${multiplier}, contract ${q.localSymbol ?? q.conId} has ${q.instrument.multiplier}`);
  }
  for (const [field, price] of prices) {
    if (price !== undefined && !isOnTick(price, q.minTick)) {
      throw new BrokerRefusedError('PRICE_NOT_ON_TICK', `order ${orderRef}: ${field} ${price} is not a multiple of the minimum tick ${q.minTick}`);
    }
  }
}

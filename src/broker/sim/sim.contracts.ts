/**
 * Contract qualification for the simulated broker: deterministic conIds, tick sizes and
 * futures local symbols, so the same instrument always qualifies the same way.
 *
 * Entry point: `qualifyInstrument` (throws BrokerRefusedError like IB's error 200).
 */
import { BrokerRefusedError, type Instrument, type QualifiedContract } from '../../engine/broker.port.js';
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
  if (unknownSymbols.has(instrument.symbol)) {
    throw new BrokerRefusedError('NO_SECURITY', `No security definition has been found for ${instrument.symbol}`);
  }
  if (!(instrument.multiplier > 0)) {
    throw new BrokerRefusedError('NO_SECURITY', `invalid multiplier ${instrument.multiplier} for ${instrument.symbol}`);
  }
  if (instrument.secType === 'STK') {
    return Object.freeze({ instrument, conId: conIdFor(instrument), minTick: 0.01, localSymbol: instrument.symbol });
  }
  const localSymbol = instrument.contractMonth ? futuresLocalSymbol(instrument.symbol, instrument.contractMonth) : undefined;
  if (!localSymbol) {
    throw new BrokerRefusedError(
      'AMBIGUOUS_CONTRACT',
      `future ${instrument.symbol} needs a contract month YYYYMM (got ${instrument.contractMonth ?? 'none'})`,
    );
  }
  return Object.freeze({ instrument, conId: conIdFor(instrument), minTick: 0.25, localSymbol });
}

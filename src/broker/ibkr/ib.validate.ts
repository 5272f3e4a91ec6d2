/**
 * PURE request checks done before anything is sent: bracket/single-order shape, prices on the
 * contract's tick, and choosing one contract out of reqContractDetails rows.
 */
import type { ContractDetails } from '@stoqey/ib';
import { BrokerRefusedError, type BracketRequest, type Instrument, type SingleOrderRequest } from '../../engine/index.js';
import { instrumentKey, isOnTick, snapToTick } from './ib.parse.js';

export function validateBracket(req: BracketRequest): void {
  const bad = (why: string): never => {
    throw new BrokerRefusedError('INVALID_REQUEST', `bracket ${req.orderRef}: ${why}`);
  };
  if (!req.orderRef) bad('orderRef is required');
  if (!(Number.isFinite(req.quantity) && req.quantity > 0)) bad(`quantity must be > 0 (got ${req.quantity})`);
  if (!(req.stopPrice > 0) || !(req.targetPrice > 0)) bad('stopPrice and targetPrice must be > 0');
  if (req.entryType === 'LMT' && !(req.limitPrice !== undefined && req.limitPrice > 0)) bad('LMT entry needs limitPrice > 0');
  const long = req.side === 'BUY';
  if (long ? req.stopPrice >= req.targetPrice : req.stopPrice <= req.targetPrice) {
    bad(`stop ${req.stopPrice} and target ${req.targetPrice} are on the wrong sides for a ${req.side}`);
  }
  if (req.entryType === 'LMT' && req.limitPrice !== undefined) {
    const lp = req.limitPrice;
    if (long ? !(req.stopPrice < lp && lp < req.targetPrice) : !(req.targetPrice < lp && lp < req.stopPrice)) {
      bad(`limit ${lp} must lie between stop ${req.stopPrice} and target ${req.targetPrice}`);
    }
  }
}

export function validateSingle(req: SingleOrderRequest): void {
  const bad = (why: string): never => {
    throw new BrokerRefusedError('INVALID_REQUEST', `order ${req.orderRef}: ${why}`);
  };
  if (!req.orderRef) bad('orderRef is required');
  if (!(Number.isFinite(req.quantity) && req.quantity > 0)) bad(`quantity must be > 0 (got ${req.quantity})`);
  if (req.type === 'LMT' && !(req.limitPrice !== undefined && req.limitPrice > 0)) bad('LMT needs limitPrice > 0');
  if (req.type === 'STP' && !(req.stopPrice !== undefined && req.stopPrice > 0)) bad('STP needs stopPrice > 0');
}

export function tickPrice(price: number | undefined, minTick: number, field: string): number {
  if (price === undefined || !Number.isFinite(price)) throw new BrokerRefusedError('INVALID_REQUEST', `${field} missing`);
  if (!isOnTick(price, minTick)) {
    throw new BrokerRefusedError('PRICE_NOT_ON_TICK', `${field} ${price} is not a multiple of the minimum tick ${minTick}`);
  }
  return snapToTick(price, minTick);
}

/** One contract from reqContractDetails rows: exact futures month, else front month; stocks by exchange. */
export function pickContract(rows: readonly ContractDetails[], i: Instrument, nowMs: number): ContractDetails {
  const matching = rows.filter((r) => r.contract.secType === i.secType);
  let candidates = matching;
  if (i.secType === 'FUT') {
    if (i.contractMonth) {
      candidates = matching.filter(
        (r) => (r.contractMonth ?? '') === i.contractMonth || (r.contract.lastTradeDateOrContractMonth ?? '').startsWith(i.contractMonth ?? '-'),
      );
    } else {
      const today = new Date(nowMs).toISOString().slice(0, 10).replace(/-/g, '');
      const sorted = [...matching].sort((a, b) =>
        (a.contract.lastTradeDateOrContractMonth ?? '').localeCompare(b.contract.lastTradeDateOrContractMonth ?? ''),
      );
      const front = sorted.find((r) => (r.contract.lastTradeDateOrContractMonth ?? '') >= today) ?? sorted[sorted.length - 1];
      candidates = front ? [front] : [];
    }
  } else if (candidates.length > 1) {
    const exact = candidates.filter((r) => r.contract.exchange === i.exchange || r.contract.primaryExch === i.exchange);
    if (exact.length > 0) candidates = exact;
  }
  const first = candidates[0];
  if (!first) throw new BrokerRefusedError('CONTRACT_NOT_FOUND', `no ${i.secType} contract for ${instrumentKey(i)}`);
  if (candidates.length > 1) {
    throw new BrokerRefusedError('AMBIGUOUS_CONTRACT', `${candidates.length} contracts match ${instrumentKey(i)}; set the exchange/month`);
  }
  return first;
}

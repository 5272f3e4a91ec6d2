/**
 * Request checks the simulated broker applies before recording anything, the way IB refuses
 * malformed orders up front. A failure throws BrokerRefusedError('INVALID_ORDER') and
 * nothing reaches the book or the event stream.
 */
import { BrokerRefusedError, type BracketRequest, type SingleOrderRequest } from '../../engine/index.js';

function positive(value: number | undefined): value is number {
  return value !== undefined && Number.isFinite(value) && value > 0;
}

function refuse(orderRef: string, what: string): never {
  throw new BrokerRefusedError('INVALID_ORDER', `order ${orderRef}: ${what}`);
}

export function validateBracket(req: BracketRequest): void {
  if (!Number.isInteger(req.quantity) || req.quantity <= 0) refuse(req.orderRef, `quantity ${req.quantity} is not a positive whole number`);
  if (req.entryType === 'LMT' && !positive(req.limitPrice)) refuse(req.orderRef, 'LMT entry needs a positive limitPrice');
  if (!positive(req.stopPrice)) refuse(req.orderRef, `stopPrice ${req.stopPrice} is not a positive price`);
  if (!positive(req.targetPrice)) refuse(req.orderRef, `targetPrice ${req.targetPrice} is not a positive price`);
}

export function validateSingle(req: SingleOrderRequest): void {
  if (!Number.isInteger(req.quantity) || req.quantity <= 0) refuse(req.orderRef, `quantity ${req.quantity} is not a positive whole number`);
  if (req.type === 'LMT' && !positive(req.limitPrice)) refuse(req.orderRef, 'LMT order needs a positive limitPrice');
  if (req.type === 'STP' && !positive(req.stopPrice)) refuse(req.orderRef, 'STP order needs a positive stopPrice');
}

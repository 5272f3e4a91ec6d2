/** Realised P&L in integer cents: (exit − entry) × qty × multiplier × direction − commissions. */
export function realizedPnlCents(side: 'BUY' | 'SELL', entryAvg: number, exitAvg: number, qty: number, multiplier: number, commissionCents: number): number {
  const dir = side === 'BUY' ? 1 : -1;
  return Math.round((exitAvg - entryAvg) * qty * multiplier * dir * 100) - commissionCents;
}

/** Volume-weighted average after adding `qty` at `price`. */
export function addToAverage(prevQty: number, prevAvg: number | null, qty: number, price: number): number {
  const total = prevQty + qty;
  return total === 0 ? price : ((prevAvg ?? 0) * prevQty + price * qty) / total;
}

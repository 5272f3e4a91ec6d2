/**
 * The README's curl intent as a fixture: one definition for the harness, the CLI tests and the
 * real-process tests (MES bracket, risk $11.25, passes every gate inside the session).
 */
/** `date -u +%Y-%m-%dT%H:%M:%SZ`, as the README's curl builds stateAsOf. */
export const readmeTimestamp = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function readmeIntentBody(signalId: string, stateAsOf: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    signalId,
    strategy: 'mes-orb',
    instrument: { symbol: 'MES', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 5 },
    side: 'BUY',
    quantity: 1,
    orderType: 'BRACKET',
    entryPrice: 6010.25,
    stopLoss: 6008.0,
    takeProfit: 6015.0,
    evidence: { setupScore: 0.82, breakdown: { trend: 0.9, momentum: 0.7, volume: 0.85 }, alignment: 'HTF up; LTF pullback to VWAP', redChecks: [{ name: 'no tier-1 news within 30 min', passed: true }], dvs: 0.93, eqs: 0.88 },
    stateHash: 'sha256:9f2c0a',
    stateAsOf,
    ttlSec: 300,
    ...over,
  };
}

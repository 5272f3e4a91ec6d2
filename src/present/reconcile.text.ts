/** A reconciliation's answer (/drift "check now"), in plain words once for every transport. */
import type { ReconcileResult } from '../engine/index.js';

/**
 * "1 mismatch with the broker (1 new); 1 unresolved drift." / "Checked 3 s ago (at most 12
 * checks a minute); …" / "Broker disconnected: cannot reconcile now."
 */
export function reconcileText(r: ReconcileResult): string {
  if (r.skipped === 'RATE_LIMITED') {
    const ago = Math.round((r.askedAt - r.lastStartedAt) / 1000);
    return `Checked ${ago} s ago (at most 12 checks a minute); ${r.lastRun ? reconcileText(r.lastRun) : ''}`.trim();
  }
  if (r.skipped === 'BROKER_DOWN') return r.detail !== null ? `Broker unavailable: ${r.detail}` : `Broker ${r.brokerState.toLowerCase()}: cannot reconcile now.`;
  const found = r.discrepancies.length;
  const drifts = (n: number) => `drift${n === 1 ? '' : 's'}`;
  const words = found
    ? `${found} mismatch${found > 1 ? 'es' : ''} with the broker (${r.newDrifts.length} new); ${r.unresolved} unresolved ${drifts(r.unresolved)}.`
    : `Positions and orders match the broker${r.unresolved ? `; ${r.unresolved} earlier ${drifts(r.unresolved)} still unresolved` : ''}.`;
  const others = r.otherAccounts ?? [];
  const context = others.length ? ` Other accounts at this broker (not Phoenix's, not compared): ${others.map((p) => `${p.account} ${p.instrument.symbol} ${p.quantity}`).join(', ')}.` : '';
  return words + context;
}

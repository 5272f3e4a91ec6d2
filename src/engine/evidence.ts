/**
 * Evidence (SPEC 1, 5): exactly what the card shows the approver, and its SHA-256 over
 * canonical JSON. A token is bound to this hash; if the intent's evidence ever differs from
 * what was approved, the token is refused.
 */
import { canonicalJson, sha256Hex } from './canonical.js';
import type { IntentInput } from './intent.schema.js';

export function evidenceView(i: IntentInput) {
  return {
    strategy: i.strategy,
    instrument: i.instrument,
    side: i.side,
    quantity: i.quantity,
    orderType: i.orderType,
    entryPrice: i.entryPrice ?? null,
    stopLoss: i.stopLoss,
    takeProfit: i.takeProfit,
    evidence: i.evidence,
    stateHash: i.stateHash,
    stateAsOf: i.stateAsOf,
    // only when present: intents without it keep the hash they always had
    ...(i.fromTemplate?.length ? { fromTemplate: i.fromTemplate } : {}),
  };
}

export function evidenceHash(i: IntentInput): string {
  return `sha256:${sha256Hex(canonicalJson(evidenceView(i)))}`;
}

/** Risk of a trade in cents: |entry - stop| × quantity × multiplier (null without an entry). */
export function riskCents(entry: number | null, stop: number, quantity: number, multiplier: number): number | null {
  return entry === null ? null : Math.round(Math.abs(entry - stop) * quantity * multiplier * 100);
}

/** Reward:risk multiple of the target (null without an entry). */
export function rewardMultiple(entry: number | null, stop: number, target: number): number | null {
  if (entry === null || entry === stop) return null;
  return Math.abs(target - entry) / Math.abs(entry - stop);
}

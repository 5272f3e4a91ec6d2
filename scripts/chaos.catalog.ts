/**
 * The BUNNY catalog (SPEC 14 invariants, SPEC 15 chaos vectors) as data, for `npm run chaos`.
 *
 * Tests are matched to rows by the title convention (docs/ARCHITECTURE.md): a test proving an
 * invariant starts its title (or an enclosing describe title) with the id, `INV-…: `; a test
 * proving a chaos vector starts with `CV <vector name>: ` — possibly after an invariant prefix
 * (`INV-IDEMPOTENT-ORDER-1: CV process killed …`). Matching is case-insensitive; `aliases` are
 * other accepted vector names (prefixes), and `patterns` are explicit title patterns (tested on
 * the title and on the full "describe › title" path) for tests that prove a row without naming it.
 */

export interface InvariantRow {
  readonly id: string;
  readonly summary: string;
  /** extra title patterns that prove this invariant */
  readonly patterns?: readonly RegExp[];
}

export interface VectorRow {
  /** stable short id, CV-01 … CV-33 in SPEC 15 order */
  readonly id: string;
  /** the vector's name as SPEC 15 spells it (the `CV <name>:` title prefix) */
  readonly name: string;
  /** what the test injects */
  readonly fault: string;
  /** the outcome the spec requires (what the test asserts) */
  readonly expected: string;
  /** SPEC 14 invariants this vector exercises */
  readonly invariants: readonly string[];
  /**
   * bead types SPEC 15 expects the proving tests to check. NOT what the report shows as checked:
   * that comes from the tests' own `expectBeads` records; this list only flags types no test asserts.
   */
  readonly specBeads: readonly string[];
  /** other accepted names (title prefixes after `CV `) */
  readonly aliases?: readonly string[];
  /** explicit title patterns of tests that prove this vector */
  readonly patterns?: readonly RegExp[];
}

export const INVARIANTS: readonly InvariantRow[] = [
  { id: 'INV-T2-TOKEN-1', summary: 'a T2 token is single use and expires 5 minutes after issue; of concurrent consumes exactly one wins' },
  { id: 'INV-T2-GATE-1', summary: 'no order reaches the broker without a valid token' },
  { id: 'INV-T2-TOKEN-AUDIT-1', summary: 'every token event (ISSUED, USED, EXPIRED, REJECTED) is a T2_TOKEN bead' },
  { id: 'INV-POSITION-AUDIT-1', summary: 'a POSITION bead at every lifecycle transition' },
  { id: 'INV-POSITION-SM-1', summary: 'only transitions of the table; an invalid one is refused and changes nothing' },
  { id: 'INV-POSITION-SUBMITTED-TTL-1', summary: 'SUBMITTED for more than 60 s without acknowledgement → STALLED + alert' },
  { id: 'INV-RECONCILE-ALERT-1', summary: 'a drift is alerted within 60 s of the induced mismatch' },
  { id: 'INV-RECONCILE-READONLY-1', summary: 'reconciliation never auto-corrects' },
  { id: 'INV-RECONCILE-AUDIT-1', summary: 'every drift is a RECONCILIATION_DRIFT bead', patterns: [/^INV-RECONCILE-AUDIT-1\/2\b/i] },
  { id: 'INV-RECONCILE-AUDIT-2', summary: 'every resolution is a RECONCILIATION_RESOLUTION bead naming who', patterns: [/^INV-RECONCILE-AUDIT-1\/2\b/i] },
  { id: 'INV-PROMOTION-EVIDENCE-1', summary: 'promotion refused with every missing evidence item listed' },
  { id: 'INV-PROMOTION-T2-1', summary: 'promotion is a T2-gated card like a trade' },
  { id: 'INV-PROMOTION-SAFE-1', summary: 'no promotion while a kill flag is active', patterns: [/^INV-PROMOTION-SAFE-1\/2\b/i] },
  { id: 'INV-PROMOTION-SAFE-2', summary: 'no promotion while a drift is unresolved', patterns: [/^INV-PROMOTION-SAFE-1\/2\b/i] },
  { id: 'INV-KILL-BLOCKS-ENTRY-1', summary: 'an active kill flag blocks every new entry at every stage; exits stay allowed' },
  { id: 'INV-STALE-KILL-1', summary: 'stale state → STATE_CONFLICT and a temporary 5-minute kill flag' },
  { id: 'INV-IBKR-PAPER-GUARD-1', summary: 'live trading needs IBKR_ALLOW_LIVE=true and a restart' },
  { id: 'INV-IBKR-ACCOUNT-CHECK-1', summary: 'every submission checks the broker account against the mode' },
  { id: 'INV-IBKR-RECONNECT-1', summary: 'at most 3 reconnect attempts, then escalate to a human' },
  { id: 'INV-OPS-HEARTBEAT-30S-1', summary: 'heartbeat every 30 s ± 5 s jitter' },
  { id: 'INV-OPS-HEARTBEAT-SEMANTIC-1', summary: 'the heartbeat is semantic (broker, database, stale orders, reconciliation age, outbox, job lag)' },
  { id: 'INV-IBKR-MOCK-1', summary: 'no test touches a real IBKR' },
  { id: 'INV-AUDIT-CHAIN-1', summary: 'any edit of a bead is detected by the hash chain' },
  {
    id: 'INV-AUDIT-ANCHOR-1',
    summary: 'truncation, re-pointing and forged appends are detected against the anchor (journal line per commit, daily-summary head)',
    patterns: [/^SAFE-12: .*(truncat|deleting the newest|re-pointed|forged)/i],
  },
  { id: 'INV-OUTBOX-1', summary: 'no alert is lost across restarts and Telegram outages' },
  { id: 'INV-IDEMPOTENT-ORDER-1', summary: 'never two orders for one intent (orderRef = intentId, recovery after restart)' },
  // added after the first adversarial review (issue 12) and for the desk (issue 18); SPEC 14 wording
  { id: 'INV-FLATTEN-EXIT-1', summary: 'exits never exceed the open quantity; any number of flattens ends flat, never reversed, and no entry remainder can still fill' },
  { id: 'INV-KILL-LAST-MOMENT-1', summary: "no entry leg leaves Phoenix after an active kill's timestamp" },
  { id: 'INV-HALT-FAST-1', summary: '/halt sets the kill within 1 s even with the chat rate-limited' },
  { id: 'INV-FLATTEN-DEADLINE-1', summary: 'the deadline flatten also runs after a restart past 15:55' },
  { id: 'INV-SECRET-1', summary: 'no secret in any row, log line or sent message' },
  { id: 'INV-SANDBOX-PAPER-1', summary: 'the sandbox never serves live or IBKR' },
  { id: 'INV-INSTRUMENT-ID-1', summary: 'one identity per contract for every limit' },
  { id: 'INV-CONFIRM-ASKER-1', summary: 'confirm buttons answer only their asker' },
  { id: 'INV-EVIDENCE-ORDER-1', summary: 'the order sent is derived from exactly the approved, hashed bytes' },
  { id: 'INV-LEADER-FENCE-1', summary: '(PostgreSQL) a process that lost the lease never sends an order' },
  // added after the money review (issue 13); SPEC 14 wording
  { id: 'INV-PROTECTED-1', summary: 'a position with no working stop at the broker is CRITICAL within 10 s' },
  { id: 'INV-FILL-COMPLETE-1', summary: 'every fill of any leg changes position and P&L (also after CLOSED or CANCELLED)' },
  { id: 'INV-PNL-DAY-1', summary: "P&L, commissions included, is booked on the fill's trading day" },
  { id: 'INV-ACCOUNT-SCOPE-1', summary: 'reconciliation and limits are per account, never netted across accounts' },
];

export const VECTORS: readonly VectorRow[] = [
  { id: 'CV-01', name: 'token replay', fault: 'a used T2 token is presented again', expected: 'refused, audited, nothing re-sent', invariants: ['INV-T2-TOKEN-1', 'INV-T2-TOKEN-AUDIT-1', 'INV-IDEMPOTENT-ORDER-1'], specBeads: ['T2_TOKEN', 'ORDER'] },
  { id: 'CV-02', name: 'expired token', fault: 'approved while the broker is down; the token passes its 5 minutes before submission', expected: 'APPROVED → EXPIRED, card and bead say so, no order', invariants: ['INV-T2-TOKEN-1', 'INV-T2-TOKEN-AUDIT-1', 'INV-POSITION-AUDIT-1'], specBeads: ['T2_TOKEN', 'POSITION'] },
  { id: 'CV-03', name: 'token for another intent', fault: "intent B is submitted with intent A's token", expected: 'refused with a REJECTED bead on B; A still works', invariants: ['INV-T2-TOKEN-1', 'INV-T2-GATE-1', 'INV-T2-TOKEN-AUDIT-1'], specBeads: ['T2_TOKEN'] },
  { id: 'CV-04', name: 'order without token', fault: 'submission with no token, a made-up token, or a direct broker call', expected: 'nothing is placed; refusal audited', invariants: ['INV-T2-GATE-1', 'INV-T2-TOKEN-AUDIT-1'], specBeads: ['T2_TOKEN', 'ORDER'] },
  { id: 'CV-05', name: 'two approvals of one intent at once', fault: 'two APPROVE taps on one card at the same time', expected: 'exactly one approval, exactly one order', invariants: ['INV-T2-TOKEN-1', 'INV-IDEMPOTENT-ORDER-1', 'INV-POSITION-SM-1'], specBeads: ['T2_TOKEN', 'POSITION', 'ORDER'] },
  {
    id: 'CV-06',
    name: 'token validation race',
    fault: 'concurrent consumes of one token (approval path and sweeper retries)',
    expected: 'exactly one consume succeeds, one placement',
    invariants: ['INV-T2-TOKEN-1', 'INV-T2-TOKEN-AUDIT-1'],
    specBeads: ['T2_TOKEN', 'ORDER'],
    aliases: ['token race', 'concurrent token consume'],
    patterns: [/^INV-T2-TOKEN-1: .*concurrent/i],
  },
  {
    id: 'CV-07',
    name: 'broker 30 s timeout',
    fault: 'the broker never acknowledges the placement',
    expected: 'SUBMITTED, then STALLED after 60 s with an alert; never retried, never REJECTED',
    invariants: ['INV-POSITION-SUBMITTED-TTL-1', 'INV-IDEMPOTENT-ORDER-1'],
    specBeads: ['POSITION', 'ORDER', 'ALERT'],
    aliases: ['broker timeout', 'broker 30s timeout', 'broker 30-second timeout'],
    patterns: [/^INV-IDEMPOTENT-ORDER-1: broker timeout/i, /^CV late fill after STALLED: broker timeout/i],
  },
  { id: 'CV-08', name: 'broker rejection (margin)', fault: 'the broker rejects the entry (insufficient margin, IBKR 201)', expected: 'SUBMITTED → REJECTED, ORDER_REJECTED alert, no retry', invariants: ['INV-POSITION-SM-1', 'INV-POSITION-AUDIT-1'], specBeads: ['ORDER', 'POSITION', 'ALERT'], aliases: ['broker rejection', 'margin rejection'] },
  { id: 'CV-09', name: 'partial fill 50%', fault: 'the broker fills half of the entry', expected: 'filledQty / requestedQty / partialFillRatio tracked; exits sized to what filled (children PreSubmitted are no protection; resized when the rest dies)', invariants: ['INV-POSITION-AUDIT-1', 'INV-PROTECTED-1'], specBeads: ['FILL', 'POSITION', 'ORDER'], aliases: ['partial fill'] },
  { id: 'CV-10', name: 'partial-fill drift', fault: 'the broker reports 60% filled while Phoenix recorded 50%', expected: 'drift detected and alerted, nothing auto-corrected', invariants: ['INV-RECONCILE-ALERT-1', 'INV-RECONCILE-READONLY-1', 'INV-RECONCILE-AUDIT-1'], specBeads: ['RECONCILIATION_DRIFT', 'ALERT'], aliases: ['partial fill drift'] },
  { id: 'CV-11', name: 'reconciliation drift', fault: 'the broker reports a wrong position (spoofed)', expected: 'RECONCILIATION_DRIFT bead + alert within 60 s; human resolution bead; never auto-corrected', invariants: ['INV-RECONCILE-ALERT-1', 'INV-RECONCILE-READONLY-1', 'INV-RECONCILE-AUDIT-1', 'INV-RECONCILE-AUDIT-2'], specBeads: ['RECONCILIATION_DRIFT', 'RECONCILIATION_RESOLUTION', 'ALERT'] },
  { id: 'CV-12', name: 'invalid transition', fault: 'PROPOSED → CLOSED is requested', expected: 'refused with an error; nothing changes', invariants: ['INV-POSITION-SM-1'], specBeads: ['POSITION'] },
  { id: 'CV-13', name: 'promotion bypass', fault: 'a SHADOW strategy tries to reach the broker / to go LIVE without a T2 approval', expected: 'refused; only an approved PROMOTION card flips the stage', invariants: ['INV-PROMOTION-T2-1'], specBeads: ['PROMOTION', 'T2_TOKEN'] },
  { id: 'CV-14', name: 'partial promotion evidence', fault: '/promote with too few sessions or regimes', expected: 'refused with every missing item listed', invariants: ['INV-PROMOTION-EVIDENCE-1'], specBeads: ['PROMOTION'] },
  { id: 'CV-15', name: 'promotion with kill flag', fault: '/promote while a kill flag is active', expected: 'refused', invariants: ['INV-PROMOTION-SAFE-1'], specBeads: ['KILL_FLAG', 'PROMOTION'] },
  { id: 'CV-16', name: 'entry while kill active', fault: 'intents, approvals and submissions while the kill flag is on', expected: 'KILL_ACTIVE at every stage, no token, no order; exits allowed', invariants: ['INV-KILL-BLOCKS-ENTRY-1'], specBeads: ['GATE', 'KILL_FLAG', 'T2_TOKEN'] },
  { id: 'CV-17', name: 'stale approval', fault: 'approved, then the market state goes stale before submission', expected: 'STATE_CONFLICT at the submission re-check, APPROVED → CANCELLED, token REJECTED, 5-min kill', invariants: ['INV-STALE-KILL-1', 'INV-T2-TOKEN-AUDIT-1', 'INV-POSITION-AUDIT-1'], specBeads: ['GATE', 'KILL_FLAG', 'T2_TOKEN', 'POSITION'] },
  { id: 'CV-18', name: 'IBKR disconnect', fault: 'connectivity lost (1100 / 2110 / socket drop)', expected: 'submissions paused (not rejected), IBKR_SESSION bead and alert, resumes on restore', invariants: ['INV-IBKR-RECONNECT-1'], specBeads: ['IBKR_SESSION', 'ALERT'] },
  {
    id: 'CV-19',
    name: 'reconnect exhaustion',
    fault: 'the gateway refuses every reconnect',
    expected: 'exactly 3 attempts, then escalation to a human; stays down',
    invariants: ['INV-IBKR-RECONNECT-1'],
    specBeads: ['IBKR_SESSION', 'ALERT'],
    patterns: [/^INV-IBKR-RECONNECT-1: .*\b3 (reconnect )?attempts/i],
  },
  { id: 'CV-20', name: 'gateway daily restart', fault: 'IB Gateway restarts (daily restart window)', expected: 'reconnects; finds its earlier orders by orderRef', invariants: ['INV-IBKR-RECONNECT-1', 'INV-IDEMPOTENT-ORDER-1'], specBeads: ['IBKR_SESSION'] },
  {
    id: 'CV-21',
    name: 'process killed mid-submission',
    fault: 'the process dies between commit and send, or after the send',
    expected: 'restart → no duplicate order, state explained by beads',
    invariants: ['INV-IDEMPOTENT-ORDER-1'],
    specBeads: ['ORDER', 'POSITION', 'T2_TOKEN'],
    aliases: ['process killed', 'crash mid-submission', 'killed mid-submission'],
  },
  { id: 'CV-22', name: 'heartbeat jitter bounds', fault: 'seeded jitter on the heartbeat schedule', expected: 'every interval within 30 s ± 5 s', invariants: ['INV-OPS-HEARTBEAT-30S-1'], specBeads: ['HEARTBEAT'], aliases: ['heartbeat jitter'] },
  { id: 'CV-23', name: 'semantic degrade (stale orders)', fault: 'stale working orders, broker down, database not writable, Telegram failing', expected: 'HEARTBEAT DEGRADED with every reason; one alert per episode', invariants: ['INV-OPS-HEARTBEAT-SEMANTIC-1'], specBeads: ['HEARTBEAT', 'ALERT'], aliases: ['semantic degrade'] },
  { id: 'CV-24', name: 'Telegram timeout', fault: 'Telegram requests time out', expected: 'retried with backoff, nothing lost, no crash', invariants: ['INV-OUTBOX-1'], specBeads: ['ALERT'], aliases: ['Telegram outage'] },
  { id: 'CV-25', name: 'Telegram 429 flood', fault: 'Telegram answers 429 with retry_after', expected: 'retry_after honoured, nothing lost', invariants: ['INV-OUTBOX-1'], specBeads: ['ALERT'], aliases: ['Telegram 429'] },
  { id: 'CV-26', name: 'alert flood of 10,000', fault: '10,000 alerts in 60 s', expected: 'a handful of digests that account for every alert; CRITICAL first within 1 s', invariants: ['INV-OUTBOX-1'], specBeads: ['ALERT'], aliases: ['alert flood', 'alert flood of 10000'] },
  { id: 'CV-27', name: 'stale card tapped', fault: 'APPROVE tapped after the card expired', expected: 'refused; intent CANCELLED card_expired; card says so', invariants: ['INV-POSITION-SM-1', 'INV-POSITION-AUDIT-1'], specBeads: ['POSITION', 'CARD'], aliases: ['stale card'] },
  { id: 'CV-28', name: 'foreign user taps', fault: 'a viewer or a stranger taps APPROVE', expected: 'short refusal, nothing changes, ACCESS_DENIED audited', invariants: ['INV-T2-GATE-1'], specBeads: ['ACCESS_DENIED'], aliases: ['foreign user'] },
  { id: 'CV-29', name: 'forged callback data', fault: 'callback data with an unknown or forged card id', expected: 'refused, nothing changes', invariants: ['INV-T2-GATE-1'], specBeads: ['ACCESS_DENIED'], aliases: ['forged callback'] },
  { id: 'CV-30', name: 'account mismatch (U… in PAPER)', fault: 'a live U… account behind the broker in PAPER mode', expected: 'submission refused (ACCOUNT_MODE_MISMATCH) + alert', invariants: ['INV-IBKR-ACCOUNT-CHECK-1', 'INV-IBKR-PAPER-GUARD-1'], specBeads: ['GATE', 'IBKR_SESSION', 'ALERT'], aliases: ['account mismatch'], patterns: [/^INV-IBKR-ACCOUNT-CHECK-1: PAPER mode with a live U/i, /^INV-IBKR-ACCOUNT-CHECK-1: a U… account is refused in PAPER/i] },
  { id: 'CV-31', name: 'pacing burst of orders', fault: 'a burst of orders above 50 messages/second; IBKR error 100', expected: 'queued, none dropped, in order; error 100 handled, never a crash', invariants: [], specBeads: ['ORDER', 'ALERT'], aliases: ['pacing burst'] },
  { id: 'CV-32', name: 'config change revalidation', fault: 'a broken or changed constitution between restarts', expected: 'broken → start-up fails closed listing every problem; changed → new CONFIG digest bead, approved intents re-checked under the new limits at submission', invariants: ['INV-T2-TOKEN-AUDIT-1', 'INV-POSITION-AUDIT-1', 'INV-AUDIT-CHAIN-1'], specBeads: ['CONFIG', 'GATE', 'T2_TOKEN', 'POSITION'], aliases: ['config change'] },
  {
    id: 'CV-33',
    name: 'corrupted/tampered bead detected',
    fault: 'a bead row is edited, deleted, re-ordered or forged on disk',
    expected: 'audit verify names the first broken link',
    invariants: ['INV-AUDIT-CHAIN-1', 'INV-AUDIT-ANCHOR-1'],
    specBeads: ['(all)'],
    aliases: ['tampered bead', 'corrupted bead', 'corrupted bead detected', 'tampered bead detected'],
    patterns: [/^INV-AUDIT-CHAIN-1: an edited payload is detected/i],
  },
];

/**
 * Gate boundaries, pure (issue 12 "Also"; SPEC 4): every gate of the registry in
 * src/engine/risk.gates.ts at its exact edge — equal to the cap, one unit under, one unit over
 * (one cent, one contract, one loss, one trade, one second, 0.01 score). The same limits with
 * their inputs read from the database are in gates.boundary.engine.test.ts.
 *
 * Proven to bite: each mutation below was applied by hand (never committed), this file and
 * gates.boundary.engine.test.ts were run and the named tests FAILED, then the change was reverted.
 *   daily_loss          `loss >= cap` → `>`                        DAILY_LOSS_CAP "loss $30.00 (equal…)", "cap $12.49: loss $12.49"
 *   consecutive_losses  `>= max` → `> max`                         CONSECUTIVE_LOSSES "2 losses in a row (equal…)"
 *   trades_per_day      `>= max` → `> max`                         TRADES_PER_DAY "2 trades today (equal…)"
 *   position_limit      `openQtyOthers + quantity` → `quantity`    POSITION_LIMIT "others 1 + this 2", "others 2 + this 1"
 *   position_limit      `after > max` → `>=`                       POSITION_LIMIT "others 1 + this 1 (equal…)", "others 0 + this 2"
 *   per_trade_risk      `riskCents > cap` → `>=`                   RISK_PER_TRADE "equal to cap $11.25" (BUY and SELL)
 *   minimum_capital     `netLiquidation < min` → `<=`              MIN_CAPITAL "$1,500.00 (equal…)"
 *   quality             `dvs < minDvs` / `eqs < minEqs` → `<=`     QUALITY "DVS 0.80 / EQS 0.75 (equal…)"
 *   stale_state         `ageSec <= ttl` → `<`                      STATE_CONFLICT "age 900 s", "900.999 s", "regime 1200 s"
 *   stale_state         `-ageSec > skew` → `>=`                    STATE_CONFLICT "stamped 60 s in the future"
 *   kill                `activeKills[0]` → `activeKills[1]`        KILL_ACTIVE "one MANUAL flag at INTAKE/APPROVAL/SUBMIT", "one STALE flag"
 *   session window end  `t < to` → `t <= to`                       SESSION_CLOSED "09:35:00", "13:00:00", "July 09:35:00", nextOpen
 *   session window start `t >= from` → `t > from`                  SESSION_CLOSED "09:30:00", "12:00:00", "15:50:00", nextOpen
 *   session flatten     `>= flattenAt` → `>`                       SESSION_CLOSED edges "15:55:00 (the flatten deadline)"
 *   session open        `< open` → `<=`                            SESSION_CLOSED edges "09:30:00 (the open)"
 *   session close       `>= close` → `>`                           SESSION_CLOSED edges "flatten at 16:30: 16:00:00"
 *   session holidays    holiday list ignored                       SESSION_CLOSED "2026-12-25 declared a holiday"
 *   broker_health       `canSubmit ? null` → always null           BROKER_NOT_READY "DISCONNECTED at SUBMIT", stages
 *   mode_account        paper check dropped                        ACCOUNT_MODE_MISMATCH "PAPER with a U…", "DU and no digit"
 *   gateway             window `m < to` → `m <= to` (midnight)     GATEWAY_RESTART_WINDOW "00:05:00 (its end)"
 *   gateway             window `m >= from` → `m > from`            GATEWAY_RESTART_WINDOW "23:45:00 (its first second)"
 */
import { describe, expect, it } from 'vitest';
import type { AccountSummary, BrokerHealth } from '../../src/engine/broker.port.js';
import type { Constitution } from '../../src/engine/constitution.js';
import type { ContractFacts } from '../../src/engine/contract-facts.js';
import type { KillFlag } from '../../src/engine/domain.js';
import type { GatewayDay } from '../../src/engine/gateway-day.js';
import { GATES, runGates, type GateCode, type GateContext, type GateId, type GateStage } from '../../src/engine/risk.gates.js';
import { IN_SESSION, testConstitution } from '../support/harness.js';
import { aKill } from '../support/records.js';

const now = Date.parse(IN_SESSION); // Tue 2026-11-24 10:00 New York (EST, UTC−5)
const paper: AccountSummary = { accountId: 'DU0000001', netLiquidation: 25_000, buyingPower: 100_000, currency: 'USD' };
const ready = (account: AccountSummary | null = paper): BrokerHealth => ({ state: 'READY', canSubmit: true, account });
const STAGES: readonly GateStage[] = ['INTAKE', 'APPROVAL', 'SUBMIT'];

/** A context every gate allows: the MES bracket of the README (risk $11.25), limits at their defaults. */
function base(over: Partial<GateContext> = {}): GateContext {
  return {
    stage: 'SUBMIT',
    now,
    intent: { instrumentKey: 'FUT:MES:202612:USD', side: 'BUY', quantity: 1, multiplier: 5, entryPrice: 6010.25, stopLoss: 6008, dvs: 0.93, eqs: 0.88, stateAsOf: now, regime: null },
    constitution: testConstitution(),
    mode: 'paper',
    allowLive: false,
    activeKills: [],
    today: { realizedPnlCents: 0, consecutiveLosses: 0, trades: 0 },
    openQtyOthers: 0,
    broker: ready(),
    lastKnownAccount: paper,
    ...over,
  };
}

const withIntent = (i: Partial<GateContext['intent']>, over: Partial<GateContext> = {}) => base({ ...over, intent: { ...base().intent, ...i } });
const withLimits = (limits: Partial<Constitution['limits']>, over: Partial<GateContext> = {}) => base({ ...over, constitution: testConstitution({ limits }) });
/** The README bracket with MES contract details (tick 0.25, ×5) from the broker. */
const MES_FACTS: ContractFacts = { conId: 1, minTick: 0.25, multiplier: 5, source: 'broker', qualifiedAt: now };
const withContract = (f: Partial<ContractFacts>, i: Partial<GateContext['intent']> = {}, over: Partial<GateContext> = {}) =>
  base({ ...over, intent: { ...base().intent, symbol: 'MES', orderType: 'BRACKET', takeProfit: 6015, ...i }, contract: { ok: true, facts: { ...MES_FACTS, ...f } } });
const today = (t: Partial<GateContext['today']>, over: Partial<GateContext> = {}) => base({ ...over, today: { ...base().today, ...t } });
/** New York EST wall time on a date → epoch ms (valid Nov–Mar). */
const ny = (date: string, hms: string) => Date.parse(`${date}T${hms}-05:00`);
const nySummer = (date: string, hms: string) => Date.parse(`${date}T${hms}-04:00`);
/** IB Gateway's day at its defaults (IB_RESTART_WINDOW=23:45-00:05, IB_WEEKLY_LOGIN=Sun 18:00). */
const DAY: GatewayDay = { restartWindow: { from: 23 * 60 + 45, to: 5 }, weeklyLogin: { weekday: 0, at: 18 * 60 }, remindMinutesBefore: 60 };
const kill = (over: Partial<KillFlag> = {}): KillFlag => aKill(over, now);

interface Case {
  readonly name: string;
  readonly ctx: GateContext;
  /** the gate's own verdict: its code, or null when it allows */
  readonly expect: GateCode | null;
}

/** One table per gate of the registry; `Record<GateId, …>` makes a new gate without a table a type error. */
const TABLES: Record<GateId, readonly Case[]> = {
  kill: [
    { name: 'no flag → allowed', ctx: base(), expect: null },
    ...STAGES.map((stage) => ({ name: `one MANUAL flag at ${stage} → KILL_ACTIVE`, ctx: base({ stage, activeKills: [kill()] }), expect: 'KILL_ACTIVE' as const })),
    { name: 'one STALE flag (temporary) → KILL_ACTIVE', ctx: base({ activeKills: [kill({ kind: 'STALE', expiresAt: now + 1 })] }), expect: 'KILL_ACTIVE' },
  ],
  stale_state: [
    { name: 'age 899 s (one second under the 900 s TTL) → allowed', ctx: withIntent({ stateAsOf: now - 899_000 }), expect: null },
    { name: 'age 900 s (equal to the TTL) → allowed', ctx: withIntent({ stateAsOf: now - 900_000 }), expect: null },
    { name: 'age 900.999 s (still 900 whole seconds) → allowed', ctx: withIntent({ stateAsOf: now - 900_999 }), expect: null },
    { name: 'age 901 s (one second over) → STATE_CONFLICT', ctx: withIntent({ stateAsOf: now - 901_000 }), expect: 'STATE_CONFLICT' },
    { name: 'regime TTL 1200 s: age 1200 s → allowed', ctx: withIntent({ stateAsOf: now - 1_200_000, regime: 'range' }, { constitution: testConstitution({ staleState: { regimeTtlSec: { range: 1200 } } }) }), expect: null },
    { name: 'regime TTL 1200 s: age 1201 s → STATE_CONFLICT', ctx: withIntent({ stateAsOf: now - 1_201_000, regime: 'range' }, { constitution: testConstitution({ staleState: { regimeTtlSec: { range: 1200 } } }) }), expect: 'STATE_CONFLICT' },
    { name: 'stamped 59 s in the future → allowed', ctx: withIntent({ stateAsOf: now + 59_000 }), expect: null },
    { name: 'stamped 60 s in the future (equal to the skew limit) → allowed', ctx: withIntent({ stateAsOf: now + 60_000 }), expect: null },
    { name: 'stamped 61 s in the future (one second over) → STATE_CONFLICT', ctx: withIntent({ stateAsOf: now + 61_000 }), expect: 'STATE_CONFLICT' },
  ],
  mode_account: [
    { name: 'PAPER with a DU… account → allowed', ctx: base(), expect: null },
    { name: 'PAPER with a U… account → ACCOUNT_MODE_MISMATCH', ctx: base({ broker: ready({ ...paper, accountId: 'U1234567' }) }), expect: 'ACCOUNT_MODE_MISMATCH' },
    { name: 'PAPER with "DU" and no digit (not a paper id) → ACCOUNT_MODE_MISMATCH', ctx: base({ broker: ready({ ...paper, accountId: 'DUX' }) }), expect: 'ACCOUNT_MODE_MISMATCH' },
    { name: 'LIVE + IBKR_ALLOW_LIVE with a U… account → allowed', ctx: base({ mode: 'live', allowLive: true, broker: ready({ ...paper, accountId: 'U1234567' }) }), expect: null },
    { name: 'LIVE without IBKR_ALLOW_LIVE → ACCOUNT_MODE_MISMATCH', ctx: base({ mode: 'live', allowLive: false, broker: ready({ ...paper, accountId: 'U1234567' }) }), expect: 'ACCOUNT_MODE_MISMATCH' },
    { name: 'LIVE + IBKR_ALLOW_LIVE with a DU… account → ACCOUNT_MODE_MISMATCH', ctx: base({ mode: 'live', allowLive: true }), expect: 'ACCOUNT_MODE_MISMATCH' },
    { name: 'OBSERVE at APPROVAL → MODE_OBSERVE', ctx: base({ mode: 'observe', stage: 'APPROVAL' }), expect: 'MODE_OBSERVE' },
    { name: 'OBSERVE at SUBMIT → MODE_OBSERVE', ctx: base({ mode: 'observe' }), expect: 'MODE_OBSERVE' },
    { name: 'account never read, broker ready, at SUBMIT → ACCOUNT_MODE_MISMATCH (refuse, do not guess)', ctx: base({ broker: ready(null), lastKnownAccount: null }), expect: 'ACCOUNT_MODE_MISMATCH' },
    { name: 'account never read at APPROVAL → allowed (re-checked at submission)', ctx: base({ stage: 'APPROVAL', broker: ready(null), lastKnownAccount: null }), expect: null },
  ],
  contract: [
    { name: 'no contract details passed (pure tests of other gates) → allowed', ctx: base(), expect: null },
    { name: 'MES tick 0.25: entry 6010.25 / stop 6008.00 / target 6015.00 on the tick → allowed', ctx: withContract({}), expect: null },
    { name: 'MES tick 0.25: entry 6010.50 (exactly one tick up) → allowed', ctx: withContract({}, { entryPrice: 6010.5 }), expect: null },
    { name: 'MES tick 0.25: entry 6010.13 (off the tick) → PRICE_OFF_TICK', ctx: withContract({}, { entryPrice: 6010.13 }), expect: 'PRICE_OFF_TICK' },
    { name: 'MES tick 0.25: stop 6008.01 (one cent off the tick) → PRICE_OFF_TICK', ctx: withContract({}, { stopLoss: 6008.01 }), expect: 'PRICE_OFF_TICK' },
    { name: 'MES tick 0.25: target 6015.10 (off the tick) → PRICE_OFF_TICK', ctx: withContract({}, { takeProfit: 6015.1 }), expect: 'PRICE_OFF_TICK' },
    { name: 'intent multiplier 50, contract 5 → MULTIPLIER_MISMATCH', ctx: withContract({}, { multiplier: 50 }), expect: 'MULTIPLIER_MISMATCH' },
    ...STAGES.map((stage) => ({ name: `details unknown at ${stage} → ${stage === 'INTAKE' ? 'CONTRACT_UNKNOWN (fail closed before the card)' : 'allowed (the adapter re-qualifies before sending)'}`, ctx: base({ stage, contract: { ok: false, reason: 'broker down and never qualified' } }), expect: stage === 'INTAKE' ? ('CONTRACT_UNKNOWN' as const) : null })),
  ],
  daily_loss: [
    { name: 'loss $29.99 (one cent under the $30 cap) → allowed', ctx: today({ realizedPnlCents: -2999 }), expect: null },
    { name: 'loss $30.00 (equal to the cap) → DAILY_LOSS_CAP', ctx: today({ realizedPnlCents: -3000 }), expect: 'DAILY_LOSS_CAP' },
    { name: 'loss $30.01 (one cent over) → DAILY_LOSS_CAP', ctx: today({ realizedPnlCents: -3001 }), expect: 'DAILY_LOSS_CAP' },
    { name: 'cap $12.49 (not a round number of dollars): loss $12.48 → allowed', ctx: today({ realizedPnlCents: -1248 }, { constitution: testConstitution({ limits: { dailyLossCapUsd: 12.49 } }) }), expect: null },
    { name: 'cap $12.49: loss $12.49 → DAILY_LOSS_CAP', ctx: today({ realizedPnlCents: -1249 }, { constitution: testConstitution({ limits: { dailyLossCapUsd: 12.49 } }) }), expect: 'DAILY_LOSS_CAP' },
    { name: 'a profit of $100 → allowed', ctx: today({ realizedPnlCents: 10_000 }), expect: null },
  ],
  consecutive_losses: [
    { name: '1 loss in a row (one under max 2) → allowed', ctx: today({ consecutiveLosses: 1 }), expect: null },
    { name: '2 losses in a row (equal to max 2) → CONSECUTIVE_LOSSES', ctx: today({ consecutiveLosses: 2 }), expect: 'CONSECUTIVE_LOSSES' },
    { name: '3 losses in a row (one over) → CONSECUTIVE_LOSSES', ctx: today({ consecutiveLosses: 3 }), expect: 'CONSECUTIVE_LOSSES' },
  ],
  trades_per_day: [
    { name: '1 trade today (one under max 2) → allowed', ctx: today({ trades: 1 }), expect: null },
    { name: '2 trades today (equal to max 2) → TRADES_PER_DAY', ctx: today({ trades: 2 }), expect: 'TRADES_PER_DAY' },
    { name: '3 trades today (one over) → TRADES_PER_DAY', ctx: today({ trades: 3 }), expect: 'TRADES_PER_DAY' },
  ],
  position_limit: [
    { name: 'max 2: others 0 + this 1 → allowed', ctx: withLimits({ maxPositionPerInstrument: 2 }), expect: null },
    { name: 'max 2: others 1 + this 1 (equal to the cap) → allowed', ctx: withLimits({ maxPositionPerInstrument: 2 }, { openQtyOthers: 1 }), expect: null },
    { name: 'max 2: others 0 + this 2 (equal) → allowed', ctx: withLimits({ maxPositionPerInstrument: 2 }, { intent: { ...base().intent, quantity: 2 } }), expect: null },
    { name: 'max 2: others 1 + this 2 (one contract over) → POSITION_LIMIT', ctx: withLimits({ maxPositionPerInstrument: 2 }, { openQtyOthers: 1, intent: { ...base().intent, quantity: 2 } }), expect: 'POSITION_LIMIT' },
    { name: 'max 2: others 2 + this 1 (one over, all of it held by others) → POSITION_LIMIT', ctx: withLimits({ maxPositionPerInstrument: 2 }, { openQtyOthers: 2 }), expect: 'POSITION_LIMIT' },
    { name: 'max 2: others 0 + this 3 (one over alone) → POSITION_LIMIT', ctx: withLimits({ maxPositionPerInstrument: 2 }, { intent: { ...base().intent, quantity: 3 } }), expect: 'POSITION_LIMIT' },
  ],
  per_trade_risk: [
    { name: 'risk $11.25 under cap $11.26 (one cent) → allowed', ctx: withLimits({ maxRiskPerTradeUsd: 11.26 }), expect: null },
    { name: 'risk $11.25 equal to cap $11.25 → allowed', ctx: withLimits({ maxRiskPerTradeUsd: 11.25 }), expect: null },
    { name: 'risk $11.25 over cap $11.24 (one cent) → RISK_PER_TRADE', ctx: withLimits({ maxRiskPerTradeUsd: 11.24 }), expect: 'RISK_PER_TRADE' },
    { name: 'SELL with the stop above: risk $11.25 equal to cap $11.25 → allowed', ctx: withLimits({ maxRiskPerTradeUsd: 11.25 }, { intent: { ...base().intent, side: 'SELL', entryPrice: 6008, stopLoss: 6010.25 } }), expect: null },
    { name: '2 contracts double the risk: $22.50 over cap $22.49 → RISK_PER_TRADE', ctx: withLimits({ maxRiskPerTradeUsd: 22.49, maxPositionPerInstrument: 2 }, { intent: { ...base().intent, quantity: 2 } }), expect: 'RISK_PER_TRADE' },
    { name: 'market order without an entry price → RISK_UNDEFINED', ctx: withIntent({ entryPrice: null }), expect: 'RISK_UNDEFINED' },
  ],
  order_notional: [
    // README bracket: 6010.25 × 1 × 5 = $30,051.25
    { name: 'notional $30,051.25 under cap $30,051.26 (one cent) → allowed', ctx: withLimits({ maxOrderNotionalUsd: 30_051.26 }), expect: null },
    { name: 'notional $30,051.25 equal to cap $30,051.25 → allowed', ctx: withLimits({ maxOrderNotionalUsd: 30_051.25 }), expect: null },
    { name: 'notional $30,051.25 over cap $30,051.24 (one cent) → ORDER_NOTIONAL', ctx: withLimits({ maxOrderNotionalUsd: 30_051.24 }), expect: 'ORDER_NOTIONAL' },
    { name: 'the contract multiplier counts, not the strategy\'s word: intent ×50, contract ×5, cap $30,051.25 → allowed', ctx: withContract({}, { multiplier: 50 }, { constitution: testConstitution({ limits: { maxOrderNotionalUsd: 30_051.25 } }) }), expect: null },
    { name: 'market order without entry price: the stop prices it, 6008 × 1 × 5 = $30,040.00 over cap $30,039.99 → ORDER_NOTIONAL', ctx: withIntent({ entryPrice: null }, { constitution: testConstitution({ limits: { maxOrderNotionalUsd: 30_039.99 } }) }), expect: 'ORDER_NOTIONAL' },
  ],
  minimum_capital: [
    { name: 'net liquidation $1,500.01 (one cent over the minimum) → allowed', ctx: base({ broker: ready({ ...paper, netLiquidation: 1500.01 }) }), expect: null },
    { name: 'net liquidation $1,500.00 (equal to the minimum) → allowed', ctx: base({ broker: ready({ ...paper, netLiquidation: 1500 }) }), expect: null },
    { name: 'net liquidation $1,499.99 (one cent under) → MIN_CAPITAL', ctx: base({ broker: ready({ ...paper, netLiquidation: 1499.99 }) }), expect: 'MIN_CAPITAL' },
    { name: 'broker down: the last known $1,499.99 still counts → MIN_CAPITAL', ctx: base({ broker: { state: 'DISCONNECTED', canSubmit: false, account: null }, lastKnownAccount: { ...paper, netLiquidation: 1499.99 } }), expect: 'MIN_CAPITAL' },
    { name: 'account never read, broker ready, at SUBMIT → MIN_CAPITAL', ctx: base({ broker: ready(null), lastKnownAccount: null }), expect: 'MIN_CAPITAL' },
    { name: 'account never read at INTAKE → allowed (re-checked at submission)', ctx: base({ stage: 'INTAKE', broker: ready(null), lastKnownAccount: null }), expect: null },
  ],
  quality: [
    { name: 'DVS 0.81 / EQS 0.76 (0.01 over the minimums) → allowed', ctx: withIntent({ dvs: 0.81, eqs: 0.76 }), expect: null },
    { name: 'DVS 0.80 / EQS 0.75 (equal to the minimums) → allowed', ctx: withIntent({ dvs: 0.8, eqs: 0.75 }), expect: null },
    { name: 'DVS 0.79 (0.01 under) → QUALITY', ctx: withIntent({ dvs: 0.79 }), expect: 'QUALITY' },
    { name: 'EQS 0.74 (0.01 under) → QUALITY', ctx: withIntent({ eqs: 0.74 }), expect: 'QUALITY' },
  ],
  session: [
    { name: 'Tue 09:29:59 (before the open) → SESSION_CLOSED', ctx: base({ now: ny('2026-11-24', '09:29:59') }), expect: 'SESSION_CLOSED' },
    { name: 'Tue 09:30:00 (the open, inside the first-5-minutes window) → SESSION_CLOSED', ctx: base({ now: ny('2026-11-24', '09:30:00') }), expect: 'SESSION_CLOSED' },
    { name: 'Tue 09:34:59 (last second of the first-5-minutes window) → SESSION_CLOSED', ctx: base({ now: ny('2026-11-24', '09:34:59') }), expect: 'SESSION_CLOSED' },
    { name: 'Tue 09:35:00 (window over) → allowed', ctx: base({ now: ny('2026-11-24', '09:35:00') }), expect: null },
    { name: 'Tue 11:59:59 (one second before lunch) → allowed', ctx: base({ now: ny('2026-11-24', '11:59:59') }), expect: null },
    { name: 'Tue 12:00:00 (lunch window starts) → SESSION_CLOSED', ctx: base({ now: ny('2026-11-24', '12:00:00') }), expect: 'SESSION_CLOSED' },
    { name: 'Tue 12:59:59 (last second of lunch) → SESSION_CLOSED', ctx: base({ now: ny('2026-11-24', '12:59:59') }), expect: 'SESSION_CLOSED' },
    { name: 'Tue 13:00:00 (lunch over) → allowed', ctx: base({ now: ny('2026-11-24', '13:00:00') }), expect: null },
    { name: 'Tue 15:49:59 (one second before the last-10-minutes window) → allowed', ctx: base({ now: ny('2026-11-24', '15:49:59') }), expect: null },
    { name: 'Tue 15:50:00 (last-10-minutes window) → SESSION_CLOSED', ctx: base({ now: ny('2026-11-24', '15:50:00') }), expect: 'SESSION_CLOSED' },
    { name: 'July (EDT, UTC−4) 09:34:59 → SESSION_CLOSED, 09:35:00 below → allowed (the time zone, not a fixed offset)', ctx: base({ now: nySummer('2026-07-15', '09:34:59') }), expect: 'SESSION_CLOSED' },
    { name: 'July (EDT) 09:35:00 → allowed', ctx: base({ now: nySummer('2026-07-15', '09:35:00') }), expect: null },
    { name: 'Sat 2026-11-28 10:00 (weekend) → SESSION_CLOSED', ctx: base({ now: ny('2026-11-28', '10:00:00') }), expect: 'SESSION_CLOSED' },
    { name: 'Sun 2026-11-29 23:59:59 (weekend) → SESSION_CLOSED', ctx: base({ now: ny('2026-11-29', '23:59:59') }), expect: 'SESSION_CLOSED' },
    { name: 'Fri 2026-12-25 10:00 declared a holiday → SESSION_CLOSED', ctx: base({ now: ny('2026-12-25', '10:00:00'), constitution: testConstitution({ session: { holidays: ['2026-12-25'] } }) }), expect: 'SESSION_CLOSED' },
    { name: 'Thu 2026-12-24 10:00, the day before the holiday → allowed', ctx: base({ now: ny('2026-12-24', '10:00:00'), constitution: testConstitution({ session: { holidays: ['2026-12-25'] } }) }), expect: null },
    { name: 'Fri 2026-12-25 10:00 not declared a holiday → allowed (the list is the constitution\'s)', ctx: base({ now: ny('2026-12-25', '10:00:00') }), expect: null },
    { name: 'session not enforced (demo constitution): 03:00 → allowed', ctx: base({ now: ny('2026-11-24', '03:00:00'), constitution: testConstitution({ session: { enforce: false } }) }), expect: null },
  ],
  gateway: [
    // IB Gateway's day (issue 17): the default window 23:45–00:05 New York, [from, to)
    { name: 'window 23:45–00:05: 23:44:59 → allowed', ctx: base({ now: ny('2026-11-24', '23:44:59'), gateway: DAY }), expect: null },
    { name: 'window 23:45–00:05: 23:45:00 (its first second) → GATEWAY_RESTART_WINDOW (a wait)', ctx: base({ now: ny('2026-11-24', '23:45:00'), gateway: DAY }), expect: 'GATEWAY_RESTART_WINDOW' },
    { name: 'window 23:45–00:05: 00:04:59 (its last second) → GATEWAY_RESTART_WINDOW', ctx: base({ now: ny('2026-11-25', '00:04:59'), gateway: DAY }), expect: 'GATEWAY_RESTART_WINDOW' },
    { name: 'window 23:45–00:05: 00:05:00 (its end) → allowed', ctx: base({ now: ny('2026-11-25', '00:05:00'), gateway: DAY }), expect: null },
    { name: 'no gateway (simulated broker): 23:50 → allowed', ctx: base({ now: ny('2026-11-24', '23:50:00'), gateway: null }), expect: null },
    { name: 'WAITING_FOR_LOGIN at 10:00 → GATEWAY_LOGIN (a wait), even without a window', ctx: base({ broker: { state: 'WAITING_FOR_LOGIN', canSubmit: false, account: null }, gateway: { ...DAY, restartWindow: null } }), expect: 'GATEWAY_LOGIN' },
  ],
  broker_health: [
    { name: 'broker READY at SUBMIT → allowed', ctx: base(), expect: null },
    { name: 'broker DISCONNECTED at SUBMIT → BROKER_NOT_READY (a wait)', ctx: base({ broker: { state: 'DISCONNECTED', canSubmit: false, account: null } }), expect: 'BROKER_NOT_READY' },
  ],
};

/** Without the no-trade windows: the open, the flatten deadline and the close at their own edges. */
const bare = testConstitution({ session: { noTradeWindows: [] } });
// Start-up refuses a flatten deadline after the close; the gate still refuses at the close on its
// own (a second line of defence), so build that constitution past the schema.
const lateFlatten: Constitution = { ...bare, session: { ...bare.session, flattenAt: '16:30' } };
const SESSION_EDGES: readonly Case[] = [
  { name: '09:29:59 → SESSION_CLOSED (outside regular hours)', ctx: base({ constitution: bare, now: ny('2026-11-24', '09:29:59') }), expect: 'SESSION_CLOSED' },
  { name: '09:30:00 (the open) → allowed', ctx: base({ constitution: bare, now: ny('2026-11-24', '09:30:00') }), expect: null },
  { name: '15:54:59 (one second before the 15:55 flatten deadline) → allowed', ctx: base({ constitution: bare, now: ny('2026-11-24', '15:54:59') }), expect: null },
  { name: '15:55:00 (the flatten deadline) → SESSION_CLOSED', ctx: base({ constitution: bare, now: ny('2026-11-24', '15:55:00') }), expect: 'SESSION_CLOSED' },
  { name: '16:00:00 (the close) → SESSION_CLOSED', ctx: base({ constitution: bare, now: ny('2026-11-24', '16:00:00') }), expect: 'SESSION_CLOSED' },
  // a flatten deadline after the close (a misconfiguration) leaves the close itself to refuse
  { name: 'flatten at 16:30: 15:59:59 → allowed', ctx: base({ constitution: lateFlatten, now: ny('2026-11-24', '15:59:59') }), expect: null },
  { name: 'flatten at 16:30: 16:00:00 (the close) → SESSION_CLOSED', ctx: base({ constitution: lateFlatten, now: ny('2026-11-24', '16:00:00') }), expect: 'SESSION_CLOSED' },
];

function verdict(c: GateContext, gate: GateId): GateCode | null {
  const r = runGates(c);
  const d = r.denials.find((x) => x.gate === gate);
  if (!d && (GATES.find((g) => g.id === gate)!.stages as readonly GateStage[]).includes(c.stage)) expect(r.passed, `${gate} ran at ${c.stage}`).toContain(gate);
  return d?.code ?? null;
}

describe('GATE-BOUNDARY: every gate of the registry has a boundary table', () => {
  it('GATE-BOUNDARY registry: each gate id in risk.gates.ts has a table here, and the baseline context passes every gate at every stage', () => {
    expect(Object.keys(TABLES).sort()).toEqual(GATES.map((g) => g.id).sort());
    for (const stage of STAGES) expect(runGates(base({ stage })).denials).toEqual([]);
  });
});

const TITLE: Record<GateId, string> = {
  kill: 'INV-KILL-BLOCKS-ENTRY-1: GATE-BOUNDARY KILL_ACTIVE',
  stale_state: 'INV-STALE-KILL-1: GATE-BOUNDARY STATE_CONFLICT',
  mode_account: 'INV-IBKR-ACCOUNT-CHECK-1: GATE-BOUNDARY ACCOUNT_MODE_MISMATCH / MODE_OBSERVE',
  contract: 'MONEY-9: GATE-BOUNDARY PRICE_OFF_TICK / MULTIPLIER_MISMATCH / CONTRACT_UNKNOWN',
  daily_loss: 'GATE-BOUNDARY DAILY_LOSS_CAP',
  consecutive_losses: 'GATE-BOUNDARY CONSECUTIVE_LOSSES',
  trades_per_day: 'GATE-BOUNDARY TRADES_PER_DAY',
  position_limit: 'GATE-BOUNDARY POSITION_LIMIT',
  per_trade_risk: 'GATE-BOUNDARY RISK_PER_TRADE',
  order_notional: 'GATE-BOUNDARY ORDER_NOTIONAL',
  minimum_capital: 'GATE-BOUNDARY MIN_CAPITAL',
  quality: 'GATE-BOUNDARY QUALITY',
  session: 'GATE-BOUNDARY SESSION_CLOSED',
  gateway: 'GATEWAY-6: GATE-BOUNDARY GATEWAY_RESTART_WINDOW / GATEWAY_LOGIN',
  broker_health: 'GATE-BOUNDARY BROKER_NOT_READY',
};

describe.each(GATES.map((g) => g.id))('gate %s at its boundary', (gate) => {
  it.each(TABLES[gate].map((c) => [c.name, c] as const))(`${TITLE[gate]}: %s`, (_name, c) => {
    expect(verdict(c.ctx, gate)).toBe(c.expect);
  });
});

describe('session edges without the no-trade windows', () => {
  it.each(SESSION_EDGES.map((c) => [c.name, c] as const))('GATE-BOUNDARY SESSION_CLOSED: open, flatten deadline, close: %s', (_name, c) => {
    expect(verdict(c.ctx, 'session')).toBe(c.expect);
  });

  it('GATE-BOUNDARY SESSION_CLOSED: a denial says when entries reopen, to the minute (12:00:00 lunch → 13:00; Fri 15:50 → Mon 09:35)', () => {
    const lunch = runGates(base({ now: ny('2026-11-24', '12:00:00') })).denials.find((d) => d.gate === 'session');
    expect(lunch?.nextOpen).toBe(ny('2026-11-24', '13:00:00'));
    const friday = runGates(base({ now: ny('2026-11-27', '15:50:00') })).denials.find((d) => d.gate === 'session');
    expect(friday?.nextOpen).toBe(ny('2026-11-30', '09:35:00'));
  });
});

describe('which stages run which gate', () => {
  it('GATE-BOUNDARY stages: mode/account is not checked at intake; broker health only at submission (a wait, never a refusal); every other gate at all three stages', () => {
    const observe = (stage: GateStage) => runGates(base({ stage, mode: 'observe' })).denials.map((d) => d.code);
    expect(observe('INTAKE')).toEqual([]);
    expect(observe('APPROVAL')).toEqual(['MODE_OBSERVE']);
    const down = (stage: GateStage) => runGates(base({ stage, broker: { state: 'DISCONNECTED', canSubmit: false, account: null } })).denials;
    expect(down('INTAKE')).toEqual([]);
    expect(down('APPROVAL')).toEqual([]);
    expect(down('SUBMIT').map((d) => [d.code, d.wait])).toEqual([['BROKER_NOT_READY', true]]);
    for (const g of GATES) if (g.id !== 'mode_account' && g.id !== 'broker_health') expect(g.stages as readonly GateStage[], g.id).toEqual(STAGES);
  });
});

/**
 * Risk gates (SPEC 4): the one registry. Each gate is a pure function of a GateContext that
 * returns null (allow) or a coded Denial. They run at intake, at approval and right before
 * submission; the engine records every evaluation as a GATE bead.
 */
import type { AccountSummary, BrokerHealth } from './broker.port.js';
import type { Constitution } from './constitution.js';
import { multiplierMismatch, offTickPrices, type ContractLookup } from './contract-facts.js';
import type { KillFlag, Mode } from './domain.js';
import { entryHold, type GatewayDay } from './gateway-day.js';
import { sessionVerdict } from './session.calendar.js';
import { clockTime, dayClockTime, usd, usdAmount } from './people-time.js';

export type GateStage = 'INTAKE' | 'APPROVAL' | 'SUBMIT';

export interface GateIntent {
  readonly instrumentKey: string;
  /** for the contract gate's messages (default: the instrument key) */
  readonly symbol?: string;
  readonly side: 'BUY' | 'SELL';
  readonly quantity: number;
  /** the multiplier the intent states (checked against the contract by the `contract` gate) */
  readonly multiplier: number;
  /** MKT entries send no price (default: the entry price is sent) */
  readonly orderType?: 'MKT' | 'LMT' | 'BRACKET';
  readonly entryPrice: number | null;
  readonly stopLoss: number;
  readonly takeProfit?: number;
  readonly dvs: number;
  readonly eqs: number;
  readonly stateAsOf: number;
  readonly regime: string | null;
}

export interface DayStats {
  /** realised P&L of positions closed today, cents (negative = loss) */
  readonly realizedPnlCents: number;
  /** losing closes in a row at the end of today's sequence */
  readonly consecutiveLosses: number;
  /** entries that reached the broker today (a placement refused before sending is no trade, MONEY-9) */
  readonly trades: number;
}

export interface GateContext {
  readonly stage: GateStage;
  readonly now: number;
  readonly intent: GateIntent;
  readonly constitution: Constitution;
  readonly mode: Mode;
  readonly allowLive: boolean;
  readonly activeKills: readonly KillFlag[];
  readonly today: DayStats;
  /** open quantity in this instrument held by OTHER intents */
  readonly openQtyOthers: number;
  readonly broker: BrokerHealth;
  readonly lastKnownAccount: AccountSummary | null;
  /**
   * the contract's tick and multiplier (contract-lookup.ts), or why they are unknown. The
   * engine always passes it (evaluateGates); pure tests of other gates may leave it out.
   */
  readonly contract?: ContractLookup;
  /** IB Gateway's day (restart window, weekly login) when the broker is IBKR; else absent/null */
  readonly gateway?: GatewayDay | null;
}

export type GateCode =
  | 'KILL_ACTIVE'
  | 'STATE_CONFLICT'
  | 'MODE_OBSERVE'
  | 'ACCOUNT_MODE_MISMATCH'
  | 'DAILY_LOSS_CAP'
  | 'CONSECUTIVE_LOSSES'
  | 'TRADES_PER_DAY'
  | 'POSITION_LIMIT'
  | 'RISK_PER_TRADE'
  | 'RISK_UNDEFINED'
  | 'ORDER_NOTIONAL'
  | 'MIN_CAPITAL'
  | 'QUALITY'
  | 'SESSION_CLOSED'
  | 'BROKER_NOT_READY'
  | 'GATEWAY_RESTART_WINDOW'
  | 'GATEWAY_LOGIN'
  | 'CONTRACT_UNKNOWN'
  | 'PRICE_OFF_TICK'
  | 'MULTIPLIER_MISMATCH';

export interface Denial {
  readonly gate: GateId;
  readonly code: GateCode;
  readonly message: string;
  /** not a refusal: the intent may wait (broker health) */
  readonly wait?: boolean;
  /** for session denials: when entries are next allowed (epoch ms) */
  readonly nextOpen?: number | null;
}

type GateFn = (c: GateContext) => Omit<Denial, 'gate'> | null;

interface GateDef {
  readonly id: string;
  readonly stages: readonly GateStage[];
  readonly check: GateFn;
}

const ALL: readonly GateStage[] = ['INTAKE', 'APPROVAL', 'SUBMIT'];

export function stateTtlSec(c: GateContext): number {
  const s = c.constitution.staleState;
  return (c.intent.regime && s.regimeTtlSec[c.intent.regime]) || s.ttlSec;
}

/** The multiplier risk is measured with: the contract's when known, else the intent's. */
export function trustedMultiplier(c: GateContext): number {
  return c.contract?.ok ? c.contract.facts.multiplier : c.intent.multiplier;
}

/** price × quantity × multiplier in cents (the order notional gate; IB precautions, error 451). */
export function orderNotionalCents(price: number, quantity: number, multiplier: number): number {
  return Math.round(price * quantity * multiplier * 100);
}

export function isLiveAccount(id: string): boolean {
  return /^U\d/.test(id);
}
export function isPaperAccount(id: string): boolean {
  return /^DU\d/.test(id);
}

/** Account vs mode (SPEC 4): paper needs DU…, live needs U… and IBKR_ALLOW_LIVE at start-up. */
export function accountModeProblem(mode: Mode, allowLive: boolean, accountId: string | null): string | null {
  if (mode === 'observe') return 'OBSERVE mode never submits orders';
  if (!accountId) return 'broker account unknown';
  if (mode === 'paper' && !isPaperAccount(accountId)) return `account ${accountId} is not a paper account (DU…) but mode is PAPER`;
  if (mode === 'live' && !allowLive) return 'LIVE mode needs IBKR_ALLOW_LIVE=true at start-up';
  if (mode === 'live' && !isLiveAccount(accountId)) return `account ${accountId} is not a live account (U…) but mode is LIVE`;
  return null;
}

export const GATES = [
  {
    id: 'kill',
    stages: ALL,
    check: (c) => {
      const k = c.activeKills[0];
      if (!k) return null;
      const until = k.expiresAt ? ` until ${clockTime(k.expiresAt, c.constitution.session.timeZone)}` : '';
      return { code: 'KILL_ACTIVE', message: `kill flag active (${k.kind.toLowerCase()}: ${k.reason})${until}; entries blocked, exits allowed` };
    },
  },
  {
    id: 'stale_state',
    stages: ALL,
    check: (c) => {
      const ageSec = Math.floor((c.now - c.intent.stateAsOf) / 1000);
      const skew = c.constitution.staleState.maxFutureSkewSec;
      // A timestamp from the future would never go stale: treat clock skew as a state conflict.
      if (-ageSec > skew) return { code: 'STATE_CONFLICT', message: `market state is stamped ${-ageSec} s in the future (clock skew over ${skew} s); entries paused ${c.constitution.staleState.killMinutes} min` };
      const ttl = stateTtlSec(c);
      if (ageSec <= ttl) return null;
      return { code: 'STATE_CONFLICT', message: `market state is ${Math.floor(ageSec / 60)} min old (limit ${Math.floor(ttl / 60)} min); entries paused ${c.constitution.staleState.killMinutes} min` };
    },
  },
  {
    id: 'mode_account',
    stages: ['APPROVAL', 'SUBMIT'],
    check: (c) => {
      if (c.mode === 'observe') return { code: 'MODE_OBSERVE', message: 'OBSERVE mode: Phoenix never sends orders' };
      const account = c.broker.account ?? c.lastKnownAccount;
      // unknown until the broker connects: re-checked at submission; while the broker is not
      // ready the broker_health gate makes the submission wait instead of refusing it
      if (!account && (c.stage !== 'SUBMIT' || !c.broker.canSubmit)) return null;
      const problem = accountModeProblem(c.mode, c.allowLive, account?.accountId ?? null);
      return problem ? { code: 'ACCOUNT_MODE_MISMATCH', message: problem } : null;
    },
  },
  {
    // MONEY-9 / MONEY-10: prices on the contract's tick and the contract's multiplier, checked
    // before the card (IBKR refuses off-tick prices only after approval, error 110, and the
    // multiplier scales risk and P&L). Unknown details refuse at intake (fail closed, see
    // contract-lookup.ts); at approval and submission the adapter re-qualifies before sending.
    id: 'contract',
    stages: ALL,
    check: (c) => {
      if (!c.contract) return null;
      if (!c.contract.ok) return c.stage === 'INTAKE' ? { code: 'CONTRACT_UNKNOWN', message: c.contract.reason } : null;
      const facts = c.contract.facts;
      const priced = { ...c.intent, symbol: c.intent.symbol ?? c.intent.instrumentKey, orderType: c.intent.orderType ?? 'LMT', takeProfit: c.intent.takeProfit ?? null };
      const mismatch = multiplierMismatch(priced, facts);
      if (mismatch) return { code: 'MULTIPLIER_MISMATCH', message: mismatch };
      const off = offTickPrices(priced, facts);
      return off.length ? { code: 'PRICE_OFF_TICK', message: off.join('; ') } : null;
    },
  },
  {
    id: 'daily_loss',
    stages: ALL,
    check: (c) => {
      const loss = -c.today.realizedPnlCents;
      const cap = Math.round(c.constitution.limits.dailyLossCapUsd * 100);
      return loss >= cap ? { code: 'DAILY_LOSS_CAP', message: `realised loss today ${usd(loss)} ≥ cap ${usd(cap)}` } : null;
    },
  },
  {
    id: 'consecutive_losses',
    stages: ALL,
    check: (c) => {
      const max = c.constitution.limits.maxConsecutiveLosses;
      return c.today.consecutiveLosses >= max ? { code: 'CONSECUTIVE_LOSSES', message: `${c.today.consecutiveLosses} losses in a row (max ${max}); entries blocked for the rest of the session` } : null;
    },
  },
  {
    id: 'trades_per_day',
    stages: ALL,
    check: (c) => {
      const max = c.constitution.limits.maxTradesPerDay;
      return c.today.trades >= max ? { code: 'TRADES_PER_DAY', message: `${c.today.trades} trades today (max ${max})` } : null;
    },
  },
  {
    id: 'position_limit',
    stages: ALL,
    check: (c) => {
      const max = c.constitution.limits.maxPositionPerInstrument;
      const after = c.openQtyOthers + c.intent.quantity;
      return after > max ? { code: 'POSITION_LIMIT', message: `open quantity would be ${after} in ${c.intent.instrumentKey} (max ${max})` } : null;
    },
  },
  {
    id: 'per_trade_risk',
    stages: ALL,
    check: (c) => {
      const { entryPrice, stopLoss, quantity } = c.intent;
      const multiplier = trustedMultiplier(c);
      if (entryPrice === null) return { code: 'RISK_UNDEFINED', message: 'market order without a reference entryPrice: risk cannot be bounded' };
      const riskCents = Math.round(Math.abs(entryPrice - stopLoss) * quantity * multiplier * 100);
      const cap = Math.round(c.constitution.limits.maxRiskPerTradeUsd * 100);
      return riskCents > cap ? { code: 'RISK_PER_TRADE', message: `risk ${usd(riskCents)} > cap ${usd(cap)}` } : null;
    },
  },
  {
    id: 'order_notional',
    stages: ALL,
    check: (c) => {
      const { entryPrice, stopLoss, quantity } = c.intent;
      const multiplier = trustedMultiplier(c); // the contract's, not the strategy's word (MONEY-10)
      // A market order without entryPrice is refused by per_trade_risk anyway (RISK_UNDEFINED);
      // its stop is the nearest price we know, so the notional is still bounded here.
      const price = entryPrice ?? stopLoss;
      const notional = orderNotionalCents(price, quantity, multiplier);
      const cap = Math.round(c.constitution.limits.maxOrderNotionalUsd * 100);
      if (notional <= cap) return null;
      return { code: 'ORDER_NOTIONAL', message: `order value ${usd(notional)} (${price} × ${quantity} × ${multiplier}) > cap ${usd(cap)}; IB's precautionary limit would reject it (error 451)` };
    },
  },
  {
    id: 'minimum_capital',
    stages: ALL,
    check: (c) => {
      const account = c.broker.account ?? c.lastKnownAccount;
      const min = c.constitution.limits.minNetLiquidationUsd;
      if (!account) return c.stage === 'SUBMIT' && c.broker.canSubmit ? { code: 'MIN_CAPITAL', message: 'net liquidation unknown (broker account not read yet)' } : null;
      return account.netLiquidation < min ? { code: 'MIN_CAPITAL', message: `net liquidation ${usdAmount(account.netLiquidation)} < minimum ${usdAmount(min)}` } : null;
    },
  },
  {
    id: 'quality',
    stages: ALL,
    check: (c) => {
      const { minDvs, minEqs } = c.constitution.limits;
      const bad: string[] = [];
      if (c.intent.dvs < minDvs) bad.push(`DVS ${c.intent.dvs.toFixed(2)} < ${minDvs.toFixed(2)}`);
      if (c.intent.eqs < minEqs) bad.push(`EQS ${c.intent.eqs.toFixed(2)} < ${minEqs.toFixed(2)}`);
      return bad.length ? { code: 'QUALITY', message: bad.join(', ') } : null;
    },
  },
  {
    id: 'session',
    stages: ALL,
    check: (c) => {
      const v = sessionVerdict(c.now, c.constitution);
      if (v.open) return null;
      const next = v.nextOpen ? `; next window opens ${dayClockTime(v.nextOpen, c.constitution.session.timeZone)}` : '';
      return { code: 'SESSION_CLOSED', message: `session closed: ${v.reason}${next}`, nextOpen: v.nextOpen };
    },
  },
  {
    // SPEC 4 "gateway restart window": inside IB Gateway's daily restart window, or while the
    // gateway waits for its (2FA) login, new entries are HELD (a wait, like broker health, not a
    // refusal): the card shows, an approval waits with its token clock running; nothing is sent.
    // Listed before broker_health so its words are the ones a waiting submission reports.
    id: 'gateway',
    stages: ALL,
    check: (c) => {
      const hold = entryHold(c.now, c.gateway, c.constitution.session.timeZone, c.broker);
      if (!hold) return null;
      // both codes spelled out here: the registry's source lists every code a gate returns
      return hold.code === 'GATEWAY_LOGIN' ? { code: 'GATEWAY_LOGIN', message: hold.message, wait: true } : { code: 'GATEWAY_RESTART_WINDOW', message: hold.message, wait: true };
    },
  },
  {
    id: 'broker_health',
    stages: ['SUBMIT'],
    check: (c) =>
      c.broker.canSubmit
        ? null
        : { code: 'BROKER_NOT_READY', message: `broker ${c.broker.state.toLowerCase()}${c.broker.detail ? ` (${c.broker.detail})` : ''}: waiting, token clock running`, wait: true },
  },
] as const satisfies readonly GateDef[];

export type GateId = (typeof GATES)[number]['id'];

export interface GateResult {
  readonly stage: GateStage;
  readonly passed: readonly GateId[];
  readonly denials: readonly Denial[];
}

/** Run every gate registered for the stage; all denials are reported, not just the first. */
export function runGates(c: GateContext): GateResult {
  const passed: GateId[] = [];
  const denials: Denial[] = [];
  for (const g of GATES as readonly GateDef[]) {
    if (!g.stages.includes(c.stage)) continue;
    const d = g.check(c);
    if (d) denials.push({ gate: g.id as GateId, ...d });
    else passed.push(g.id as GateId);
  }
  return { stage: c.stage, passed, denials };
}

/** Hard refusals (everything except a broker-health wait). */
export function refusals(r: GateResult): readonly Denial[] {
  return r.denials.filter((d) => !d.wait);
}

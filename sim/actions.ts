/**
 * What happens in a simulated day, as data: every action is plain JSON with its time, so a run
 * can be written to a file, replayed exactly, and shrunk by leaving actions out. Actions never
 * carry ids Phoenix draws at run time (cards, intents, orders): they name what a person would
 * see — the card of the signal they posted, the newest confirmation they asked for — and the
 * driver resolves that against the world when the action happens (a removed action may turn a
 * later tap into a tap on nothing, which is just another thing a person can do).
 */
import type { TgFault } from './telegram.js';
import type { UserKey } from './desk.js';
import type { KillPhase, KillPoint } from './life.js';

/** A button a person taps. */
export type TapTarget =
  /** the trade card of the intent posted with this signalId */
  | { readonly card: 'trade'; readonly signal: string }
  /** the newest confirmation of this kind asked by `asker` */
  | { readonly card: 'confirm'; readonly kind: 'CONFIRM_FLATTEN' | 'CONFIRM_RESUME' | 'CONFIRM_REPROTECT' | 'CONFIRM_CLOSE' | 'CONFIRM_CANCEL_STALLED'; readonly asker: UserKey }
  /** the newest message carrying a button with this action code (drift lists, check now) */
  | { readonly card: 'newest-button'; readonly code: string }
  /** raw callback data on the newest bot message (or on no message at all) */
  | { readonly card: 'forged'; readonly data: string; readonly onMessage: boolean };

export type TapAction = 'approve' | 'pass' | 'confirm' | 'cancel' | 'reprotect' | 'closeOne' | 'cancelStalled' | 'driftAck' | 'driftPhoenixFixed' | 'driftBrokerFixed' | 'checkNow';

export type BrokerOp =
  | { readonly op: 'timeoutNext' | 'releaseTimeouts' | 'disconnect' | 'reconnect' | 'failConnect' }
  /** the next cancel of a working entry races a fill: filled first (refused) or after its confirmation */
  | { readonly op: 'fillNextCancel'; readonly when: 'before' | 'after' }
  | { readonly op: 'rejectNext' }
  | { readonly op: 'partialNext'; readonly ratio: number }
  | { readonly op: 'delayNext'; readonly ms: number }
  /** the adapter is slow with the next bracket (a first contract qualification, a busy pacer): it reaches IB after `ms` */
  | { readonly op: 'slowNext'; readonly ms: number }
  | { readonly op: 'lateFill' | 'deadStop' | 'fillRest'; readonly signal: string }
  | { readonly op: 'spoof'; readonly symbol: string; readonly qty: number | null }
  | { readonly op: 'foreign'; readonly symbol: string; readonly qty: number | null };

export type Act =
  /** a strategy posts an intent body (maybe malformed) through the intake path */
  | { readonly k: 'intent'; readonly body: unknown; readonly note: string }
  /** a person sends a message (commands) to the main chat, or to the bot privately */
  | { readonly k: 'say'; readonly user: UserKey; readonly text: string; readonly dm?: boolean }
  /** a person taps a button */
  | { readonly k: 'tap'; readonly user: UserKey; readonly action: TapAction; readonly target: TapTarget }
  /** the market moves (resting stops and targets may fill) */
  | { readonly k: 'price'; readonly symbol: string; readonly price: number }
  | ({ readonly k: 'broker' } & BrokerOp)
  | { readonly k: 'telegram'; readonly fault: TgFault }
  /** a person deletes the newest card message / Telegram re-delivers the last update */
  | { readonly k: 'telegram-delete' }
  | { readonly k: 'telegram-redeliver' }
  /** the process dies now, or at the n-th store commit / broker call from now; back after downMs */
  | { readonly k: 'kill'; readonly on: KillPoint | 'now'; readonly n: number; readonly phase: KillPhase; readonly downMs: number }
  /** nothing: time passes to here (a waypoint) */
  | { readonly k: 'wait' };

export interface Action {
  /** epoch ms (simulation time) */
  readonly t: number;
  /** acts applied in the same step, concurrently (e.g. a tap and a /halt, two flattens) */
  readonly acts: readonly Act[];
  /** fire together with the timers due at exactly `t` (e.g. a /flatten at 15:55:00 and the deadline job) */
  readonly race?: boolean;
}

/** A day's plan: its trading day and the actions, in time order. */
export interface DayPlan {
  readonly day: string;
  readonly index: number;
  readonly actions: readonly Action[];
}

export const describeAct = (a: Act): string => {
  switch (a.k) {
    case 'intent':
      return `intent ${a.note}`;
    case 'say':
      return `${a.user}${a.dm ? ' (dm)' : ''}: ${a.text}`;
    case 'tap':
      return `${a.user} taps ${a.action} on ${JSON.stringify(a.target)}`;
    case 'price':
      return `${a.symbol} → ${a.price}`;
    case 'broker':
      return `broker ${JSON.stringify(a).replace(/"k":"broker",?/, '')}`;
    case 'telegram':
      return `telegram fault ${a.fault.kind} on ${a.fault.on}${a.fault.retryAfter ? ` (retry_after ${a.fault.retryAfter})` : ''}`;
    case 'kill':
      return a.on === 'now' ? `kill now (down ${a.downMs} ms)` : `kill ${a.phase} ${a.on} #${a.n} from now (down ${a.downMs} ms)`;
    default:
      return a.k;
  }
};

/**
 * What goes wrong around Phoenix: the broker (timeouts and late fills, rejects, partial and
 * delayed fills, entry remainders that fill late, stops the exchange cancels, dropped
 * connections, misreported and foreign positions), Telegram (429 with retry_after, 5xx,
 * timeouts that did or did not deliver, refused connections, 403, a deleted card, re-delivered
 * updates) and the process itself (killed now, or at the n-th commit or broker call from now —
 * before or after it — and back after a while; also across 15:55).
 */
import type { Act } from '../actions.js';
import type { TgFault } from '../telegram.js';
import { panicFlatten, PlanBuilder, tendNakedPosition, tendStalled } from './people.js';
import type { Dice } from './rng.js';
import type { Posted } from './strategy.js';

/** Faults armed just before an approval (they hit its placement), and their follow-ups. */
export function placementChaos(d: Dice, plan: PlanBuilder, p: Posted): (t: number) => Act[] {
  return (t) => {
    const acts: Act[] = [];
    const r = d.next();
    if (r < 0.06) {
      acts.push({ k: 'broker', op: 'timeoutNext' });
      if (d.chance(0.6)) plan.add(t + d.int(20, 400) * 1000, d.chance(0.5) ? { k: 'broker', op: 'lateFill', signal: p.signalId } : { k: 'broker', op: 'releaseTimeouts' });
      tendStalled(d, plan, t, p.signalId);
    } else if (r < 0.11) acts.push({ k: 'broker', op: 'rejectNext' });
    else if (r < (p.qty > 1 ? 0.3 : 0.18)) {
      acts.push({ k: 'broker', op: 'partialNext', ratio: Math.round(d.between(0.3, 0.7) * 100) / 100 });
      if (d.chance(0.5)) acts.push({ k: 'broker', op: 'fillNextCancel', when: d.chance(0.5) ? 'before' : 'after' }); // the remainder's cancel races a fill
      // the market reaches the bracket's target or stop while the remainder still works
      if (d.chance(0.6)) plan.add(t + d.int(3, 60) * 1000, { k: 'price', symbol: p.product.symbol, price: d.chance(0.5) ? p.target : p.stop });
      if (d.chance(0.5)) plan.add(t + d.int(5, 300) * 1000, { k: 'broker', op: 'fillRest', signal: p.signalId });
    } else if (r < 0.26) {
      const ms = d.int(2, 40) * 1000;
      acts.push({ k: 'broker', op: 'delayNext', ms });
      if (d.chance(0.35)) panicFlatten(d, plan, t, ms); // flattened while the entry still works
    }
    if (d.chance(0.1)) {
      const at = t + d.int(5, 120) * 1000;
      plan.add(at, { k: 'broker', op: 'deadStop', signal: p.signalId });
      tendNakedPosition(d, plan, at, p.signalId);
    }
    if (d.chance(0.06)) plan.add(t + d.int(5, 300) * 1000, { k: 'broker', op: 'fillRest', signal: p.signalId });
    if (d.chance(0.08)) acts.push(kill(d, true));
    return acts;
  };
}

export function kill(d: Dice, nearby = false): Act {
  const downMs = d.chance(0.7) ? d.int(200, 60_000) : d.int(60, 1200) * 1000;
  const r = d.next();
  if (r < 0.15) return { k: 'kill', on: 'now', n: 1, phase: 'before', downMs };
  const on = r < 0.75 ? 'commit' : 'broker';
  return { k: 'kill', on, n: on === 'commit' ? d.int(1, nearby ? 8 : 40) : d.int(1, nearby ? 3 : 8), phase: d.chance(0.5) ? 'before' : 'after', downMs };
}

/** The day's broker trouble not tied to one approval. */
export function brokerDay(d: Dice, plan: PlanBuilder, from: number, to: number, traded: readonly string[]): void {
  const at = () => d.between(from, to);
  if (d.chance(0.2)) {
    const t = at();
    plan.add(t, { k: 'broker', op: 'disconnect' });
    plan.add(d.chance(0.9) ? t + d.int(3, 180) * 1000 : to + 10 * 60_000, { k: 'broker', op: 'reconnect' });
  }
  if (d.chance(0.1) && traded.length) {
    const t = at();
    const symbol = d.pick(traded);
    plan.add(t, { k: 'broker', op: 'spoof', symbol, qty: d.pick([3, 4, -3]) });
    plan.add(t + d.int(20, 400) * 1000, { k: 'broker', op: 'spoof', symbol, qty: null });
  }
  if (d.chance(0.15) && traded.length) {
    const symbol = d.pick(traded);
    plan.add(at(), { k: 'broker', op: 'foreign', symbol, qty: d.pick([1, 2, -1]) });
    plan.add(to + 20 * 60_000, { k: 'broker', op: 'foreign', symbol, qty: null });
  }
}

export function telegramDay(d: Dice, plan: PlanBuilder, from: number, to: number): void {
  const at = () => d.between(from, to);
  const fault = (): TgFault => {
    const r = d.next();
    const kind = r < 0.35 ? '429' : r < 0.55 ? '5xx' : r < 0.7 ? 'timeout-lost' : r < 0.85 ? 'timeout-delivered' : r < 0.95 ? 'refused' : '403';
    const on = d.chance(0.7) ? 'send' : d.chance(0.66) ? 'answer' : 'any';
    return { kind, on, ...(kind === '429' ? { retryAfter: d.int(1, 40) } : {}) };
  };
  for (let i = d.int(1, 8); i > 0; i--) plan.add(at(), { k: 'telegram', fault: fault() });
  if (d.chance(0.2)) {
    const t = at();
    for (let i = 0; i < 5; i++) plan.add(t, { k: 'telegram', fault: { kind: '429', on: 'send', retryAfter: d.int(5, 60) } });
  }
  if (d.chance(0.1)) plan.add(at(), { k: 'telegram-delete' });
  if (d.chance(0.1)) plan.add(at(), { k: 'telegram-redeliver' });
}

/** The process dies: at a random moment, or over 15:55 (so the restart must catch the deadline up). */
export function killsDay(d: Dice, plan: PlanBuilder, from: number, to: number, deadline: number): void {
  if (d.chance(0.3)) {
    const t = d.between(from, to);
    const k = kill(d);
    plan.add(t, k);
    if (d.chance(0.1) && k.k === 'kill') plan.add(t + Math.max(1, k.downMs - 1), { k: 'kill', on: 'commit', n: d.int(1, 12), phase: d.chance(0.5) ? 'before' : 'after', downMs: d.int(500, 20_000) }); // dies again while starting
  }
  if (d.chance(0.3)) plan.add(deadline - d.int(10, 300) * 1000, { k: 'kill', on: 'now', n: 1, phase: 'before', downMs: d.int(6, 30) * 60_000 });
  if (d.chance(0.05)) plan.add(deadline - d.int(10, 300) * 1000, { k: 'broker', op: 'failConnect' });
}

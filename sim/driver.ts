/**
 * Steps a world through a list of actions: time to the action (leaping where nothing is pending,
 * else second by second with the timed checks), the action's acts (concurrently), let everything
 * settle, then every invariant. Stops at the first step with a violation.
 */
import type { Action } from './actions.js';
import { applyAct } from './apply.js';
import { nyTime } from './calendar.js';
import { Checker } from './checker.js';
import type { Violation, World } from './world.js';

export interface StepResult {
  readonly violations: readonly Violation[];
  /** index of the action being applied (or time advanced towards) */
  readonly step: number;
}

/** Acts on the world alone (no person, no process): the market and an armed Telegram fault. */
const ambient = (act: Action['acts'][number]) => act.k === 'price' || act.k === 'telegram';

export class Driver {
  readonly checker: Checker;
  readonly spoofs = new Map<string, number>();
  steps = 0;
  leaps = 0;
  seconds = 0;
  /** why time ran instead of leaping, in simulated seconds (profiling the simulator) */
  readonly why = new Map<string, number>();

  constructor(
    readonly world: World,
    only?: readonly string[],
  ) {
    this.checker = new Checker(world, this.spoofs, only);
    world.observer = this.checker.observer;
  }

  /**
   * No leaping in the first minute after the open and after the deadline: the daily reset and the
   * deadline flatten run on time and their work settles (the deadline check keeps time running
   * for as long as anything is still open after that).
   */
  private noLeapWindow(): boolean {
    const l = this.world.local();
    if (!l.trading) return false;
    const sec = l.minutes * 60 + Math.floor((this.world.now() % 60_000) / 1000);
    return (sec >= (15 * 60 + 55) * 60 && sec < (15 * 60 + 55) * 60 + 15) || (sec >= (9 * 60 + 30) * 60 && sec < (9 * 60 + 30) * 60 + 15);
  }

  /**
   * Something is on its way to the chat (a card to render, an alert to deliver, an update being
   * handled, a message waiting for its slot): people only see what arrived, so time runs.
   * 'soft': only messages waiting for their slot in the chat's budget — time moves in hops of
   * 10 s (every due timer once per hop, like a short suspension; too short for a missed heartbeat),
   * so a message goes out at most a hop late.
   */
  private busyWhy = '';
  private chatBusy(): false | 'soft' | 'hard' {
    const w = this.world;
    const p = w.proc;
    const hard = (why: string) => ((this.busyWhy = why), 'hard' as const);
    if (w.brokerTimers() > 0) return hard('broker timer'); // a delayed fill is on its way
    if (w.booting) return hard('process starting');
    if (!p?.alive || !w.reader) return false;
    const waiting = p.bot.paced.pending();
    if (p.busy() > waiting) return hard('updates/sends in flight');
    if (w.reader.count(`SELECT COUNT(*) AS c FROM "Card" WHERE version > renderedVersion`)) return hard('card to render');
    // a composed message waiting to go out, or a CRITICAL alert (it goes out first and fast); lower
    // severities wait in their aggregation windows on purpose (an unchanged group: up to an hour)
    // (a message that only says a heartbeat was missed — what a leap itself causes — goes out in
    // its own time: nobody waits for it to act)
    if (w.reader.count(`SELECT COUNT(*) AS c FROM "AlertMessage" m WHERE m.status <> 'SENT' AND EXISTS (SELECT 1 FROM "Alert" a WHERE a.messageId = m.id AND a.type <> 'HEARTBEAT_MISSED')`)) return hard('alert message to deliver');
    // (a CRITICAL alert is composed within a second or two; one that waits longer is a repeat the
    // sender holds back on purpose)
    const fresh = new Date(w.now() - 10_000).toISOString().replace('Z', '+00:00');
    // (HEARTBEAT_MISSED: what a leap itself causes; it goes out with the next message)
    const crit = w.reader.get(`SELECT type FROM "Alert" WHERE status = 'PENDING' AND severity = 'CRITICAL' AND messageId IS NULL AND createdAt >= ? AND type <> 'HEARTBEAT_MISSED' LIMIT 1`, fresh);
    if (crit !== undefined) return hard(`CRITICAL ${String(crit.type)} to compose`);
    return waiting > 0 ? ((this.busyWhy = 'messages waiting for a chat slot'), 'soft') : false;
  }

  /** The next time the clock must stop at on its way: the open, the deadline, a restart. */
  private boundary(to: number): number {
    const w = this.world;
    let b = to;
    if (w.restartAt !== null && w.restartAt > w.now()) b = Math.min(b, w.restartAt);
    const l = w.local();
    for (const hhmm of ['09:30', '15:55']) {
      const at = nyTime(l.day, hhmm);
      if (at > w.now()) b = Math.min(b, at);
    }
    // a price move that can fill something at the broker is a stop of its own: Phoenix must not
    // sleep through the market filling a target and then a stop it was about to cancel
    const working = this.moves.size ? w.broker.workingSymbols() : new Set<string>();
    for (const m of this.moves) if (m.t > w.now() && m.t < b && working.has(m.symbol)) b = m.t;
    return b;
  }

  /** price moves scheduled on the clock, not yet applied */
  private readonly moves = new Set<{ readonly t: number; readonly symbol: string }>();

  /**
   * Move time to `t`. Four paces: leap when nothing is pending; hop 10 s at a time while only
   * messages wait for their chat slot; run second by second (timed checks every second) while a
   * timed invariant's clock runs; otherwise (the chat has work, a delayed fill is due, the open
   * or the deadline minute) run every timer on time in 10 s chunks, checking after each.
   */
  async advanceTo(t: number): Promise<Violation[]> {
    const w = this.world;
    while (w.now() < t) {
      await w.reap();
      const stop = this.boundary(t);
      // (one pass over every timed check: the running ones also name why time runs)
      const running = this.checker.runningIds();
      const timed = running.length > 0;
      const busy = timed || this.noLeapWindow() ? 'hard' : this.chatBusy();
      if (busy !== 'hard') {
        this.leaps++;
        if (busy === 'soft') this.why.set(this.busyWhy, (this.why.get(this.busyWhy) ?? 0) + (Math.min(stop, w.now() + 10_000) - w.now()) / 1000);
        await w.clock.leap(busy === 'soft' ? Math.min(stop, w.now() + 10_000) : stop, w.hooks);
      } else {
        const to = Math.min(stop, w.now() + (timed ? 1000 : 10_000));
        const why = timed ? `timed ${running.join('+')}` : this.noLeapWindow() ? 'open/deadline minute' : this.busyWhy;
        this.why.set(why, (this.why.get(why) ?? 0) + (to - w.now()) / 1000);
        this.seconds += (to - w.now()) / 1000;
        await w.clock.run(to, w.hooks);
      }
      await w.settle();
      const v = this.checker.tick();
      if (v.length) return v;
    }
    await w.reap();
    return [];
  }

  async step(a: Action): Promise<Violation[]> {
    const w = this.world;
    this.steps++;
    if (!a.race && a.acts.every(ambient)) {
      // The market moving and a Telegram fault being armed need no stop of their own: they happen
      // on the clock at their time (a leap over them applies them at its end, like everything else
      // that falls due in it) and what they cause is checked after the next step. A third of a
      // day's actions are price moves; each stop costs a round of every due job. (A move that can
      // fill a working order stops the clock all the same: see boundary().)
      const moves = a.acts.flatMap((act) => (act.k === 'price' ? [{ t: a.t, symbol: act.symbol }] : []));
      for (const m of moves) this.moves.add(m);
      const apply = () => {
        for (const m of moves) this.moves.delete(m);
        for (const act of a.acts) applyAct(w, act, this.spoofs, this.checker.spoofLog);
      };
      if (a.t > w.now()) w.clock.schedule(a.t - w.now(), apply);
      else apply();
      return [];
    }
    const before = await this.advanceTo(a.race ? a.t - 1 : a.t);
    if (before.length) return before;
    const gen = w.proc?.alive ? w.proc.life.generation : null;
    for (const act of a.acts) applyAct(w, act, this.spoofs, this.checker.spoofLog);
    if (a.race) await w.clock.run(a.t, w.hooks);
    await w.settle();
    const aliveThrough = gen !== null && w.proc?.alive === true && w.proc.life.generation === gen;
    return this.checker.afterStep(a.acts, aliveThrough);
  }
}

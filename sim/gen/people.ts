/**
 * The people in the chat. Approvers answer cards (sometimes twice at once, late, on an old card,
 * with a /halt racing the tap); a viewer and a stranger tap what is not theirs; admins halt,
 * resume, flatten (two at once; at 15:55:00 exactly, racing the deadline job), re-protect and
 * close naked positions, cancel stalled entries, resolve drift; anyone sends commands, forged
 * button data, or DMs the bot.
 */
import type { Act, Action, TapAction } from '../actions.js';
import { ADMINS, APPROVERS, type UserKey } from '../desk.js';
import type { Dice } from './rng.js';
import type { Posted } from './strategy.js';

export class PlanBuilder {
  readonly actions: Action[] = [];
  add(t: number, ...acts: Act[]): void {
    this.actions.push({ t: Math.round(t), acts });
  }
  race(t: number, ...acts: Act[]): void {
    this.actions.push({ t: Math.round(t), acts, race: true });
  }
}

const tradeTap = (user: UserKey, action: TapAction, signal: string): Act => ({ k: 'tap', user, action, target: { card: 'trade', signal } });
const confirmTap = (user: UserKey, asker: UserKey, kind: 'CONFIRM_FLATTEN' | 'CONFIRM_RESUME' | 'CONFIRM_REPROTECT' | 'CONFIRM_CLOSE' | 'CONFIRM_CANCEL_STALLED', action: TapAction = 'confirm'): Act => ({ k: 'tap', user, action, target: { card: 'confirm', kind, asker } });

/** How people react to one card. `chaos` is placed in the same step just before an approval. */
export function reactToCard(d: Dice, plan: PlanBuilder, p: Posted, earlier: readonly Posted[], beforeApproval: (t: number) => Act[]): void {
  if (!d.chance(0.9)) return; // nobody answers: the card expires
  const late = d.chance(0.07);
  const t = p.t + (late ? p.ttlSec * 1000 + d.int(2, 90) * 1000 : d.int(2, 45) * 1000);
  const who = d.pick(APPROVERS);
  const approve = d.chance(0.8);
  // a halt while the approved order is on its way to the broker (the adapter slow with it), or at the same moment
  const racing = approve && d.chance(0.15);
  const slow = racing ? d.int(300, 3000) : 0;
  const acts: Act[] = approve ? beforeApproval(t) : [];
  if (racing) acts.push({ k: 'broker', op: 'slowNext', ms: slow });
  acts.push(tradeTap(who, approve ? 'approve' : 'pass', p.signalId));
  if (d.chance(0.12)) acts.push(tradeTap(d.chance(0.5) ? who : d.pick(APPROVERS), d.chance(0.8) ? 'approve' : 'pass', p.signalId)); // double tap
  if (d.chance(0.08)) acts.unshift(tradeTap(d.pick(['carol', 'mallory'] as const), 'approve', p.signalId)); // not theirs
  plan.add(t, ...acts);
  if (racing) {
    const h = t + (d.chance(0.3) ? 0 : d.int(1, slow + 500));
    plan.add(h, { k: 'say', user: d.pick(APPROVERS), text: '/halt racing an approval' });
    // and, mostly, an admin lifts it again a few minutes later (else the desk stays halted all day)
    if (d.chance(0.8)) resume(d, plan, h + d.int(60, 900) * 1000);
  }
  if (d.chance(0.08) && earlier.length) plan.add(t + d.int(1, 30) * 1000, tradeTap(d.pick(APPROVERS), 'approve', d.pick(earlier).signalId)); // an old card
  if (d.chance(0.05)) plan.add(t + d.int(1, 20) * 1000, tradeTap(who, 'approve', p.signalId)); // tapped again later
}

const VIEWER_COMMANDS = ['/status', '/positions', '/orders', '/pending', '/drift', '/help', '/start', '/strategies'];

/** An admin's /resume and its confirmation. */
function resume(d: Dice, plan: PlanBuilder, t: number): void {
  const admin = d.pick(ADMINS);
  plan.add(t, { k: 'say', user: admin, text: '/resume' });
  plan.add(t + d.int(2, 20) * 1000, confirmTap(admin, admin, 'CONFIRM_RESUME'));
}

/** The day's admin and viewer business, at seeded times between `from` and `to`. */
export function deskBusiness(d: Dice, plan: PlanBuilder, from: number, to: number, deadline: number): void {
  const at = () => d.between(from, to);
  for (let i = d.int(2, 7); i > 0; i--) plan.add(at(), { k: 'say', user: d.pick(['carol', 'alice', 'bob', 'dave'] as const), text: d.pick(VIEWER_COMMANDS), ...(d.chance(0.1) ? { dm: true } : {}) });
  if (d.chance(0.15)) plan.add(at(), { k: 'say', user: 'mallory', text: d.pick(['/halt', '/flatten', '/status', '/resume', 'hello']) });
  if (d.chance(0.1)) plan.add(at(), { k: 'say', user: d.pick(['carol', 'alice'] as const), text: d.pick(['/flatten', '/resume', '/nonsense', '/halt@phoenix_sim_bot too']) });
  if (d.chance(0.08)) plan.add(at(), { k: 'tap', user: d.pick(['alice', 'mallory', 'bob'] as const), action: 'approve', target: { card: 'forged', data: d.pick(['v1:a:nonexistent00', 'v2:a:x', 'v1:q:abc', 'x'.repeat(70), '', 'v1:c:../../etc']), onMessage: d.chance(0.5) } });
  // the morning routine: an admin lifts whatever halt is left from yesterday
  const morning = from - d.int(2, 10) * 60_000;
  const opener = d.pick(ADMINS);
  plan.add(morning, { k: 'say', user: opener, text: '/resume' });
  plan.add(morning + d.int(3, 20) * 1000, confirmTap(opener, opener, 'CONFIRM_RESUME'));
  if (d.chance(0.2)) {
    const t = at();
    const by = d.pick(APPROVERS);
    plan.add(t, { k: 'say', user: by, text: d.pick(['/halt', '/halt news spike', '/halt@phoenix_sim_bot broker acting up']) });
    if (d.chance(0.85)) {
      const admin = d.pick(ADMINS);
      const r = t + d.int(30, 1200) * 1000;
      plan.add(r, { k: 'say', user: admin, text: '/resume' });
      const other = ADMINS.find((a) => a !== admin) ?? admin;
      if (d.chance(0.15)) plan.add(r + d.int(1, 10) * 1000, confirmTap(other, admin, 'CONFIRM_RESUME'));
      plan.add(r + (d.chance(0.05) ? 70_000 : d.int(2, 20) * 1000), confirmTap(admin, admin, 'CONFIRM_RESUME', d.chance(0.1) ? 'cancel' : 'confirm'));
    }
  }
  if (d.chance(0.25)) {
    const t = at();
    const a = d.pick(ADMINS);
    plan.add(t, { k: 'say', user: a, text: '/flatten' });
    const c = t + d.int(2, 15) * 1000;
    if (d.chance(0.35)) {
      const b = ADMINS.find((x) => x !== a) ?? a;
      plan.add(t + 500, { k: 'say', user: b, text: '/flatten' });
      plan.add(c, confirmTap(a, a, 'CONFIRM_FLATTEN'), confirmTap(b, b, 'CONFIRM_FLATTEN')); // two flattens at once
    } else plan.add(c, ...(d.chance(0.3) ? [{ k: 'broker', op: 'fillNextCancel', when: d.chance(0.5) ? 'before' : 'after' } as const] : []), confirmTap(a, a, 'CONFIRM_FLATTEN'));
  }
  if (d.chance(0.2)) {
    // a flatten confirmed at 15:55:00 exactly, racing the deadline job
    const a = d.pick(ADMINS);
    plan.add(deadline - d.int(5, 40) * 1000, { k: 'say', user: a, text: '/flatten' });
    plan.race(deadline, confirmTap(a, a, 'CONFIRM_FLATTEN'));
  }
  if (d.chance(0.3)) {
    const t = at();
    plan.add(t, { k: 'say', user: d.pick(['carol', 'alice'] as const), text: '/drift' });
    plan.add(t + d.int(3, 30) * 1000, { k: 'tap', user: d.pick(['alice', 'bob', 'carol'] as const), action: d.pick(['driftAck', 'driftPhoenixFixed', 'driftBrokerFixed', 'checkNow'] as const), target: { card: 'newest-button', code: d.pick(['k', 'f', 'b', 'r']) } });
  }
}

/** After a dead stop: someone re-protects or closes it (both confirmed), sometimes. */
export function tendNakedPosition(d: Dice, plan: PlanBuilder, t: number, signal: string): void {
  if (!d.chance(0.5)) return;
  const who = d.pick(APPROVERS);
  const close = d.chance(0.4);
  const at = t + d.int(12, 90) * 1000;
  plan.add(at, tradeTap(who, close ? 'closeOne' : 'reprotect', signal));
  plan.add(at + d.int(2, 20) * 1000, confirmTap(who, who, close ? 'CONFIRM_CLOSE' : 'CONFIRM_REPROTECT'));
}

/** Second thoughts right after an approval: an admin flattens while the order still works (confirmed). */
export function panicFlatten(d: Dice, plan: PlanBuilder, t: number, withinMs: number): void {
  const admin = d.pick(ADMINS);
  const at = t + d.int(200, Math.max(400, withinMs - 1500));
  plan.add(at, { k: 'say', user: admin, text: '/flatten' });
  plan.add(at + d.int(300, 1200), ...(d.chance(0.6) ? [{ k: 'broker', op: 'fillNextCancel', when: d.chance(0.5) ? 'before' : 'after' } as const] : []), confirmTap(admin, admin, 'CONFIRM_FLATTEN'));
}

/** After an entry timed out: an admin checks the broker and cancels it (confirmed), sometimes. */
export function tendStalled(d: Dice, plan: PlanBuilder, t: number, signal: string): void {
  if (!d.chance(0.4)) return;
  const admin = d.pick(ADMINS);
  const at = t + d.int(70, 300) * 1000;
  plan.add(at, tradeTap(admin, 'cancelStalled', signal));
  plan.add(at + d.int(2, 20) * 1000, confirmTap(admin, admin, 'CONFIRM_CANCEL_STALLED'));
}

/**
 * Shrinking a failing history to the shortest one that still fails the same invariant: delta
 * debugging (ddmin) over the actions, with the world's seed kept (card ids, broker outcomes and
 * process ids are drawn from it, so a shorter history is still a faithful one), then over the
 * acts inside each remaining action. Every candidate is a full replay in a fresh world; the
 * budget bounds the replays and the time.
 */
import type { Action } from './actions.js';
import { runHistory, type FoundViolation, type History } from './run.js';

export interface ShrinkOptions {
  /** replays at most (default 400) */
  readonly maxTests?: number;
  /** milliseconds at most (default 10 min) */
  readonly maxMs?: number;
  readonly log?: (line: string) => void;
}

export interface ShrinkResult {
  readonly history: History;
  readonly tests: number;
  readonly from: number;
  readonly to: number;
}

export async function shrink(h: History, o: ShrinkOptions = {}): Promise<ShrinkResult> {
  const target = h.violation?.id;
  if (!target) throw new Error('nothing to shrink: the history has no violation');
  const maxTests = o.maxTests ?? 400;
  const deadline = performance.now() + (o.maxMs ?? 10 * 60_000);
  let tests = 0;
  let best: { actions: Action[]; violation: FoundViolation } = { actions: h.actions.slice(0, (h.violation?.step ?? h.actions.length - 1) + 1), violation: h.violation! };
  const budgetLeft = () => tests < maxTests && performance.now() < deadline;

  /** Does this action list still fail the same invariant? Keeps the shortest prefix that does. */
  const fails = async (actions: Action[]): Promise<boolean> => {
    tests++;
    const r = await runHistory({ ...h, actions }, [target]);
    if (r.violation?.id !== target) return false;
    const kept = actions.slice(0, r.violation.step + 1);
    if (kept.length <= best.actions.length) best = { actions: kept, violation: r.violation };
    return true;
  };

  // the target alone must still fail with every other invariant off (they are not consulted)
  if (!(await fails(best.actions))) return { history: h, tests, from: h.actions.length, to: h.actions.length };

  // first the failing day alone, then whole days: most of a long history is other days
  const dayOf = (a: Action) => new Date(a.t - 5 * 3600_000).toISOString().slice(0, 10);
  const lastDay = dayOf(best.actions[best.actions.length - 1]!);
  if (budgetLeft()) await fails(best.actions.filter((a) => dayOf(a) === lastDay));
  for (let daysKept = 1; budgetLeft(); ) {
    const days = [...new Set(best.actions.map(dayOf))];
    if (days.length <= daysKept) break;
    const drop = days[days.length - 1 - daysKept] as string; // latest day before the ones known to matter
    if (!(await fails(best.actions.filter((a) => dayOf(a) !== drop)))) daysKept++;
  }

  // ddmin over actions
  let n = 2;
  while (best.actions.length >= 2 && budgetLeft()) {
    const cur = best.actions;
    const size = Math.ceil(cur.length / n);
    let reduced = false;
    for (let i = 0; i < n && budgetLeft(); i++) {
      const complement = [...cur.slice(0, i * size), ...cur.slice((i + 1) * size)];
      if (complement.length && (await fails(complement))) {
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (n >= cur.length) break;
      n = Math.min(cur.length, n * 2);
    }
    o.log?.(`shrink: ${best.actions.length} actions after ${tests} replays`);
  }

  // then the acts inside each action (a concurrent group may only need one of its acts)
  for (let i = 0; i < best.actions.length && budgetLeft(); i++) {
    const a = best.actions[i]!;
    for (let j = 0; a.acts.length > 1 && j < best.actions[i]!.acts.length && budgetLeft(); j++) {
      const cur = best.actions[i]!;
      if (cur.acts.length < 2) break;
      const fewer = { ...cur, acts: cur.acts.filter((_, k) => k !== j) };
      const candidate = [...best.actions.slice(0, i), fewer, ...best.actions.slice(i + 1)];
      if (await fails(candidate)) j--;
    }
  }
  return { history: { ...h, actions: best.actions, violation: best.violation }, tests, from: h.actions.length, to: best.actions.length };
}

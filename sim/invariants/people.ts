/**
 * What people are promised in the chat.
 *
 * INV-HALT-FAST-1: an approver's /halt sets the kill flag at once — in the same step, before any
 * simulated time passes — whatever Telegram is doing (429s, the chat queue).
 * INV-CONFIRM-ASKER-1: a confirmation (resume, flatten, re-protect, close, cancel) is decided only
 * by the person who asked for it.
 * INV-STALE-KILL-1: an intent whose market state is older than its TTL is refused with
 * STATE_CONFLICT and a temporary (5 min) kill flag is active.
 */
import { ADMINS, APPROVERS, USERS, type UserKey } from '../desk.js';
import type { Invariant } from './types.js';

export const haltFast: Invariant = {
  id: 'INV-HALT-FAST-1',
  afterAct(v, act, aliveThrough, report) {
    if (act.k !== 'say' || !/^\/halt(\s|$)/.test(act.text) || !aliveThrough || act.dm) return;
    if (!APPROVERS.includes(act.user) && !ADMINS.includes(act.user)) return;
    const at = new Date(v.now).toISOString().replace('Z', '+00:00');
    const n = v.reader.count(`SELECT COUNT(*) AS c FROM "KillFlag" WHERE kind = 'MANUAL' AND setAt = ?`, at);
    if (!n) report(`${act.user}'s /halt at ${at} did not set a kill flag before time moved on`);
  },
};

export function confirmAsker(): Invariant {
  const seen = new Set<number>();
  const byId = new Map<string, UserKey>(Object.entries(USERS).map(([k, u]) => [String(u.id), k as UserKey]));
  return {
    id: 'INV-CONFIRM-ASKER-1',
    check(v, report) {
      for (const b of v.newBeads) {
        if (b.type !== 'CARD' || seen.has(b.seq)) continue;
        seen.add(b.seq);
        const p = JSON.parse(b.payload) as { cardId: string; kind: string; event: string; actor?: { id: string } };
        if (p.event !== 'DECIDED' || !p.kind.startsWith('CONFIRM_')) continue;
        const card = v.reader.get(`SELECT subjectId FROM "Card" WHERE id = ?`, p.cardId) as { subjectId: string } | undefined;
        const asker = card?.subjectId.split(':')[1];
        if (!p.actor || p.actor.id !== asker) report(`confirmation ${p.cardId} (${p.kind}) asked by ${byId.get(asker ?? '') ?? asker} was decided by ${byId.get(p.actor?.id ?? '') ?? p.actor?.id ?? 'nobody'}`);
      }
    },
  };
}

export const staleKill: Invariant = {
  id: 'INV-STALE-KILL-1',
  afterAct(v, act, aliveThrough, report) {
    if (act.k !== 'intent' || !act.note.startsWith('stale') || !aliveThrough) return;
    const signal = (act.body as { signalId?: string }).signalId;
    const intent = signal ? v.reader.intentBySignal(signal) : null;
    if (!intent || intent.createdAt !== v.now) return; // refused as a duplicate, or an earlier intent of that signal
    if (intent.state !== 'CANCELLED' || !(intent.stateReason ?? '').includes('STATE_CONFLICT')) report(`${intent.id}: a state ${Math.round((v.now - intent.stateAsOf) / 60_000)} min old was ${intent.state} (${intent.stateReason}), not refused with STATE_CONFLICT`);
    const at = new Date(v.now).toISOString().replace('Z', '+00:00');
    const kill = v.reader.count(`SELECT COUNT(*) AS c FROM "KillFlag" WHERE kind = 'STALE' AND setAt <= ? AND expiresAt > ?`, at, at);
    if (!kill) report(`${intent.id}: stale market state but no temporary kill flag is active`);
  },
};

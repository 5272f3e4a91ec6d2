/**
 * IB Gateway's day as alerts and cards (SPEC 17; the rules themselves are in gateway-day.ts):
 * - a broker drop inside the daily restart window is expected: GATEWAY_RESTART (INFO) instead
 *   of IBKR_DISCONNECTED (CRITICAL), and remembered;
 * - `runGatewayDay` (the gateway-day job, every minute): an expected drop that outlasts the
 *   window becomes CRITICAL (IBKR_DISCONNECTED, or GATEWAY_LOGIN_NEEDED while the gateway waits
 *   for its login), once; the weekly 2FA login reminder goes out once per login; when the
 *   window opens or closes, the cards of entries it holds are re-rendered so they say so.
 * kv keys: KV.gateway* (kv.keys.ts).
 */
import type { BrokerEvent, ConnectionState } from './broker.port.js';
import type { EngineContext } from './context.js';
import { clockTime } from './people-time.js';
import { entryHold, inRestartWindow, loginReminderDue, restartWindowEnd, WAITING_FOR_LOGIN_TEXT, windowLabel } from './gateway-day.js';
import type { Tx } from './store.port.js';
import { BEFORE_BROKER } from './lifecycle.fsm.js';
import { KV } from './kv.keys.js';


type ConnectionEvent = Extract<BrokerEvent, { kind: 'connection' }>;

/** The hold on new entries right now (gate, card, /status), or null. */
export function currentHold(ctx: EngineContext): string | null {
  return entryHold(ctx.clock.now(), ctx.gateway, ctx.constitution.session.timeZone, ctx.broker.health())?.message ?? null;
}

/**
 * A connection change seen through IB Gateway's day. Returns true when it raised the alert for
 * the event itself (the caller then raises nothing else): an expected drop inside the window
 * (INFO), or WAITING_FOR_LOGIN (INFO inside the window, CRITICAL outside). READY clears the
 * expected outage. Cards of held entries re-render when the login state changes.
 */
export async function gatewayConnection(ctx: EngineContext, tx: Tx, ev: ConnectionEvent, previous: ConnectionState | null, escalated: boolean): Promise<boolean> {
  const now = ctx.clock.now();
  const gw = ctx.gateway;
  const tz = ctx.constitution.session.timeZone;
  const facts = { detail: ev.detail, ...(ev.code !== undefined ? { code: ev.code } : {}) };
  if (ev.state === 'READY' || escalated) {
    // back, or already CRITICAL (the escalation): nothing left for the job to raise
    if (await tx.kv.get(KV.gatewayExpectedOutage)) await tx.kv.set(KV.gatewayExpectedOutage, '', now);
    if (previous === 'WAITING_FOR_LOGIN') await touchHeldCards(tx, now);
    return false;
  }
  // one alert per outage: failed reconnect attempts (attempt ≥ 1) are beads only
  const drop = ev.state === 'WAITING_FOR_LOGIN' || ev.state === 'PAUSED' || ev.state === 'DOWN' || (ev.state === 'DISCONNECTED' && !ev.attempt);
  if (!drop) return false;
  if (ev.state === 'WAITING_FOR_LOGIN') await touchHeldCards(tx, now);
  const w = gw?.restartWindow;
  if (w && inRestartWindow(now, gw, tz)) {
    const end = clockTime(restartWindowEnd(now, w, tz), tz);
    const what = ev.state === 'WAITING_FOR_LOGIN' ? `up again, ${WAITING_FOR_LOGIN_TEXT}` : `broker ${ev.state.toLowerCase()}`;
    if (!(await tx.kv.get(KV.gatewayExpectedOutage))) await tx.kv.set(KV.gatewayExpectedOutage, String(now), now);
    tx.alerts.enqueue({ type: 'GATEWAY_RESTART', at: now, payload: { summary: `IB Gateway daily restart window ${windowLabel(w)}: ${what}, as expected. Entries held; Phoenix reconnects by itself and raises it as CRITICAL if the gateway is not back by ${end}.`, facts } });
    return true;
  }
  if (ev.state === 'WAITING_FOR_LOGIN') {
    tx.alerts.enqueue({ type: 'GATEWAY_LOGIN_NEEDED', at: now, payload: { summary: `IB Gateway is up but nobody is logged in: ${WAITING_FOR_LOGIN_TEXT}. Log in on the gateway and approve the IB Key prompt; entries are held until then, and Phoenix connects by itself once it is logged in.`, facts } });
    return true;
  }
  return false;
}

export interface GatewayDayOutcome {
  readonly reminded: boolean;
  /** the alert type raised for an expected drop that outlasted the window */
  readonly escalated: 'IBKR_DISCONNECTED' | 'GATEWAY_LOGIN_NEEDED' | null;
  /** the restart window opened or closed since the last run (held cards re-rendered) */
  readonly windowChanged: boolean;
}

/** The gateway-day job (every minute). Nothing to do without IB Gateway (sim broker). */
export async function runGatewayDay(ctx: EngineContext): Promise<GatewayDayOutcome> {
  const gw = ctx.gateway;
  if (!gw) return { reminded: false, escalated: null, windowChanged: false };
  const now = ctx.clock.now();
  const tz = ctx.constitution.session.timeZone;
  const health = ctx.broker.health();
  const inWindow = inRestartWindow(now, gw, tz);
  const due = loginReminderDue(now, gw, tz);
  const out = await ctx.store.tx(async (tx): Promise<GatewayDayOutcome> => {
    let reminded = false;
    if (due && (await tx.kv.get(KV.gatewayLoginReminder)) !== String(due.loginAt)) {
      await tx.kv.set(KV.gatewayLoginReminder, String(due.loginAt), now);
      tx.alerts.enqueue({ type: 'GATEWAY_LOGIN_REMINDER', at: now, payload: { summary: `IB Gateway wants its weekly full login with 2FA at ${due.label} (in ${due.inMinutes} min). Be at the gateway (or IBC) and approve the IB Key prompt in IBKR Mobile; while it waits for the login Phoenix holds entries (RB-007).`, facts: { login: due.label } } });
      reminded = true;
    }
    let escalated: GatewayDayOutcome['escalated'] = null;
    const since = Number((await tx.kv.get(KV.gatewayExpectedOutage)) || 0);
    if (since && health.state === 'READY') await tx.kv.set(KV.gatewayExpectedOutage, '', now);
    else if (since && !inWindow) {
      await tx.kv.set(KV.gatewayExpectedOutage, '', now);
      escalated = health.state === 'WAITING_FOR_LOGIN' ? 'GATEWAY_LOGIN_NEEDED' : 'IBKR_DISCONNECTED';
      const what = health.state === 'WAITING_FOR_LOGIN' ? WAITING_FOR_LOGIN_TEXT : `broker ${health.state.toLowerCase()}`;
      tx.alerts.enqueue({ type: escalated, at: now, payload: { summary: `IB Gateway not back after its daily restart window (down since ${clockTime(since, tz)}): ${what}${health.detail ? ` — ${health.detail}` : ''}. Submissions paused; see RB-007.`, facts: { since: clockTime(since, tz) } } });
    }
    const wasOpen = (await tx.kv.get(KV.gatewayWindowOpen)) === '1';
    const windowChanged = wasOpen !== inWindow;
    if (windowChanged) {
      await tx.kv.set(KV.gatewayWindowOpen, inWindow ? '1' : '0', now);
      await touchHeldCards(tx, now);
    }
    return { reminded, escalated, windowChanged };
  });
  if (out.reminded || out.escalated || out.windowChanged) ctx.notify();
  return out;
}

/** Re-render the cards of entries a hold applies to (open cards, approvals waiting to submit). */
async function touchHeldCards(tx: Tx, now: number): Promise<void> {
  for (const intent of await tx.intents.listByState(BEFORE_BROKER)) {
    const card = await tx.cards.bySubject(intent.id, 'TRADE');
    if (card) await tx.cards.touch(card.id, now);
  }
}

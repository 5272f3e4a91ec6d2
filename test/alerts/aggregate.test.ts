/** Aggregation rules and pacing, as pure functions (no I/O, no clock). */
import { describe, expect, it } from 'vitest';
import {
  activeInhibitors,
  buildUnits,
  foldAlert,
  planMessage,
  readiness,
  rememberUnit,
  type GroupAgg,
  type GroupMemory,
  type PendingAlert,
  type Raised,
} from '../../src/alerts/aggregate.js';
import { ChatBudget } from '../../src/alerts/chat-budget.js';
import { FakeClock } from '../support/fake-clock.js';
import { countAlertsInText } from '../../src/alerts/render.js';
import { visibleText } from '../../src/alerts/html.js';
import { ALERT_TYPE_NAMES, ALERT_TYPES, alertDef, groupKeyOf, INHIBIT_MAX_MS, type AlertPayload, type AlertType } from '../../src/engine/alerts.table.js';

const T0 = Date.parse('2026-11-24T15:00:00Z');
const S = 1000;
let rid = 0;
function alert(type: AlertType, summary: string, at: number, extra: Partial<AlertPayload> = {}): PendingAlert {
  const payload = { summary, ...extra };
  return { rid: ++rid, id: `a${rid}`, type, severity: alertDef(type).severity, groupKey: groupKeyOf({ type, payload, at }), at, payload };
}
function groups(...alerts: PendingAlert[]): Map<string, GroupAgg> {
  const g = new Map<string, GroupAgg>();
  for (const a of alerts) foldAlert(g, a);
  return g;
}
const only = <T>(xs: T[]): T => {
  expect(xs).toHaveLength(1);
  return xs[0] as T;
};

describe('alert-type table', () => {
  it('every type has a severity, a title, a runbook id and sane timing; CRITICAL types wait 0', () => {
    for (const t of ALERT_TYPE_NAMES) {
      const d = alertDef(t);
      expect(d.runbook, t).toMatch(/^RB-\d{3}$/);
      expect(d.title.length, t).toBeGreaterThan(3);
      expect(d.groupIntervalMs, t).toBeGreaterThanOrEqual(0);
      expect(d.repeatIntervalMs, t).toBeGreaterThanOrEqual(d.groupIntervalMs === 0 ? 0 : d.groupIntervalMs);
      if (d.severity === 'CRITICAL') expect(d.groupWaitMs, t).toBe(0);
      for (const i of [...(d.inhibitedBy ?? []), ...(d.resolvedBy ?? [])]) expect(ALERT_TYPES, `${t} → ${i}`).toHaveProperty(i);
    }
  });
});

describe('readiness (when a group may speak)', () => {
  const u = (...a: PendingAlert[]) => only(buildUnits(groups(...a).values(), new Map()));

  it('new group: first alert + groupWait (CRITICAL at once, WARNING after its wait)', () => {
    expect(readiness(u(alert('POSITION_STALLED', 'x', T0)), undefined)).toEqual({ at: T0, why: 'new' });
    expect(readiness(u(alert('ORDER_REJECTED', 'x', T0)), undefined)).toEqual({ at: T0 + alertDef('ORDER_REJECTED').groupWaitMs, why: 'new' });
  });

  it('changed group (a new line) waits only for the group interval', () => {
    const mem: GroupMemory = { at: T0, fps: [], n: 1, sev: 'WARNING' };
    const r = readiness(u(alert('ORDER_REJECTED', 'new reason', T0 + 2 * S)), mem);
    expect(r).toEqual({ at: T0 + alertDef('ORDER_REJECTED').groupIntervalMs, why: 'changed' });
  });

  it('repeat (same line again) is suppressed until the repeat interval; 10+ repeats are news; a storm tail goes out once quiet', () => {
    const first = u(alert('ORDER_REJECTED', 'same', T0));
    const mem = rememberUnit(first, undefined, T0);
    const def = alertDef('ORDER_REJECTED');
    expect(readiness(u(alert('ORDER_REJECTED', 'same', T0 + 5 * S)), mem)).toEqual({ at: T0 + def.repeatIntervalMs, why: 'repeat' });
    const ten = Array.from({ length: 10 }, (_, i) => alert('ORDER_REJECTED', 'same', T0 + (i + 1) * S));
    expect(readiness(u(...ten), mem)).toEqual({ at: T0 + def.groupIntervalMs, why: 'volume' });
    const stormMem = { ...mem, n: 500 };
    expect(readiness(u(alert('ORDER_REJECTED', 'same', T0 + 90 * S)), stormMem)).toEqual({ at: T0 + 90 * S + def.groupIntervalMs, why: 'tail' });
  });

  it('a higher severity counts as a change', () => {
    const mem: GroupMemory = { at: T0, fps: [], n: 1, sev: 'INFO' };
    const a = alert('HEARTBEAT_DEGRADED', 'same', T0 + S);
    const unit = u(a);
    const r = readiness(unit, { ...rememberUnit(unit, undefined, T0), sev: 'INFO', n: 1, at: mem.at });
    expect(r.why).toBe('changed');
  });
});

describe('inhibition', () => {
  const raised = (entries: [AlertType, number][]): Map<AlertType, Raised> => new Map(entries.map(([t, at]) => [t, { at, groupKey: t }]));

  it('IBKR_DISCONNECTED is active until IBKR_RESTORED (or INHIBIT_MAX_MS)', () => {
    expect(activeInhibitors(raised([['IBKR_DISCONNECTED', T0]]), T0 + S, ALERT_TYPE_NAMES).has('IBKR_DISCONNECTED')).toBe(true);
    expect(activeInhibitors(raised([['IBKR_DISCONNECTED', T0], ['IBKR_RESTORED', T0 + S]]), T0 + 2 * S, ALERT_TYPE_NAMES).size).toBe(0);
    expect(activeInhibitors(raised([['IBKR_DISCONNECTED', T0 + 2 * S], ['IBKR_RESTORED', T0 + S]]), T0 + 3 * S, ALERT_TYPE_NAMES).size).toBe(1);
    expect(activeInhibitors(raised([['IBKR_DISCONNECTED', T0]]), T0 + INHIBIT_MAX_MS + 1, ALERT_TYPE_NAMES).size).toBe(0);
  });

  it('while the broker is disconnected, stall alerts fold into the disconnect alert (one message, counted)', () => {
    const inh = activeInhibitors(raised([['IBKR_DISCONNECTED', T0]]), T0 + S, ALERT_TYPE_NAMES);
    const g = groups(alert('IBKR_DISCONNECTED', 'Broker disconnected: 1100', T0), alert('POSITION_STALLED', 'BUY 1 MES: no ack', T0 + S), alert('POSITION_STALLED', 'BUY 1 ES: no ack', T0 + S));
    const unit = only(buildUnits(g.values(), inh));
    expect(unit.key).toBe('IBKR_DISCONNECTED');
    expect(unit.folded.map((x) => x.type)).toEqual(['POSITION_STALLED']);
    const { plan } = planMessage({ now: T0 + S, units: [unit], memory: new Map(), canSendNormal: true, canSendCritical: true, ref: 'am_1' });
    const text = visibleText(plan!.html);
    expect(text).toContain('🔴 CRITICAL · Broker connection lost');
    expect(text).toContain('↳ Order stalled (no broker acknowledgement) ×2 folded in (RB-003)');
    expect(countAlertsInText(text)).toBe(3);
    expect(plan!.groupKeys).toEqual(['IBKR_DISCONNECTED', 'POSITION_STALLED']);
  });

  it('stalls after the disconnect message wait for the disconnect group interval, then say they were folded', () => {
    const inh = activeInhibitors(raised([['IBKR_DISCONNECTED', T0]]), T0 + 5 * S, ALERT_TYPE_NAMES);
    const mem = new Map<string, GroupMemory>([['IBKR_DISCONNECTED', { at: T0, fps: ['x'], n: 1, sev: 'CRITICAL' }]]);
    const unit = only(buildUnits(groups(alert('POSITION_STALLED', 'BUY 1 MES: no ack', T0 + 5 * S)).values(), inh));
    const early = planMessage({ now: T0 + 5 * S, units: [unit], memory: mem, canSendNormal: true, canSendCritical: true, ref: 'am_2' });
    expect(early.plan).toBeUndefined();
    expect(early.nextReadyAt).toBe(T0 + alertDef('IBKR_DISCONNECTED').groupIntervalMs);
    const later = planMessage({ now: T0 + 30 * S, units: [unit], memory: mem, canSendNormal: true, canSendCritical: true, ref: 'am_3' });
    expect(visibleText(later.plan!.html)).toContain('folded into “Broker connection lost”');
    expect(countAlertsInText(visibleText(later.plan!.html))).toBe(1);
  });
});

describe('planning a message', () => {
  it('CRITICAL first; with a non-critical message still queued only a CRITICAL-only message may be composed', () => {
    const g = groups(alert('INTENT_BLOCKED', 'blocked', T0, { facts: { code: 'KILL' } }), alert('POSITION_STALLED', 'stall', T0 + S));
    const units = buildUnits(g.values(), new Map());
    const both = planMessage({ now: T0 + 60 * S, units, memory: new Map(), canSendNormal: true, canSendCritical: true, ref: 'am_a' });
    const text = visibleText(both.plan!.html);
    expect(text.indexOf('CRITICAL')).toBeLessThan(text.indexOf('INFO'));
    expect(both.plan!.severity).toBe('CRITICAL');
    const critOnly = planMessage({ now: T0 + 60 * S, units, memory: new Map(), canSendNormal: false, canSendCritical: true, ref: 'am_b' });
    expect(critOnly.plan!.groupKeys).toEqual(['POSITION_STALLED']);
    expect(planMessage({ now: T0 + 60 * S, units, memory: new Map(), canSendNormal: false, canSendCritical: false, ref: 'am_c' }).plan).toBeUndefined();
  });

  it('lower severities wait for their group: nothing before groupWait', () => {
    const units = buildUnits(groups(alert('INTENT_BLOCKED', 'b', T0, { facts: { code: 'KILL' } })).values(), new Map());
    const wait = alertDef('INTENT_BLOCKED').groupWaitMs;
    expect(planMessage({ now: T0 + wait - 1, units, memory: new Map(), canSendNormal: true, canSendCritical: true, ref: 'r' }).plan).toBeUndefined();
    expect(planMessage({ now: T0 + wait, units, memory: new Map(), canSendNormal: true, canSendCritical: true, ref: 'r' }).plan).toBeDefined();
  });
});

describe('per-chat budget: Telegram limits (chat-budget.ts)', () => {
  it('groups: 1 per second and 20 per rolling minute, 4 of them reserved for CRITICAL', () => {
    const p = new ChatBudget({ clock: new FakeClock(T0) });
    const chat = '-1001';
    let t = T0;
    for (let i = 0; i < 16; i++) {
      t = p.nextSlot(chat, 'rest', t);
      p.record(chat, t);
    }
    expect(t).toBe(T0 + 15 * S);
    expect(p.nextSlot(chat, 'rest', t)).toBe(T0 + 60 * S); // normal: window full (16 = 20 - reserve)
    expect(p.nextSlot(chat, 'urgent', t)).toBe(t + S); // critical may use the reserve
    for (let i = 0; i < 4; i++) p.record(chat, (t = p.nextSlot(chat, 'urgent', t)));
    expect(p.nextSlot(chat, 'urgent', t)).toBe(T0 + 60 * S); // 20 in the window
  });

  it('private chats: 1 per second, no minute cap; 429 blocks the chat until retry_after', () => {
    const p = new ChatBudget({ clock: new FakeClock(T0) });
    p.record('42', T0);
    expect(p.nextSlot('42', 'rest', T0)).toBe(T0 + S);
    p.block('42', T0 + 30 * S);
    expect(p.nextSlot('42', 'urgent', T0 + 2 * S)).toBe(T0 + 30 * S);
  });

  it('global: 30 per rolling second across chats', () => {
    const p = new ChatBudget({ clock: new FakeClock(T0) });
    for (let i = 0; i < 30; i++) p.record(String(100 + i), T0 + i);
    expect(p.nextSlot('999', 'rest', T0 + 30)).toBe(T0 + 1000);
  });
});

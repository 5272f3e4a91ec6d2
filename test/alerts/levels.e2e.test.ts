/**
 * Notification levels (issue 17, SPEC 9) on real parts: the alert sender delivers through the
 * grammY transport to the sandbox Bot API over HTTP, the real grammY bot handles the snooze
 * taps, the engine runs on a real SQLite file (or PostgreSQL), all on one FakeClock. Assertions are on what the
 * sandbox Bot API server RECEIVED (disable_notification, reply_markup), on the outbox rows and
 * on the beads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AlertSender, type AlertSenderOptions } from '../../src/alerts/sender.js';
import { createGrammyAlertTransport, SNOOZE_BUTTON } from '../../src/bot/alert.transport.js';
import { encodeCallback } from '../../src/bot/callback-data.js';
import { KV } from '../../src/engine/kv.keys.js';
import type { AlertDraft, AlertLevels, AlertType } from '../../src/engine/alerts.table.js';
import { flushMicrotasks } from '../support/fake-clock.js';
import { CHAT_ID } from '../support/harness.js';
import { CHAT, makeRig, payloadOf, TOKEN, type Rig } from '../bot/helpers.js';
import { adapterEnv, STORE_ADAPTERS, usePostgres } from '../support/postgres.js';
import { enqueue } from './helpers.js';
import { closeAfterEach } from '../support/cleanup.js';

const pg = usePostgres();

let rig: Rig | undefined;
let sender: AlertSender | undefined;
const newRig = closeAfterEach(makeRig);
afterEach(async () => {
  await sender?.stop();
  sender = undefined;
});

interface AlertCall {
  readonly ref: string;
  readonly text: string;
  readonly silent: boolean;
  readonly buttons: string[];
  readonly callbackData: string[];
}

async function setup(levels: AlertLevels = {}, extra: Partial<AlertSenderOptions> = {}, env: Record<string, string> = {}): Promise<{ r: Rig; s: AlertSender; suppressed: Map<string, number> }> {
  const r = await newRig({ harness: { env } });
  rig = r;
  const suppressed = new Map<string, number>();
  const s = new AlertSender({
    store: r.h.app.store,
    clock: r.h.clock,
    transport: createGrammyAlertTransport({ token: TOKEN, apiRoot: r.sandbox.apiRoot }),
    chatId: CHAT_ID,
    budget: r.phoenix.budget,
    levels,
    observer: { messageSent: () => {}, suppressed: (t, n) => suppressed.set(t, (suppressed.get(t) ?? 0) + n) },
    ...extra,
  });
  sender = s;
  await s.start();
  return { r, s, suppressed };
}

/** Alert messages as the sandbox Bot API received them (sendMessage calls carrying an outbox ref). */
function alertCalls(r: Rig): AlertCall[] {
  return r.sandbox.calls
    .filter((c) => c.method === 'sendMessage' && c.status === 200 && /ref am_/.test(String(c.payload.text)))
    .map((c) => {
      const kb = (c.payload.reply_markup as { inline_keyboard?: { text: string; callback_data?: string }[][] } | undefined)?.inline_keyboard?.flat() ?? [];
      return { ref: /ref (am_[A-Za-z0-9_-]+)/.exec(String(c.payload.text))?.[1] ?? '', text: String(c.payload.text), silent: c.payload.disable_notification === true, buttons: kb.map((b) => b.text), callbackData: kb.map((b) => b.callback_data ?? '') };
    });
}

/** Fake time forward in 250 ms steps; the sender's and the bot's real HTTP settle in between. */
async function run(r: Rig, s: AlertSender, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 250) {
    await r.h.clock.advance(Math.min(250, ms - t));
    await s.settled();
    await flushMicrotasks();
  }
}

const draft = (type: AlertType, at: number, summary: string, extra: Partial<AlertDraft['payload']> = {}): AlertDraft => ({ type, at, payload: { summary, ...extra } });

async function raise(r: Rig, s: AlertSender, drafts: AlertDraft[], waitMs: number): Promise<AlertCall[]> {
  const before = alertCalls(r).length;
  await enqueue(r.h.app.store, drafts);
  s.kick();
  await run(r, s, waitMs);
  return alertCalls(r).slice(before);
}

/** The chat message (for taps) that carries an outbox ref. */
const messageOf = (r: Rig, ref: string) => {
  const m = r.botMessages().find((x) => x.text.includes(`ref ${ref}`));
  if (!m) throw new Error(`no chat message for ${ref}`);
  return m;
};

describe('issue 17: notification levels', () => {
  it.each(STORE_ADAPTERS)('levels: INFO alerts reach the Bot API with disable_notification; WARNING and CRITICAL ring (store adapter %s)', async (adapter) => {
    const { r, s } = await setup({}, {}, await adapterEnv(adapter, pg));
    const now = r.h.clock.now();
    const info = await raise(r, s, [draft('INTENT_BLOCKED', now, 'BUY 1 MES blocked: quality', { facts: { code: 'QUALITY' } })], 11_000);
    expect(info).toHaveLength(1);
    expect(info[0]!.text).toContain('INFO · Intent blocked by a gate');
    expect(info[0]!.silent).toBe(true);
    const warning = await raise(r, s, [draft('ORDER_REJECTED', r.h.clock.now(), 'BUY 1 MES rejected: margin')], 6000);
    expect(warning).toHaveLength(1);
    expect(warning[0]!.silent).toBe(false);
    const critical = await raise(r, s, [draft('HALT', r.h.clock.now(), 'halted by @alice')], 1000);
    expect(critical).toHaveLength(1);
    expect(critical[0]!.silent).toBe(false);
    // the outbox row says the same as what was sent
    const rows = (await r.h.app.db.$queryRawUnsafe(`SELECT severity, silent FROM "AlertMessage" ORDER BY "createdAt"`)) as { severity: string; silent: number | bigint | boolean }[];
    expect(rows.map((x) => [x.severity, Number(x.silent)])).toEqual([['INFO', 1], ['WARNING', 0], ['CRITICAL', 0]]);
  });

  it('levels: per type — silent is delivered without sound, off is kept in the outbox as SUPPRESSED and counted, never sent; a CRITICAL type forced off still rings', async () => {
    const { r, s, suppressed } = await setup({ ORDER_REJECTED: 'silent', PACING_VIOLATION: 'off', HALT: 'off' } as AlertLevels);
    const now = r.h.clock.now();
    const calls = await raise(r, s, [draft('ORDER_REJECTED', now, 'BUY 1 MES rejected: margin'), draft('PACING_VIOLATION', now, 'pacing violation one'), draft('PACING_VIOLATION', now, 'pacing violation two'), draft('HALT', now, 'halted by @alice')], 8000);
    const texts = calls.map((c) => c.text).join('\n');
    expect(texts).not.toContain('pacing violation');
    const rejected = calls.find((c) => c.text.includes('Order rejected by broker'));
    expect(rejected?.silent).toBe(true);
    const halt = calls.find((c) => c.text.includes('Trading halted'));
    expect(halt?.silent).toBe(false); // config validation refuses HALT: off; the sender never obeys it either
    const statuses = (await r.h.app.db.$queryRawUnsafe(`SELECT type, status FROM "Alert" ORDER BY rowid`)) as { type: string; status: string }[];
    expect(statuses).toEqual([
      { type: 'ORDER_REJECTED', status: 'SENT' },
      { type: 'PACING_VIOLATION', status: 'SUPPRESSED' },
      { type: 'PACING_VIOLATION', status: 'SUPPRESSED' },
      { type: 'HALT', status: 'SENT' },
    ]);
    expect(await r.h.app.store.tx((tx) => tx.alerts.backlog())).toBe(0);
    expect(Object.fromEntries(suppressed)).toEqual({ PACING_VIOLATION: 2 });
  });

  it('levels: "snooze 1 h" only on repeating WARNING digests — not on a first single WARNING, INFO digests, CRITICAL repeats, or a message that holds a CRITICAL', async () => {
    const { r, s } = await setup();
    const t0 = r.h.clock.now();
    // a first, single WARNING: no button
    const first = await raise(r, s, [draft('ORDER_REJECTED', t0, 'BUY 1 MES rejected: margin')], 6000);
    expect(first.map((c) => c.buttons)).toEqual([[]]);
    // the same group speaks again (new line, after its 60 s interval): repeating → button
    const again = await raise(r, s, [draft('ORDER_REJECTED', r.h.clock.now(), 'SELL 2 MES rejected: price')], 61_000);
    expect(again.map((c) => c.buttons)).toEqual([[SNOOZE_BUTTON]]);
    expect(again[0]!.callbackData).toEqual([encodeCallback('snoozeAlerts', again[0]!.ref)]);
    // a new WARNING group whose first message is a digest of two: button
    const digest = await raise(r, s, [draft('PACING_VIOLATION', r.h.clock.now(), 'pacing 1'), draft('PACING_VIOLATION', r.h.clock.now(), 'pacing 2')], 1000);
    expect(digest.map((c) => [c.text.includes('×2'), c.buttons])).toEqual([[true, [SNOOZE_BUTTON]]]);
    // an INFO digest of three: no button
    const info = await raise(r, s, [1, 2, 3].map((i) => draft('INTENT_BLOCKED', r.h.clock.now(), `blocked ${i}`, { facts: { code: 'QUALITY' } })), 11_000);
    expect(info.map((c) => [c.text.includes('×3'), c.buttons])).toEqual([[true, []]]);
    // CRITICAL repeating (a digest of two, then again): never a button
    const stalled = await raise(r, s, [draft('POSITION_STALLED', r.h.clock.now(), 'stalled 1'), draft('POSITION_STALLED', r.h.clock.now(), 'stalled 2')], 1000);
    const stalledAgain = await raise(r, s, [draft('POSITION_STALLED', r.h.clock.now(), 'stalled 3')], 61_000);
    expect([...stalled, ...stalledAgain].map((c) => [c.text.includes('CRITICAL'), c.buttons])).toEqual([[true, []], [true, []]]);
    // a repeating WARNING digest that shares its message with a CRITICAL: no button
    const now = r.h.clock.now();
    const mixed = await raise(r, s, [draft('ORDER_HELD', now, 'held 1', { instrumentKey: 'FUT:MES:202612:USD' }), draft('ORDER_HELD', now, 'held 2', { instrumentKey: 'FUT:MES:202612:USD' }), draft('LATE_FILL', now, 'late fill', { instrumentKey: 'FUT:MES:202612:USD' })], 1000);
    expect(mixed).toHaveLength(1);
    expect(mixed[0]!.text).toContain('Order held by the broker');
    expect(mixed[0]!.text).toContain('CRITICAL');
    expect(mixed[0]!.buttons).toEqual([]);
    const offered = (await r.h.app.db.$queryRawUnsafe(`SELECT severity, snoozeTypes FROM "AlertMessage" WHERE snoozeTypes IS NOT NULL`)) as { severity: string; snoozeTypes: string }[];
    expect(offered).toEqual([
      { severity: 'WARNING', snoozeTypes: 'ORDER_REJECTED' },
      { severity: 'WARNING', snoozeTypes: 'PACING_VIOLATION' },
    ]);
  });

  it('levels: an approver snoozes a repeating WARNING for 1 h — audited (who, until when), shown in /status, later alerts of the type arrive silently (still sent and counted); after exactly 1 h on the FakeClock it rings again', async () => {
    const { r, s } = await setup();
    await raise(r, s, [draft('ORDER_REJECTED', r.h.clock.now(), 'BUY 1 MES rejected: margin')], 6000);
    const [offer] = await raise(r, s, [draft('ORDER_REJECTED', r.h.clock.now(), 'SELL 2 MES rejected: price')], 61_000);
    expect(offer!.buttons).toEqual([SNOOZE_BUTTON]);
    const tappedAt = r.h.clock.now();
    const q = r.alice.tap(CHAT, messageOf(r, offer!.ref).message_id, SNOOZE_BUTTON);
    expect((await r.alice.waitAnswer(q)).text).toMatch(/^🔕 ORDER_REJECTED snoozed until \d\d:\d\d EST by @alice/);
    const [snooze] = await r.beads('ALERT_SNOOZE');
    expect(payloadOf(snooze!)).toEqual({ alertTypes: ['ORDER_REJECTED'], until: new Date(tappedAt + 3600_000).toISOString(), actor: { id: '1001', name: '@alice', via: 'telegram' }, messageId: offer!.ref });
    expect(snooze!.ts).toBe(tappedAt);
    await r.waitMessage((m) => m.text.includes('snoozed until') && m.text.includes('@alice') && !m.text.includes('ref am_'), { label: 'snooze notice in the chat' });

    // /status shows it
    r.carol.send(CHAT, '/status');
    const status = await r.waitMessage((m) => m.text.includes('Snoozed:'), { label: '/status with the snooze' });
    expect(status.text).toMatch(/🔕 Snoozed: ORDER_REJECTED by @alice until \d\d:\d\d EST/);

    // 59 min later an ORDER_REJECTED is still delivered, silently, saying who snoozed it; no button while snoozed
    await run(r, s, 59 * 60_000 - (r.h.clock.now() - tappedAt));
    const [quiet] = await raise(r, s, [draft('ORDER_REJECTED', r.h.clock.now(), 'BUY 3 MES rejected: margin again')], 6000);
    expect(r.h.clock.now()).toBeLessThan(tappedAt + 3600_000);
    expect(quiet!.silent).toBe(true);
    expect(quiet!.buttons).toEqual([]);
    expect(quiet!.text).toMatch(/ORDER_REJECTED snoozed by @alice until \d\d:\d\d EST/);
    expect(quiet!.text).toContain('Order rejected by broker');
    // other WARNING types still ring
    const [other] = await raise(r, s, [draft('PACING_VIOLATION', r.h.clock.now(), 'pacing')], 1000);
    expect(other!.silent).toBe(false);

    // the snooze ends exactly 1 h after the tap: at 60:00 the type rings again (and may be snoozed again)
    await run(r, s, tappedAt + 3600_000 - r.h.clock.now());
    expect(r.h.clock.now()).toBe(tappedAt + 3600_000);
    expect(await r.h.app.store.tx(async (tx) => tx.kv.get(KV.alertSnooze))).toContain('ORDER_REJECTED'); // stored, just over
    const [loud] = await raise(r, s, [draft('ORDER_REJECTED', r.h.clock.now(), 'SELL 4 MES rejected: price again')], 6000);
    expect(loud!.silent).toBe(false);
    expect(loud!.buttons).toEqual([SNOOZE_BUTTON]);
    expect(loud!.text).not.toContain('snoozed by');
    r.carol.send(CHAT, '/status');
    await r.quiet();
    const statuses = r.botMessages().filter((m) => m.text.includes('Alert outbox:'));
    expect(statuses.at(-1)!.text).not.toContain('Snoozed');
  });

  it('levels: a snooze tapped by a stranger or a viewer is refused and audited; forged data (unknown message, a message that offered none, a CRITICAL one) is refused and audited; CRITICAL types are never snoozable', async () => {
    const { r, s } = await setup();
    await raise(r, s, [draft('ORDER_REJECTED', r.h.clock.now(), 'BUY 1 MES rejected: margin')], 6000);
    const [offer] = await raise(r, s, [draft('ORDER_REJECTED', r.h.clock.now(), 'SELL 2 MES rejected: price')], 61_000);
    const msg = messageOf(r, offer!.ref);
    const stranger = r.mallory.tap(CHAT, msg.message_id, SNOOZE_BUTTON);
    expect((await r.mallory.waitAnswer(stranger)).text).toBe('Not allowed.');
    const viewer = r.carol.tap(CHAT, msg.message_id, SNOOZE_BUTTON);
    expect((await r.carol.waitAnswer(viewer)).text).toBe('Only approvers and admins can snooze alerts.');
    // forged: an unknown message id, the first message (no snooze offered), a CRITICAL message
    const [critical] = await raise(r, s, [draft('HALT', r.h.clock.now(), 'halted')], 1000);
    for (const data of [encodeCallback('snoozeAlerts', 'am_doesnotexist'), encodeCallback('snoozeAlerts', (await firstRef(r))!), encodeCallback('snoozeAlerts', critical!.ref)]) {
      const q = r.dave.tapRaw(CHAT, msg.message_id, data);
      expect((await r.dave.waitAnswer(q)).text, data).toBe('This button is not valid.');
    }
    expect(await r.beads('ALERT_SNOOZE')).toEqual([]);
    expect(await r.h.app.store.tx((tx) => tx.kv.get(KV.alertSnooze))).toBeNull();
    const denied = (await r.beads('ACCESS_DENIED')).map((b) => payloadOf<{ userId: string; reason: string; action: string }>(b));
    expect(denied.find((d) => d.userId === '666')).toMatchObject({ reason: 'unknown user' });
    expect(denied.find((d) => d.userId === '1003')).toMatchObject({ reason: 'not an approver', action: `snooze alerts (${offer!.ref})` });
    expect(denied.filter((d) => d.userId === '1004').map((d) => d.reason)).toEqual(['unknown alert message', 'this message offered no snooze', 'CRITICAL alerts are never snoozed']);

    // the engine refuses a CRITICAL type whatever asks (a stale or crafted row), and audits it
    const alice = { id: '1001', name: '@alice', roles: ['viewer', 'approver'] as ('viewer' | 'approver')[], via: 'telegram' as const };
    for (const types of [['HALT'], ['ORDER_REJECTED', 'POSITION_STALLED'], ['INTENT_BLOCKED'], ['NOT_A_TYPE']]) {
      const out = await r.h.engine.snoozeAlerts(types, alice, 'am_x');
      expect(out.ok, types.join()).toBe(false);
    }
    expect(await r.beads('ALERT_SNOOZE')).toEqual([]);
    expect((await r.beads('ACCESS_DENIED')).map((b) => payloadOf<{ reason: string }>(b).reason).filter((x) => x.startsWith('not snoozable'))).toHaveLength(4);
    // and the sender ignores a stored snooze of a CRITICAL type (written behind its back)
    await r.h.app.store.tx((tx) => tx.kv.set(KV.alertSnooze, JSON.stringify([{ type: 'HALT', until: r.h.clock.now() + 3600_000, by: 'x', byId: '1', at: 0, messageId: 'am_x' }]), r.h.clock.now()));
    const [halt] = await raise(r, s, [draft('HALT', r.h.clock.now(), 'halted again')], 61_000);
    expect(halt!.silent).toBe(false);
  });
});

async function firstRef(r: Rig): Promise<string | undefined> {
  return alertCalls(r)[0]?.ref;
}

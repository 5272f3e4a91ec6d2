/** SPEC 12 commands end to end: the command table, roles, confirmations, access control. */
import { describe, expect, it } from 'vitest';
import { botCommandList, COMMANDS } from '../../src/bot/commands.js';
import { TEXT_LIMIT } from '../../src/bot/html.js';
import { parseHtml } from '../../src/sandbox/html-limits.js';
import { intentOf } from '../support/harness.js';
import { buttonsOf, CHAT, makeRig, messageById, payloadOf, type Rig } from './helpers.js';
import { closeAfterEach } from '../support/cleanup.js';

let rig: Rig | undefined;
const newRig = closeAfterEach(makeRig);

/** Send a command and wait for the next bot message in that chat after it. */
async function ask(r: Rig, who: 'alice' | 'bob' | 'carol' | 'dave', text: string, chat = CHAT, match: (m: { text: string }) => boolean = () => true) {
  const before = Math.max(0, ...r.sandbox.chat(chat).map((m) => m.message_id));
  r[who].send(chat, text);
  return r.waitMessage((m) => m.message_id > before && match(m), { chat, label: `reply to ${text}` });
}
const isConfirmCard = (m: { text: string }) => m.text.includes('Confirm RESUME') || m.text.includes('Confirm FLATTEN');

/**
 * Every earlier update was handled and everything it queued was sent: a /help answered in the
 * main chat (updates of one chat are handled in order), then no update in flight anywhere
 * (other chats' updates run concurrently) and nothing left in the send queue.
 */
async function barrier(r: Rig): Promise<void> {
  await ask(r, 'alice', '/help');
  await r.quiet();
}

const deniedBeads = async (r: Rig) => (await r.beads('ACCESS_DENIED')).map((b) => payloadOf<{ userId: string; chatId: string | null; action: string; reason: string }>(b));

describe('commands', () => {
  it('/start and /help come from the command table; setMyCommands registers the same table', async () => {
    rig = await newRig();
    const help = await ask(rig, 'carol', '/help');
    for (const c of COMMANDS.filter((x) => x.enabled)) expect(help.text).toContain(`/${c.command}`);
    expect(help.text).toContain('🔒 /promote STRATEGY'); // admin only (SPEC 11); carol sees it locked
    expect(help.text).toContain('You are @carol (viewer)');
    expect(help.text).toContain('🔒 /halt');
    const start = await ask(rig, 'alice', '/start');
    expect(start.text).toContain('Phoenix');
    expect(start.text).toContain('PAPER');
    expect(await rig.phoenix.bot.api.getMyCommands()).toEqual(botCommandList());
  });

  it('/status, /positions, /orders, /pending render the engine read models', async () => {
    rig = await newRig();
    const traded = await rig.proposeAndWaitCard();
    const q = rig.alice.tap(CHAT, traded.message.message_id, 'APPROVE');
    await rig.alice.waitAnswer(q);
    await rig.h.settle();
    expect((await intentOf(rig.h, traded.intentId)).state).toBe('MANAGED');
    const pending = await rig.proposeAndWaitCard({ instrument: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' }, entryPrice: 200, stopLoss: 199, takeProfit: 203 });

    const status = await ask(rig, 'carol', '/status');
    for (const s of ['PAPER', 'Status', 'Broker: sim READY', 'Kill flag: off', 'Open positions/orders: 1', 'Pending cards: 1', 'Unresolved drifts: 0']) expect(status.text).toContain(s);
    const positions = await ask(rig, 'carol', '/positions');
    expect(positions.text).toContain('BUY 1 MES Dec26 @ 6010.25');
    expect(positions.text).toContain(traded.intentId);
    const orders = await ask(rig, 'carol', '/orders');
    expect(orders.text).toContain('STOP SELL 1 MES Dec26 @ 6008.00');
    expect(orders.text).toContain('TARGET SELL 1 MES Dec26 @ 6015.00');
    const pend = await ask(rig, 'carol', '/pending');
    expect(pend.text).toContain('BUY 1 AAPL');
    expect(pend.text).toContain('5:00 left (until 10:05 EST)');
    // the way to the card: a link to its message (supergroup -1001001 → t.me/c/1001/<id>)
    expect(pend.entities).toContainEqual(expect.objectContaining({ type: 'text_link', url: `https://t.me/c/1001/${pending.message.message_id}` }));
  });

  it('/halt (approver, one message, no confirmation) blocks the next intent: CANCELLED with KILL_ACTIVE, INTENT_BLOCKED in the outbox, no card', async () => {
    rig = await newRig();
    const denied = await ask(rig, 'carol', '/halt');
    expect(denied.text).toBe('Not allowed: /halt needs the approver role.');
    const reply = await ask(rig, 'alice', '/halt news spike <b>&');
    expect(reply.text).toContain('Halted. New entries are blocked (exits still allowed). Reason: news spike <b>&');
    const r = await rig.h.engine.submitIntent(rig.h.intent());
    expect(r).toMatchObject({ kind: 'accepted', state: 'CANCELLED' });
    if (r.kind !== 'accepted') return;
    expect(r.denials.map((d) => d.code)).toContain('KILL_ACTIVE');
    expect((await intentOf(rig.h, r.intentId)).stateReason).toContain('KILL_ACTIVE');
    const alerts = await rig.h.app.db.alert.findMany({ where: { type: { in: ['INTENT_BLOCKED', 'HALT'] } } });
    expect(alerts.map((a) => a.type).sort()).toEqual(['HALT', 'INTENT_BLOCKED']);
    expect(JSON.parse(alerts.find((a) => a.type === 'INTENT_BLOCKED')!.payload)).toMatchObject({ intentId: r.intentId, facts: { code: 'KILL_ACTIVE' } });
    expect(await rig.h.app.store.tx((tx) => tx.cards.bySubject(r.intentId, 'TRADE'))).toBeNull();
    const status = await ask(rig, 'carol', '/status');
    expect(status.text).toContain('KILL ACTIVE: manual "news spike <b>&" by @alice');
    expect(rig.botMessages().some((m) => buttonsOf(m).some((d) => d.startsWith('v1:a:')))).toBe(false);
    expect((await deniedBeads(rig)).filter((d) => d.userId === '1003')).toEqual([expect.objectContaining({ action: 'command /halt', reason: 'approver role needed' })]);
  });

  it('/resume needs admin + a confirm tap: viewer/approver refused and audited; the confirm button works; an expired confirmation does nothing', async () => {
    rig = await newRig();
    await ask(rig, 'alice', '/halt drill');
    expect((await ask(rig, 'carol', '/resume')).text).toBe('Not allowed: /resume needs the admin role.');
    expect((await ask(rig, 'alice', '/resume')).text).toBe('Not allowed: /resume needs the admin role.');
    expect((await deniedBeads(rig)).filter((d) => d.action === 'command /resume').map((d) => d.userId).sort()).toEqual(['1001', '1003']);

    const card = await ask(rig, 'bob', '/resume', CHAT, isConfirmCard);
    expect(card.text).toContain('Confirm RESUME');
    expect(card.text).toContain('Kill flags active now: 1');
    expect(card.reply_markup?.inline_keyboard[0]?.map((b) => b.text)).toEqual(['✅ Confirm resume', '✖ Cancel']);
    // an approver cannot confirm (engine refuses and audits)
    const qa = rig.alice.tap(CHAT, card.message_id, 'Confirm');
    expect((await rig.alice.waitAnswer(qa)).text).toBe('Not allowed: admin role needed.');
    expect((await rig.h.engine.status()).kills).toHaveLength(1);
    const before = rig.botMessages().length;
    const qb = rig.bob.tap(CHAT, card.message_id, 'Confirm');
    expect((await rig.bob.waitAnswer(qb)).text).toBe('Resumed: 1 kill flag(s) lifted.');
    expect((await rig.h.engine.status()).kills).toHaveLength(0);
    const answered = await rig.sandbox.waitFor(() => {
      const m = messageById(rig!.sandbox, card.message_id);
      return m?.text.includes('RESUMED by @bob') ? m : undefined;
    });
    expect(answered.reply_markup).toBeUndefined();
    expect(answered.text).toContain('RESUMED by @bob at 10:00 EST.');
    expect(answered.text).toContain('No kill flag is active: new entries are allowed again.');
    // one confirmation: the card itself; no second message, no KILL_FLAG_CLEARED alert in the outbox
    await rig.quiet();
    expect(rig.botMessages().length).toBe(before);
    expect(await rig.h.app.db.alert.count({ where: { type: 'KILL_FLAG_CLEARED' } })).toBe(0);
    expect((await rig.beads('KILL_FLAG')).map((b) => payloadOf<{ action: string }>(b).action)).toContain('CLEARED'); // the audit keeps it

    // expired confirmation: engine time passes its 60 s
    await ask(rig, 'alice', '/halt drill 2');
    const card2 = await ask(rig, 'bob', '/resume', CHAT, isConfirmCard);
    await rig.h.clock.advance(61_000);
    const late = rig.bob.tap(CHAT, card2.message_id, 'Confirm');
    expect((await rig.bob.waitAnswer(late)).text).toBe('This confirmation expired; nothing was done. Send the command again.');
    expect((await rig.h.engine.status()).kills).toHaveLength(1);
    const expired = await rig.sandbox.waitFor(() => {
      const m = messageById(rig!.sandbox, card2.message_id);
      return m?.text.includes('confirmation expired') ? m : undefined;
    });
    expect(expired.reply_markup).toBeUndefined();
  });

  it('/resume with no kill flag says so; /flatten asks for a confirm tap and then closes the position', async () => {
    rig = await newRig();
    expect((await ask(rig, 'bob', '/resume')).text).toBe('No kill flag is active; nothing to resume.');
    const traded = await rig.proposeAndWaitCard();
    const q = rig.alice.tap(CHAT, traded.message.message_id, 'APPROVE');
    await rig.alice.waitAnswer(q);
    await rig.h.settle();
    expect((await ask(rig, 'dave', '/flatten')).text).toBe('Not allowed: /flatten needs the admin role.');
    const card = await ask(rig, 'bob', '/flatten', CHAT, isConfirmCard);
    expect(card.text).toContain('Confirm FLATTEN');
    expect(card.text).toContain('MANAGED BUY 1 MES Dec26');
    const cancel = rig.bob.tap(CHAT, card.message_id, 'Cancel');
    expect((await rig.bob.waitAnswer(cancel)).text).toBe('Cancelled; nothing was done.');
    const card2 = await ask(rig, 'bob', '/flatten', CHAT, isConfirmCard);
    const ok = rig.bob.tap(CHAT, card2.message_id, 'Confirm');
    expect((await rig.bob.waitAnswer(ok)).text).toContain('Flatten: closing 1 position(s)');
    await rig.h.settle();
    const i = await intentOf(rig.h, traded.intentId);
    expect(i.state).toBe('CLOSED');
    await rig.waitMessage((m) => m.text.includes('@bob: Flatten: closing 1 position(s)'));
  });

  it('/audit (admin) verifies the chain; /runbook lists and shows runbooks within the limits', async () => {
    rig = await newRig();
    expect((await ask(rig, 'alice', '/audit')).text).toBe('Not allowed: /audit needs the admin role.');
    // SAFE-12: the reply also publishes the head, with the anchor `phoenix audit verify --anchor` takes
    expect((await ask(rig, 'bob', '/audit')).text).toMatch(/^🔗 Audit chain OK: (\d+) beads verified in \d+ ms\.\nHead #\1 · [0-9a-f]{6}…[0-9a-f]{4} — anchor \1:[0-9a-f]{64}$/);
    const list = await ask(rig, 'carol', '/runbook');
    for (let n = 1; n <= 11; n++) expect(list.text).toContain(`RB-${String(n).padStart(3, '0')}`);
    const shown = await ask(rig, 'carol', '/runbook 4');
    expect(shown.text).toContain('RB-004');
    expect(shown.text).toContain('Emergency halt');
    await barrier(rig);
    for (const m of rig.botMessages()) {
      expect(m.text.length).toBeLessThanOrEqual(TEXT_LIMIT);
      expect(parseHtml(m.html).ok).toBe(true);
    }
    expect((await ask(rig, 'carol', '/runbook RB-999')).text).toContain('No runbook "RB-999"');
    expect((await ask(rig, 'carol', '/runbook ../../etc/passwd')).text).toContain('No runbook');
  });

  it('/drift: check now finds a broker mismatch, listed in words; /drift ID shows it with three full-label buttons; an approver resolves it (RECONCILIATION_RESOLUTION bead); a viewer sees no resolve button', async () => {
    rig = await newRig();
    const empty = await ask(rig, 'alice', '/drift');
    expect(empty.text).toContain('Unresolved drifts: 0');
    expect(buttonsOf(empty)).toEqual(['v1:r:now']);
    expect(buttonsOf(await ask(rig, 'carol', '/drift'))).toEqual(['v1:r:now']);

    rig.h.sim!.faults.spoofPosition({ symbol: 'MES', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 5 }, 1); // the broker reports a position Phoenix does not have
    await rig.h.clock.advance(10_000);
    const check = rig.alice.tap(CHAT, empty.message_id, 'Check now');
    expect((await rig.alice.waitAnswer(check)).text).toMatch(/mismatch/);
    const listed = await rig.sandbox.waitFor(() => {
      const m = messageById(rig!.sandbox, empty.message_id);
      return m?.text.includes('Unresolved drifts: 1') ? m : undefined;
    });
    const [drift] = await rig.h.app.store.tx((tx) => tx.drifts.unresolved());
    // in words, never raw JSON; the list itself carries only "check now"
    expect(listed.text).toContain(`1. 🚨 MES Dec26 · position count: Phoenix says flat, broker says long 1. Since 10:00 EST. /drift ${drift!.id}`);
    expect(listed.text).not.toMatch(/[{}"]/);
    expect(buttonsOf(listed)).toEqual(['v1:r:now']);

    const one = await ask(rig, 'alice', `/drift ${drift!.id}`);
    expect(one.text.split('\n').slice(0, 3)).toEqual(['🚨 CRITICAL drift · MES Dec26 · position count', 'Phoenix says flat, broker says long 1.', 'Since 10:00 EST (0s ago) · still seen at the last check']);
    expect(one.reply_markup?.inline_keyboard.map((row) => row.map((x) => x.text))).toEqual([['👍 Acknowledge: known, leave it'], ['🛠 Corrected in Phoenix'], ['🏦 Corrected at the broker']]);
    // a viewer's /drift ID has no resolve buttons, and forging one is refused and audited
    expect(buttonsOf(await ask(rig, 'carol', `/drift ${drift!.id}`))).toEqual([]);
    const forged = rig.carol.tapRaw(CHAT, one.message_id, `v1:k:${drift!.id}`);
    expect((await rig.carol.waitAnswer(forged)).text).toBe('Not allowed: only approvers and admins resolve drift.');
    const ack = rig.alice.tap(CHAT, one.message_id, 'Acknowledge');
    expect((await rig.alice.waitAnswer(ack)).text).toBe('Drift POSITION_COUNT marked ACKNOWLEDGED by @alice.');
    const resolved = await rig.sandbox.waitFor(() => {
      const m = messageById(rig!.sandbox, one.message_id);
      return m?.text.includes('Resolved ACKNOWLEDGED') ? m : undefined;
    });
    expect(resolved.text).toContain('Resolved ACKNOWLEDGED by @alice at 10:00 EST');
    expect(resolved.reply_markup).toBeUndefined();
    expect((await ask(rig, 'alice', '/drift')).text).toContain('Unresolved drifts: 0');
    expect((await ask(rig, 'alice', '/drift drf_nope')).text).toContain('Drift drf_nope is not known.');
    expect((await ask(rig, 'alice', '/drift <b>')).text).toContain('Usage: /drift drf_…');
    const res = (await rig.beads('RECONCILIATION_RESOLUTION')).map((b) => payloadOf<{ resolution: string; actor: { id: string } }>(b));
    expect(res).toEqual([expect.objectContaining({ resolution: 'ACKNOWLEDGED', actor: expect.objectContaining({ id: '1001' }) })]);
  });

  it('strangers and unknown chats learn nothing (no reply) and leave ACCESS_DENIED beads; known users may use their private chat', async () => {
    rig = await newRig();
    rig.mallory.send(CHAT, '/status');
    rig.mallory.send(666, '/start');
    rig.alice.send(-4242, '/status'); // a known user, but a chat Phoenix does not serve
    rig.carol.send(1001, '/status'); // carol writing into alice's private chat id: not her private chat
    const own = await ask(rig, 'alice', '/status', 1001); // alice's own private chat works
    expect(own.text).toContain('Status');
    await barrier(rig);
    expect(rig.botMessages(666)).toHaveLength(0);
    expect(rig.botMessages(-4242)).toHaveLength(0);
    expect(rig.botMessages().filter((m) => m.text.includes('Status'))).toHaveLength(0);
    const denied = await deniedBeads(rig);
    expect(denied).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ userId: '666', chatId: String(CHAT), reason: 'unknown user', action: 'message "/status"' }),
        expect.objectContaining({ userId: '666', chatId: '666', reason: 'unknown user' }),
        expect.objectContaining({ userId: '1001', chatId: '-4242', reason: 'unknown chat' }),
      ]),
    );
    expect(rig.botMessages(1001).filter((m) => m.text.includes('Status'))).toHaveLength(1);
  });

  it('unknown commands get a short hint; plain chatter in the group is ignored', async () => {
    rig = await newRig();
    expect((await ask(rig, 'alice', '/frobnicate now')).text).toBe('Unknown command /frobnicate. /help lists what you can do.');
    rig.alice.send(CHAT, 'just chatting');
    rig.alice.send(CHAT, '/other@some_other_bot');
    await barrier(rig);
    expect(rig.botMessages().filter((m) => m.text.includes('Unknown command'))).toHaveLength(1);
  });
});

describe('per-user command rate limit', () => {
  it('over the burst: one "slow down" notice, then silence; /halt is never rate-limited; refills with engine time', async () => {
    rig = await newRig({ bot: { rateLimit: { burst: 3, refillMs: 60_000 } } });
    for (let k = 0; k < 6; k++) rig.carol.send(CHAT, '/help');
    rig.alice.send(CHAT, '/halt flood test');
    await rig.waitMessage((m) => m.text.includes('Halted.'));
    const fromCarol = () => rig!.botMessages().filter((m) => m.text.includes('You are @carol') || m.text.includes('Slow down'));
    await rig.sandbox.waitFor(() => fromCarol().length === 4);
    expect(fromCarol().map((m) => (m.text.includes('Slow down') ? 'slow' : 'help'))).toEqual(['help', 'help', 'help', 'slow']);
    await rig.h.clock.advance(60_000);
    expect((await ask(rig, 'carol', '/help')).text).toContain('You are @carol');
  });
});

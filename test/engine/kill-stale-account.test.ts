/**
 * Kill switch, stale state and account/mode gates (SPEC 4): INV-KILL-BLOCKS-ENTRY-1,
 * INV-STALE-KILL-1, INV-IBKR-ACCOUNT-CHECK-1 (engine side), and the chaos vectors
 * "entry while kill active", "stale approval", "account mismatch".
 */
import { describe, expect, it } from 'vitest';
import { admin, approver, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { tradeDecisionText } from '../../src/present/decision.text.js';
const TZ = 'America/New_York';
import { expectBeads } from '../support/beads-checked.js';
import { alertsOfType, approveWhileBrokerDown, atBroker, parsedBeads, positionPath, propose, reconnect, tokenEvents } from './helpers.js';

const MIN = 60_000;

/** Denial codes of the LAST gate evaluation at `stage` (a waiting submission is evaluated more than once). */
async function gateCodes(h: Harness, intentId: string, stage: string): Promise<string[]> {
  const last = (expectBeads(await parsedBeads(h, intentId), 'GATE')).filter((b) => b.data.stage === stage).at(-1);
  return last ? (last.data.denials as { code: string }[]).map((d) => d.code) : [];
}

describe('kill switch', () => {
  let h: Harness;
  const harness = useHarness();

  it('INV-KILL-BLOCKS-ENTRY-1: after /halt a new intent is CANCELLED at intake with KILL_ACTIVE; no card', async () => {
    h = await harness();
    const halted = await h.engine.halt(approver, 'news spike');
    expect(halted.ok).toBe(true);
    const r = await h.engine.submitIntent(h.intent());
    expect(r.kind).toBe('accepted');
    if (r.kind !== 'accepted') return;
    expect(r.state).toBe('CANCELLED');
    expect(r.denials.map((d) => d.code)).toEqual(['KILL_ACTIVE']);
    expect(r.denials[0]!.message).toMatch(/news spike/);
    expect(await h.app.db.card.count({ where: { subjectId: r.intentId } })).toBe(0);
    expect(await gateCodes(h, r.intentId, 'INTAKE')).toEqual(['KILL_ACTIVE']);
    const blocked = await alertsOfType(h, 'INTENT_BLOCKED');
    expect(blocked).toHaveLength(1);
    expect(JSON.parse(blocked[0]!.payload)).toMatchObject({ intentId: r.intentId, facts: { code: 'KILL_ACTIVE' } });
    expect(await alertsOfType(h, 'HALT')).toHaveLength(1);
    const kb = await h.app.db.bead.findMany({ where: { type: 'KILL_FLAG' } });
    expect(kb.map((b) => JSON.parse(b.payload) as { action: string; kind: string })).toEqual([expect.objectContaining({ action: 'SET', kind: 'MANUAL' })]);
  });

  it('CV entry while kill active: a card shown before the halt cannot be approved afterwards; no token, no order', async () => {
    h = await harness();
    const { intentId, cardId } = await propose(h);
    await h.engine.halt(admin, 'manual stop');
    const d = await h.engine.decide(cardId, 'APPROVE', approver);
    expect(d.kind).toBe('blocked');
    expect(d.kind === 'blocked' && d.denials.map((x) => x.message).join('; ')).toMatch(/kill flag active/);
    expect(tradeDecisionText(d, TZ)).toMatch(/^Blocked by a gate: .*kill flag active.*\. Nothing was sent\.$/);
    const i = await intentOf(h, intentId);
    expect(i.state).toBe('CANCELLED');
    expect(i.stateReason).toMatch(/KILL_ACTIVE/);
    expect(await gateCodes(h, intentId, 'APPROVAL')).toContain('KILL_ACTIVE');
    const [set] = expectBeads(await h.app.db.bead.findMany({ where: { type: 'KILL_FLAG' } }), 'KILL_FLAG', { count: 1 });
    expect(JSON.parse(set!.payload)).toMatchObject({ action: 'SET', kind: 'MANUAL', reason: 'manual stop' });
    expectBeads(await parsedBeads(h, intentId), 'T2_TOKEN', { count: 0 });
    expect(await h.app.db.approvalToken.count()).toBe(0);
    expect((await atBroker(h, intentId)).orders).toHaveLength(0);
    // the card is closed: a second tap does nothing
    const again = await h.engine.decide(cardId, 'APPROVE', admin);
    expect(again.kind).toBe('noop');
  });

  it('CV entry while kill active: an approved-but-waiting intent is stopped at the submission re-check', async () => {
    h = await harness();
    const { intentId, tokenId } = await approveWhileBrokerDown(h);
    await h.engine.halt(approver, 'halt while waiting');
    await reconnect(h);
    const r = await h.engine.submitWithToken(intentId, tokenId);
    expect(r.kind).toBe('cancelled');
    expect(await positionPath(h, intentId)).toEqual(['PROPOSED>APPROVED', 'APPROVED>CANCELLED']);
    expect((await tokenEvents(h, intentId)).at(-1)).toMatchObject({ event: 'REJECTED', reason: expect.stringMatching(/KILL_ACTIVE/) });
    expect((await atBroker(h, intentId)).orders).toHaveLength(0);
  });

  it('INV-KILL-BLOCKS-ENTRY-1: exits stay allowed — flatten after a halt closes the open position', async () => {
    h = await harness();
    const { intentId, cardId } = await propose(h);
    await h.engine.decide(cardId, 'APPROVE', approver);
    await h.settle();
    expect((await intentOf(h, intentId)).state).toBe('MANAGED');
    await h.engine.halt(approver, 'get me out');
    h.sim!.simulatePrice('MES', 6012);
    await h.settle();
    const f = await h.engine.flatten(admin, 'flatten after halt');
    expect(f.ok).toBe(true);
    expect(f.closing).toEqual([intentId]);
    expect(f.failed).toEqual([]);
    await h.settle();
    const i = await intentOf(h, intentId);
    expect(i.state).toBe('CLOSED');
    expect(i.exitAvgPrice).toBe(6012);
    expect(i.realizedPnlCents).toBe(Math.round((6012 - 6010.25) * 5 * 100) - 124);
    expect((await h.broker.positions()).filter((p) => p.instrument.symbol === 'MES')).toEqual([]);
    expect((await atBroker(h, intentId)).orders.filter((o) => o.role === 'EXIT')).toHaveLength(1);
    // still halted afterwards: entries remain blocked
    const next = await h.engine.submitIntent(h.intent());
    expect(next.kind === 'accepted' && next.denials.map((d) => d.code)).toEqual(['KILL_ACTIVE']);
  });

  it('INV-KILL-BLOCKS-ENTRY-1: /resume lifts the flag and entries flow again; a viewer cannot halt', async () => {
    h = await harness();
    await h.engine.halt(approver, 'pause');
    expect((await h.engine.resume(approver)).ok).toBe(false); // admin only
    expect((await h.engine.submitIntent(h.intent())).kind === 'accepted').toBe(true);
    expect((await h.engine.resume(admin)).ok).toBe(true);
    const r = await h.engine.submitIntent(h.intent());
    expect(r.kind === 'accepted' && r.state).toBe('PROPOSED');
  });
});

describe('stale state', () => {
  let h: Harness;
  const harness = useHarness();

  it('INV-STALE-KILL-1: stateAsOf older than 15 min → STATE_CONFLICT, a STALE kill flag for exactly 5 min, KILL_FLAG bead, STATE_CONFLICT alert', async () => {
    h = await harness();
    const t0 = h.clock.now();
    const stale = await h.engine.submitIntent(h.intent({ stateAsOf: new Date(t0 - 15 * MIN - 1000).toISOString() }));
    expect(stale.kind).toBe('accepted');
    if (stale.kind !== 'accepted') return;
    expect(stale.state).toBe('CANCELLED');
    expect(stale.denials.map((d) => d.code)).toEqual(['STATE_CONFLICT']);

    const flags = await h.app.db.killFlag.findMany();
    expect(flags).toHaveLength(1);
    expect(flags[0]!.kind).toBe('STALE');
    expect(flags[0]!.expiresAt!.getTime() - flags[0]!.setAt.getTime()).toBe(5 * MIN);
    const kb = (expectBeads(await parsedBeads(h, stale.intentId), 'KILL_FLAG')).map((b) => b.data);
    expect(kb).toEqual([expect.objectContaining({ action: 'SET', kind: 'STALE', flagId: flags[0]!.id, expiresAt: new Date(t0 + 5 * MIN).toISOString() })]);
    const alerts = await alertsOfType(h, 'STATE_CONFLICT');
    expect(alerts).toHaveLength(1);
    expect(JSON.parse(alerts[0]!.payload)).toMatchObject({ intentId: stale.intentId });

    // exactly at the limit (15 min old) is still fresh
    const edge = await h.engine.submitIntent(h.intent({ stateAsOf: new Date(t0 - 15 * MIN).toISOString() }));
    expect(edge.kind === 'accepted' && edge.denials.map((d) => d.code)).toEqual(['KILL_ACTIVE']);

    await h.clock.advance(4 * MIN);
    const during = await h.engine.submitIntent(h.intent());
    expect(during.kind === 'accepted' && during.state).toBe('CANCELLED');
    expect(during.kind === 'accepted' && during.denials.map((d) => d.code)).toEqual(['KILL_ACTIVE']);
    expect(await h.app.db.killFlag.count()).toBe(1); // a fresh intent does not extend the pause

    await h.clock.advance(1 * MIN + 1000);
    const after = await h.engine.submitIntent(h.intent());
    expect(after.kind === 'accepted' && after.state).toBe('PROPOSED');
    expect(after.kind === 'accepted' && after.denials).toEqual([]);
    // the lapse is recorded as its own bead
    expect(await h.engine.lapseKillFlags()).toBe(1);
    const lapsed = (await h.app.db.bead.findMany({ where: { type: 'KILL_FLAG' }, orderBy: { seq: 'asc' } })).map((b) => JSON.parse(b.payload) as { action: string });
    expect(lapsed.map((p) => p.action)).toEqual(['SET', 'EXPIRED']);
  });

  it('INV-STALE-KILL-1: a second stale intent while the pause is active does not stack a new flag', async () => {
    h = await harness();
    const old = new Date(h.clock.now() - 20 * MIN).toISOString();
    await h.engine.submitIntent(h.intent({ stateAsOf: old }));
    await h.clock.advance(2 * MIN);
    const r = await h.engine.submitIntent(h.intent({ stateAsOf: old }));
    expect(r.kind === 'accepted' && r.denials.map((d) => d.code).sort()).toEqual(['KILL_ACTIVE', 'STATE_CONFLICT']);
    expect(await h.app.db.killFlag.count()).toBe(1);
  });

  it('CV stale approval: approved while the broker is down, state goes stale before submission → STATE_CONFLICT, APPROVED→CANCELLED, token REJECTED, nothing sent', async () => {
    h = await harness();
    // state is 12 minutes old when approved: fresh (limit 15), token valid for 5 more minutes
    const { intentId, tokenId } = await approveWhileBrokerDown(h, { stateAsOf: new Date(h.clock.now() - 12 * MIN).toISOString() });
    await h.clock.advance(4 * MIN); // 16 min old now, token still valid
    await reconnect(h);
    const out = await h.engine.retryWaiting(); // what the jobs do when the broker is back
    expect(out).toHaveLength(1);
    expect(out[0]!.kind).toBe('cancelled');
    expect(out[0]!.kind === 'cancelled' && out[0]!.reason).toMatch(/market state is 16 min old/);
    const i = await intentOf(h, intentId);
    expect(i.state).toBe('CANCELLED');
    expect(i.stateReason).toMatch(/STATE_CONFLICT/);
    expect(await positionPath(h, intentId)).toEqual(['PROPOSED>APPROVED', 'APPROVED>CANCELLED']);
    const tok = await tokenEvents(h, intentId);
    expect(tok.map((e) => e.event)).toEqual(['ISSUED', 'REJECTED']);
    expect(tok[1]).toMatchObject({ tokenId, reason: 'gate re-check failed: STATE_CONFLICT' });
    expect(await gateCodes(h, intentId, 'SUBMIT')).toEqual(['STATE_CONFLICT']);
    expect((await atBroker(h, intentId)).orders).toHaveLength(0);
    expect(await h.app.db.brokerOrder.count()).toBe(0);
    expect(await h.app.db.killFlag.count({ where: { kind: 'STALE' } })).toBe(1);
    expect(expectBeads(await parsedBeads(h, intentId), 'KILL_FLAG').map((b) => [b.data.action, b.data.kind])).toEqual([['SET', 'STALE']]);
    expect(await alertsOfType(h, 'STATE_CONFLICT')).toHaveLength(1);
    // the token was never consumed and cannot be used any more
    expect((await h.engine.submitWithToken(intentId, tokenId)).kind).toBe('refused');
    expect((await atBroker(h, intentId)).orders).toHaveLength(0);
  });
});

describe('account vs mode', () => {
  let h: Harness;
  const harness = useHarness();

  it('INV-IBKR-ACCOUNT-CHECK-1: PAPER mode with a live U… account behind the broker → approval refused with ACCOUNT_MODE_MISMATCH, alert, nothing at the broker', async () => {
    h = await harness();
    expect(h.config.env.TRADING_MODE).toBe('paper');
    const { intentId, cardId } = await propose(h);
    h.sim!.faults.setAccount('U1234567');
    const d = await h.engine.decide(cardId, 'APPROVE', approver);
    expect(d.kind).toBe('blocked');
    expect(d.kind === 'blocked' && d.denials.map((x) => x.message).join('; ')).toMatch(/U1234567 is not a paper account/);
    expect(await gateCodes(h, intentId, 'APPROVAL')).toEqual(['ACCOUNT_MODE_MISMATCH']);
    expect((await intentOf(h, intentId)).state).toBe('CANCELLED');
    const alerts = await alertsOfType(h, 'ACCOUNT_MODE_MISMATCH');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.severity).toBe('CRITICAL');
    expect(JSON.parse(alerts[0]!.payload)).toMatchObject({ intentId, summary: expect.stringMatching(/U1234567/) });
    expect(expectBeads(await parsedBeads(h, intentId), 'ALERT').map((b) => b.data.alertType)).toEqual(['ACCOUNT_MODE_MISMATCH']);
    expect(await h.app.db.approvalToken.count()).toBe(0);
    expect((await atBroker(h, intentId)).orders).toHaveLength(0);
  });

  it('INV-IBKR-ACCOUNT-CHECK-1: the account changes between approval and submission → submission refused, token REJECTED, alert, nothing sent', async () => {
    h = await harness();
    const { intentId, tokenId } = await approveWhileBrokerDown(h);
    h.sim!.faults.setAccount('U1234567'); // e.g. gateway restarted logged into the live account
    await reconnect(h);
    const r = await h.engine.submitWithToken(intentId, tokenId);
    expect(r.kind).toBe('cancelled');
    expect(r.kind === 'cancelled' && r.reason).toMatch(/not a paper account/);
    expect(await gateCodes(h, intentId, 'SUBMIT')).toEqual(['ACCOUNT_MODE_MISMATCH']);
    expect((await tokenEvents(h, intentId)).at(-1)).toMatchObject({ event: 'REJECTED', reason: 'gate re-check failed: ACCOUNT_MODE_MISMATCH' });
    expect(await positionPath(h, intentId)).toEqual(['PROPOSED>APPROVED', 'APPROVED>CANCELLED']);
    expect(await alertsOfType(h, 'ACCOUNT_MODE_MISMATCH')).toHaveLength(1);
    expect((await atBroker(h, intentId)).orders).toHaveLength(0);
    expect(await h.broker.openOrders()).toHaveLength(0);
  });

  it('INV-IBKR-ACCOUNT-CHECK-1: OBSERVE mode never submits (MODE_OBSERVE at approval)', async () => {
    h = await harness({ env: { TRADING_MODE: 'observe' } });
    const { intentId, cardId } = await propose(h);
    const d = await h.engine.decide(cardId, 'APPROVE', approver);
    expect(d.kind).toBe('blocked');
    expect(await gateCodes(h, intentId, 'APPROVAL')).toEqual(['MODE_OBSERVE']);
    expect((await atBroker(h, intentId)).orders).toHaveLength(0);
  });
});

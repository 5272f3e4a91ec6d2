/**
 * Position lifecycle (SPEC 6): INV-POSITION-AUDIT-1, INV-POSITION-SM-1, CV invalid transition.
 */
import { describe, expect, it } from 'vitest';
import { transition } from '../../src/engine/context.js';
import type { IntentPatch, IntentState } from '../../src/engine/domain.js';
import { ConcurrentChangeError } from '../../src/engine/errors.js';
import { AT_BROKER, assertTransition, AWAITING_DECISION, BEFORE_BROKER, canTransition, HOLDING, IN_FLIGHT, INTENT_STATES, InvalidTransitionError, OPEN_STATES, TERMINAL_STATES, TRANSITIONS } from '../../src/engine/lifecycle.fsm.js';
import { approver, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { expectBeads } from '../support/beads-checked.js';
import { beadCount, parsedBeads, propose } from './helpers.js';
import { internalsOf } from '../../src/engine/testing.js';

const STATES: IntentState[] = ['PROPOSED', 'APPROVED', 'SUBMITTED', 'FILLED', 'MANAGED', 'CLOSED', 'CANCELLED', 'REJECTED', 'EXPIRED', 'STALLED'];

/** SPEC 6 table, verbatim, plus the one documented extension (late rejection of a stalled order). */
const SPEC_PAIRS = [
  'PROPOSED>APPROVED', 'PROPOSED>CANCELLED', 'APPROVED>SUBMITTED', 'APPROVED>EXPIRED', 'APPROVED>CANCELLED',
  'SUBMITTED>FILLED', 'SUBMITTED>REJECTED', 'SUBMITTED>CANCELLED', 'SUBMITTED>STALLED', 'STALLED>FILLED',
  'STALLED>CANCELLED', 'FILLED>MANAGED', 'MANAGED>CLOSED', 'STALLED>REJECTED',
  // issue 13 (broker truth): unprotected, closed while unprotected, fills after CLOSED/CANCELLED/REJECTED
  'MANAGED>FILLED', 'FILLED>CLOSED', 'CLOSED>FILLED', 'CANCELLED>FILLED', 'REJECTED>FILLED',
];

describe('position lifecycle', () => {
  let h: Harness;
  const harness = useHarness();

  it('INV-POSITION-AUDIT-1: PROPOSED→APPROVED→SUBMITTED→FILLED→MANAGED→CLOSED writes exactly one POSITION bead per transition, in order', async () => {
    h = await harness();
    const { intentId, cardId } = await propose(h);
    expectBeads(await parsedBeads(h, intentId), 'POSITION', { count: 0 });
    const seen: IntentState[] = ['PROPOSED'];
    const d = await h.engine.decide(cardId, 'APPROVE', approver);
    expect(d.kind).toBe('approved');
    await h.settle();
    seen.push((await intentOf(h, intentId)).state);
    h.sim!.simulatePrice('MES', 6015.5); // target
    await h.settle();
    const closed = await intentOf(h, intentId);
    seen.push(closed.state);
    expect(seen).toEqual(['PROPOSED', 'MANAGED', 'CLOSED']);

    const beads = expectBeads(await parsedBeads(h, intentId), 'POSITION');
    expect(beads.map((b) => [b.data.from, b.data.to])).toEqual([
      ['PROPOSED', 'APPROVED'],
      ['APPROVED', 'SUBMITTED'],
      ['SUBMITTED', 'FILLED'],
      ['FILLED', 'MANAGED'],
      ['MANAGED', 'CLOSED'],
    ]);
    // a chain: each bead starts where the previous ended, seq strictly increasing
    for (let i = 1; i < beads.length; i++) {
      expect(beads[i]!.data.from).toBe(beads[i - 1]!.data.to);
      expect(beads[i]!.seq).toBeGreaterThan(beads[i - 1]!.seq);
    }
    expect(beads[0]!.data.actor).toMatchObject({ id: approver.id });
    expect(beads[2]!.data).toMatchObject({ filledQty: 1, avgFillPrice: 6010.25 });
    expect(beads[4]!.data.realizedPnlCents).toBe(closed.realizedPnlCents);
    expect(closed.realizedPnlCents).toBe(Math.round((6015 - 6010.25) * 5 * 100) - 124);
    // the stored state is the last bead's `to`, and its reason matches
    expect(closed.state).toBe(beads.at(-1)!.data.to);
    expect(closed.stateReason).toBe(beads.at(-1)!.data.reason);
  });

  it('INV-POSITION-AUDIT-1: cancel paths also write exactly one bead (PASS, gate block)', async () => {
    h = await harness();
    const a = await propose(h);
    expect((await h.engine.decide(a.cardId, 'PASS', approver)).kind).toBe('passed');
    expect((expectBeads(await parsedBeads(h, a.intentId), 'POSITION')).map((b) => [b.data.from, b.data.to, b.data.reason])).toEqual([['PROPOSED', 'CANCELLED', 'passed by alice']]);
    const blocked = await h.engine.submitIntent(h.intent({ quantity: 2 })); // risk $22.50 > $15
    expect(blocked.kind === 'accepted' && blocked.state).toBe('CANCELLED');
    if (blocked.kind !== 'accepted') return;
    expect((expectBeads(await parsedBeads(h, blocked.intentId), 'POSITION')).map((b) => `${String(b.data.from)}>${String(b.data.to)}`)).toEqual(['PROPOSED>CANCELLED']);
  });

  it('INV-POSITION-SM-1: every state pair is allowed iff it is in TRANSITIONS; all others throw InvalidTransitionError', () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...SPEC_PAIRS].sort());
    let allowed = 0;
    let refused = 0;
    for (const from of STATES) {
      for (const to of STATES) {
        const key = `${from}>${to}`;
        if (key in TRANSITIONS) {
          expect(canTransition(from, to)).toBe(true);
          expect(() => assertTransition(from, to)).not.toThrow();
          allowed++;
        } else {
          expect(canTransition(from, to)).toBe(false);
          let err: unknown;
          try {
            assertTransition(from, to);
          } catch (e) {
            err = e;
          }
          expect(err, key).toBeInstanceOf(InvalidTransitionError);
          expect((err as InvalidTransitionError).from).toBe(from);
          expect((err as InvalidTransitionError).to).toBe(to);
          expect((err as InvalidTransitionError).code).toBe('INVALID_TRANSITION');
          refused++;
        }
      }
    }
    expect(allowed).toBe(SPEC_PAIRS.length);
    expect(refused).toBe(STATES.length * STATES.length - SPEC_PAIRS.length);
    // terminal states have no way out, except that a fill the broker reports makes the position
    // open again (INV-FILL-COMPLETE-1): only to FILLED, never by a human
    for (const t of ['CLOSED', 'CANCELLED', 'REJECTED', 'EXPIRED'] as const) {
      for (const to of STATES) expect(canTransition(t, to), `${t}>${to}`).toBe(to === 'FILLED' && t !== 'EXPIRED');
    }
  });

  it('INV-POSITION-SM-1: through the engine and store an invalid transition throws and changes nothing (state, beads, card)', async () => {
    h = await harness();
    const { intentId, cardId } = await propose(h);
    const intent = await intentOf(h, intentId);
    const beads = await beadCount(h);
    const card = await h.app.db.card.findUniqueOrThrow({ where: { id: cardId } });
    for (const to of ['CLOSED', 'SUBMITTED', 'FILLED', 'MANAGED', 'EXPIRED', 'PROPOSED'] as const) {
      await expect(h.app.store.tx((tx) => transition(internalsOf(h.engine), tx, intent, to, 'test'))).rejects.toBeInstanceOf(InvalidTransitionError);
    }
    const after = await intentOf(h, intentId);
    expect(after.state).toBe('PROPOSED');
    expect(after.updatedAt).toBe(intent.updatedAt);
    expect(await beadCount(h)).toBe(beads);
    expect((await h.app.db.card.findUniqueOrThrow({ where: { id: cardId } })).version).toBe(card.version);
  });

  it('INV-POSITION-SM-1: a valid pair applied to a stale copy (lost race) rolls back completely', async () => {
    h = await harness();
    const { intentId, cardId } = await propose(h);
    const stale = await intentOf(h, intentId);
    expect((await h.engine.decide(cardId, 'PASS', approver)).kind).toBe('passed');
    const beads = await beadCount(h);
    // stale copy still says PROPOSED; the row is CANCELLED → compare-and-set fails
    await expect(h.app.store.tx((tx) => transition(internalsOf(h.engine), tx, stale, 'APPROVED', 'late approve'))).rejects.toBeInstanceOf(ConcurrentChangeError);
    expect((await intentOf(h, intentId)).state).toBe('CANCELLED');
    expect(await beadCount(h)).toBe(beads);
  });

  it('CV invalid transition: PROPOSED → CLOSED is refused with an error and nothing changes', async () => {
    h = await harness();
    const { intentId } = await propose(h);
    const intent = await intentOf(h, intentId);
    const beads = await beadCount(h);
    const rows = await h.app.db.intent.findUniqueOrThrow({ where: { id: intentId } });
    const err = await h.app.store.tx((tx) => transition(internalsOf(h.engine), tx, intent, 'CLOSED', 'forced close', { realizedPnlCents: 0 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidTransitionError);
    expect((err as Error).message).toBe('invalid transition PROPOSED -> CLOSED');
    expect(await h.app.db.intent.findUniqueOrThrow({ where: { id: intentId } })).toEqual(rows);
    expect(await beadCount(h)).toBe(beads);
    expectBeads(await parsedBeads(h, intentId), 'POSITION', { count: 0 });
  });

  it('INV-POSITION-SM-1: the named state groups partition the lifecycle as the table says', () => {
    expect([...INTENT_STATES].sort()).toEqual([...STATES].sort());
    // every state is exactly one of: awaiting a decision, approved (not sent), in flight, holding, terminal
    const parts = [AWAITING_DECISION, ['APPROVED'], IN_FLIGHT, HOLDING, TERMINAL_STATES];
    expect(parts.flat().sort()).toEqual([...STATES].sort());
    expect(new Set(parts.flat()).size).toBe(STATES.length);
    expect([...OPEN_STATES].sort()).toEqual(['APPROVED', ...AT_BROKER].sort());
    expect([...AT_BROKER].sort()).toEqual([...IN_FLIGHT, ...HOLDING].sort());
    expect([...BEFORE_BROKER].sort()).toEqual([...AWAITING_DECISION, 'APPROVED'].sort());
    // terminal: the only way out is a fill the broker reports later
    for (const t of TERMINAL_STATES) for (const to of STATES) if (canTransition(t, to)) expect(`${t}>${to}`).toMatch(/>FILLED$/);
    // nothing reaches the broker without passing APPROVED>SUBMITTED
    for (const from of BEFORE_BROKER) for (const to of AT_BROKER) expect(canTransition(from, to)).toBe(from === 'APPROVED' && to === 'SUBMITTED');
  });

  it('INV-POSITION-SM-1: IntentPatch cannot carry a state: update() cannot bypass the table (checked by tsc in npm run lint)', () => {
    // @ts-expect-error state is not an IntentPatch field; a state changes only through transition()
    const bypass: IntentPatch = { state: 'CLOSED' };
    const fine: IntentPatch = { ackedAt: 1 };
    expect(Object.keys(bypass)).toEqual(['state']);
    expect(Object.keys(fine)).toEqual(['ackedAt']);
  });
});

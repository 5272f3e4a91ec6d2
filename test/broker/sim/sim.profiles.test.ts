/**
 * SimBroker chaos profiles: determinism per seed, outcome frequencies against SPEC section 7
 * (±1.5 percentage points over 10,000 seeded placements), and the delayed-fill window.
 */
import { describe, expect, it } from 'vitest';
import { SimBroker, type SimBrokerOptions } from '../../../src/broker/sim/sim.broker.js';
import { PROFILES, type SimProfile } from '../../../src/broker/sim/sim.profiles.js';
import type { BrokerEvent } from '../../../src/engine/broker.port.js';
import { seededRandom } from '../../../src/engine/ports.js';
import { FakeClock } from '../../support/fake-clock.js';
import { bracketFor, permitFor } from '../contract.js';

async function connected(over: Partial<SimBrokerOptions> & { seed: number; profile: SimProfile }) {
  const clock = new FakeClock();
  const broker = new SimBroker({ clock, random: seededRandom(over.seed), prices: { AAPL: 200, MES: 6000 }, ...over });
  const events: BrokerEvent[] = [];
  broker.onEvent((e) => events.push(e));
  await broker.connect();
  return { clock, broker, events };
}

/** A mixed session: brackets of several sizes, price moves, a cancel, time passing. */
async function session(seed: number, profile: SimProfile): Promise<string> {
  const { clock, broker, events } = await connected({ seed, profile });
  for (let i = 0; i < 150; i++) {
    const ref = `s-${i}`;
    const legs = await broker.placeBracket(bracketFor(ref, { quantity: 1 + (i % 7) }), permitFor(ref));
    if (i % 10 === 3) await broker.cancel(legs[2]!.brokerOrderId).catch(() => undefined);
    if (i % 25 === 0) broker.simulatePrice('AAPL', i % 50 === 0 ? 194 : 211);
    await clock.advance(1_000);
  }
  await clock.advance(30_000);
  return JSON.stringify(events);
}

describe('SimBroker determinism', () => {
  it.each(['REALISTIC', 'ADVERSARIAL'] as const)('%s: same seed, same calls → identical event sequence', async (profile) => {
    const a = await session(42, profile);
    expect(await session(42, profile)).toBe(a);
    expect(await session(43, profile)).not.toBe(a);
  });
});

type Outcome = 'fill' | 'partial' | 'reject' | 'delay';

/** Place `n` long AAPL brackets of 10 at one instant and classify each entry by its events. */
async function sample(profile: SimProfile, n: number, over: Partial<SimBrokerOptions> = {}) {
  const { clock, broker, events } = await connected({ seed: 20261123, profile, ...over });
  const t0 = clock.now();
  for (let i = 0; i < n; i++) await broker.placeBracket(bracketFor(`f-${i}`), permitFor(`f-${i}`));
  await clock.advance(0);
  const outcome = new Map<string, Outcome>();
  for (const e of events) {
    if (e.kind === 'orderStatus' && e.role === 'ENTRY' && e.status === 'REJECTED') outcome.set(e.orderRef, 'reject');
    if (e.kind === 'fill' && e.fill.role === 'ENTRY') outcome.set(e.fill.orderRef, e.fill.quantity === 10 ? 'fill' : 'partial');
  }
  for (let i = 0; i < n; i++) if (!outcome.has(`f-${i}`)) outcome.set(`f-${i}`, 'delay');
  const counts: Record<Outcome, number> = { fill: 0, partial: 0, reject: 0, delay: 0 };
  for (const o of outcome.values()) counts[o]++;
  return { clock, broker, events, counts, outcome, t0 };
}

describe('SimBroker outcome frequencies (10,000 seeded placements)', () => {
  it.each(['REALISTIC', 'ADVERSARIAL'] as const)('%s is within ±1.5 pp of SPEC 7', async (profile) => {
    const n = 10_000;
    const { counts } = await sample(profile, n);
    const table = PROFILES[profile];
    for (const k of ['fill', 'partial', 'reject', 'delay'] as const) {
      expect(Math.abs(counts[k] / n - table[k]), `${profile} ${k}: ${counts[k]}/${n}`).toBeLessThanOrEqual(0.015);
    }
  });

  it('partial fills take 30–70% of the quantity and leave the rest working', async () => {
    const { events, outcome } = await sample('ADVERSARIAL', 2_000);
    const partials = events.flatMap((e) => (e.kind === 'fill' && outcome.get(e.fill.orderRef) === 'partial' ? [e.fill] : []));
    expect(partials.length).toBeGreaterThan(100);
    for (const f of partials) expect(f.quantity >= 3 && f.quantity <= 7).toBe(true);
    const statuses = events.filter((e) => e.kind === 'orderStatus' && e.role === 'ENTRY' && outcome.get(e.orderRef) === 'partial');
    expect(statuses.at(-1)).toMatchObject({ status: 'WORKING' });
  });

  it('rejections say why (201 Insufficient margin), carry no fill, and cancel the children', async () => {
    const { events, outcome } = await sample('ADVERSARIAL', 1_000);
    const ref = [...outcome].find(([, o]) => o === 'reject')?.[0] as string;
    const mine = events.filter((e) => e.kind === 'orderStatus' && e.orderRef === ref);
    expect(mine.map((e) => (e.kind === 'orderStatus' ? `${e.role}:${e.status}` : ''))).toEqual([
      'ENTRY:WORKING', 'TARGET:WORKING', 'STOP:WORKING', 'ENTRY:REJECTED', 'TARGET:CANCELLED', 'STOP:CANCELLED',
    ]);
    expect(mine[3]).toMatchObject({ reason: 'Insufficient margin', code: 201 });
    expect(events.some((e) => e.kind === 'fill' && e.fill.orderRef === ref)).toBe(false);
  });

  it('delayed fills land between 10 and 30 s of clock time after placement', async () => {
    const { clock, events, outcome, t0 } = await sample('ADVERSARIAL', 4_000);
    const delayed = [...outcome].filter(([, o]) => o === 'delay').map(([ref]) => ref);
    expect(delayed.length).toBeGreaterThan(100);
    const delayedFills = () => events.flatMap((e) => (e.kind === 'fill' && delayed.includes(e.fill.orderRef) ? [e.fill] : []));
    await clock.advance(9_999);
    expect(delayedFills()).toEqual([]);
    await clock.advance(20_001);
    const fills = delayedFills();
    expect(fills).toHaveLength(delayed.length);
    const offsets = fills.map((f) => f.time - t0);
    expect(Math.min(...offsets)).toBeGreaterThanOrEqual(10_000);
    expect(Math.max(...offsets)).toBeLessThanOrEqual(30_000);
    expect(Math.min(...offsets)).toBeLessThan(12_000); // spread over the window, not clumped
    expect(Math.max(...offsets)).toBeGreaterThan(28_000);
    expect(fills.every((f) => f.quantity === 10)).toBe(true);
  });

  it('INSTANT always fills and draws no randomness', async () => {
    let draws = 0;
    const seeded = seededRandom(1);
    const random = { next: () => (draws++, seeded.next()), id: seeded.id };
    const { counts } = await sample('INSTANT', 500, { random });
    expect(counts).toEqual({ fill: 500, partial: 0, reject: 0, delay: 0 });
    expect(draws).toBe(0);
  });
});

/**
 * TradingView cancels a webhook after 3 s (SPEC 3: "answer within 3 s, accept then gate").
 * Measured: the intake path (map, validate, dedupe, gates, one SQLite transaction) takes
 * milliseconds and never waits for the broker, so the route answers directly; only when the
 * engine has not answered within 2 s (a stalled database) does it acknowledge 202 PENDING and
 * finish in the background. Both cases are forced here: a broker whose every call hangs
 * (an approval stuck in placeBracket), and a transaction that holds the store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimBroker } from '../../src/broker/sim/index.js';
import type { BracketRequest, SubmitPermit } from '../../src/engine/broker.port.js';
import { seededRandom } from '../../src/engine/ports.js';
import { startIntake, type IntakeServer } from '../../src/http/intake.server.js';
import { DEFAULT_ANSWER_WITHIN_MS } from '../../src/http/tradingview.route.js';
import type { FakeClock } from '../support/fake-clock.js';
import { approver, cardOf, intentOf, type Harness } from '../support/harness.js';
import { useHarness } from '../support/cleanup.js';
import { captureLogger, PASSPHRASE, postAlert, shippedMapping, TRADINGVIEW_TIMEOUT_MS, tvAlert, type CapturedLogger } from '../support/tradingview.js';

/** A SimBroker whose calls hang (as a broker that stopped answering) until released. */
class HangingSim extends SimBroker {
  private gate: Promise<void> | null = null;
  private open: () => void = () => undefined;
  waiting = 0;
  constructor(clock: FakeClock) {
    super({ clock, random: seededRandom(5), profile: 'INSTANT', prices: { MES: 6010.25, MNQ: 21010.25 } });
  }
  hang(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }
  release(): void {
    this.gate = null;
    this.open();
  }
  private async slow(): Promise<void> {
    if (!this.gate) return;
    this.waiting++;
    await this.gate;
    this.waiting--;
  }
  override async placeBracket(req: BracketRequest, permit: SubmitPermit) {
    await this.slow();
    return super.placeBracket(req, permit);
  }
  override async positions() {
    await this.slow();
    return super.positions();
  }
  override async openOrders() {
    await this.slow();
    return super.openOrders();
  }
  override async findByOrderRef(orderRef: string) {
    await this.slow();
    return super.findByOrderRef(orderRef);
  }
}

const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

let h: Harness;
let srv: IntakeServer;
let log: CapturedLogger;
let sim: HangingSim | null = null;

async function start(): Promise<void> {
  log = captureLogger();
  srv = await startIntake({ engine: h.engine, logger: log.logger, host: '127.0.0.1', port: 0, ratePerMinute: 10_000, tradingview: { passphrase: PASSPHRASE, mapping: shippedMapping(), timeZone: 'America/New_York' } });
}

const harness = useHarness();
beforeEach(() => {
  sim = null;
});
afterEach(async () => {
  sim?.release();
  await srv?.close();
});

describe('TradingView 3-second answer', () => {
  it('SPEC-3 TradingView: with the broker hanging (an approval stuck in placeBracket), a new alert is still gated and answered directly, well within 3 s', async () => {
    h = await harness({ broker: (clock) => (sim = new HangingSim(clock)) });
    await start();
    const first = await postAlert(srv.url, tvAlert(h.clock.now()));
    expect(first.body.state).toBe('PROPOSED');

    sim!.hang();
    const approving = h.engine.decide((await cardOf(h, first.body.intentId as string)).id, 'APPROVE', approver);
    await until('the approval to reach the hanging broker', () => sim!.waiting > 0);
    expect((await intentOf(h, first.body.intentId as string)).state).toBe('SUBMITTED');

    const second = await postAlert(srv.url, tvAlert(h.clock.now() + 1000, { ticker: 'NQ1!', price: 21010.25 }));
    expect(second.ms, `answered in ${second.ms.toFixed(0)} ms`).toBeLessThan(TRADINGVIEW_TIMEOUT_MS);
    expect(second.ms).toBeLessThan(DEFAULT_ANSWER_WITHIN_MS); // not the fallback: the gates answered
    expect(second.status).toBe(202);
    expect(second.body).toMatchObject({ state: 'PROPOSED', instrument: { symbol: 'MNQ' } });
    expect(sim!.waiting).toBe(1); // the broker is still stuck

    sim!.release();
    await approving;
    await h.settle();
  });

  it('SPEC-3 TradingView: with the database held (the engine cannot answer), the alert is acknowledged 202 PENDING within 3 s, finishes afterwards exactly once (two concurrent re-sends included), and a later re-send gets its intent id', async () => {
    h = await harness();
    await start();
    let release: () => void = () => undefined;
    const held = h.app.store.tx(() => new Promise<void>((r) => (release = r)));
    const body = tvAlert(h.clock.now());
    const [a, b] = await Promise.all([postAlert(srv.url, body), postAlert(srv.url, body)]);
    for (const x of [a, b]) {
      expect(x.ms, `answered in ${x.ms.toFixed(0)} ms`).toBeLessThan(TRADINGVIEW_TIMEOUT_MS);
      expect(x.ms).toBeGreaterThanOrEqual(DEFAULT_ANSWER_WITHIN_MS - 50); // it did wait for the engine first
      expect(x.status).toBe(202);
      expect(x.body).toMatchObject({ state: 'PENDING', signalId: a.body.signalId });
    }
    expect(await h.app.db.intent.count()).toBe(0); // not committed yet: the store is held

    release();
    await held;
    await until('the background intake to commit', async () => (await h.app.db.intent.count()) === 1);
    await h.settle();
    const stored = await h.app.db.intent.findFirstOrThrow({ where: { signalId: a.body.signalId as string } });
    expect(stored.state).toBe('PROPOSED');
    expect(await h.app.db.intent.count()).toBe(1);
    expect(await h.app.db.card.count()).toBe(1);
    await until('both background results to be logged', () => log.lines.filter((l) => l.includes('finished after the answer')).length === 2);
    expect(log.lines.filter((l) => l.includes('"duplicate":true')).length).toBe(1);

    const again = await postAlert(srv.url, body);
    expect(again.ms).toBeLessThan(TRADINGVIEW_TIMEOUT_MS);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ duplicate: true, intentId: stored.id, state: 'PROPOSED' });
  });
});

/**
 * The start-up banner (SAFE-14, issue 16): "Phoenix is running" must never read as "orders go
 * out". With the broker down, or connected but refusing entries, the FIRST line says that no
 * entry can be sent until it is back, and the broker lines say what still works and what to do.
 */
import { describe, expect, it } from 'vitest';
import { startupBanner } from '../src/banner.js';
import type { BrokerHealth } from '../src/engine/broker.port.js';
import { testConfig, testConstitution } from './support/harness.js';

const IBKR = { BROKER: 'ibkr', IB_PORT: '4002', IB_ACCOUNT: 'DU1234567', TELEGRAM_BOT_TOKEN: '7000000005:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', TELEGRAM_CHAT_ID: '-1001001', TELEGRAM_APPROVERS: '1001' };
const account = { accountId: 'DU1234567', netLiquidation: 25_000, buyingPower: 100_000, currency: 'USD' };
const banner = (broker: BrokerHealth & { name: string }, env: Record<string, string> = {}, demoData = false) =>
  startupBanner({ config: testConfig(env, testConstitution()), intakeUrl: 'http://127.0.0.1:8787', broker, telegram: ['  telegram: sandbox'], botReady: true, demoData });

describe('issue 16: the banner says plainly when no entry can be sent', () => {
  it('issue 16: broker READY and submitting → "Phoenix is running (…)." and no warning', () => {
    const b = banner({ name: 'sim', state: 'READY', canSubmit: true, account, detail: 'connected' });
    expect(b).toContain('Phoenix is running (PAPER mode, sim broker).\n');
    expect(b).toContain('  broker:  sim READY, account DU1234567 (simulated: no real orders)');
    expect(b).not.toMatch(/NO ENTRY|DOWN|demo:/);
  });

  it('issue 16: broker down → the first line says no entry can be sent until it is back; the broker lines say what still works and how to recover', () => {
    const b = banner({ name: 'ibkr', state: 'DISCONNECTED', canSubmit: false, account: null, detail: 'connect ECONNREFUSED' }, IBKR);
    const lines = b.split('\n');
    expect(lines[1]).toBe('Phoenix is running (PAPER mode, ibkr broker), but the broker is DOWN: no entry can be sent until it is back.');
    expect(b).toContain('  broker:  DOWN: ibkr at 127.0.0.1:4002 is DISCONNECTED (connect ECONNREFUSED)');
    expect(b).toContain('NO ENTRY CAN BE SENT until the broker is back. Intents are still checked and carded, and');
    expect(b).toContain('/halt works; an approved entry waits for the broker and lapses if it is not back within the');
    expect(b).toContain("approval's 5 min. /healthz says \"degraded\" with the reason.");
    expect(b).toContain('npx phoenix doctor checks it; once fixed: npx phoenix reconnect');
  });

  it('issue 16: broker connected but refusing entries (canSubmit false) is not "running" either', () => {
    const b = banner({ name: 'ibkr', state: 'READY', canSubmit: false, account: { ...account, accountId: 'U7654321' }, detail: 'account U7654321 is not a paper account' }, IBKR);
    expect(b.split('\n')[1]).toBe('Phoenix is running (PAPER mode, ibkr broker), but the broker is refusing entries: no entry can be sent until it is back.');
    expect(b).toContain('  broker:  CANNOT SUBMIT: ibkr at 127.0.0.1:4002 is connected but refuses entries (account U7654321 is not a paper account), account U7654321');
    expect(b).not.toMatch(/ READY, account/);
  });

  it('issue 16: the demo service says it runs on its own database', () => {
    const b = banner({ name: 'sim', state: 'READY', canSubmit: true, account, detail: 'connected' }, {}, true);
    expect(b).toContain('  demo:    its own database data/demo/phoenix.db; your real data is untouched. Feed it signals: npx phoenix demo');
  });
});

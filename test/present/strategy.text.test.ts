/** src/present/strategy.text.ts: one wording per /register and /demote outcome code. */
import { describe, expect, it } from 'vitest';
import type { StrategyOutcome, StrategyView } from '../../src/engine/index.js';
import { strategyText } from '../../src/present/strategy.text.js';
import { T0 } from '../support/records.js';

const shadow: StrategyView = { name: 'orb', stage: 'SHADOW', registered: true, since: T0, changedBy: '@alice' };
const say = (o: StrategyOutcome) => strategyText(o);

describe('strategyText', () => {
  it('REGISTERED: with and without open cards withdrawn', () => {
    expect(say({ ok: true, code: 'REGISTERED', changed: true, strategy: shadow, cancelled: 0 })).toBe('Strategy orb registered in SHADOW: its intents are recorded, never carded or sent.');
    expect(say({ ok: true, code: 'REGISTERED', changed: true, strategy: shadow, cancelled: 2 })).toBe('Strategy orb registered in SHADOW: its intents are recorded, never carded or sent. 2 open card(s) withdrawn.');
  });

  it('ALREADY_REGISTERED names the stage it has', () => {
    expect(say({ ok: true, code: 'ALREADY_REGISTERED', changed: false, strategy: { ...shadow, stage: 'LIVE' } })).toBe('Strategy orb is already registered (LIVE); nothing changed.');
  });

  it('DEMOTED: by whom, and the open cards cancelled', () => {
    expect(say({ ok: true, code: 'DEMOTED', changed: true, strategy: shadow, by: '@alice', cancelled: 0 })).toBe('Strategy orb demoted to SHADOW by @alice: new intents are recorded only.');
    expect(say({ ok: true, code: 'DEMOTED', changed: true, strategy: shadow, by: '@alice', cancelled: 1 })).toBe('Strategy orb demoted to SHADOW by @alice: new intents are recorded only. 1 open card(s) cancelled.');
  });

  it('ALREADY_SHADOW: a pending promotion withdrawn is said', () => {
    expect(say({ ok: true, code: 'ALREADY_SHADOW', changed: false, strategy: shadow, withdrawn: 0 })).toBe('Strategy orb is already SHADOW; nothing else changed.');
    expect(say({ ok: true, code: 'ALREADY_SHADOW', changed: true, strategy: shadow, withdrawn: 1 })).toBe('Strategy orb is already SHADOW; nothing else changed. Pending promotion withdrawn.');
  });

  it('BAD_NAME and NOT_ALLOWED', () => {
    expect(say({ ok: false, code: 'BAD_NAME', maxLength: 64 })).toBe('Strategy name must be 1–64 printable characters.');
    expect(say({ ok: false, code: 'NOT_ALLOWED', needs: ['admin'] })).toBe('Not allowed: admin role needed.');
  });
});

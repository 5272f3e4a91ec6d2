/**
 * Notification levels are checked at start-up (issue 17, SPEC 9): config/alerts.yaml maps alert
 * types to on / silent / off; a CRITICAL type set off (or silent) is refused with the reason,
 * like an unknown type or level, all in one round through the real loader. The shipped file
 * loads; snoozes end exactly at their `until`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deliveryOf } from '../../src/alerts/levels.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { activeSnoozes, type Snooze } from '../../src/engine/alert-snooze.usecase.js';
import { ALERT_TYPE_NAMES, alertDef, levelRefusal, SNOOZE_MS } from '../../src/engine/alerts.table.js';

const repo = resolve(import.meta.dirname, '../..');
let dir: string | null = null;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

function load(yaml: string | null, env: Record<string, string> = {}) {
  dir = mkdtempSync(join(tmpdir(), 'phoenix-alerts-'));
  if (yaml !== null) writeFileSync(join(dir, 'alerts.yaml'), yaml);
  return loadConfig({ CONSTITUTION_PATH: join(repo, 'config/constitution.yaml'), DATABASE_URL: `file:${join(dir, 'p.db')}`, ...(yaml !== null ? { ALERTS_CONFIG_PATH: join(dir, 'alerts.yaml') } : {}), ...env }, dir);
}

function problems(yaml: string): string[] {
  try {
    load(yaml);
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('issue 17: alert notification levels at start-up', () => {
  it('levels: on / silent / off per type load; the shipped config/alerts.yaml loads; no file at the default path means every type on', () => {
    expect(load('alerts:\n  INTENT_BLOCKED: off\n  ORDER_REJECTED: silent\n  HALT: on\n').alerts).toEqual({ INTENT_BLOCKED: 'off', ORDER_REJECTED: 'silent', HALT: 'on' });
    expect(loadConfig({ CONSTITUTION_PATH: join(repo, 'config/constitution.yaml') }, repo).alerts).toEqual({});
    expect(load(null).alerts).toEqual({}); // cwd has no config/alerts.yaml
    expect(load('').alerts).toEqual({});
  });

  it('levels: every CRITICAL type set off or silent is refused at start-up with the reason; WARNING and INFO types may be off', () => {
    const critical = ALERT_TYPE_NAMES.filter((t) => alertDef(t).severity === 'CRITICAL');
    expect(critical.length).toBeGreaterThan(5);
    for (const t of critical) {
      expect(levelRefusal(t, 'on')).toBeNull();
      const p = problems(`alerts:\n  ${t}: off\n`);
      expect(p, t).toHaveLength(1);
      expect(p[0]).toMatch(new RegExp(`alerts\\.yaml:2: ${t} is CRITICAL and cannot be turned off: CRITICAL alerts always go out with sound, because they need a human now`));
      expect(problems(`alerts:\n  ${t}: silent\n`)[0]).toContain(`${t} is CRITICAL and cannot be turned silent`);
    }
    for (const t of ALERT_TYPE_NAMES.filter((x) => alertDef(x).severity !== 'CRITICAL')) expect(levelRefusal(t, 'off'), t).toBeNull();
  });

  it('levels: an unknown type (with a hint), an unknown level, a wrong shape and an explicit missing file are refused, all in one round', () => {
    const p = problems('alerts:\n  ORDER_REJECTD: off\n  HALT: off\n  INTENT_BLOCKED: loud\n  DAILY_SUMMARY: false\nextra: 1\n');
    expect(p).toHaveLength(5);
    expect(p[0]).toMatch(/alerts\.yaml:2: unknown alert type "ORDER_REJECTD" \(did you mean ORDER_REJECTED\?\)/);
    expect(p[1]).toMatch(/alerts\.yaml:3: HALT is CRITICAL/);
    expect(p[2]).toMatch(/alerts\.yaml:4: INTENT_BLOCKED: must be on, silent or off \(got "loud"\)/);
    expect(p[3]).toMatch(/alerts\.yaml:5: DAILY_SUMMARY: must be on, silent or off \(got false\)/);
    expect(p[4]).toMatch(/alerts\.yaml:6: unknown key extra/);
    expect(problems('- HALT\n')[0]).toMatch(/expected a map/);
    expect(problems('alerts: [HALT]\n')[0]).toMatch(/alerts: must map alert types/);
    expect(problems('alerts: {HALT: off\n')[0]).toMatch(/not valid YAML/);
    const tmp = mkdtempSync(join(tmpdir(), 'phoenix-alerts-'));
    dir = tmp;
    expect(() => loadConfig({ CONSTITUTION_PATH: join(repo, 'config/constitution.yaml'), ALERTS_CONFIG_PATH: join(tmp, 'nope.yaml') }, tmp)).toThrow(/ALERTS_CONFIG_PATH: .*nope\.yaml does not exist/);
  });

  it('levels: a snooze is active up to one ms before its until and over at until (exactly 1 h after the tap)', () => {
    const at = 1_000_000;
    const s: Snooze = { type: 'ORDER_REJECTED', until: at + SNOOZE_MS, by: '@alice', byId: '1001', at, messageId: 'am_x' };
    expect(SNOOZE_MS).toBe(3_600_000);
    expect(activeSnoozes([s], at + SNOOZE_MS - 1)).toEqual([s]);
    expect(activeSnoozes([s], at + SNOOZE_MS)).toEqual([]);
    expect(activeSnoozes([s], at + SNOOZE_MS + 1)).toEqual([]);
    // a message with nothing but INFO is silent; with no units at all nothing rings either
    expect(deliveryOf({ units: [], severity: 'INFO' }, { levels: {}, snoozes: [], spokeBefore: () => false })).toEqual({ silent: true, snoozeTypes: [] });
  });
});

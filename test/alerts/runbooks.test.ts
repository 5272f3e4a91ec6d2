/**
 * Every alert type links a runbook that exists, every gate code links its OWN runbook (a real
 * procedure: symptoms, checks with commands, a decision, when to escalate), and every link inside
 * the runbooks resolves.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderMessage, type Section } from '../../src/alerts/render.js';
import { visibleText } from '../../src/alerts/html.js';
import { ALERT_TYPE_NAMES, alertDef, alertRunbook, GATE_RUNBOOKS } from '../../src/engine/alerts.table.js';

const DIR = resolve(import.meta.dirname, '../../runbooks');
const files = readdirSync(DIR).filter((f) => f.endsWith('.md'));
const byId = new Map(files.flatMap((f) => { const m = /^(RB-\d{3})-.+\.md$/.exec(f); return m ? [[m[1] as string, f]] : []; }));

/** Every code a gate of the registry can return, read from its source (so a code the table misses is caught even if the type were loosened). */
const GATE_SOURCE = readFileSync(resolve(import.meta.dirname, '../../src/engine/risk.gates.ts'), 'utf8');
const EMITTED = [...new Set([...GATE_SOURCE.matchAll(/code: '([A-Z_]+)'/g)].map((m) => m[1] as string))].sort();

/** The blocked notice a person gets for one gate code, as the alert pipeline renders it. */
function blockedNotice(code: string): string {
  const payload = { summary: `BUY 1 MES (mes-orb) blocked: ${code}`, facts: { code } };
  const section: Section = {
    type: 'INTENT_BLOCKED', severity: 'INFO', title: alertDef('INTENT_BLOCKED').title, runbook: alertRunbook('INTENT_BLOCKED', payload),
    count: 1, first: 0, last: 0, variants: [{ line: payload.summary, count: 1, first: 0, last: 0 }], other: { count: 0 },
    sample: { type: 'INTENT_BLOCKED', at: Date.parse('2026-11-24T15:00:00Z'), payload }, why: 'new', folded: [], foldedInto: undefined,
  };
  return visibleText(renderMessage([[section]]).html);
}

describe('runbooks', () => {
  it('every alert type links a runbook file that exists, with the parts a 3 a.m. reader needs', () => {
    for (const type of ALERT_TYPE_NAMES) {
      const id = alertDef(type).runbook;
      const file = byId.get(id);
      expect(file, `${type} → ${id}`).toBeDefined();
      const text = readFileSync(join(DIR, file!), 'utf8');
      expect(text.startsWith(`# ${id} — `), file).toBe(true);
      for (const part of ['## Symptoms', '## Checks', '## Escalate when']) expect(text, `${file} ${part}`).toContain(part);
    }
  });

  it('SPEC-9 gate runbooks: the table has a row for exactly the codes the gate registry returns', () => {
    expect(Object.keys(GATE_RUNBOOKS).sort()).toEqual(EMITTED);
    expect(EMITTED.length).toBeGreaterThanOrEqual(15);
  });

  describe.each(EMITTED)('SPEC-9 gate runbook for %s', (code) => {
    it(`${code}: its blocked notice links its own runbook, which exists and reads as a procedure (symptoms, checks with commands, decision, escalation) naming the code`, () => {
      const id = GATE_RUNBOOKS[code as keyof typeof GATE_RUNBOOKS];
      expect(id, code).toMatch(/^RB-\d{3}$/);
      const file = byId.get(id);
      expect(file, `${code} → ${id}`).toBeDefined();
      const text = readFileSync(join(DIR, file!), 'utf8');
      expect(text.startsWith(`# ${id} — `)).toBe(true);
      for (const part of ['## Symptoms', '## What Phoenix already did', '## Checks', '## Decision', '## Escalate when']) expect(text, `${file} ${part}`).toContain(part);
      const checks = text.slice(text.indexOf('## Checks'), text.indexOf('## Decision'));
      expect(checks, `${file}: commands to run`).toMatch(/```\n[\s\S]+?\n\s*```/);
      expect(text, `${file} names ${code}`).toContain(code);
      expect(alertRunbook('INTENT_BLOCKED', { summary: 'x', facts: { code } })).toBe(id);
      expect(blockedNotice(code)).toContain(`Runbook: ${id} — /runbook ${id}`);
    });
  });

  it('SPEC-9 gate runbooks: only the kill flag links the kill-flag runbook; session, quality, per-trade risk and trades-per-day each link their own', () => {
    expect(Object.entries(GATE_RUNBOOKS).filter(([, id]) => id === 'RB-005').map(([c]) => c)).toEqual(['KILL_ACTIVE']);
    const own = ['SESSION_CLOSED', 'QUALITY', 'RISK_PER_TRADE', 'TRADES_PER_DAY', 'DAILY_LOSS_CAP', 'CONSECUTIVE_LOSSES', 'POSITION_LIMIT', 'MIN_CAPITAL'] as const;
    expect(new Set(own.map((c) => GATE_RUNBOOKS[c])).size).toBe(own.length);
    // an old outbox row with a code this version does not know still links a runbook that exists
    expect(alertRunbook('INTENT_BLOCKED', { summary: 'x', facts: { code: 'NO_SUCH_GATE' } })).toBe('RB-005');
  });

  it('every relative link in runbooks/*.md resolves, every RB id mentioned exists, and the index lists every runbook', () => {
    const broken: string[] = [];
    for (const f of files) {
      const text = readFileSync(join(DIR, f), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = (m[1] as string).split('#')[0] as string;
        if (!target || /^[a-z]+:/i.test(target)) continue;
        if (!existsSync(resolve(DIR, target))) broken.push(`${f} → ${target}`);
      }
      for (const m of text.matchAll(/\bRB-\d{3}\b/g)) if (!byId.has(m[0])) broken.push(`${f} mentions ${m[0]}`);
    }
    expect(broken).toEqual([]);
    const index = readFileSync(join(DIR, 'README.md'), 'utf8');
    for (const [id, f] of byId) expect(index, id).toContain(`[${id}](${f})`);
  });
});

/** Every alert type links a runbook that exists, and every link inside the runbooks resolves. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALERT_TYPE_NAMES, alertDef, alertRunbook, BLOCKED_RUNBOOKS } from '../../src/engine/alerts.table.js';

const DIR = resolve(import.meta.dirname, '../../runbooks');
const files = readdirSync(DIR).filter((f) => f.endsWith('.md'));
const byId = new Map(files.flatMap((f) => { const m = /^(RB-\d{3})-.+\.md$/.exec(f); return m ? [[m[1] as string, f]] : []; }));

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

  it('every gate-specific runbook of a blocked notice exists and is the one the notice links', () => {
    for (const [code, id] of Object.entries(BLOCKED_RUNBOOKS)) {
      const file = byId.get(id);
      expect(file, `${code} → ${id}`).toBeDefined();
      expect(readFileSync(join(DIR, file!), 'utf8')).toContain(code);
      expect(alertRunbook('INTENT_BLOCKED', { summary: 'x', facts: { code } })).toBe(id);
    }
    expect(alertRunbook('INTENT_BLOCKED', { summary: 'x', facts: { code: 'KILL_ACTIVE' } })).toBe(alertDef('INTENT_BLOCKED').runbook);
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

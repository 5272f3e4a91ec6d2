/** Histories on disk: what a violation writes and what --replay reads (plain JSON, versioned). */
import { readFileSync, writeFileSync } from 'node:fs';
import { describeAct } from './actions.js';
import type { History } from './run.js';

export function writeHistory(file: string, h: History): void {
  writeFileSync(file, `${JSON.stringify(h, null, 1)}\n`);
}

export function readHistory(file: string): History {
  const h = JSON.parse(readFileSync(file, 'utf8')) as History;
  if (h.version !== 1 || !Array.isArray(h.actions) || typeof h.seed !== 'number') throw new Error(`${file} is not a simulation history (version 1)`);
  return h;
}

/** The history as lines a person reads: time (New York), then what happened. */
export function describeHistory(h: History, limit = 60): string[] {
  const fmt = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  const lines = h.actions.map((a, i) => `#${i} ${fmt.format(a.t)} ET${a.race ? ' (with the timers due now)' : ''}: ${a.acts.map(describeAct).join(' ‖ ')}`);
  return lines.length > limit ? [...lines.slice(0, limit / 2), `… ${lines.length - limit} more …`, ...lines.slice(-limit / 2)] : lines;
}

/**
 * One configuration problem: where (a variable name or a constitution path), what is wrong
 * in plain words (with the value that was given, unless it is a secret), and the fix. The
 * loader, `npm start` and `phoenix doctor` all print these, so each says the same thing.
 */
export { didYouMean } from '../engine/index.js';

export interface ConfigProblem {
  /** `TRADING_MODE`, or `constitution limits.dailyLossCapUsd (config/constitution.yaml line 6)` */
  readonly where: string;
  /** e.g. `must be a positive amount in dollars, got -5` */
  readonly problem: string;
  /** e.g. `set a value like 30` */
  readonly fix: string;
  /** source lines around the problem, the offending one marked with a caret */
  readonly excerpt?: readonly string[];
}

/** `where: problem → fix` (the excerpt, if any, goes on the lines below). */
export const problemLine = (p: ConfigProblem): string => `${p.where}: ${p.problem} → ${p.fix}`;

/** A value as shown in a message: numbers and booleans plain, text quoted, long text cut. */
export function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a section';
  return typeof value;
}

/**
 * Lines `from..to` of `text` (1-based) with line numbers, and a caret under `col` of `line`.
 * Tabs are shown as one space so the caret lines up.
 */
export function excerpt(text: string, line: number, col: number, context = 1): string[] {
  const lines = text.split(/\r?\n/);
  const first = Math.max(1, line - context);
  const last = Math.min(lines.length, line + context);
  const width = String(last).length;
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    const src = (lines[n - 1] ?? '').replace(/\t/g, ' ');
    out.push(`${String(n).padStart(width)} | ${src}`);
    if (n === line) out.push(`${' '.repeat(width)} | ${' '.repeat(Math.max(0, col - 1))}^`);
  }
  return out;
}

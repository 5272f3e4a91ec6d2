/**
 * Reading the constitution YAML (SPEC 2, SPEC 4) into plain-word problems: a YAML syntax error
 * shows the offending lines with a caret; a bad value names its setting, its line, the value
 * given and the fix; an unknown key (a misspelt limit would silently fall back to its default)
 * is refused with "did you mean …?".
 */
import { existsSync, readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { constitutionSchema, FIX_MARK, type Constitution } from '../engine/index.js';
import { didYouMean, excerpt, shown, type ConfigProblem } from './problems.js';

export type ConstitutionCheck =
  | { readonly ok: true; readonly value: Constitution; readonly raw: unknown }
  /** `raw`: the parsed YAML when it parsed (for rules that look at it anyway), else undefined */
  | { readonly ok: false; readonly problems: readonly ConfigProblem[]; readonly raw: unknown };

const YAML_FIXES: Record<string, string> = {
  TAB_AS_INDENT: 'indent with spaces, not tabs (2 spaces per level, as in config/constitution.yaml)',
  DUPLICATE_KEY: 'this key is written twice in the same section: keep the one you mean and delete the other',
  MISSING_CHAR: 'close the quote or bracket opened here',
  BAD_INDENT: 'line up the keys of one section under each other (2 spaces per level) and close any [ or { on the same line; compare with config/constitution.yaml',
  BLOCK_AS_IMPLICIT_KEY: 'line up the keys of one section under each other (2 spaces per level) and put a space after each colon; compare with config/constitution.yaml',
  MULTILINE_IMPLICIT_KEY: 'line up the keys of one section under each other (2 spaces per level) and put a space after each colon; compare with config/constitution.yaml',
};
const YAML_FIX = 'fix the YAML at the line shown (indentation, a missing colon or quote); compare with config/constitution.yaml';
const VALUE_FIX = 'correct the value (the comments in config/constitution.yaml explain every setting)';

/** `session.holidays[1]` */
const dotted = (path: readonly PropertyKey[]) => path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)), '');

function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = doc;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/** The 1-based line of the key (or list item) at `path`, else of its nearest existing parent section. */
function lineOf(doc: Document, lc: LineCounter, path: readonly PropertyKey[]): number | undefined {
  for (let n = path.length; n > 0; n--) {
    const parent = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1) as unknown[], true);
    const last = path[n - 1];
    const node = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && p.key.value === last)?.key : isSeq(parent) && typeof last === 'number' ? parent.items[last] : undefined;
    const range = (node as { range?: readonly number[] } | null | undefined)?.range;
    if (range?.[0] !== undefined) return lc.linePos(range[0]).line;
  }
  // a missing top-level section has no line; the root itself starts where the document does
  const top = path.length === 0 ? doc.contents?.range?.[0] : undefined;
  return top === undefined ? undefined : lc.linePos(top).line;
}

/** The keys an object schema knows at `path` (through defaults, optional sections, arrays and records). */
function knownKeys(path: readonly PropertyKey[]): string[] {
  let s: unknown = constitutionSchema;
  const unwrap = (x: unknown): unknown => (x instanceof z.ZodDefault || x instanceof z.ZodPrefault || x instanceof z.ZodOptional ? unwrap(x.unwrap()) : x);
  for (const seg of path) {
    s = unwrap(s);
    if (s instanceof z.ZodObject) s = (s.shape as Record<string, unknown>)[String(seg)];
    else if (s instanceof z.ZodArray) s = s.element;
    else if (s instanceof z.ZodRecord) s = s.valueType;
    else return [];
  }
  s = unwrap(s);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function yamlProblems(doc: Document, lc: LineCounter, text: string, file: string): ConfigProblem[] {
  const byPos = new Map<number, { code: string; messages: string[] }>();
  for (const e of doc.errors) {
    const at = byPos.get(e.pos[0]) ?? { code: e.code, messages: [] };
    if (!at.messages.includes(e.message)) at.messages.push(e.message);
    byPos.set(e.pos[0], at);
  }
  return [...byPos].map(([pos, { code, messages }]) => {
    const { line, col } = lc.linePos(pos);
    return { where: `${file} line ${line}, column ${col}`, problem: `not valid YAML: ${messages.join('; ')}`, fix: YAML_FIXES[code] ?? YAML_FIX, excerpt: excerpt(text, line, col) };
  });
}

/** Validate the constitution file; `file` is how to name it in messages (e.g. relative to the working directory). */
export function checkConstitution(path: string, file = path): ConstitutionCheck {
  if (!existsSync(path)) return { ok: false, raw: undefined, problems: [{ where: 'CONSTITUTION_PATH', problem: `${file} does not exist`, fix: 'copy config/constitution.yaml from the repository, or set CONSTITUTION_PATH to your file' }] };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { ok: false, raw: undefined, problems: [{ where: 'CONSTITUTION_PATH', problem: `${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, fix: 'point CONSTITUTION_PATH at a readable file, or give the service user read access' }] };
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) return { ok: false, raw: undefined, problems: yamlProblems(doc, lc, text, file) };
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { ok: false, raw: undefined, problems: [{ where: file, problem: `not valid YAML: ${(e as Error).message}`, fix: YAML_FIX }] };
  }
  if (raw === null || raw === undefined) return { ok: false, raw, problems: [{ where: file, problem: 'is empty', fix: 'start from a copy of config/constitution.yaml (every setting is explained there)' }] };
  const r = constitutionSchema.safeParse(raw);
  if (r.success) return { ok: true, value: r.data, raw };
  const lines = new Map<string, number>();
  const where = (path: readonly PropertyKey[]) => {
    const line = lineOf(doc, lc, path);
    const w = `constitution${path.length ? ` ${dotted(path)}` : ''} (${file}${line ? ` line ${line}` : ''})`;
    lines.set(w, line ?? Number.MAX_SAFE_INTEGER);
    return w;
  };
  const problems: ConfigProblem[] = [];
  // a misspelt section or key also leaves the right one "missing": say it once, as the typo
  const guessed = new Set<string>();
  for (const issue of r.error.issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    const known = knownKeys(issue.path);
    for (const key of issue.keys) {
      const guess = didYouMean(key, known);
      if (guess) guessed.add(dotted([...issue.path, guess]));
      problems.push(
        guess
          ? { where: where([...issue.path, key]), problem: `unknown key; did you mean ${guess}?`, fix: `rename it to ${guess} (a misspelt setting would otherwise be ignored and its default used)` }
          : { where: where([...issue.path, key]), problem: 'unknown key', fix: `remove it or correct its spelling; the keys here are ${known.join(', ')}` },
      );
    }
  }
  for (const issue of r.error.issues) {
    if (issue.code === 'unrecognized_keys') continue;
    const value = valueAt(raw, issue.path);
    if (value === undefined && guessed.has(dotted(issue.path))) continue;
    const cut = issue.message.indexOf(FIX_MARK);
    const rule = cut >= 0 ? issue.message.slice(0, cut) : issue.message;
    const fix = cut >= 0 ? issue.message.slice(cut + FIX_MARK.length) : VALUE_FIX;
    const problem = rule.includes(', got ') ? rule : value === undefined ? `${rule}, but it is missing` : `${rule}, got ${shown(value)}`;
    problems.push({ where: where(issue.path), problem, fix });
  }
  // in the order of the file, so the list reads top to bottom next to it
  problems.sort((a, b) => (lines.get(a.where) ?? 0) - (lines.get(b.where) ?? 0));
  return { ok: false, problems, raw };
}

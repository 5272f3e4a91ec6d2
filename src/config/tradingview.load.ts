/**
 * Load and validate the TradingView mapping file at start-up. Fails closed: every problem is
 * reported as `file:line: path: message`, so an operator can jump straight to it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { mappingSchema, type TradingViewMapping } from '../tradingview/mapping.schema.js';

export type MappingLoad = { ok: true; value: TradingViewMapping } | { ok: false; problems: string[] };

/** The line of the deepest node that exists along `path` (a missing key: its parent's line). */
function lineOf(doc: Document.Parsed, counter: LineCounter, path: readonly PropertyKey[]): number | null {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return counter.linePos(node.range[0]).line;
  }
  return null;
}

export function loadTradingViewMapping(path: string, label = path): MappingLoad {
  if (!existsSync(path)) return { ok: false, problems: [`TRADINGVIEW_MAPPING_PATH: ${label} does not exist (copy config/tradingview.yaml from the repository)`] };
  const counter = new LineCounter();
  const doc = parseDocument(readFileSync(path, 'utf8'), { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length) {
    return { ok: false, problems: doc.errors.map((e) => `${label}:${counter.linePos(e.pos[0]).line}: not valid YAML: ${e.message.split('\n')[0]}`) };
  }
  const r = mappingSchema.safeParse(doc.toJS() ?? {});
  if (r.success) return { ok: true, value: r.data };
  return {
    ok: false,
    problems: r.error.issues.map((i) => {
      const where = i.path.length ? i.path.join('.') : '(root)';
      // an unknown key: point at the key itself, not at the map that holds it
      const line = lineOf(doc, counter, i.code === 'unrecognized_keys' && i.keys[0] ? [...i.path, i.keys[0]] : i.path);
      const message = i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')}` : i.message;
      return `${label}${line ? `:${line}` : ''}: ${where}: ${message}`;
    }),
  };
}

/**
 * Notification levels (SPEC 9): config/alerts.yaml (ALERTS_CONFIG_PATH) says, per alert type,
 * `on` (default), `silent` or `off`. Checked at start-up with every problem at once, as
 * `file:line: problem`: an unknown type, an unknown level, and a CRITICAL type set to off or
 * silent — refused with the reason, because CRITICAL alerts need a human now.
 *
 * The default path may be missing (every type on); a path the operator set must exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isScalar, type Document } from 'yaml';
import { ALERT_TYPE_NAMES, isAlertType, levelRefusal, NOTIFICATION_MODES, type AlertLevels, type AlertType, type NotificationMode } from '../engine/index.js';

export const DEFAULT_ALERTS_CONFIG = 'config/alerts.yaml';

export type AlertLevelsLoad = { ok: true; value: AlertLevels } | { ok: false; problems: string[] };

const isMode = (v: unknown): v is NotificationMode => typeof v === 'string' && (NOTIFICATION_MODES as readonly string[]).includes(v);

/** Closest known type by shared prefix / edit distance (a hint, not a guess that is applied). */
function closest(name: string): string | null {
  const up = name.toUpperCase();
  if (isAlertType(up)) return up;
  let best: { t: string; d: number } | null = null;
  for (const t of ALERT_TYPE_NAMES) {
    const d = distance(up, t);
    if (!best || d < best.d) best = { t, d };
  }
  return best && best.d <= Math.max(2, Math.floor(up.length / 4)) ? best.t : null;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

export function loadAlertLevels(path: string, label: string, explicit: boolean): AlertLevelsLoad {
  if (!existsSync(path)) {
    if (!explicit) return { ok: true, value: {} };
    return { ok: false, problems: [`ALERTS_CONFIG_PATH: ${label} does not exist (copy config/alerts.yaml from the repository, or unset ALERTS_CONFIG_PATH for every alert type on)`] };
  }
  const counter = new LineCounter();
  const doc: Document.Parsed = parseDocument(readFileSync(path, 'utf8'), { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length) return { ok: false, problems: doc.errors.map((e) => `${label}:${counter.linePos(e.pos[0]).line}: not valid YAML: ${e.message.split('\n')[0]}`) };
  const at = (node: unknown) => {
    const r = (node as { range?: [number, number, number] } | null)?.range;
    return r ? `${label}:${counter.linePos(r[0]).line}` : label;
  };
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return { ok: true, value: {} };
  if (!isMap(root)) return { ok: false, problems: [`${at(root)}: expected a map with one key, alerts: (see config/alerts.yaml)`] };
  const problems: string[] = [];
  const levels: Partial<Record<AlertType, NotificationMode>> = {};
  for (const top of root.items) {
    const key = isScalar(top.key) ? String(top.key.value) : '?';
    if (key !== 'alerts') {
      problems.push(`${at(top.key)}: unknown key ${key}; the file has one key, alerts:`);
      continue;
    }
    if (top.value === null || (isScalar(top.value) && top.value.value === null)) continue;
    if (!isMap(top.value)) {
      problems.push(`${at(top.value)}: alerts: must map alert types to on, silent or off`);
      continue;
    }
    for (const item of top.value.items) {
      const type = isScalar(item.key) ? String(item.key.value) : '';
      const value = isScalar(item.value) ? item.value.value : undefined;
      const where = at(item.key);
      if (!isAlertType(type)) {
        const hint = closest(type);
        problems.push(`${where}: unknown alert type ${JSON.stringify(type)}${hint ? ` (did you mean ${hint}?)` : ''}; the types are the keys of ALERT_TYPES in src/engine/alerts.table.ts (README "Notification levels")`);
        continue;
      }
      if (!isMode(value)) {
        problems.push(`${where}: ${type}: must be on, silent or off (got ${JSON.stringify(value ?? null)})`);
        continue;
      }
      const refusal = levelRefusal(type, value);
      if (refusal) {
        problems.push(`${where}: ${refusal}; remove the line or set it to on`);
        continue;
      }
      levels[type] = value;
    }
  }
  return problems.length ? { ok: false, problems } : { ok: true, value: levels };
}

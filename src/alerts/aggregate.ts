/**
 * Flood aggregation: which pending alerts fold into which message, and when a group may
 * speak. No I/O, no clock, no timers: every time comes in as an argument, so the rules are
 * unit-tested directly and the sender (src/alerts/sender.ts) only moves rows and bytes.
 *
 * Rules (SPEC 9, table in src/engine/alerts.table.ts):
 * - A group is all pending alerts with the same group key. Its pending alerts fold into ONE
 *   section of one message: count, first/last time, the most frequent distinct lines.
 * - Inhibition: while an inhibitor (e.g. IBKR_DISCONNECTED) is active, groups whose type
 *   lists it in `inhibitedBy` fold into the inhibitor's group and speak with it.
 * - A group speaks when its readiness time has come (`readiness`):
 *     new group         first pending + groupWait (CRITICAL types: 0)
 *     changed           a line it has not sent before, or a higher severity:
 *                       max(first pending + groupWait, last spoke + groupInterval)
 *     volume            ≥ REPEAT_VOLUME_NEWS unreported repeats: same as changed
 *     tail              last message reported a storm (≥ REPEAT_VOLUME_NEWS) and it went
 *                       quiet for one groupInterval: the final tally goes out
 *     repeat            nothing new: last spoke + max(groupInterval, repeatInterval)
 * - Which ready groups share a message (CRITICAL first, then oldest) is `planMessage`;
 *   the text and its 4096-character limit are src/alerts/render.ts.
 */
import { alertDef, alertLine, alertRunbook, INHIBIT_MAX_MS, REPEAT_VOLUME_NEWS, type AlertType, type OutboxAlert, type Severity } from '../engine/index.js';
import { renderMessage, type RenderOptions, type Section } from './render.js';

/** A pending alert as the outbox hands it over (insertion order `rid`: the ingestion cursor). */
export type PendingAlert = OutboxAlert;

/** Alerts of one group that read the same (same type and line). */
export interface Variant {
  readonly fp: string;
  readonly line: string;
  count: number;
  first: number;
  last: number;
}

/** Everything a message needs to say about a group's pending alerts, in O(1) memory per group. */
export interface GroupAgg {
  readonly groupKey: string;
  readonly type: AlertType;
  severity: Severity;
  count: number;
  first: number;
  last: number;
  maxRid: number;
  readonly variants: Map<string, Variant>;
  /** alerts whose line did not fit in `variants` (more distinct lines than MAX_VARIANTS) */
  readonly other: { count: number; first: number; last: number };
  /** the first alert, shown in full when the group holds exactly one */
  readonly sample: PendingAlert;
}

/** What a group last said (persisted by the sender; drives repeat suppression). */
export interface GroupMemory {
  /** when it last spoke (message composed), clock ms */
  readonly at: number;
  /** fingerprints of the lines it has reported recently */
  readonly fps: readonly string[];
  /** alerts in that message */
  readonly n: number;
  readonly sev: Severity;
}

export const MAX_VARIANTS = 64;
const MAX_REMEMBERED_FPS = 200;

export const SEVERITY_RANK: Record<Severity, number> = { INFO: 0, WARNING: 1, CRITICAL: 2 };
export const maxSeverity = (a: Severity, b: Severity): Severity => (SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b);

/** FNV-1a 32-bit, hex: a short stable fingerprint of an alert's type and line. */
export function fingerprint(type: string, line: string): string {
  let h = 0x811c9dc5;
  const s = `${type}\u0000${line}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Add one pending alert to its group's aggregate (creating it). */
export function foldAlert(groups: Map<string, GroupAgg>, a: PendingAlert): GroupAgg {
  let g = groups.get(a.groupKey);
  if (!g) {
    g = { groupKey: a.groupKey, type: a.type, severity: a.severity, count: 0, first: a.at, last: a.at, maxRid: a.rid, variants: new Map(), other: { count: 0, first: a.at, last: a.at }, sample: a };
    groups.set(a.groupKey, g);
  }
  g.count += 1;
  g.severity = maxSeverity(g.severity, a.severity);
  g.first = Math.min(g.first, a.at);
  g.last = Math.max(g.last, a.at);
  g.maxRid = Math.max(g.maxRid, a.rid);
  const line = alertLine(a.type, a.payload);
  const fp = fingerprint(a.type, line);
  const v = g.variants.get(fp);
  if (v) {
    v.count += 1;
    v.first = Math.min(v.first, a.at);
    v.last = Math.max(v.last, a.at);
  } else if (g.variants.size < MAX_VARIANTS) {
    g.variants.set(fp, { fp, line, count: 1, first: a.at, last: a.at });
  } else {
    if (g.other.count === 0) {
      g.other.first = a.at;
      g.other.last = a.at;
    }
    g.other.count += 1;
    g.other.first = Math.min(g.other.first, a.at);
    g.other.last = Math.max(g.other.last, a.at);
  }
  return g;
}

// === Inhibition

export interface Raised {
  readonly at: number;
  readonly groupKey: string;
}

export interface ActiveInhibitor extends Raised {
  readonly type: AlertType;
}

/** Types named in some `inhibitedBy`, and the types that resolve them: what the sender must track. */
export function inhibitionTypes(types: readonly AlertType[]): AlertType[] {
  const out = new Set<AlertType>();
  for (const i of inhibitorTypes(types)) {
    out.add(i);
    for (const r of alertDef(i).resolvedBy ?? []) out.add(r);
  }
  return [...out];
}

/** Types that inhibit some other type. */
export function inhibitorTypes(types: readonly AlertType[]): AlertType[] {
  return [...new Set(types.flatMap((t) => alertDef(t).inhibitedBy ?? []))];
}

/**
 * Inhibitors active at `now`: raised, not resolved by a later resolving alert, and not older
 * than INHIBIT_MAX_MS (a lost "restored" alert must not mute stalls forever).
 */
export function activeInhibitors(lastRaised: ReadonlyMap<AlertType, Raised>, now: number, types: readonly AlertType[]): Map<AlertType, ActiveInhibitor> {
  const active = new Map<AlertType, ActiveInhibitor>();
  for (const t of inhibitorTypes(types)) {
    const r = lastRaised.get(t);
    if (!r || now - r.at > INHIBIT_MAX_MS) continue;
    const resolved = (alertDef(t).resolvedBy ?? []).some((x) => (lastRaised.get(x)?.at ?? -Infinity) >= r.at);
    if (!resolved) active.set(t, { ...r, type: t });
  }
  return active;
}

// === Units and readiness

/** A group that speaks, with the inhibited groups folded into it. */
export interface Unit {
  /** the host group's key (the inhibitor's key for folded groups) */
  readonly key: string;
  readonly hostType: AlertType;
  /** the host group's own pending alerts (absent when only folded alerts are pending) */
  host: GroupAgg | undefined;
  readonly folded: GroupAgg[];
  readonly inhibitor: ActiveInhibitor | undefined;
}

export function buildUnits(groups: Iterable<GroupAgg>, inhibitors: ReadonlyMap<AlertType, ActiveInhibitor>): Unit[] {
  const units = new Map<string, Unit>();
  const unit = (key: string, hostType: AlertType, inhibitor?: ActiveInhibitor): Unit => {
    let u = units.get(key);
    if (!u) {
      u = { key, hostType, host: undefined, folded: [], inhibitor };
      units.set(key, u);
    }
    return u;
  };
  for (const g of groups) {
    if (g.count === 0) continue;
    const inh = alertDef(g.type).inhibitedBy?.map((t) => inhibitors.get(t)).find((x) => x !== undefined);
    if (inh) unit(inh.groupKey, inh.type, inh).folded.push(g);
    else unit(g.groupKey, g.type).host = g;
  }
  return [...units.values()];
}

export const unitAggs = (u: Unit): GroupAgg[] => (u.host ? [u.host, ...u.folded] : [...u.folded]);

export interface UnitStats {
  readonly count: number;
  readonly first: number;
  readonly last: number;
  readonly severity: Severity;
  readonly maxRid: number;
}

export function unitStats(u: Unit): UnitStats {
  const aggs = unitAggs(u);
  return {
    count: aggs.reduce((s, g) => s + g.count, 0),
    first: Math.min(...aggs.map((g) => g.first)),
    last: Math.max(...aggs.map((g) => g.last)),
    severity: aggs.map((g) => g.severity).reduce(maxSeverity, 'INFO' as Severity),
    maxRid: Math.max(...aggs.map((g) => g.maxRid)),
  };
}

export type ReadyWhy = 'new' | 'changed' | 'volume' | 'tail' | 'repeat';

export interface Readiness {
  readonly at: number;
  readonly why: ReadyWhy;
}

/** When this unit may speak next (see the header for the rules). */
export function readiness(u: Unit, memory: GroupMemory | undefined): Readiness {
  const def = alertDef(u.hostType);
  const s = unitStats(u);
  const afterWait = s.first + def.groupWaitMs;
  if (!memory) return { at: afterWait, why: 'new' };
  const afterInterval = Math.max(afterWait, memory.at + def.groupIntervalMs);
  const known = new Set(memory.fps);
  const aggs = unitAggs(u);
  const newLine = aggs.some((g) => g.other.count > 0 || [...g.variants.keys()].some((fp) => !known.has(fp)));
  if (newLine || SEVERITY_RANK[s.severity] > SEVERITY_RANK[memory.sev]) return { at: afterInterval, why: 'changed' };
  if (s.count >= REPEAT_VOLUME_NEWS) return { at: afterInterval, why: 'volume' };
  if (memory.n >= REPEAT_VOLUME_NEWS) return { at: Math.max(memory.at + def.groupIntervalMs, s.last + def.groupIntervalMs), why: 'tail' };
  return { at: Math.max(afterWait, memory.at + Math.max(def.groupIntervalMs, def.repeatIntervalMs)), why: 'repeat' };
}

/** Memory of a unit after it spoke at `now` (fingerprints merged, newest kept). */
export function rememberUnit(u: Unit, previous: GroupMemory | undefined, now: number): GroupMemory {
  const s = unitStats(u);
  const fresh = unitAggs(u).flatMap((g) => [...g.variants.keys()]);
  const fps = [...new Set([...fresh, ...(previous?.fps ?? [])])].slice(0, MAX_REMEMBERED_FPS);
  return { at: now, fps, n: s.count, sev: s.severity };
}

/** Memories nobody needs any more: older than twice the longest wait that could consult them. */
export function pruneMemory(memory: Map<string, GroupMemory & { type?: AlertType }>, now: number, typeOfKey: (key: string) => AlertType | undefined): void {
  for (const [key, m] of memory) {
    const t = typeOfKey(key);
    const def = t ? alertDef(t) : undefined;
    const keep = def ? 2 * Math.max(def.groupIntervalMs, def.repeatIntervalMs, 60_000) : 24 * 3600_000;
    if (now - m.at > keep) memory.delete(key);
  }
}

// === Planning one message

export interface PlanInput {
  readonly now: number;
  readonly units: readonly Unit[];
  readonly memory: ReadonlyMap<string, GroupMemory>;
  /** may a message with non-critical content be composed now (budget slot free, none queued)? */
  readonly canSendNormal: boolean;
  /** may a CRITICAL-only message be composed now? */
  readonly canSendCritical: boolean;
  /** short reference printed in the message (its outbox id) */
  readonly ref: string;
  readonly render?: RenderOptions;
}

export interface MessagePlan {
  readonly html: string;
  readonly severity: Severity;
  /** the units that speak in it */
  readonly units: readonly Unit[];
  /** group keys whose pending alerts it takes (hosts and folded) */
  readonly groupKeys: readonly string[];
  /** how many alerts it accounts for */
  readonly alertCount: number;
}

export interface PlanResult {
  readonly plan: MessagePlan | undefined;
  /** earliest time a unit that is not ready yet becomes ready (null: none waiting) */
  readonly nextReadyAt: number | null;
  /** units ready now (whether or not they fit / may send) */
  readonly readyCount: number;
}

/** Order in which ready units claim space in a message: CRITICAL first, then oldest. */
export function byUrgency(a: Unit, b: Unit): number {
  const sa = unitStats(a);
  const sb = unitStats(b);
  return SEVERITY_RANK[sb.severity] - SEVERITY_RANK[sa.severity] || sa.first - sb.first || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** Sections for one unit: the host with its folded groups, or each folded group alone. */
export function unitSections(u: Unit, why: ReadyWhy): Section[] {
  const variantsOf = (g: GroupAgg) => [...g.variants.values()].sort((a, b) => b.count - a.count || a.first - b.first);
  const base = (g: GroupAgg): Section => {
    const def = alertDef(g.type);
    return {
      type: g.type,
      severity: g.severity,
      title: def.title,
      runbook: alertRunbook(g.type, g.sample.payload),
      count: g.count,
      first: g.first,
      last: g.last,
      variants: variantsOf(g),
      other: { ...g.other },
      sample: g.count === 1 ? g.sample : undefined,
      why,
      folded: [],
      foldedInto: undefined,
    };
  };
  if (u.host) {
    const s = base(u.host);
    return [{ ...s, folded: u.folded.map(base) }];
  }
  const hostDef = alertDef(u.hostType);
  return u.folded.map((g) => ({ ...base(g), foldedInto: { title: hostDef.title, since: u.inhibitor?.at ?? g.first } }));
}

/**
 * Decide whether a message goes out now and what it says: the ready units that may send,
 * most urgent first, as many as fit under the text limit (the rest stay pending and go
 * in the next message). Pure.
 */
export function planMessage(input: PlanInput): PlanResult {
  const ready: { u: Unit; r: Readiness }[] = [];
  let nextReadyAt: number | null = null;
  for (const u of input.units) {
    const r = readiness(u, input.memory.get(u.key));
    if (r.at <= input.now) ready.push({ u, r });
    else nextReadyAt = nextReadyAt === null ? r.at : Math.min(nextReadyAt, r.at);
  }
  ready.sort((a, b) => byUrgency(a.u, b.u));
  const allowed = input.canSendNormal ? ready : input.canSendCritical ? ready.filter((x) => unitStats(x.u).severity === 'CRITICAL') : [];
  if (!allowed.length) return { plan: undefined, nextReadyAt, readyCount: ready.length };

  const sectionsPerUnit = allowed.map((x) => unitSections(x.u, x.r.why));
  const rendered = renderMessage(sectionsPerUnit, { ...input.render, ref: input.ref });
  const units = allowed.slice(0, rendered.unitsIncluded).map((x) => x.u);
  const aggs = units.flatMap(unitAggs);
  return {
    plan: {
      html: rendered.html,
      severity: units.map((u) => unitStats(u).severity).reduce(maxSeverity, 'INFO' as Severity),
      units,
      groupKeys: aggs.map((g) => g.groupKey),
      alertCount: aggs.reduce((s, g) => s + g.count, 0),
    },
    nextReadyAt,
    readyCount: ready.length,
  };
}

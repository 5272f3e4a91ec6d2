/**
 * Alert message text (Telegram HTML). Pure. Every dynamic value is clipped, then escaped;
 * the result is measured after HTML parsing (like Telegram) and kept under the limit by
 * dropping detail, never by cutting markup.
 *
 * One alert:
 *   🔴 <b>CRITICAL · Order stalled (no broker acknowledgement)</b>
 *   BUY 1 MES: no broker acknowledgement for 61 s. Not retried; check the broker.
 *   intent: in_7f3k
 *   at 10:03:12 EST
 *   Runbook: RB-003 — /runbook RB-003
 *
 * A digest section:
 *   🟠 <b>WARNING · Order rejected by broker</b> ×37
 *   in 59 s: first 10:03:01, last 10:04:00 EST
 *   • ×30 BUY 1 MES rejected by broker: margin. Not retried.
 *   • ×7 SELL 2 MES rejected by broker: margin. Not retried.
 *   ↳ <b>Order stalled</b> ×3 folded in (RB-003)
 *   Runbook: RB-010 — /runbook RB-010
 *
 * Several sections share a message under "<b>Phoenix alerts</b> · 3 groups · 2,345 alerts";
 * every message ends with its outbox reference, so a copy re-sent after an ambiguous
 * timeout is recognisably the same message.
 */
import { alertDetails, alertLine, clockTimeSec, type AlertPayload, type AlertType, type Severity } from '../engine/index.js';
import { clip, escapeHtml as esc, visibleLength, visibleText } from './html.js';

/** Telegram's limit, characters after entity parsing. */
export const TELEGRAM_TEXT_MAX = 4096;

export interface RenderOptions {
  /** IANA zone for times: the constitution's (default America/New_York, the exchange's); shown with its abbreviation ("EST") */
  readonly timeZone?: string;
  /** visible characters allowed (default 4000: headroom under 4096) */
  readonly maxLength?: number;
  /** most frequent distinct lines shown per section (default 3) */
  readonly variantsShown?: number;
  /** message reference printed at the bottom */
  readonly ref?: string;
}

export interface SectionVariant {
  readonly line: string;
  readonly count: number;
  readonly first: number;
  readonly last: number;
}

export interface Section {
  readonly type: AlertType;
  readonly severity: Severity;
  readonly title: string;
  readonly runbook: string;
  readonly count: number;
  readonly first: number;
  readonly last: number;
  /** distinct lines, most frequent first */
  readonly variants: readonly SectionVariant[];
  /** alerts not in `variants` */
  readonly other: { readonly count: number };
  /** the single alert, when count is 1 */
  readonly sample: { readonly type: AlertType; readonly at: number; readonly payload: AlertPayload } | undefined;
  readonly why: 'new' | 'changed' | 'volume' | 'tail' | 'repeat';
  /** inhibited groups folded into this one */
  readonly folded: readonly Section[];
  /** this group is folded into an active inhibitor that has nothing new of its own */
  readonly foldedInto: { readonly title: string; readonly since: number } | undefined;
}

export const SEVERITY_ICON: Record<Severity, string> = { CRITICAL: '🔴', WARNING: '🟠', INFO: '🔵' };

const LINE_MAX = 200;
const SUMMARY_MAX = 1000;
const DETAILS_MAX = 8;

const fmtN = (n: number): string => n.toLocaleString('en-US');


function spanText(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  return `${(m / 60).toFixed(1)} h`;
}

const WHY_NOTE: Record<Section['why'], string> = {
  new: '',
  changed: '',
  volume: ' · still happening',
  tail: ' · storm over, final tally',
  repeat: ' · repeat: nothing new',
};

type Detail = 'full' | 'compact' | 'minimal';

interface Ctx {
  /** "10:03:12 EST": THE people formatter (src/engine/people-time.ts) */
  readonly at: (ms: number) => string;
  /** "10:03:12": the first time of a span, whose zone the last one names */
  readonly t: (ms: number) => string;
  readonly variantsShown: number;
}

const runbookLine = (rb: string): string => `Runbook: ${esc(rb)} — /runbook ${esc(rb)}`;

function header(s: Section): string {
  return `${SEVERITY_ICON[s.severity]} <b>${s.severity} · ${esc(s.title)}</b>${s.count === 1 ? '' : ` ×${fmtN(s.count)}`}`;
}

function foldedLine(f: Section): string {
  return `↳ <b>${esc(f.title)}</b>${f.count === 1 ? '' : ` ×${fmtN(f.count)}`} folded in (${esc(f.runbook)}): ${esc(clip(f.variants[0]?.line ?? '', LINE_MAX / 2))}`;
}

function renderSection(s: Section, d: Detail, c: Ctx): string {
  const lines = [header(s)];
  if (s.foldedInto) lines.push(`<i>folded into “${esc(s.foldedInto.title)}” (active since ${c.at(s.foldedInto.since)})</i>`);
  if (s.count === 1 && s.sample) {
    if (d !== 'minimal') {
      lines.push(esc(clip(alertLine(s.sample.type, s.sample.payload), d === 'full' ? SUMMARY_MAX : LINE_MAX)));
      if (d === 'full') for (const x of alertDetails(s.sample.type, s.sample.payload).slice(0, DETAILS_MAX)) lines.push(esc(clip(x, LINE_MAX)));
    }
    lines.push(`at ${c.at(s.sample.at)}${WHY_NOTE[s.why]}`);
  } else {
    lines.push(`in ${spanText(s.last - s.first)}: first ${c.t(s.first)}, last ${c.at(s.last)}${WHY_NOTE[s.why]}`);
    if (d === 'full') {
      const shown = s.variants.slice(0, c.variantsShown);
      for (const v of shown) lines.push(`• ${v.count === 1 ? '' : `×${fmtN(v.count)} `}${esc(clip(v.line, LINE_MAX))}`);
      const restKinds = s.variants.length - shown.length + (s.other.count > 0 ? 1 : 0);
      const restCount = s.variants.slice(shown.length).reduce((n, v) => n + v.count, 0) + s.other.count;
      if (restCount > 0) lines.push(`• … ${restKinds > 1 || s.other.count > 0 ? 'more kinds' : '1 more kind'}: ${fmtN(restCount)} alert${restCount === 1 ? '' : 's'}`);
    } else if (d === 'compact' && s.variants[0]) {
      lines.push(`• ${esc(clip(s.variants[0].line, LINE_MAX / 2))}`);
    }
  }
  for (const f of s.folded) lines.push(foldedLine(f));
  lines.push(runbookLine(s.runbook));
  return lines.join('\n');
}

export interface RenderedMessage {
  readonly html: string;
  /** how many leading units (section groups) made it into the message */
  readonly unitsIncluded: number;
  readonly alertCount: number;
}

const sectionTotal = (s: Section): number => s.count + s.folded.reduce((n, f) => n + f.count, 0);

/**
 * Pack units (each a list of sections that must travel together) into one message, in the
 * order given, as many as fit: full detail while there is room, then compact, then
 * minimal. The first unit is always included (minimal form always fits).
 */
export function renderMessage(units: readonly (readonly Section[])[], opts: RenderOptions = {}): RenderedMessage {
  const timeZone = opts.timeZone ?? 'America/New_York';
  const at = (ms: number) => clockTimeSec(ms, timeZone);
  const c: Ctx = {
    at,
    // the first time of a span without its zone: the last one names it
    t: (ms) => at(ms).replace(/ \S+$/, ''),
    variantsShown: opts.variantsShown ?? 3,
  };
  const max = Math.min(opts.maxLength ?? 4000, TELEGRAM_TEXT_MAX);
  const footer = opts.ref ? `<i>ref ${esc(opts.ref)}</i>` : '';
  const assemble = (bodies: string[], sections: number, alerts: number): string => {
    const head = sections > 1 ? [`<b>Phoenix alerts</b> · ${sections} groups · ${fmtN(alerts)} alerts`] : [];
    return [...head, ...bodies, ...(footer ? [footer] : [])].join('\n\n');
  };
  const bodies: string[] = [];
  let sections = 0;
  let alerts = 0;
  let included = 0;
  for (const unit of units) {
    let added = false;
    for (const d of ['full', 'compact', 'minimal'] as const) {
      const parts = unit.map((s) => renderSection(s, d, c));
      const n = alerts + unit.reduce((x, s) => x + sectionTotal(s), 0);
      const html = assemble([...bodies, ...parts], sections + unit.length, n);
      if (visibleLength(html) <= max || (included === 0 && d === 'minimal')) {
        bodies.push(...parts);
        sections += unit.length;
        alerts = n;
        added = true;
        break;
      }
    }
    if (!added) break;
    included += 1;
  }
  let html = assemble(bodies, sections, alerts);
  if (visibleLength(html) > max) html = clipHtmlSafely(html, max);
  return { html, unitsIncluded: included, alertCount: alerts };
}

/** Last resort for a single oversized unit: plain text, escaped, clipped (still counts right). */
function clipHtmlSafely(html: string, max: number): string {
  const text = visibleText(html);
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > max - 1) break;
    out += ch;
  }
  return esc(`${out}…`);
}

/**
 * How many alerts a message says it carries: every section header and folded line counts
 * its ×N (1 without). Used by the tests and the bench to check accounting from what the
 * chat actually shows.
 */
export function countAlertsInText(text: string): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if (!/^(🔴|🟠|🔵) (CRITICAL|WARNING|INFO) · /.test(line) && !line.startsWith('↳ ')) continue;
    const head = line.startsWith('↳ ') ? line.slice(0, line.indexOf(' folded in ') + 1 || line.length) : line;
    const m = / ×([\d,]+)/.exec(head);
    n += m ? Number((m[1] ?? '1').replace(/,/g, '')) : 1;
  }
  return n;
}

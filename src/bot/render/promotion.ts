/**
 * Strategy promotion on Telegram (SPEC 11): the PROMOTION card (the evidence bundle at a
 * glance, APPROVE / PASS while open, the outcome edited in place), the /promote refusal
 * listing every missing item, and the /strategies list. Pure: engine read models in, HTML
 * and an inline keyboard out, always within Telegram's limits.
 *
 * The buttons use the same opaque callback data as trade cards (`v1:a:<cardId>`,
 * `v1:p:<cardId>`); the bot routes a tap by the card's kind, looked up server-side.
 */
import {
  clockTime,
  dateClockTime,
  dur,
  usd,
  type MissingItem,
  type PromotionBundle,
  type PromotionDecisionRecord,
  type PromotionView,
  type StrategyView,
} from '../../engine/index.js';
import { b, blank, clean, code, i, line, lineText, renderFitted, SAFE_TEXT_LIMIT, withDrop, type Line } from '../html.js';
import { encodeCallback, type CallbackAction } from '../callback-data.js';
import type { Rendered } from './card.js';
import { modeBanner, plural } from './format.js';

/** True while the card may still be decided (and so carries APPROVE / PASS). */
export const promotionCardOpen = (v: PromotionView): boolean => v.card.status === 'OPEN' && v.promotion.decision === null;

/** `sha256:1a2b3c4d5e6f` — enough to compare with the audit export by eye. */
export const hashPrefix = (hash: string): string => {
  const m = /^sha256:([0-9a-f]+)$/.exec(hash);
  return m ? `sha256:${(m[1] ?? '').slice(0, 12)}` : clean(hash).slice(0, 19);
};

// (card.ts routes PROMOTION cards here; no runtime import back, so no module cycle)
const button = (text: string, action: CallbackAction, id: string) => ({ text, callback_data: encodeCallback(action, id) });
const NO_BUTTONS = { inline_keyboard: [] };

const isoMs = (iso: string): number => Date.parse(iso);
const name = (v: PromotionView): string => clean(v.promotion.strategy);

export function renderPromotionCard(v: PromotionView): Rendered {
  const open = promotionCardOpen(v);
  const p = v.promotion;
  const lines: Line[] = [
    line(...modeBanner(v.mode, v.demo)),
    { ...line('🎓 ', b('PROMOTION'), ' ', code(name(v)), ': ', b('SHADOW → LIVE')), maxChars: 140 },
    withDrop(line(`Requested by ${clean(p.requestedBy.name)} at ${clockTime(p.requestedAt, v.timeZone)} · shadow since ${dateClockTime(isoMs(p.bundle.shadowSince), v.timeZone)}`), 3, 200),
    ...outcomeLines(v),
    blank,
    ...evidenceLines(p.bundle),
    ...safetyLines(p.bundle),
  ];
  if (open) {
    lines.push(stageLine(v));
    const left = v.card.expiresAt - v.now;
    lines.push(line('⏳ ', left > 0 ? b(`Valid for ${dur(left)}`) : b('Expiring now'), ` — until ${clockTime(v.card.expiresAt, v.timeZone)}; approvers decide.`));
  }
  lines.push(withDrop(line(i(`bundle ${hashPrefix(p.bundleHash)} · card ${v.card.id} · ${p.id}`)), 0));
  const keyboard = open ? { inline_keyboard: [[button('✅ APPROVE', 'approve', v.card.id), button('❌ PASS', 'pass', v.card.id)]] } : NO_BUTTONS;
  return { html: renderFitted(lines), keyboard };
}

const tick = (ok: boolean): string => (ok ? ' ✅' : ' ❌');

/** The evidence bundle, one fact per line. */
export function evidenceLines(bundle: PromotionBundle): Line[] {
  const ev = bundle.evidence;
  const req = bundle.requirements;
  const regimes = Object.entries(ev.regimes);
  const regimesOk = regimes.length >= req.minDistinctRegimes && req.requiredRegimes.every((r) => r in ev.regimes);
  const kills = Object.entries(ev.wouldHaveBeenKills.byCode);
  const t = ev.trades;
  const out: Line[] = [
    // what the record is made of (MONEY-7): only would-have-been-proposed intents are evidence
    line(
      'Record: ',
      b(plural(ev.intents, 'shadow intent')),
      ' — ',
      b(`${ev.wouldHaveBeenProposed} would have been proposed`),
      ' · ',
      b(`${ev.wouldHaveBeenKills.total} blocked`),
      ' by a gate (not evidence) · ',
      b(plural(t.simulated, 'simulated trade')),
      // bundles stored before MONEY-7 carry no minimum
      req.minSimulatedTrades === undefined ? '' : ` (min ${req.minSimulatedTrades})${tick(t.simulated >= req.minSimulatedTrades)}`,
    ),
    line(
      'Sessions observed: ',
      b(String(ev.sessionsObserved)),
      ` (min ${req.minSessions})${tick(ev.sessionsObserved >= req.minSessions)}`,
      ev.firstSession && ev.lastSession ? ` · ${ev.firstSession} → ${ev.lastSession}` : '',
      ev.sessionsBlockedOnly ? ` · ${plural(ev.sessionsBlockedOnly, 'more day')} with only blocked intents (not counted)` : '',
    ),
    { ...line('Regimes seen: ', b(regimes.length ? regimes.map(([k, n]) => `${clean(k)} ${n}`).join(' · ') : 'none'), ` (need ${req.requiredRegimes.map(clean).join(' + ')})${tick(regimesOk)}`, ev.untaggedIntents ? ` · ${ev.untaggedIntents} untagged` : ''), maxChars: 300 },
    line('Shadow trades: ', b(`${t.resolved} resolved`), ` (${plural(t.wins, 'win')} · ${plural(t.losses, 'loss', 'losses')}) · `, b(`${t.unknown} unknown`), ` · of ${t.simulated} simulated`),
    line('P&L (resolved): ', b(usd(ev.totalPnlCents)), ` · ${ev.totalR.toFixed(2)}R`),
    line('Max drawdown: ', b(usd(-ev.maxDrawdown.cents)), ` (${(-ev.maxDrawdown.r).toFixed(2)}R) · Worst day: `, ev.worstDay ? b(usd(ev.worstDay.pnlCents)) : b('n/a'), ev.worstDay ? ` on ${ev.worstDay.day}` : ''),
    line('Sharpe: ', b(ev.sharpe === null ? 'n/a' : ev.sharpe.toFixed(2)), ev.sharpe === null ? ' (needs 2+ sessions with varying P&L)' : ' (daily, annualised; recorded, no minimum)'),
    { ...line('Would-have-been kills: ', b(String(ev.wouldHaveBeenKills.total)), ` of ${ev.intents} intents`, kills.length ? ` — ${kills.map(([c, n]) => `${clean(c)} ${n}`).join(' · ')}` : ''), maxChars: 400 },
    line(
      'Override rate: ',
      b(ev.override.rate === null ? 'n/a' : `${Number((ev.override.rate * 100).toFixed(1))}%`),
      ev.override.rate === null ? ' (nothing would have been carded)' : ` (${ev.override.count} of ${ev.override.of} would-be cards had a failed red check)`,
    ),
    withDrop(line(i('Simulated: filled at the intent price; exit at stop/target when a later same-day intent crossed it, else unknown (not in P&L).')), 1),
  ];
  return out;
}

function safetyLines(bundle: PromotionBundle): Line[] {
  const k = bundle.safety.activeKillFlags;
  const d = bundle.safety.unresolvedDrifts;
  return [line('Safety at request: kill flags ', b(k.length ? String(k.length) : 'none'), ' · unresolved drifts ', b(d.length ? String(d.length) : 'none'), tick(!k.length && !d.length))];
}

function stageLine(v: PromotionView): Line {
  const mode = v.mode === 'live' ? 'LIVE — REAL MONEY' : v.mode === 'paper' ? 'PAPER' : 'OBSERVE (no orders)';
  return line('Stage ', b(v.strategy.stage), ' now; APPROVE makes it ', b('LIVE'), ': its intents get APPROVE / PASS trade cards · mode ', b(mode));
}

function outcomeLines(v: PromotionView): Line[] {
  const d: PromotionDecisionRecord | null = v.promotion.decision;
  const n = name(v);
  const out: Line[] = [];
  const at = (ms: number | null | undefined) => clockTime(ms, v.timeZone);
  const since = (ms: number | null | undefined) => dateClockTime(ms, v.timeZone);
  if (!d) {
    if (v.card.status === 'EXPIRED') out.push(line('⌛ ', b('EXPIRED'), ` at ${at(v.card.expiresAt)} without a decision — ${n} stays SHADOW. Send /promote ${n} again.`));
    else if (v.card.status !== 'OPEN') out.push(line(`✖ Card closed (${v.card.status}).`));
    return out.map((l) => ({ ...l, maxChars: 400 }));
  }
  const by = clean(d.by ?? v.card.decidedBy ?? 'someone');
  switch (d.event) {
    case 'APPROVED': {
      out.push(line('✅ ', b('PROMOTED'), ` by ${by} at ${at(d.at)}`));
      const s = v.strategy;
      if (s.stage === 'LIVE') out.push(line('🟢 ', b('LIVE'), ` since ${s.since === null ? '—' : since(s.since)} — its next intents get trade cards.`));
      else out.push(line('🌘 Now ', b(s.stage), s.since !== null ? ` again since ${since(s.since)}` : '', s.changedBy ? ` (by ${clean(s.changedBy)})` : '', '.'));
      break;
    }
    case 'PASSED':
      out.push(line('❌ ', b('PASSED'), ` by ${by} at ${at(d.at)} — ${n} stays SHADOW.`));
      break;
    case 'EXPIRED':
      out.push(line('⌛ ', b('EXPIRED'), ` at ${at(v.card.expiresAt)} without a decision — ${n} stays SHADOW. Send /promote ${n} again.`));
      break;
    case 'WITHDRAWN':
      out.push(line('✖ ', b('WITHDRAWN'), ` by ${by} at ${at(d.at)}${d.reason ? `: ${clean(d.reason)}` : ''} — ${n} stays SHADOW.`));
      break;
    case 'REFUSED': {
      const items = v.blockedBy.length ? v.blockedBy : d.reason ? [d.reason] : [];
      out.push(line('⛔ ', b('BLOCKED'), ` at approval (tapped by ${by} at ${at(d.at)}) — ${n} stays SHADOW. ${plural(items.length, 'item')} missing:`));
      for (const m of items) out.push(withDrop(line(' • ', clean(m)), 2, 300));
      break;
    }
  }
  return out.map((l) => (l.maxChars === undefined ? { ...l, maxChars: 400 } : l));
}

// === /promote refused

/**
 * The reply to a refused /promote: EVERY missing item, one line each. When they cannot all
 * fit one message (hundreds of unresolved drifts), items of the same kind beyond the first
 * few are folded into one counted line pointing at where the rest are listed.
 */
export function renderPromotionRefusal(strategy: string, missing: readonly MissingItem[], bundle: PromotionBundle | null): string {
  const head: Line[] = [{ ...line('⛔ ', b('Promotion refused'), ` — ${plural(missing.length, 'item')} missing for `, code(clean(strategy)), ':'), maxChars: 200 }];
  const tail: Line[] = [];
  if (bundle) {
    const ev = bundle.evidence;
    tail.push(
      blank,
      withDrop(
        line(
          i(
            `So far: ${plural(ev.sessionsObserved, 'session')} since ${bundle.shadowSince.slice(0, 10)} · regimes ${Object.keys(ev.regimes).map(clean).join(', ') || 'none'} · ${plural(ev.intents, 'shadow intent')}: ${ev.wouldHaveBeenProposed} would have been proposed, ${ev.wouldHaveBeenKills.total} blocked · ${plural(ev.trades.simulated, 'simulated trade')}`,
          ),
        ),
        1,
        300,
      ),
    );
  }
  tail.push(line(i('Nothing was requested. The refusal is in the audit log (PROMOTION REFUSED).')));
  const budget = SAFE_TEXT_LIMIT - [...head, ...tail].reduce((n, l) => n + lineText(l).length + 1, 0);
  return renderFitted([...head, ...missingLines(missing, budget), ...tail]);
}

const WHERE: Partial<Record<MissingItem['code'], string>> = { DRIFT_UNRESOLVED: '/drift lists them', KILL_FLAG_ACTIVE: '/status lists them' };

export function missingLines(missing: readonly MissingItem[], budget: number = SAFE_TEXT_LIMIT): Line[] {
  const item = (m: MissingItem): Line => ({ ...line(' • ', clean(m.message)), maxChars: 300 });
  const size = (ls: readonly Line[]) => ls.reduce((n, l) => n + Math.min(lineText(l).length, l.maxChars ?? Infinity) + 1, 0);
  const all = missing.map(item);
  if (size(all) <= budget) return all;
  for (const keep of [10, 5, 2, 1]) {
    const seen = new Map<string, number>();
    for (const m of missing) seen.set(m.code, (seen.get(m.code) ?? 0) + 1);
    const shown = new Map<string, number>();
    const out: Line[] = [];
    for (const m of missing) {
      const k = shown.get(m.code) ?? 0;
      shown.set(m.code, k + 1);
      if (k < keep) out.push(item(m));
      else if (k === keep) {
        const rest = (seen.get(m.code) ?? 0) - keep;
        out.push(line(' • ', b(`… and ${rest} more ${m.code}`), WHERE[m.code] ? ` (${WHERE[m.code]})` : ''));
      }
    }
    if (size(out) <= budget || keep === 1) return out;
  }
  return all;
}

// === /strategies

export function renderStrategies(list: readonly StrategyView[], tz = 'America/New_York'): string {
  const lines: Line[] = [line(b('Strategies'), ` (${list.length} registered)`)];
  if (!list.length) lines.push(line('None registered yet.'));
  const sorted = [...list].sort((a, b2) => (a.stage === b2.stage ? a.name.localeCompare(b2.name) : a.stage === 'LIVE' ? -1 : 1));
  for (const s of sorted.slice(0, 50)) {
    lines.push(
      withDrop(
        line(s.stage === 'LIVE' ? '🟢 ' : '🌘 ', code(clean(s.name)), ' — ', b(s.stage), s.since !== null ? ` since ${dateClockTime(s.since, tz)}` : '', s.changedBy ? ` (by ${clean(s.changedBy)})` : ''),
        1,
        200,
      ),
    );
  }
  if (sorted.length > 50) lines.push(line(i(`… and ${sorted.length - 50} more`)));
  lines.push(
    blank,
    line(i('SHADOW: intents are recorded and scored, never carded or sent. LIVE: intents get APPROVE / PASS cards. A strategy never registered runs LIVE.')),
    line(i('/promote NAME asks for LIVE (evidence + an approver tap); /demote NAME puts any strategy in SHADOW at once (admin).')),
  );
  return renderFitted(lines);
}

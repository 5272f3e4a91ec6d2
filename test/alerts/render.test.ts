/** Rendering: escaping, the 4096 limit measured like Telegram, the count a message states. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildUnits, foldAlert, planMessage, unitSections, type GroupAgg, type PendingAlert } from '../../src/alerts/aggregate.js';
import { clip, escapeHtml, visibleLength } from '../../src/alerts/html.js';
import { countAlertsInText, renderMessage, TELEGRAM_TEXT_MAX } from '../../src/alerts/render.js';
import { ALERT_TYPE_NAMES, alertDef, groupKeyOf, type AlertPayload, type AlertType } from '../../src/engine/alerts.table.js';
import { parseHtml } from '../../src/sandbox/html-limits.js';

const T0 = Date.parse('2026-11-24T15:00:00Z');
let rid = 0;
function alert(type: AlertType, payload: AlertPayload, at = T0): PendingAlert {
  return { rid: ++rid, id: `a${rid}`, type, severity: alertDef(type).severity, groupKey: groupKeyOf({ type, payload, at }), at, payload };
}
function groupsOf(alerts: PendingAlert[]): Map<string, GroupAgg> {
  const g = new Map<string, GroupAgg>();
  for (const a of alerts) foldAlert(g, a);
  return g;
}
/** Telegram's own view of the HTML (the sandbox parser follows tdlib). */
function telegramText(html: string): string {
  const r = parseHtml(html);
  if (!r.ok) throw new Error(`Telegram would refuse: ${r.error}\n${html}`);
  return r.text;
}

describe('alert rendering', () => {
  it('a single alert: severity, title, summary, facts, time and the runbook line; dynamic values escaped', () => {
    const g = groupsOf([alert('ORDER_REJECTED', { summary: 'BUY 1 <MES> rejected: margin & "cash"', intentId: 'in_1', facts: { leg: 'entry<1>' } })]);
    const [u] = buildUnits(g.values(), new Map());
    const { html } = renderMessage([unitSections(u!, 'new')], { ref: 'am_x' });
    expect(html).toContain('🟠 <b>WARNING · Order rejected by broker</b>');
    expect(html).toContain('BUY 1 &lt;MES&gt; rejected: margin &amp; "cash"');
    expect(html).toContain('leg: entry&lt;1&gt;');
    expect(html).toContain('at 10:00:00 EST'); // SPEC 12: the constitution's zone with its abbreviation
    expect(html).toContain('Runbook: RB-010 — /runbook RB-010');
    expect(telegramText(html)).toContain('BUY 1 <MES> rejected: margin & "cash"');
    expect(countAlertsInText(telegramText(html))).toBe(1);
  });

  it('a digest: ×count, first/last, the most frequent lines with counts, the rest summarised', () => {
    const alerts: PendingAlert[] = [];
    for (let i = 0; i < 37; i++) alerts.push(alert('ORDER_REJECTED', { summary: `SELL 1 ${['MES', 'ES', 'NQ', 'CL', 'GC'][i % 5]} rejected: margin` }, T0 + i * 1000));
    const [u] = buildUnits(groupsOf(alerts).values(), new Map());
    const { html } = renderMessage([unitSections(u!, 'new')]);
    const text = telegramText(html);
    expect(text).toContain('🟠 WARNING · Order rejected by broker ×37');
    expect(text).toContain('in 36 s: first 10:00:00, last 10:00:36 EST');
    expect(text).toContain('• ×8 SELL 1 MES rejected: margin');
    expect(text).toContain('• … more kinds: 14 alerts');
    expect(text).toContain('Runbook: RB-010 — /runbook RB-010');
    expect(countAlertsInText(text)).toBe(37);
  });

  it('every alert type renders with its runbook id, alone and in a digest', () => {
    for (const type of ALERT_TYPE_NAMES) {
      const one = groupsOf([alert(type, { summary: `s ${type}` })]);
      const many = groupsOf([alert(type, { summary: 'x' }), alert(type, { summary: 'y' })]);
      for (const g of [one, many]) {
        const units = buildUnits(g.values(), new Map());
        const { html } = renderMessage(units.map((u) => unitSections(u, 'new')));
        const rb = alertDef(type).runbook;
        expect(html, type).toContain(`Runbook: ${rb} — /runbook ${rb}`);
        expect(countAlertsInText(telegramText(html)), type).toBe(g === one ? 1 : 2);
      }
    }
  });

  it('property: any payloads, any number of groups → valid HTML, ≤ 4096 after parsing, visibleLength agrees with Telegram, counts add up', () => {
    const str = fc.string({ unit: fc.constantFrom('a', 'Z', '<', '>', '&', '"', ' ', '\n', 'é', '😀', '×', '•', ';', '#', '1'), maxLength: 3000 });
    fc.assert(
      fc.property(
        fc.array(fc.record({ type: fc.constantFrom(...ALERT_TYPE_NAMES), summary: str, fact: str, n: fc.integer({ min: 1, max: 40 }) }), { minLength: 1, maxLength: 30 }),
        (specs) => {
          const alerts: PendingAlert[] = [];
          specs.forEach((s, i) => {
            for (let k = 0; k < s.n; k++) alerts.push(alert(s.type, { summary: `${s.summary}${k % 3}`, facts: { code: `c${i}`, f: s.fact } }, T0 + k));
          });
          const units = buildUnits(groupsOf(alerts).values(), new Map());
          const { plan } = planMessage({ now: T0 + 3_600_000, units, memory: new Map(), canSendNormal: true, canSendCritical: true, ref: 'am_prop' });
          expect(plan).toBeDefined();
          const text = telegramText(plan!.html);
          expect(text.length).toBeLessThanOrEqual(TELEGRAM_TEXT_MAX);
          expect(visibleLength(plan!.html)).toBe(text.length);
          expect(countAlertsInText(text)).toBe(plan!.alertCount);
          expect(text).toMatch(/Runbook: RB-\d{3} — \/runbook RB-\d{3}/);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('many groups: as many as fit go in one message, the rest wait (nothing is cut mid-section)', () => {
    const alerts: PendingAlert[] = [];
    for (let i = 0; i < 120; i++) alerts.push(alert('INTENT_BLOCKED', { summary: `blocked ${'x'.repeat(150)} ${i}`, facts: { code: `GATE_${i}` } }));
    const units = buildUnits(groupsOf(alerts).values(), new Map());
    const { plan } = planMessage({ now: T0 + 60_000, units, memory: new Map(), canSendNormal: true, canSendCritical: true, ref: 'am_many' });
    expect(plan!.units.length).toBeGreaterThan(5);
    expect(plan!.units.length).toBeLessThan(120);
    const text = telegramText(plan!.html);
    expect(text.length).toBeLessThanOrEqual(4000);
    expect(text).toContain(`Phoenix alerts · ${plan!.units.length} groups · ${plan!.alertCount} alerts`);
    expect(countAlertsInText(text)).toBe(plan!.units.length);
  });

  it('clip never splits a surrogate pair and escapeHtml covers & < >', () => {
    expect(clip('😀😀😀', 4)).toBe('😀…');
    expect(clip('a\n\nb', 10)).toBe('a b');
    expect(escapeHtml('<a href="x">&amp;</a>')).toBe('&lt;a href="x"&gt;&amp;amp;&lt;/a&gt;');
  });
});

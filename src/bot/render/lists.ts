/**
 * Replies to the read-only commands: /status, /positions, /orders, /pending, /drift. Pure
 * functions of engine read models; compact, one line per item, trimmed to one message.
 */
import type { InlineKeyboardButton } from 'grammy/types';
import type { DriftRecord } from '../../engine/store.port.js';
import type { IntentRecord } from '../../engine/domain.js';
import type { PendingRow, WorkingOrderRow } from '../../engine/queries.usecase.js';
import type { StatusSnapshot } from '../../engine/status.usecase.js';
import { b, blank, clean, code, i, line, renderFitted, withDrop, type Line } from '../html.js';
import { button, driftButtons, driftLines, instrumentLabel, type Rendered } from './card.js';
import { ago, dur, modeBanner, px, usd, utc } from './format.js';

const MAX_ITEMS = 25;

function more(total: number, shown: number): Line[] {
  return total > shown ? [line(i(`… and ${total - shown} more`))] : [];
}

export function renderStatus(s: StatusSnapshot): string {
  const br = s.broker;
  const lines: Line[] = [
    line(...modeBanner(s.mode, s.demo), ` · constitution ${clean(s.constitution)}`),
    line(b('Status'), ` at ${utc(s.at)}`),
    line(
      'Broker: ',
      b(`${clean(br.name)} ${br.state}`),
      br.canSubmit ? '' : ' (not submitting)',
      br.account ? ` · account ${clean(br.account.accountId)}` : '',
      br.detail ? ` — ${clean(br.detail).slice(0, 160)}` : '',
    ),
    ...(s.entryHold ? [line('⏸ ', b('Entries held'), `: ${clean(s.entryHold).slice(0, 240)}`)] : []),
    s.kills.length
      ? line('🛑 ', b('KILL ACTIVE'), ': ', s.kills.map((k) => `${k.kind.toLowerCase()} "${clean(k.reason)}" by ${clean(k.setBy)}${k.expiresAt ? ` until ${utc(k.expiresAt)}` : ''}`).join('; '))
      : line('Kill flag: off'),
    line(`Today: P&L ${usd(s.today.realizedPnlCents)} · trades ${s.today.trades} · losses in a row ${s.today.consecutiveLosses}`),
    line(`Open positions/orders: ${s.open.length}`),
    ...s.open.slice(0, 10).map((o) => withDrop(line(`  ${o.state} ${o.side} ${o.filledQty || o.quantity} ${instrumentLabel(o)} `, code(o.id)), 1)),
    ...more(s.open.length, 10),
    line(`Pending cards: ${s.pending.length}`),
    line(`Last heartbeat: ${s.lastHeartbeat ? `${clean(s.lastHeartbeat.status)}, ${ago(s.at, s.lastHeartbeat.at)}` : 'never'}`),
    line(`Last reconciliation: ${ago(s.at, s.lastReconciliation)}`),
    line(
      `Alert outbox: ${s.outbox.backlog} waiting · last Telegram send ${ago(s.at, s.outbox.lastSentAt)}`,
      s.outbox.lastError ? ` · last error: ${clean(s.outbox.lastError).slice(0, 200)}` : '',
    ),
    line(`Unresolved drifts: ${s.unresolvedDrifts.length}`, s.unresolvedDrifts.length ? ' — /drift' : ''),
  ];
  return renderFitted(lines);
}

function positionLine(p: IntentRecord): Line {
  const open = p.filledQty - p.exitQty;
  return line(
    p.side === 'BUY' ? '🟢 ' : '🔻 ',
    b(`${p.side} ${open} ${instrumentLabel(p)}`),
    ` @ ${px(p.avgFillPrice)} · stop ${px(p.stopLoss)} · target ${px(p.takeProfit)} · ${p.state} · ${clean(p.strategy).slice(0, 40)} `,
    code(p.id),
  );
}

export function renderPositions(list: readonly IntentRecord[], now: number): string {
  if (!list.length) return renderFitted([line(b('Positions'), ': none open (Phoenix view).'), line(i(`as of ${utc(now)}`))]);
  const lines: Line[] = [line(b('Positions'), ` (${list.length}, Phoenix view — IBKR is the truth; /drift compares)`)];
  lines.push(...list.slice(0, MAX_ITEMS).map((p) => withDrop(positionLine(p), 1)), ...more(list.length, MAX_ITEMS));
  return renderFitted(lines);
}

export function renderOrders(rows: readonly WorkingOrderRow[]): string {
  if (!rows.length) return renderFitted([line(b('Orders'), ': none working.')]);
  const lines: Line[] = [line(b('Orders'), ` working: ${rows.length}`)];
  for (const r of rows.slice(0, MAX_ITEMS)) {
    const o = r.order;
    const what = r.intent ? `${o.role} ${o.role === 'ENTRY' ? r.intent.side : r.intent.side === 'BUY' ? 'SELL' : 'BUY'} ${o.quantity} ${instrumentLabel(r.intent)}` : `${o.role} ${o.quantity}`;
    const price = r.intent ? (o.role === 'STOP' ? ` @ ${px(r.intent.stopLoss)}` : o.role === 'TARGET' ? ` @ ${px(r.intent.takeProfit)}` : o.role === 'ENTRY' && r.intent.entryPrice !== null ? ` @ ${px(r.intent.entryPrice)}` : ' MKT') : '';
    lines.push(withDrop(line(b(what), price, ` · ${o.status}`, o.filledQty ? ` · filled ${o.filledQty}` : '', o.brokerOrderId ? ` · #${clean(o.brokerOrderId)}` : '', ' ', code(o.intentId)), 1));
  }
  lines.push(...more(rows.length, MAX_ITEMS));
  return renderFitted(lines);
}

export function renderPending(rows: readonly PendingRow[], now: number): string {
  if (!rows.length) return renderFitted([line(b('Pending'), ': no card is waiting for a decision.')]);
  const lines: Line[] = [line(b('Pending'), ` cards: ${rows.length}`)];
  for (const r of rows.slice(0, MAX_ITEMS)) {
    const left = r.card ? r.card.expiresAt - now : r.intent.cardExpiresAt - now;
    lines.push(
      withDrop(
        line(`${r.intent.side} ${r.intent.quantity} ${instrumentLabel(r.intent)} · ${clean(r.intent.strategy).slice(0, 40)} · `, left > 0 ? `expires in ${dur(left)}` : 'expiring', r.card ? ' · card ' : '', r.card ? code(r.card.id) : ''),
        1,
      ),
    );
  }
  lines.push(...more(rows.length, MAX_ITEMS), blank, line(i('Decide on the cards themselves (APPROVE / PASS).')));
  return renderFitted(lines);
}

const MAX_DRIFT_ROWS = 8;

/** /drift: unresolved drifts with resolve buttons (approvers: one row each) and "check now" (everyone). */
export function renderDriftList(drifts: readonly (DriftRecord & { readonly stillPresent?: boolean | null })[], now: number, canResolve: boolean): Rendered {
  const lines: Line[] = [line('🧭 ', b('Unresolved drifts'), `: ${drifts.length}`)];
  if (!drifts.length) lines.push(line('Phoenix and the broker agree (as of the last reconciliation).'));
  const rows: InlineKeyboardButton[][] = [];
  drifts.slice(0, MAX_DRIFT_ROWS).forEach((d, n) => {
    lines.push(blank, ...driftLines(d, now).map((l, k) => (k === 0 ? { ...l, parts: [`${n + 1}. `, ...l.parts] } : l)));
    if (canResolve) {
      const row = driftButtons(d, `${n + 1}: `);
      if (row.length) rows.push(row);
    }
  });
  lines.push(...more(drifts.length, MAX_DRIFT_ROWS));
  if (drifts.length && canResolve) lines.push(blank, line(i('Resolve only after checking IBKR. Phoenix never auto-corrects (RB-002).')));
  rows.push([button('🔄 Check now', 'checkNow', 'now')]);
  return { html: renderFitted(lines), keyboard: { inline_keyboard: rows } };
}

export const plainReply = (text: string): string => renderFitted([line(clean(text))]);

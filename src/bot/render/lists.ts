/**
 * Replies to the read-only commands: /status, /positions, /orders, /pending (/drift: drift.ts).
 * Pure functions of engine read models; compact, one line per item, trimmed to one message.
 * Every time is in the constitution's time zone (`tz`).
 */
import {
  ago,
  clockTime,
  countdown,
  riskCents,
  usd,
  type IntentRecord,
  type PendingRow,
  type StatusSnapshot,
  type WorkingOrderRow,
} from '../../engine/index.js';
import { b, blank, clean, code, i, line, link, renderFitted, withDrop, type Line } from '../html.js';
import { modeBanner, px } from './format.js';
import { instrumentLabel, messageLink } from './parts.js';

export { renderDriftList } from './drift.js';

const MAX_ITEMS = 25;

function more(total: number, shown: number): Line[] {
  return total > shown ? [line(i(`… and ${total - shown} more`))] : [];
}

export function renderStatus(s: StatusSnapshot, tz = 'America/New_York'): string {
  const br = s.broker;
  const lines: Line[] = [
    line(...modeBanner(s.mode, s.demo), ` · constitution ${clean(s.constitution)}`),
    line(b('Status'), ` at ${clockTime(s.at, tz)}`),
    line(
      'Broker: ',
      b(`${clean(br.name)} ${br.state}`),
      br.canSubmit ? '' : ' (not submitting)',
      br.account ? ` · account ${clean(br.account.accountId)}` : '',
      br.detail ? ` — ${clean(br.detail).slice(0, 160)}` : '',
    ),
    ...(s.entryHold ? [line('⏸ ', b('Entries held'), `: ${clean(s.entryHold).slice(0, 240)}`)] : []),
    s.kills.length
      ? line('🛑 ', b('KILL ACTIVE'), ': ', s.kills.map((k) => `${k.kind.toLowerCase()} "${clean(k.reason)}" by ${clean(k.setBy)}${k.expiresAt ? ` until ${clockTime(k.expiresAt, tz)}` : ''}`).join('; '))
      : line('Kill flag: off'),
    line(`Today: P&L ${usd(s.today.realizedPnlCents)} · trades ${s.today.trades} · losses in a row ${s.today.consecutiveLosses}`),
    line(`Open positions/orders: ${s.open.length}`),
    ...s.open.slice(0, 10).map((o) => withDrop(line(`  ${o.state} ${o.side} ${o.filledQty || o.quantity} ${instrumentLabel(o)} `, code(o.id)), 1)),
    ...more(s.open.length, 10),
    line(`Pending cards: ${s.pending.length}`),
    line(`Last heartbeat: ${s.lastHeartbeat ? `${clean(s.lastHeartbeat.status)}, ${ago(s.at, s.lastHeartbeat.at)}` : 'never'}`),
    line(`Last reconciliation: ${s.lastReconciliation === null ? 'never' : `${clockTime(s.lastReconciliation, tz)} (${ago(s.at, s.lastReconciliation)})`}`),
    line(
      `Alert outbox: ${s.outbox.backlog} waiting · last Telegram send ${s.outbox.lastSentAt === null ? 'never' : clockTime(s.outbox.lastSentAt, tz)}`,
      s.outbox.lastError ? ` · last error: ${clean(s.outbox.lastError).slice(0, 200)}` : '',
    ),
    line(`Unresolved drifts: ${s.unresolvedDrifts.length}`, s.unresolvedDrifts.length ? ' — /drift' : ''),
    ...(s.snoozes ?? []).map((z) => line('🔕 Snoozed: ', b(z.type), ` by ${clean(z.by)} until ${clockTime(z.until, tz)} (no sound; CRITICAL still rings)`)),
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

export function renderPositions(list: readonly IntentRecord[], now: number, tz = 'America/New_York'): string {
  if (!list.length) return renderFitted([line(b('Positions'), ': none open (Phoenix view).'), line(i(`as of ${clockTime(now, tz)}`))]);
  const lines: Line[] = [line(b('Positions'), ` (${list.length}, Phoenix view — IBKR is the truth; /drift compares) at ${clockTime(now, tz)}`)];
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

const expiryOf = (r: PendingRow): number => r.card?.expiresAt ?? r.intent.cardExpiresAt;

/** Pending cards, the one expiring first on top, each with a link that opens its card. */
export function pendingInExpiryOrder(rows: readonly PendingRow[]): PendingRow[] {
  return [...rows].sort((a, c) => expiryOf(a) - expiryOf(c) || a.intent.createdAt - c.intent.createdAt);
}

export function renderPending(rows: readonly PendingRow[], now: number, tz = 'America/New_York'): string {
  if (!rows.length) return renderFitted([line(b('Pending'), ': no card is waiting for a decision.')]);
  const lines: Line[] = [line(b('Pending'), ` cards: ${rows.length}, the one expiring first on top`)];
  pendingInExpiryOrder(rows)
    .slice(0, MAX_ITEMS)
    .forEach((r, n) => {
      const intent = r.intent;
      const left = expiryOf(r) - now;
      const risk = riskCents(intent.entryPrice, intent.stopLoss, intent.quantity, intent.instrument.multiplier);
      const href = r.card ? messageLink(r.card.chatId, r.card.messageId) : null;
      lines.push(
        withDrop(
          line(
            `${n + 1}. ${intent.side === 'BUY' ? '🟢' : '🔻'} `,
            b(`${intent.side} ${intent.quantity} ${instrumentLabel(intent)}`),
            risk !== null ? ` · risk ${usd(risk)}` : '',
            ' · ',
            left > 0 ? b(`${countdown(left)} left`) : b('expiring'),
            ` (until ${clockTime(expiryOf(r), tz)}) · ${clean(intent.strategy).slice(0, 40)} · `,
            href ? link(href, '→ open card') : r.card && r.card.messageId !== null ? code(`card ${r.card.id}`) : 'card not sent yet',
          ),
          1,
        ),
      );
    });
  lines.push(...more(rows.length, MAX_ITEMS), blank, line(i('Decide on the cards themselves (APPROVE / PASS).')));
  return renderFitted(lines);
}

export const plainReply = (text: string): string => renderFitted([line(clean(text))]);

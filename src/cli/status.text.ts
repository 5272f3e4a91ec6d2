/** Plain-text status for the terminal (the bot renders the same snapshot as HTML). */
import type { StatusSnapshot } from '../engine/status.usecase.js';

const usd = (cents: number) => `${cents < 0 ? '-' : ''}$${(Math.abs(cents) / 100).toFixed(2)}`;
const ago = (now: number, t: number | null) => (t === null ? 'never' : `${Math.round((now - t) / 1000)} s ago`);

export function renderStatusText(s: StatusSnapshot): string {
  const lines = [
    `Mode: ${s.mode.toUpperCase()}${s.demo ? ' (DEMO)' : ''}   constitution: ${s.constitution}`,
    `Broker: ${s.broker.name} ${s.broker.state}${s.broker.canSubmit ? '' : ' (not submitting)'}${s.broker.account ? `, account ${s.broker.account.accountId}` : ''}${s.broker.detail ? ` — ${s.broker.detail}` : ''}`,
    s.kills.length ? `KILL ACTIVE: ${s.kills.map((k) => `${k.kind.toLowerCase()} (${k.reason}) by ${k.setBy}`).join('; ')}` : 'Kill flag: off',
    `Today: P&L ${usd(s.today.realizedPnlCents)}, trades ${s.today.trades}, losses in a row ${s.today.consecutiveLosses}`,
    `Open positions/orders: ${s.open.length}${s.open.map((i) => `\n  ${i.state} ${i.side} ${i.filledQty || i.quantity} ${i.instrument.symbol} (${i.id})`).join('')}`,
    `Pending cards: ${s.pending.length}`,
    `Last heartbeat: ${s.lastHeartbeat ? `${s.lastHeartbeat.status}, ${ago(s.at, s.lastHeartbeat.at)}` : 'never'}`,
    `Last reconciliation: ${ago(s.at, s.lastReconciliation)}`,
    `Alert outbox: ${s.outbox.backlog} waiting, last Telegram send ${ago(s.at, s.outbox.lastSentAt)}${s.outbox.lastError ? ` (last error: ${s.outbox.lastError})` : ''}`,
    `Unresolved drifts: ${s.unresolvedDrifts.length}`,
    ...(s.snoozes ?? []).map((z) => `Snoozed: ${z.type} by ${z.by} until ${new Date(z.until).toISOString()} (no sound; CRITICAL still rings)`),
  ];
  return lines.join('\n');
}

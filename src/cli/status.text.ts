/** Plain-text status for the terminal (the bot renders the same snapshot as HTML); times in the constitution's zone. */
import { ago, clockTime, dateClockTime, usd, type StatusSnapshot } from '../engine/index.js';

const when = (now: number, t: number | null, tz: string) => (t === null ? 'never' : `${clockTime(t, tz)} (${ago(now, t)})`);

export function renderStatusText(s: StatusSnapshot, tz = 'America/New_York'): string {
  const lines = [
    `Mode: ${s.mode.toUpperCase()}${s.demo ? ' (DEMO)' : ''}   constitution: ${s.constitution}   at ${dateClockTime(s.at, tz)}`,
    `Broker: ${s.broker.name} ${s.broker.state}${s.broker.canSubmit ? '' : ' (not submitting)'}${s.broker.account ? `, account ${s.broker.account.accountId}` : ''}${s.broker.detail ? ` — ${s.broker.detail}` : ''}`,
    ...(s.entryHold ? [`Entries held: ${s.entryHold}`] : []),
    s.kills.length
      ? `KILL ACTIVE: ${s.kills.map((k) => `${k.kind.toLowerCase()} (${k.reason}) by ${k.setBy} at ${clockTime(k.setAt, tz)}${k.expiresAt !== null ? `, until ${clockTime(k.expiresAt, tz)}` : ''}`).join('; ')}`
      : 'Kill flag: off',
    `Today: P&L ${usd(s.today.realizedPnlCents)}, trades ${s.today.trades}, losses in a row ${s.today.consecutiveLosses}`,
    `Open positions/orders: ${s.open.length}${s.open.map((i) => `\n  ${i.state} ${i.side} ${i.filledQty || i.quantity} ${i.instrument.symbol} (${i.id})`).join('')}`,
    `Pending cards: ${s.pending.length}`,
    `Last heartbeat: ${s.lastHeartbeat ? `${s.lastHeartbeat.status}, ${when(s.at, s.lastHeartbeat.at, tz)}` : 'never'}`,
    `Last reconciliation: ${when(s.at, s.lastReconciliation, tz)}`,
    `Alert outbox: ${s.outbox.backlog} waiting, last Telegram send ${when(s.at, s.outbox.lastSentAt, tz)}${s.outbox.lastError ? ` (last error: ${s.outbox.lastError})` : ''}`,
    `Unresolved drifts: ${s.unresolvedDrifts.length}`,
    ...(s.snoozes ?? []).map((z) => `Snoozed: ${z.type} by ${z.by} until ${clockTime(z.until, tz)} (no sound; CRITICAL still rings)`),
  ];
  return lines.join('\n');
}

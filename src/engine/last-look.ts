/**
 * The last look before an entry leaves Phoenix (SAFE-3, INV-KILL-LAST-MOMENT-1). A kill set at
 * time T means no entry leg leaves after T. The kill gate runs when the token is consumed, but
 * the wire write comes later (IBKR: a managed-accounts round trip, the first contract
 * qualification, the pacer queue — seconds). So the broker adapter calls this at the last
 * moment, in the pacer slot of the entry leg, and this transaction either records the entry as
 * SENDING (the state change that marks it sent) or — kill active, flatten requested, intent no
 * longer SUBMITTED — cancels the intent with its beads and alert; the adapter then sends nothing.
 */
import { BrokerRefusedError } from './broker.port.js';
import { transition, type EngineContext } from './context.js';
import { isExitReserved } from './flatten.usecase.js';
import { clockTime } from './people-time.js';

export async function lastLook(ctx: EngineContext, intentId: string): Promise<void> {
  const refusal = await ctx.store.tx(async (tx): Promise<{ code: string; why: string } | null> => {
    const now = ctx.clock.now();
    const intent = await tx.intents.get(intentId);
    if (!intent || intent.state !== 'SUBMITTED') return { code: 'NOT_SUBMITTED', why: `intent ${intentId} is ${intent?.state ?? 'unknown'}, not SUBMITTED: entry not sent` };
    const orders = await tx.orders.listByIntent(intentId);
    const kill = (await tx.kills.active(now))[0];
    const flattening = isExitReserved(orders);
    if (!kill && !flattening) {
      tx.beads.append({ type: 'ORDER', intentId, ts: now, payload: { role: 'ENTRY', event: 'SENDING', detail: 'last look passed: no kill flag, no flatten; handed to the broker' } });
      return null;
    }
    const why = kill
      ? `kill flag ${kill.kind} set ${clockTime(kill.setAt, ctx.constitution.session.timeZone)} by ${kill.setBy} (${kill.reason})`
      : 'a flatten was requested';
    const code = kill ? 'KILL_ACTIVE' : 'FLATTENING';
    tx.beads.append({ type: 'ORDER', intentId, ts: now, payload: { role: 'ENTRY', event: 'SEND_REFUSED', detail: `last look: ${why}; nothing left Phoenix` } });
    for (const o of orders) if (o.role !== 'EXIT' && o.status === 'PENDING') await tx.orders.update(intentId, o.role, { status: 'CANCELLED', updatedAt: now });
    await transition(ctx, tx, intent, 'CANCELLED', `stopped before it left Phoenix: ${why}`, { submittedAt: null }); // not a trade (MONEY-9)
    tx.alerts.enqueue({ type: 'ENTRY_STOPPED', at: now, payload: { summary: `${intent.side} ${intent.quantity} ${intent.instrument.symbol}: entry stopped at the last moment (${why}). Nothing was sent.`, intentId, instrumentKey: intent.instrumentKey } });
    return { code, why };
  });
  ctx.notify();
  if (refusal) throw new BrokerRefusedError(refusal.code, refusal.why);
}

/**
 * Bracket children follow the entry's filled quantity (issue 13, MONEY-10; CV partial fill 50%:
 * "exits sized to what filled"). IBKR sizes a bracket's stop and target to the parent's TOTAL
 * quantity and keeps them when a partly filled parent's remainder dies — cancelled by Phoenix
 * (the position closed meanwhile), by a human, by the broker, or by its DAY time in force. Left
 * alone, a target for 2 over a position of 1 sells 2 and the account ends short 1.
 *
 * So once the entry is done at the broker with something filled, every live protective leg is
 * lowered (an IBKR modify of the same order id) to what it has filled plus what is still open; a
 * leg with nothing left to cover is cancelled. This happens when the entry's final status is
 * applied (order-status.usecase), and again whenever that status is replayed (recovery), until the
 * rows say the legs fit. A flatten does not need it: it cancels the legs and sizes its own exit.
 */
import { BrokerRefusedError } from './broker.port.js';
import type { EngineContext } from './context.js';
import type { IntentRecord, OrderRecord } from './domain.js';

export interface ChildFit {
  readonly role: 'STOP' | 'TARGET';
  readonly brokerOrderId: string;
  readonly from: number;
  /** the new total quantity; null = nothing left to cover: cancel the leg */
  readonly to: number | null;
  readonly open: number;
}

const LIVE = new Set(['PENDING', 'WORKING', 'HELD']);

/**
 * What each live protective leg must become once the entry is done with `entryFilled` filled
 * (PURE). Exits so far: the larger of the booked executions and the legs' own fill counts.
 */
export function childFits(intent: Pick<IntentRecord, 'exitQty'>, orders: readonly OrderRecord[], entryFilled: number): ChildFit[] {
  const legs = orders.filter((o): o is OrderRecord & { role: 'STOP' | 'TARGET' } => o.role === 'STOP' || o.role === 'TARGET');
  const exited = Math.max(intent.exitQty, legs.reduce((a, o) => a + o.filledQty, 0));
  const open = Math.max(0, entryFilled - exited);
  const out: ChildFit[] = [];
  for (const o of legs) {
    if (!LIVE.has(o.status) || !o.brokerOrderId) continue;
    const need = o.filledQty + open;
    if (need >= o.quantity) continue;
    out.push({ role: o.role, brokerOrderId: o.brokerOrderId, from: o.quantity, to: open > 0 ? need : null, open });
  }
  return out;
}

/** Send the fits to the broker (outside any transaction), each recorded with its beads. */
export async function fitChildren(ctx: EngineContext, intentId: string, fits: readonly ChildFit[]): Promise<void> {
  for (const f of fits) {
    const what = f.to === null ? `cancel ${f.role} (nothing open to cover)` : `resize ${f.role} ${f.from} → ${f.to} (${f.open} open)`;
    await ctx.store.tx(async (tx) => {
      tx.beads.append({ type: 'ORDER', intentId, ts: ctx.clock.now(), payload: f.to === null ? { role: f.role, event: 'CANCEL_REQUESTED', brokerOrderId: f.brokerOrderId, detail: `entry done: ${what}` } : { role: f.role, event: 'PLACING', brokerOrderId: f.brokerOrderId, detail: `entry done with a partial fill: ${what}` } });
    });
    try {
      if (f.to === null) await ctx.broker.cancel(f.brokerOrderId);
      else await ctx.broker.resize(f.brokerOrderId, f.to);
      await ctx.store.tx(async (tx) => {
        const now = ctx.clock.now();
        if (f.to !== null) {
          await tx.orders.update(intentId, f.role, { quantity: f.to, updatedAt: now });
          tx.beads.append({ type: 'ORDER', intentId, ts: now, payload: { role: f.role, event: 'PLACED', brokerOrderId: f.brokerOrderId, detail: `resized to ${f.to}` } });
        }
      });
    } catch (e) {
      const err = e as Error;
      // already dead at the broker (an OCA reduced it to nothing): nothing left to fit
      const gone = e instanceof BrokerRefusedError && e.code === 'NOT_CANCELLABLE';
      await ctx.store.tx(async (tx) => {
        tx.beads.append({ type: 'ORDER', intentId, ts: ctx.clock.now(), payload: { role: f.role, event: f.to === null ? 'CANCEL_FAILED' : 'PLACE_FAILED', brokerOrderId: f.brokerOrderId, detail: gone ? `${what}: the leg is already done at the broker (${err.message})` : `${what} failed: ${err.message}; the leg still covers ${f.from} — flatten if it cannot be fixed` } });
      });
      if (!gone) ctx.logger.warn({ intentId, role: f.role, err: err.message }, 'could not fit a protective leg to the filled quantity');
    }
  }
  if (fits.length) ctx.notify();
}

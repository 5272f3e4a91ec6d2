/**
 * The executions IB reported, for OrderBook (order.book.ts): deduped on execId; a correction (same
 * prefix, higher ".NN" suffix) replaces the stored fill and is not a new fill; a commission report
 * may come before or after its execution. No I/O.
 */
import type { Execution } from '@stoqey/ib';
import type { Side } from '../../engine/index.js';
import { mapSide, parseIbTime } from './ib.parse.js';

export interface StoredFill {
  execId: string;
  orderId: number | undefined;
  clientId: number | undefined;
  permId: number | undefined;
  orderRef: string;
  side: Side;
  quantity: number;
  price: number;
  time: number;
  commission: number | undefined;
}

const execPrefix = (execId: string): string => execId.replace(/\.\d+$/, '');

export class ExecutionLog {
  private readonly fills = new Map<string, StoredFill>();
  private readonly fillByPrefix = new Map<string, string>();
  private readonly commissions = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  has(execId: string): boolean {
    return this.fills.has(execId);
  }

  /** Returns the execId when this is a new fill to emit, undefined for unusable ones and corrections. */
  add(exec: Execution): string | undefined {
    const execId = exec.execId;
    const side = mapSide(exec.side);
    if (!execId || !side || this.fills.has(execId)) return undefined;
    const stored: StoredFill = {
      execId,
      orderId: exec.orderId,
      clientId: exec.clientId,
      permId: exec.permId,
      orderRef: exec.orderRef ?? '',
      side,
      quantity: exec.shares ?? 0,
      price: exec.price ?? 0,
      time: parseIbTime(exec.time) ?? this.now(),
      commission: this.commissions.get(execId),
    };
    const prefix = execPrefix(execId);
    const earlier = this.fillByPrefix.get(prefix);
    if (earlier !== undefined && earlier !== execId) {
      // correction of an earlier execution: replace its data, not a new fill
      const old = this.fills.get(earlier);
      if (old) {
        stored.commission = stored.commission ?? old.commission;
        this.fills.delete(earlier);
      }
      this.fills.set(execId, stored);
      this.fillByPrefix.set(prefix, execId);
      return undefined;
    }
    this.fills.set(execId, stored);
    this.fillByPrefix.set(prefix, execId);
    return execId;
  }

  /** Returns true when the commission belongs to a known execution. */
  commission(execId: string, commission: number | undefined): boolean {
    const value = commission ?? 0;
    this.commissions.set(execId, value);
    const f = this.fills.get(execId);
    if (f) f.commission = value;
    return f !== undefined;
  }

  hasCommission(execId: string): boolean {
    return this.fills.get(execId)?.commission !== undefined;
  }

  get(execId: string): StoredFill | undefined {
    return this.fills.get(execId);
  }

  all(): Iterable<StoredFill> {
    return this.fills.values();
  }

  /** oldest first */
  byTime(): StoredFill[] {
    return [...this.fills.values()].sort((a, b) => a.time - b.time);
  }
}

/**
 * The alert sender's delivery side (sender.ts composes, this sends): picks the most urgent due
 * message, waits for its slot in the chat's budget (chat-budget.ts, shared with the bot's cards
 * and replies: CRITICAL in the urgent lane, the rest behind cards), sends it, and records the
 * outcome (DeliveryHealth on failure). One message at a time; a CRITICAL that becomes due takes
 * a waiting digest's place; CRITICAL alerts still to be composed may CLAIM the next urgent slot.
 */
import type { Logger, OutboxMessage } from '../engine/index.js';
import { SEVERITY_RANK } from './aggregate.js';
import type { ChatBudget, Grant, Lane } from './chat-budget.js';
import { DeliveryHealth } from './delivery-health.js';
import { markSending, markSent, unsentMessages } from './sender.outbox.js';
import type { AlertSenderOptions, SenderStats } from './sender.options.js';
import { classifyTransportError } from './transport.js';

const laneOf = (m: OutboxMessage): Lane => (m.severity === 'CRITICAL' ? 'urgent' : 'rest');

/**
 * The sender's one request for a slot in the chat's budget: for a composed message, or a
 * CLAIM (`forId` null) of an urgent slot for CRITICAL alerts that wait to be composed. A
 * claim's grant is parked until the next tick composes (folding everything that arrived
 * meanwhile) and sends with it; that is how CRITICAL gets the slot before waiting cards.
 */
export interface Slot {
  readonly forId: string | null;
  readonly lane: Lane;
  readonly abort: AbortController;
  /** a claim's grant, held until the tick uses or releases it */
  grant: Grant | null;
  /** the send in progress */
  sending: Promise<void> | null;
}

export interface DeliveryDeps {
  readonly o: AlertSenderOptions;
  readonly log: Logger;
  readonly stats: SenderStats;
  readonly budget: ChatBudget;
  /** the sender stopped: nothing new starts */
  readonly stopped: () => boolean;
  /** run a tick now */
  readonly kick: () => void;
}

export class Delivery {
  /** the one slot requested or in use (null: none) */
  slot: Slot | null = null;
  readonly health: DeliveryHealth;

  constructor(private readonly d: DeliveryDeps) {
    this.health = new DeliveryHealth({ o: d.o, log: d.log, stats: d.stats, budget: d.budget });
  }

  /** A claimed urgent slot is ours right now. */
  get holding(): boolean {
    return this.slot?.grant != null;
  }

  /** Stop: give back a parked claim, abort a wait (a send in progress ends by its timeout). */
  abandon(): void {
    this.releaseParked();
    if (this.slot && !this.slot.sending) this.slot.abort.abort();
  }

  /** Deliver the most urgent due message (or queue it for its slot). */
  async deliverOne(): Promise<void> {
    const { o } = this.d;
    const now = o.clock.now();
    if (now < this.health.backoffUntil) return;
    const unsent = await unsentMessages(o.store);
    const m = unsent
      .filter((x) => x.nextAttemptAt <= now)
      .sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || a.createdAt - b.createdAt)[0];
    if (!m) return;
    const lane = laneOf(m);
    const s = this.slot;
    if (s) {
      if (s.sending) return; // one message at a time
      if (s.grant) {
        if (lane !== 'urgent') this.releaseParked(); // the claim was for CRITICAL; m waits its turn
      } else {
        // waiting: only a CRITICAL takes the place of a waiting digest or of a claim
        const supersedes = lane === 'urgent' && (s.forId === null || s.lane !== 'urgent');
        if (!supersedes || s.forId === m.id) return;
        s.abort.abort();
        this.slot = null;
      }
    }
    if (this.health.needsProbe && o.transport.probe) {
      this.d.stats.probes += 1;
      try {
        await o.transport.probe();
        this.health.needsProbe = false;
      } catch (e) {
        await this.health.failed(null, classifyTransportError(e));
        return;
      }
    }
    const held = this.slot?.grant;
    if (held && this.slot) this.startSend(m, held, this.slot);
    else this.wait(m, lane);
  }

  /** Claim the chat's next urgent slot for CRITICAL alerts still to be composed. */
  claim(): void {
    const cur = this.slot;
    if (cur && (cur.sending || cur.grant || cur.lane === 'urgent')) return;
    cur?.abort.abort(); // a digest waiting in the rest lane queues again after
    const s: Slot = { forId: null, lane: 'urgent', abort: new AbortController(), grant: null, sending: null };
    this.slot = s;
    this.d.budget.take(this.d.o.chatId, 'urgent', { signal: s.abort.signal }).then(
      (grant) => {
        if (this.slot !== s || this.d.stopped()) return grant.notSent();
        s.grant = grant;
        this.d.kick(); // compose and send now
      },
      () => {
        if (this.slot === s) this.slot = null;
      },
    );
  }

  /** Give back a claimed slot nobody used. */
  releaseParked(): void {
    const s = this.slot;
    if (!s?.grant || s.sending) return;
    s.grant.notSent();
    this.slot = null;
  }

  /** Queue `m` for its slot in the chat's budget; send it when the slot comes. */
  private wait(m: OutboxMessage, lane: Lane): void {
    const s: Slot = { forId: m.id, lane, abort: new AbortController(), grant: null, sending: null };
    this.slot = s;
    this.d.budget.take(m.chatId, lane, { signal: s.abort.signal }).then(
      (grant) => this.startSend(m, grant, s),
      () => {
        if (this.slot === s) this.slot = null; // aborted: replaced by a CRITICAL, or stopping
      },
    );
  }

  private startSend(m: OutboxMessage, grant: Grant, s: Slot): void {
    s.grant = null;
    s.sending = this.send(m, grant)
      .catch((e: unknown) => {
        this.d.stats.tickErrors += 1;
        this.d.log.error({ err: (e as Error).message, messageId: m.id }, 'alert delivery failed');
      })
      .finally(() => {
        grant.notSent(); // no-op when the send already reported; frees the slot if it threw first
        if (this.slot === s) this.slot = null;
        this.d.kick();
      });
  }

  private async send(m: OutboxMessage, grant: Grant): Promise<void> {
    const { o, stats } = this.d;
    if (this.d.stopped()) return;
    await markSending(o.store, m.id);
    let result: { messageId: number };
    try {
      result = await o.transport.sendMessage(m.chatId, m.text, { silent: m.silent, ...(m.snoozeTypes.length ? { snoozeRef: m.id } : {}) });
    } catch (e) {
      await this.health.failed(m, classifyTransportError(e), grant);
      return;
    }
    const at = o.clock.now();
    grant.sent(at);
    const alerts = await markSent(o.store, m.id, result.messageId, at);
    stats.sent += 1;
    stats.alertsSent += alerts;
    o.observer?.messageSent(m.severity, m.silent);
    await this.health.recovered(at);
  }
}

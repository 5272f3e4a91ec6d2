/**
 * The alert sender: drains the Alert outbox into AlertMessage rows (digests) and delivers
 * them through an AlertTransport, on the injected Clock.
 *
 * One tick (every `pollMs`, never overlapping itself):
 *   1. ingest   new PENDING alerts (by rowid cursor) into per-group aggregates (aggregate.ts)
 *   2. compose  when the chat may take a message now and a group is ready: ONE transaction
 *               creates the AlertMessage (its text rendered once) and folds exactly the
 *               planned alerts into it (Alert.messageId). At most one undelivered message
 *               per chat, plus one CRITICAL one that jumps the queue: while Telegram is
 *               down, alerts keep folding into the next digest instead of piling up stale
 *               messages.
 *   3. deliver  the most urgent due message: it waits for its slot in the chat's budget
 *               (chat-budget.ts, shared with the bot's cards and replies): CRITICAL in the
 *               urgent lane, the rest behind cards. While it waits the ticks go on (alerts keep
 *               folding); a CRITICAL that becomes due takes a waiting digest's place. 429 →
 *               the chat waits retry_after; 5xx/timeout/network → exponential backoff;
 *               400/401/403 → slow retry. Nothing is ever dropped; the process never crashes
 *               over it.
 *
 * Idempotency. Each alert is folded into exactly one message, once, in a transaction; a
 * message's count is fixed when it is composed. Retrying a send therefore can never count an
 * alert twice, in this digest or any later one. What a retry CAN do is show the same message
 * twice, when an earlier attempt reached Telegram but its answer was lost (a timeout or a
 * connection reset after the request was sent, or a process killed mid-send): Telegram's
 * sendMessage has no idempotency key. Bound: copies of a message ≤ 1 + its ambiguous
 * attempts, and after an ambiguous failure the sender sends nothing until a probe (getMe)
 * gets an answer, so a dead or black-holed link costs probes, not copies: at most one
 * ambiguous send per failure episode (and one per crash mid-send). Each copy carries the
 * same "ref am_…" line, so a reader sees it is the same digest.
 *
 * Health. Every delivery updates SystemState `telegram.lastSentAt`; failures set
 * `telegram.lastError` and `telegram.failingSince`; after `downAfterFailures` failures over
 * at least `downAfterMs`, `telegram.down` is set and a TELEGRAM_DOWN alert is raised (it is
 * delivered, with everything else, once Telegram answers; then TELEGRAM_RESTORED). That
 * bookkeeping is delivery-health.ts; delivery (slots, sends) is sender.delivery.ts; what is
 * read and written, through the Store port, is sender.outbox.ts; the options are sender.options.ts.
 */
import { ALERT_TYPE_NAMES, alertDef, isAlertType, modeOf, silentLogger, type AlertType, type Cancel, type Logger } from '../engine/index.js';
import {
  activeInhibitors,
  buildUnits,
  foldAlert,
  inhibitionTypes,
  planMessage,
  pruneMemory,
  rememberUnit,
  unitAggs,
  type GroupAgg,
  type GroupMemory,
  type Raised,
} from './aggregate.js';
import { Delivery } from './sender.delivery.js';
import type { AlertSenderOptions, SenderStats } from './sender.options.js';
import { AlertCountMismatch, composeMessage, loadSenderState, newMessageId, readPending, unsentAndSnoozes } from './sender.outbox.js';
import { ChatBudget } from './chat-budget.js';
import { deliveryOf, snoozeNote } from './levels.js';

export type { AlertSenderOptions, SenderObserver, SenderStats } from './sender.options.js';

export class AlertSender {
  private readonly log: Logger;
  readonly budget: ChatBudget;
  private readonly pollMs: number;

  private groups = new Map<string, GroupAgg>();
  private cursor = 0;
  private memory = new Map<string, GroupMemory>();
  private lastRaised = new Map<AlertType, Raised>();
  private readonly trackTypes: ReadonlySet<AlertType>;

  private readonly delivery: Delivery;

  private started = false;
  private stopped = false;
  private timer: Cancel | null = null;
  private running: Promise<void> | null = null;
  private again = false;

  readonly stats: SenderStats = { composed: 0, sent: 0, alertsSent: 0, failures: 0, rateLimited: 0, ambiguous: 0, probes: 0, reloads: 0, tickErrors: 0 };

  constructor(private readonly o: AlertSenderOptions) {
    this.log = (o.logger ?? silentLogger).child({ component: 'alerts' });
    this.budget = o.budget ?? new ChatBudget({ clock: o.clock });
    this.pollMs = o.pollMs ?? 250;
    this.trackTypes = new Set(inhibitionTypes(ALERT_TYPE_NAMES));
    this.delivery = new Delivery({ o, log: this.log, stats: this.stats, budget: this.budget, stopped: () => this.stopped, kick: () => this.kick() });
  }

  /** Load state left by a previous process and start ticking. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const now = this.o.clock.now();
    const left = await loadSenderState(this.o.store, { chatId: this.o.chatId, now, recentLimit: Math.max(20, this.budget.limits.groupPerWindow), trackTypes: [...this.trackTypes] });
    if (left.requeued > 0) {
      // it may have reached Telegram before the process stopped: probe before re-sending
      this.delivery.health.needsProbe = true;
      this.log.warn({ inFlight: left.requeued }, 'alert messages were in flight at shutdown; re-sending after a probe (may duplicate once)');
    }
    for (const t of left.recentSends) this.budget.record(this.o.chatId, t);
    this.lastRaised = left.lastRaised;
    this.memory = left.memory;
    if (left.failingSince !== null) this.delivery.health.failingSince = left.failingSince;
    this.delivery.health.down = left.down;
    this.schedule(0);
  }

  /** Stop ticking; waits for the tick and a send in progress (a send ends by its timeout). */
  async stop(): Promise<void> {
    this.abandon();
    await this.settled();
  }

  /** Tests only: drop everything at once, like a killed process (nothing awaited). */
  abandon(): void {
    this.stopped = true;
    this.timer?.();
    this.timer = null;
    this.delivery.abandon();
  }

  /** Check the outbox now (e.g. right after enqueuing a CRITICAL alert). */
  kick(): void {
    if (!this.stopped && this.started) this.schedule(0);
  }

  /**
   * Resolves when no tick and no send is running (tests: let the I/O finish before moving
   * time). A message still WAITING for its slot does not count: only time gives it one.
   */
  async settled(): Promise<void> {
    for (;;) {
      const busy = this.running ?? this.delivery.slot?.sending;
      if (!busy) return;
      await busy.catch(() => {});
    }
  }

  /** Alerts held in memory, not yet folded into a message. */
  pendingInMemory(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.count;
    return n;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer?.();
    this.timer = this.o.clock.schedule(delayMs, () => {
      this.timer = null;
      this.runTick();
    });
  }

  private runTick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.tick()
      .catch((e: unknown) => {
        this.stats.tickErrors += 1;
        if (e instanceof AlertCountMismatch) this.reload();
        this.log.error({ err: (e as Error).message }, 'alert sender tick failed');
      })
      .finally(() => {
        this.running = null;
        const again = this.again;
        this.again = false;
        this.schedule(again ? 0 : this.pollMs);
      });
  }

  /** Forget the in-memory aggregates; the next tick re-reads every unassigned alert. */
  private reload(): void {
    this.stats.reloads += 1;
    this.groups = new Map();
    this.cursor = 0;
  }

  private async tick(): Promise<void> {
    const parked = this.delivery.slot?.grant ? this.delivery.slot : null;
    try {
      await this.ingest();
      await this.composeIfReady();
      await this.delivery.deliverOne();
    } finally {
      // a claimed slot this tick saw but did not use goes back (one granted meanwhile waits for the next tick)
      if (parked && this.delivery.slot === parked) this.delivery.releaseParked();
    }
  }

  private async ingest(): Promise<void> {
    const batch = this.o.ingestBatch ?? 5000;
    for (;;) {
      // Types configured off are marked SUPPRESSED in the same transaction that reads them:
      // kept and counted, never folded into a message, never part of the backlog.
      const { page: rows, off } = await readPending(this.o.store, this.cursor, batch, (a) => modeOf(this.o.levels, a.type) === 'off' && a.severity !== 'CRITICAL');
      for (const a of rows) {
        this.cursor = Math.max(this.cursor, a.rid);
        if (this.trackTypes.has(a.type)) {
          const prev = this.lastRaised.get(a.type);
          if (!prev || a.at >= prev.at) this.lastRaised.set(a.type, { at: a.at, groupKey: a.groupKey });
        }
        if (!off.has(a.type)) foldAlert(this.groups, a);
      }
      for (const [type, ids] of off) this.o.observer?.suppressed(type, ids.length);
      if (rows.length < batch) return;
    }
  }

  private async composeIfReady(): Promise<void> {
    if (this.groups.size === 0) return;
    const now = this.o.clock.now();
    const chat = this.o.chatId;
    const { unsent, snoozes } = await unsentAndSnoozes(this.o.store, now);
    const mine = unsent.filter((m) => m.chatId === chat);
    const criticalQueued = mine.some((m) => m.severity === 'CRITICAL');
    const holding = this.delivery.holding; // a claimed urgent slot: ours right now
    const canSendNormal = mine.length === 0 && this.budget.nextSlot(chat, 'rest', now) <= now;
    const canSendCritical = !criticalQueued && (holding || this.budget.nextSlot(chat, 'urgent', now) <= now);
    const units = buildUnits(this.groups.values(), activeInhibitors(this.lastRaised, now, ALERT_TYPE_NAMES));
    const render = this.o.render ? { render: this.o.render } : {};
    if (!canSendNormal && !canSendCritical) {
      // CRITICAL ready but the chat is busy: claim the next urgent slot (ahead of cards and the rest)
      if (!criticalQueued && planMessage({ now, units, memory: this.memory, canSendNormal: false, canSendCritical: true, ref: 'probe', ...render }).plan) this.delivery.claim();
      return;
    }
    const id = (this.o.messageId ?? newMessageId)();
    const { plan } = planMessage({ now, units, memory: this.memory, canSendNormal, canSendCritical, ref: id, ...render });
    if (!plan) return;

    // Notification level, decided once: sound or not, and whether "snooze 1 h" is offered.
    const delivery = deliveryOf(plan, { levels: this.o.levels, snoozes, spokeBefore: (key) => this.memory.has(key) });
    const note = snoozeNote(plan, snoozes, this.o.render?.timeZone ?? 'America/New_York');
    const memory = new Map(this.memory);
    for (const u of plan.units) memory.set(u.key, rememberUnit(u, memory.get(u.key), now));
    pruneMemory(memory, now, (key) => {
      const t = key.split(':')[0] ?? '';
      return isAlertType(t) ? t : undefined;
    });
    await composeMessage(
      this.o.store,
      { id, chatId: chat, severity: plan.severity, groupKeys: plan.groupKeys, text: note ? `${plan.html}\n${note}` : plan.html, alertCount: plan.alertCount, at: now, silent: delivery.silent, snoozeTypes: delivery.snoozeTypes },
      this.cursor,
      Object.fromEntries(memory),
    );
    this.memory = memory;
    for (const u of plan.units) for (const g of unitAggs(u)) this.groups.delete(g.groupKey);
    this.stats.composed += 1;
    this.log.debug({ messageId: id, alerts: plan.alertCount, severity: plan.severity, groups: plan.groupKeys.length }, 'alert message composed');
  }
}

/** Convenience: build and start a sender. */
export async function startAlertSender(o: AlertSenderOptions): Promise<AlertSender> {
  const s = new AlertSender(o);
  await s.start();
  return s;
}

/** Severity and title of a type, for callers that describe alerts (e.g. /status). */
export const describeAlertType = (t: AlertType) => ({ severity: alertDef(t).severity, title: alertDef(t).title, runbook: alertDef(t).runbook });

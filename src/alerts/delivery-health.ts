/**
 * Is Telegram taking our alert messages? The sender's failure bookkeeping: consecutive failures,
 * since when, the backoff, whether a probe must come first (an ambiguous send), and the
 * TELEGRAM_DOWN / TELEGRAM_RESTORED alerts with the `telegram.*` kv keys /status and the
 * heartbeat read. Never throws over Telegram.
 */
import type { ChatBudget, Grant } from './chat-budget.js';
import { dateClockTime, isoUtc, KV, type Logger, type OutboxMessage } from '../engine/index.js';
import { escapeHtml, visibleText } from './html.js';
import { recordFailure } from './sender.outbox.js';
import type { RenderOptions } from './render.js';
import type { AlertSenderOptions, SenderStats } from './sender.options.js';
import type { TelegramTransportError } from './transport.js';

/** a time in a message to a person: the constitution's zone with its abbreviation (logs keep ISO) */
export const shownAt = (ms: number, render: RenderOptions | undefined) => dateClockTime(ms, render?.timeZone ?? 'America/New_York');

export interface HealthDeps {
  readonly o: AlertSenderOptions;
  readonly log: Logger;
  readonly stats: SenderStats;
  readonly budget: ChatBudget;
}

export class DeliveryHealth {
  /** a send may have reached Telegram without an answer: probe before the next one */
  needsProbe = false;
  failures = 0;
  failingSince: number | null = null;
  /** no delivery attempt before this (a failed probe, a backoff) */
  backoffUntil = 0;
  /** TELEGRAM_DOWN raised and not yet restored */
  down = false;
  private lastFailure = '';

  constructor(private readonly d: HealthDeps) {}

  backoffMs(): number {
    const base = this.d.o.backoffBaseMs ?? 1000;
    return Math.min(this.d.o.backoffMaxMs ?? 60_000, base * 2 ** Math.min(20, Math.max(0, this.failures - 1)));
  }

  /** One failed attempt (`m` null: the probe failed). Never throws over Telegram. */
  async failed(m: OutboxMessage | null, err: TelegramTransportError, grant?: Grant): Promise<void> {
    const at = this.d.o.clock.now();
    this.failures += 1;
    this.d.stats.failures += 1;
    this.failingSince ??= at;
    if (err.ambiguous) {
      this.d.stats.ambiguous += 1;
      this.needsProbe = true;
      grant?.sent(at); // it may count against Telegram's window
    }
    let retryAt: number;
    if (err.kind === 'rate_limited') {
      this.d.stats.rateLimited += 1;
      const sec = Math.max(1, (err as { retryAfterSec?: number }).retryAfterSec ?? 1);
      retryAt = at + sec * 1000;
      if (grant) grant.rateLimited(sec);
      else this.d.budget.block(this.d.o.chatId, retryAt);
    } else if (err.kind === 'permanent') {
      retryAt = at + (this.d.o.permanentRetryMs ?? 300_000);
    } else {
      retryAt = at + this.backoffMs();
    }
    grant?.notSent(); // (no-op if already reported above)
    let fallback: string | null = null;
    if (m && err.kind === 'permanent' && (err as { status?: number }).status === 400 && !m.text.startsWith('⚠')) {
      // Telegram refused the text itself (should not happen: rendering is escaped and measured).
      // Re-send it once as plain escaped text so the alerts still arrive.
      fallback = `⚠ formatting refused by Telegram; plain text:\n${escapeHtml(visibleText(m.text).slice(0, 3500))}`;
      retryAt = at + 1000;
    }
    // a 429'd message waits in the chat's budget; a 429'd probe (not tied to a slot) waits here
    this.backoffUntil = Math.max(this.backoffUntil, err.kind === 'rate_limited' && m ? 0 : retryAt);
    const text = `${err.message}${m ? '' : ' (probe)'}`;
    this.lastFailure = text;
    const summary = `${text} — ${this.failures} failed attempt${this.failures === 1 ? '' : 's'} since ${this.failingSince === null ? 'now' : shownAt(this.failingSince, this.d.o.render)}`;
    this.d.log.warn({ err: text, kind: err.kind, ambiguous: err.ambiguous, retryInMs: retryAt - at, messageId: m?.id }, 'telegram delivery failed');

    await recordFailure(this.d.o.store, { message: m ? { id: m.id, retryAt, error: text, fallback } : null, summary, failingSince: this.failingSince, at });
    await this.maybeDown(at);
  }

  private async maybeDown(at: number): Promise<void> {
    if (this.down || this.failingSince === null) return;
    if (this.failures < (this.d.o.downAfterFailures ?? 3) || at - this.failingSince < (this.d.o.downAfterMs ?? 60_000)) return;
    this.down = true;
    const since = this.failingSince;
    await this.d.o.store.tx(async (tx) => {
      await tx.kv.set(KV.telegramDown, String(since), at);
      tx.alerts.enqueue({
        type: 'TELEGRAM_DOWN',
        at,
        payload: {
          summary: `Telegram delivery failing since ${shownAt(since, this.d.o.render)} (${this.failures} failed attempts; last: ${this.lastFailure}). Alerts are kept in the outbox and delivered when Telegram answers.`,
          facts: { since: shownAt(since, this.d.o.render), failures: this.failures },
        },
      });
    });
    this.d.log.error({ since: isoUtc(since), failures: this.failures }, 'TELEGRAM_DOWN: alert delivery keeps failing');
  }

  async recovered(at: number): Promise<void> {
    const wasFailing = this.failingSince;
    const failures = this.failures;
    this.failures = 0;
    this.failingSince = null;
    this.backoffUntil = 0;
    this.needsProbe = false;
    if (!this.down) return;
    this.down = false;
    const mins = wasFailing === null ? null : Math.round((at - wasFailing) / 60_000);
    await this.d.o.store.tx(async (tx) => {
      tx.alerts.enqueue({
        type: 'TELEGRAM_RESTORED',
        at,
        payload: {
          summary: `Telegram delivery restored${mins === null ? '' : ` after ${mins} min`} (${failures} failed attempts). Delayed alerts follow as digests.`,
          ...(wasFailing === null ? {} : { facts: { down_since: shownAt(wasFailing, this.d.o.render) } }),
        },
      });
    });
    await this.d.o.store.tx((tx) => tx.kv.delete(KV.telegramDown));
    this.d.log.info({ failures }, 'Telegram delivery restored');
  }
}

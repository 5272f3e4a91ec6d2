/**
 * Webhook delivery: while a webhook is set, queued updates are POSTed to it one at a time,
 * in order, as JSON with `X-Telegram-Bot-Api-Secret-Token` when a secret was given. A 2xx
 * confirms the update; anything else is retried a few times and then the update is dropped
 * and reported through getWebhookInfo's last_error_*. Failures are never thrown.
 *
 * Uses node:http with `agent: false` so no keep-alive socket outlives the sandbox.
 */
import http from 'node:http';
import https from 'node:https';
import type { SandboxClock } from './rate-limit.js';
import type { UpdateQueue } from './update-queue.js';

export interface WebhookConfig {
  url: string;
  secretToken?: string;
  maxConnections: number;
}

export interface WebhookInfo {
  url: string;
  has_custom_certificate: boolean;
  pending_update_count: number;
  max_connections?: number;
  allowed_updates?: string[];
  last_error_date?: number;
  last_error_message?: string;
}

/** Real-time pauses between attempts of one update (so 1 + length attempts in all). */
export const WEBHOOK_RETRY_DELAYS_MS = [100, 300, 1000];
const REQUEST_TIMEOUT_MS = 10_000;

export class WebhookPusher {
  private config: WebhookConfig | undefined;
  private running = false;
  private inflight: AbortController | undefined;
  private sleepTimer: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  private lastError: { date: number; message: string } | undefined;
  private generation = 0;
  private unsubscribe: () => void;

  constructor(
    private readonly queue: UpdateQueue,
    private readonly clock: SandboxClock,
    private readonly retryDelaysMs: number[] = WEBHOOK_RETRY_DELAYS_MS,
    /** told after every delivery attempt, so waiters can re-check */
    private readonly onAttempt: () => void = () => {},
  ) {
    this.unsubscribe = queue.onEnqueue(() => this.kick());
  }

  get active(): boolean {
    return this.config !== undefined;
  }

  set(config: WebhookConfig | undefined): void {
    this.config = config;
    this.generation++;
    this.lastError = undefined;
    this.inflight?.abort();
    this.wakeSleep();
    this.kick();
  }

  info(): WebhookInfo {
    const info: WebhookInfo = {
      url: this.config?.url ?? '',
      has_custom_certificate: false,
      pending_update_count: this.queue.size,
    };
    if (this.config) info.max_connections = this.config.maxConnections;
    const allowed = this.queue.allowedUpdates();
    if (allowed) info.allowed_updates = allowed;
    if (this.lastError) {
      info.last_error_date = this.lastError.date;
      info.last_error_message = this.lastError.message;
    }
    return info;
  }

  close(): void {
    this.config = undefined;
    this.generation++;
    this.unsubscribe();
    this.inflight?.abort();
    this.wakeSleep();
  }

  private kick(): void {
    if (this.running || !this.config) return;
    this.running = true;
    void this.drain().finally(() => {
      this.running = false;
      // a webhook change mid-drain ends that drain; start one for the new target
      if (this.config && this.queue.size > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    const gen = this.generation;
    while (this.config && gen === this.generation) {
      const [update] = this.queue.peek(1);
      if (!update) return;
      for (let attempt = 0; attempt <= this.retryDelaysMs.length; attempt++) {
        if (gen !== this.generation) return;
        if (attempt > 0) await this.sleep(this.retryDelaysMs[attempt - 1] ?? 0);
        if (gen !== this.generation || !this.config) return;
        const error = await this.post(this.config, JSON.stringify(update));
        if (error === undefined) break;
        this.lastError = { date: Math.floor(this.clock.now() / 1000), message: error };
        this.onAttempt();
      }
      if (gen !== this.generation) return;
      // delivered, or given up after the retries: either way it leaves the queue
      this.queue.remove(update.update_id);
      this.onAttempt();
    }
  }

  /** One POST; resolves with an error text, or undefined on 2xx. Never rejects. */
  private post(config: WebhookConfig, body: string): Promise<string | undefined> {
    return new Promise((resolve) => {
      let url: URL;
      try {
        url = new URL(config.url);
      } catch {
        resolve('Invalid webhook URL');
        return;
      }
      const controller = new AbortController();
      this.inflight = controller;
      const headers: Record<string, string | number> = {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        connection: 'close',
      };
      if (config.secretToken) headers['X-Telegram-Bot-Api-Secret-Token'] = config.secretToken;
      const transport = url.protocol === 'https:' ? https : http;
      let settled = false;
      const settle = (err: string | undefined): void => {
        if (settled) return;
        settled = true;
        if (this.inflight === controller) this.inflight = undefined;
        resolve(err);
      };
      try {
        const req = transport.request(
          url,
          { method: 'POST', headers, agent: false, signal: controller.signal, timeout: REQUEST_TIMEOUT_MS },
          (res) => {
            res.resume(); // drain; webhook replies (method in the body) are not executed
            res.on('end', () => {
              const status = res.statusCode ?? 0;
              settle(status >= 200 && status < 300 ? undefined : `Wrong response from the webhook: ${status} ${res.statusMessage ?? ''}`.trim());
            });
            res.on('error', () => settle('Connection reset by peer'));
          },
        );
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (e) => settle(`Connection failed: ${e.message}`));
        req.end(body);
      } catch (e) {
        settle(`Connection failed: ${(e as Error).message}`);
      }
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleepTimer = undefined;
        resolve();
      }, ms);
      this.sleepTimer = { timer, resolve };
    });
  }

  private wakeSleep(): void {
    const s = this.sleepTimer;
    if (!s) return;
    clearTimeout(s.timer);
    this.sleepTimer = undefined;
    s.resolve();
  }
}

/**
 * Exactly one leader among the Phoenix processes of a desk on PostgreSQL (issue 18, SPEC 17).
 * The lock is the database's, not ours: the leader holds `pg_try_advisory_lock` on a
 * connection of its own for as long as it leads. PostgreSQL releases a session's locks when
 * the session ends, so:
 *   - the leader is SIGKILLed or crashes → the kernel closes its socket → the lock is free at
 *     once, and a follower (trying every `pollMs`) takes over within about a second;
 *   - the leader freezes (paused, swapped out, cut off) → it stops talking on that connection,
 *     the server ends the session after `idle_session_timeout` (`sessionTimeoutMs`), the lock
 *     is free: elected within sessionTimeoutMs + 2 × pollMs (default 3 + 1 s; SPEC: takeover ≤ 10 s).
 *     A transaction the frozen leader left open (it may hold the desk's write lock) is ended by
 *     the server after PG_IDLE_IN_TRANSACTION_MS (3 s), so it cannot hold the takeover up.
 * The leader pings its connection every `pollMs`; a failed ping means the session (and the
 * lock) may be gone: it is LOST, for good — the process stops leading and exits (its
 * supervisor restarts it as a follower). Taking over bumps the lease epoch (the fencing token,
 * PgStore.claimLeadership) under the desk's write lock, so whatever the old leader still tries
 * after that rolls back in its own transaction (INV-LEADER-FENCE-1): a frozen leader that wakes
 * up never sends an order.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { Clock, Logger } from '../engine/index.js';
import { PROCESS_NAME, sessionName } from './pg.database.js';
import { PG_LOCK } from './pg.migrate.js';
import { LEASE_NAME, type PgStore } from './pg.store.js';

export type LeaderRole = 'follower' | 'leader' | 'lost' | 'stopped';

export interface LeaderOptions {
  readonly url: string;
  readonly store: PgStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** who this process is in the lease row (default PROCESS_NAME: host, pid, nonce; its sessions' name) */
  readonly holder?: string;
  /** a follower tries for the lock, and the leader pings its session, this often (ms) */
  readonly pollMs?: number;
  /** the server ends a leader session silent this long (ms): a frozen leader's lock frees itself */
  readonly sessionTimeoutMs?: number;
  /** this process leads now (epoch = its fencing token): start the broker session, jobs, sender */
  readonly onElected: (epoch: number) => Promise<void>;
  /** this process led and no longer does: stop everything that only a leader may do */
  readonly onLost: (why: string) => void;
}

export const DEFAULT_LEADER_POLL_MS = 500;
/** how long before the server could end a silent session the leader stops trusting its lock */
export const LEASE_MARGIN_MS = 1000;
export const DEFAULT_LEADER_SESSION_TIMEOUT_MS = 3000;

export class PgLeaderElector {
  private conn: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private pinger: NodeJS.Timeout | null = null;
  private busy = false;
  private state: LeaderRole = 'follower';
  private epochHeld: number | null = null;
  readonly holder: string;
  private readonly pollMs: number;
  private readonly sessionTimeoutMs: number;

  constructor(private readonly o: LeaderOptions) {
    this.holder = o.holder ?? PROCESS_NAME;
    this.pollMs = o.pollMs ?? DEFAULT_LEADER_POLL_MS;
    this.sessionTimeoutMs = o.sessionTimeoutMs ?? DEFAULT_LEADER_SESSION_TIMEOUT_MS;
  }

  get role(): LeaderRole {
    return this.state;
  }

  get epoch(): number | null {
    return this.epochHeld;
  }

  /** when the last successful ping was SENT (performance.now()): the server's idle clock started after it */
  private confirmedAt = 0;

  /**
   * May this process write to the broker right now? Only while it leads and its lock session
   * was confirmed alive less than sessionTimeoutMs − LEASE_MARGIN_MS ago: the server cannot
   * have ended that session yet, so no other process can hold the lock. A leader frozen past
   * that point wakes up refused, before it learns it lost (its queued sends stay unsent).
   */
  sendCheck(): string | null {
    if (this.state !== 'leader' || !this.holdsLock) return `this process does not lead the desk (${this.state}${this.state === 'leader' ? ', lock session gone' : ''})`;
    const age = performance.now() - this.confirmedAt;
    if (age > this.sessionTimeoutMs - LEASE_MARGIN_MS) return `leader lock not confirmed for ${Math.round(age)} ms (a takeover may have happened)`;
    return null;
  }

  /** One try for the lock (start-up does one before it decides what to start). */
  async attempt(): Promise<LeaderRole> {
    if (this.state !== 'follower' || this.busy) return this.state;
    this.busy = true;
    try {
      const conn = await this.connection();
      const { rows } = await conn.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [PG_LOCK.leader]);
      if (!rows[0]?.ok || this.state !== 'follower') return this.state;
      // keep the lock session talking from now on: taking the lease may wait seconds for the
      // write lock (a frozen leader's open transaction, until the server ends it), and the
      // leader's duties (a broker connect) may take longer than the session timeout
      this.holdsLock = true;
      this.confirmedAt = performance.now();
      this.pinger = setInterval(() => void this.ping(), this.pollMs);
      this.pinger.unref();
      // The leader being replaced may be frozen with transactions open (one holding the desk's
      // write lock, others queued behind it): end its sessions now rather than wait for the
      // server to time each one out in turn. Its work rolls back; it is fenced anyway.
      await this.endSessionsOfPreviousLeader(conn);
      let epoch: number;
      try {
        epoch = await this.o.store.claimLeadership(this.holder, this.o.clock.now());
      } catch (e) {
        // the lock without the lease is useless: give the lock back and try again later
        this.stopTimers();
        this.holdsLock = false;
        this.dropConnection();
        throw e;
      }
      this.state = 'leader';
      this.epochHeld = epoch;
      if (!this.holdsLock) {
        // the session (and the lock) died while the lease was taken: another process may take
        // the next epoch; this one must not lead (it is fenced from now on)
        this.lose('the lock session ended while the lease was being taken');
        return this.state;
      }
      this.o.logger.warn({ epoch, holder: this.holder }, 'leader: this process holds the desk lock (broker session, jobs, alert sender)');
      await this.o.onElected(epoch);
      return this.state;
    } catch (e) {
      if (this.state === 'follower') {
        this.o.logger.warn({ err: (e as Error).message }, 'leader election: attempt failed; trying again');
        this.dropConnection();
      } else if (this.state === 'leader') this.lose(`starting as leader failed: ${(e as Error).message}`);
      return this.state;
    } finally {
      this.busy = false;
    }
  }

  /** A follower keeps trying every pollMs (the leader's session is pinged from its election on). */
  start(): void {
    if (this.timer || this.state !== 'follower') return;
    const tick = async () => {
      this.timer = null;
      if (this.state === 'follower') await this.attempt();
      if (this.state === 'follower') {
        this.timer = setTimeout(() => void tick(), this.pollMs);
        this.timer.unref();
      }
    };
    this.timer = setTimeout(() => void tick(), this.pollMs);
    this.timer.unref();
  }

  /** Clean shutdown: give the lock back at once (a follower takes over without waiting). */
  async stop(): Promise<void> {
    this.stopTimers();
    const wasLeader = this.state === 'leader';
    this.state = 'stopped';
    const conn = this.conn;
    this.conn = null;
    if (!conn) return;
    if (wasLeader) await conn.query('SELECT pg_advisory_unlock($1)', [PG_LOCK.leader]).catch(() => {});
    await conn.end().catch(() => {});
  }

  private async endSessionsOfPreviousLeader(conn: pg.Client): Promise<void> {
    try {
      const { rows } = await conn.query<{ holder: string }>(`SELECT holder FROM "LeaderLease" WHERE name = $1`, [LEASE_NAME]);
      const previous = rows[0]?.holder;
      if (!previous || previous === this.holder) return;
      const ended = await conn.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`, [sessionName(previous)]);
      if (ended.rowCount) this.o.logger.warn({ previous, sessions: ended.rowCount }, 'leader: ended the sessions of the leader this process replaces');
    } catch (e) {
      // not fatal: the server's own timeouts end them (idle_session_timeout, idle_in_transaction_session_timeout)
      this.o.logger.warn({ err: (e as Error).message }, "leader: could not end the previous leader's sessions; waiting for the server's timeouts");
    }
  }

  private pinging = false;
  /** the advisory lock is held (from pg_try_advisory_lock until the session fails) */
  private holdsLock = false;

  private async ping(): Promise<void> {
    if (this.pinging || !this.holdsLock) return;
    this.pinging = true;
    try {
      if (!this.conn) throw new Error('no session');
      const sent = performance.now();
      await this.conn.query('SELECT 1');
      this.confirmedAt = sent;
    } catch (e) {
      this.holdsLock = false;
      if (this.state === 'leader') this.lose(`the leader's database session failed: ${(e as Error).message}`);
    } finally {
      this.pinging = false;
    }
  }

  private stopTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.pinger) clearInterval(this.pinger);
    this.timer = null;
    this.pinger = null;
  }

  private lose(why: string): void {
    if (this.state !== 'leader') return;
    this.state = 'lost';
    this.stopTimers();
    this.dropConnection();
    this.o.logger.error({ epoch: this.epochHeld, why }, 'leader: leadership LOST; this process is fenced and stops leading');
    this.o.onLost(why);
  }

  private async connection(): Promise<pg.Client> {
    if (this.conn) return this.conn;
    const conn = new pg.Client({ connectionString: this.o.url, keepAlive: true, application_name: sessionName(this.holder), query_timeout: this.sessionTimeoutMs, connectionTimeoutMillis: this.sessionTimeoutMs });
    conn.on('error', (e) => {
      this.holdsLock = false;
      if (this.state === 'leader') this.lose(`the leader's database session ended: ${e.message}`);
      else this.dropConnection();
    });
    conn.on('end', () => {
      this.holdsLock = false;
      if (this.state === 'leader') this.lose("the leader's database session ended");
    });
    await conn.connect();
    // a session that says nothing for this long is ended by the server, and its lock with it
    await conn.query(`SET idle_session_timeout = ${Math.round(this.sessionTimeoutMs)}`);
    this.conn = conn;
    return conn;
  }

  private dropConnection(): void {
    const c = this.conn;
    this.conn = null;
    void c?.end().catch(() => {});
  }
}

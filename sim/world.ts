/**
 * The world of one simulation: the clock, the broker (IB Gateway: it outlives Phoenix),
 * Telegram (idem), the database file, and the Phoenix process currently running on it — booted,
 * killed at any step, and restarted on the same file after its downtime.
 *
 * The driver moves time with `advanceTo`: it leaps over stretches where no timed invariant is
 * running (see `quiet.ts`) and otherwise runs the clock second by second, so every timer fires
 * at its own time and the timed checks (INV-PROTECTED-1's 10 s, the 60 s stall) see each second.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimBroker, type SimProfile } from '../src/broker/sim/index.js';
import type { AppConfig } from '../src/config/load.js';
import { localTime, seededRandom, type Constitution, type Random } from '../src/engine/index.js';
import { ScopedClock, SimClock, settleMicrotasks, type RunHooks } from './clock.js';
import { calendarFor, nyTime, type SimCalendar } from './calendar.js';
import { CHAT_ID, deskConfig, deskConstitution, PRODUCTS, secretForms, type DeskVariant } from './desk.js';
import type { Life } from './life.js';
import { LogCapture } from './logs.js';
import { PhoenixProcess } from './process.js';
import type { BrokerObserver } from './process-broker.js';
import { PgMirror } from './pg-mirror.js';
import type { ProcessStore } from './process-store.js';
import { Reader } from './reader.js';
import { FakeTelegram } from './telegram.js';

export interface WorldOptions {
  readonly seed: number;
  readonly profile: SimProfile;
  readonly variant: DeskVariant;
  /** first simulated trading day (YYYY-MM-DD) */
  readonly startDay: string;
  /** calendar years to cover */
  readonly years: number;
  /** keep the database directory (replays, debugging) */
  readonly dir?: string;
  /** the log level Phoenix writes at (default debug: every line is scanned) */
  readonly logLevel?: string;
  /** PostgreSQL instead of a SQLite file: a fresh, empty database (docs/SIMULATION.md "On PostgreSQL") */
  readonly databaseUrl?: string;
}

export interface Violation {
  readonly id: string;
  readonly message: string;
}

/** A kill waiting for its moment (armed on the running process) and how long the process stays down. */
interface PendingDeath {
  readonly downMs: number;
}

export class World {
  readonly clock: SimClock;
  readonly broker: SimBroker;
  readonly telegram: FakeTelegram;
  readonly logs: LogCapture;
  readonly calendar: SimCalendar;
  readonly constitution: Constitution;
  readonly config: AppConfig;
  readonly dbFile: string;
  readonly dir: string;
  private readonly ownDir: boolean;
  reader: Reader | null = null;
  /** PostgreSQL: the committed database copied for the checks (they read it through `reader`) */
  mirror: PgMirror | null = null;

  proc: PhoenixProcess | null = null;
  generation = 0;
  /** when the next process starts (the current one is dead) */
  restartAt: number | null = null;
  private downMsOnDeath = 1000;
  /** a kill asked for while no process runs: armed on the next one at its start-up */
  private armNext: { on: 'commit' | 'broker'; n: number; phase: 'before' | 'after' } | null = null;
  /** since when a process has run without interruption / the broker has been READY */
  aliveSince: number | null = null;
  brokerReadySince: number | null = null;
  readonly deaths: string[] = [];
  /** found by hooks between checks (secrets in a line, a message, a broker call) */
  readonly pending: Violation[] = [];
  observer: BrokerObserver = { entryLeaving: () => null, entryLeft: () => {}, mutation: () => {} };
  private readonly secretForms = secretForms();
  private readonly brokerClock: ScopedClock;
  /** the IBKR adapter's latency before a placement or cancel reaches IB (seeded) */
  private readonly latencyDice: Random;

  constructor(readonly opts: WorldOptions) {
    this.calendar = calendarFor(opts.startDay, opts.years);
    this.constitution = deskConstitution(opts.variant, this.calendar);
    this.ownDir = !opts.dir;
    // a RAM disk when there is one: a real SQLite file, without waiting on the disk (see docs/SIMULATION.md)
    this.dir = opts.dir ?? mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'phoenix-sim-'));
    mkdirSync(this.dir, { recursive: true });
    this.dbFile = join(this.dir, 'phoenix.db');
    this.config = deskConfig(opts.databaseUrl ?? `file:${this.dbFile}`, this.constitution);
    this.clock = new SimClock(nyTime(opts.startDay, '09:00'));
    this.brokerClock = new ScopedClock(this.clock);
    this.logs = new LogCapture(opts.logLevel ?? 'debug', (where, text) => this.scanSecrets(where, text));
    const prices = Object.fromEntries(PRODUCTS.map((p) => [p.symbol, p.base]));
    this.broker = new SimBroker({ clock: this.brokerClock, random: seededRandom((opts.seed ^ 0x5eed) >>> 0), profile: opts.profile, prices, replayOnReconnect: true, executionsSince: (now) => nyTime(localTime(now, 'America/New_York').day, '00:00'), logger: this.logs.logger.child({ component: 'sim-broker' }) });
    this.latencyDice = seededRandom((opts.seed ^ 0x1a7e) >>> 0);
    this.telegram = new FakeTelegram(() => this.clock.now(), (where, text) => this.scanSecrets(where, text), { id: CHAT_ID, title: 'Phoenix desk (simulation)' });
  }

  now(): number {
    return this.clock.now();
  }

  /** INV-SECRET-1 at the moment text leaves: a log line, a Telegram call. */
  scanSecrets(where: string, text: string): void {
    for (const s of this.secretForms) {
      if (text.includes(s)) {
        this.pending.push({ id: 'INV-SECRET-1', message: `a configured secret appears in a ${where}: ${text.slice(0, 200).split(s).join('<SECRET>')}` });
        return;
      }
    }
  }

  brokerTimers(): number {
    return this.brokerClock.pending();
  }

  /** a process starting up (its start-up may wait on the clock: it is not awaited by the driver) */
  booting: Promise<void> | null = null;

  /** Start the first process. */
  async start(): Promise<void> {
    if (this.opts.databaseUrl) this.mirror = await PgMirror.open(this.opts.databaseUrl, join(this.dir, 'mirror.db'));
    this.boot();
    await this.booting;
    await this.mirror?.refresh(true);
    this.reader = new Reader(this.mirror ? this.mirror.file : this.dbFile);
  }

  private boot(): void {
    this.booting = this.bootNow().finally(() => {
      this.booting = null;
    });
  }

  /** PostgreSQL: a process is opening its database (createApp, the lease) */
  private opening: Promise<void> | null = null;
  /** PostgreSQL: the starting process's store (its recovery, replayed events, first jobs; see settleIo) */
  private startingStore: ProcessStore | null = null;

  private async bootNow(): Promise<void> {
    this.generation++;
    let opened = () => {};
    if (this.mirror) this.opening = new Promise<void>((resolve) => (opened = resolve)).then(() => void (this.opening = null));
    const next = this.armNext;
    this.armNext = null;
    const arm = next ? (life: Life) => life.arm(next.on, next.n, next.phase) : undefined;
    const booted = PhoenixProcess.boot({
      generation: this.generation,
      seed: this.opts.seed,
      config: this.config,
      clock: this.clock,
      broker: this.broker,
      telegram: this.telegram,
      logger: this.logs.logger,
      observer: this.observer,
      beforeBracket: () => this.beforeBracket(),
      latency: (kind) => {
        const r = this.latencyDice.next();
        const slow = this.slowBracket;
        if (kind === 'bracket' && slow !== null) {
          this.slowBracket = null;
          return slow;
        }
        if (r < 0.6) return 0;
        return Math.round((kind === 'bracket' ? 3000 : 1000) * this.latencyDice.next());
      },
      ...(arm ? { armed: arm } : {}),
      ...(this.mirror ? { mirror: this.mirror, opened: () => opened(), storeOpened: (s: ProcessStore) => void (this.startingStore = s) } : {}),
    });
    const r = await (this.mirror ? booted.finally(() => opened()) : booted);
    this.startingStore = null;
    if (this.mirror) this.mirror.dirty = true;
    if (r.proc) {
      this.proc = r.proc;
      this.aliveSince = this.now();
      this.restartAt = null;
    } else this.onDeath(r.life);
  }

  private slowBracket: number | null = null;
  private readonly entryFaults: (() => void)[] = [];

  /** A placement fault for the next entry (bracket) Phoenix places, not for an exit. */
  armEntryFault(arm: () => void): void {
    this.entryFaults.push(arm);
  }

  /** Called by the process's broker right before a bracket reaches the SimBroker. */
  private beforeBracket(): void {
    this.entryFaults.shift()?.();
  }


  /** The adapter's next bracket takes `ms` to reach the broker (the window a last look exists for). */
  slowNextBracket(ms: number): void {
    this.slowBracket = ms;
  }

  /** Arm a kill on the running process (or kill it now). */
  armKill(on: 'now' | 'commit' | 'broker', n: number, phase: 'before' | 'after', downMs: number): void {
    const p = this.proc;
    this.downMsOnDeath = downMs;
    if (!p?.alive) {
      if (on !== 'now') this.armNext = { on, n, phase };
      return;
    }
    if (on === 'now') p.kill('killed now');
    else p.life.arm(on, n, phase);
  }

  /** Notice a death (wherever it happened) and schedule the restart. */
  async reap(): Promise<void> {
    const p = this.proc;
    if (p && !p.alive) {
      this.proc = null;
      this.onDeath(p.life);
      await p.release();
    }
    if (!this.proc && !this.booting && this.restartAt !== null && this.now() >= this.restartAt) this.boot();
  }

  private onDeath(life: Life): void {
    this.deaths.push(`${new Date(this.now()).toISOString()} gen ${life.generation}: ${life.deathNote ?? 'died'}`);
    this.aliveSince = null;
    this.restartAt = this.now() + this.downMsOnDeath;
    this.downMsOnDeath = 1000;
  }

  /** Update what the timed checks need to know about the broker connection. */
  private trackBroker(): void {
    const ready = this.broker.health().state === 'READY';
    if (!ready) this.brokerReadySince = null;
    else this.brokerReadySince ??= this.now();
  }

  /**
   * Everything that runs on its own has run: on SQLite, two rounds of the event loop; on
   * PostgreSQL also until the process's transactions have come back (real I/O), and the checks'
   * mirror then copies what they committed.
   * A process still starting up counts too: left out, its transactions took minutes of simulated
   * time each, and reconciliation's 10 s wait for received fills ran out (a false drift,
   * INV-ACCOUNT-SCOPE-1; docs/SIMULATION.md "On PostgreSQL").
   */
  private async settleIo(): Promise<void> {
    await settleMicrotasks(2);
    if (!this.mirror) return;
    // a process opening its database (migrations, the pool, the leader lease): real I/O too
    if (this.opening) await this.opening;
    // (the refresh is I/O too: work waiting for it, e.g. a placement at the broker's door, may
    // start a transaction meanwhile; settled only when none is in flight after it)
    do {
      for (let store = this.busyStore(); store; store = this.busyStore()) {
        await store.idle();
        await settleMicrotasks(2);
      }
      await this.mirror.refresh();
    } while (this.busyStore());
  }

  /** The store of the running or the starting process while it has transactions in flight. */
  private busyStore(): ProcessStore | null {
    for (const s of [this.proc?.store, this.startingStore]) if (s?.pending) return s;
    return null;
  }

  readonly hooks: RunHooks = {
    settle: () => (this.mirror ? this.settleIo() : settleMicrotasks(2)),
    afterTimer: async () => {
      this.trackBroker();
      if (this.proc && !this.proc.alive) await this.reap();
    },
  };

  async settle(): Promise<void> {
    if (this.mirror) await this.settleIo();
    else await settleMicrotasks(2);
    this.trackBroker();
    await this.reap();
  }

  /** Local (New York) minutes of `t`, and whether `t`'s day trades. */
  local(t = this.now()): { day: string; minutes: number; trading: boolean } {
    const lt = localTime(t, this.constitution.session.timeZone);
    return { day: lt.day, minutes: lt.minutes, trading: this.calendar.isTradingDay(lt.day) };
  }

  async close(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (p) {
      p.kill('end of simulation');
      await p.release();
    }
    this.reader?.close();
    await this.mirror?.close();
    // on PostgreSQL the store never touches a SQLite file (the checks' mirror is the only one)
    const strayFile = this.mirror !== null && existsSync(this.dbFile);
    if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
    if (strayFile) throw new Error(`a run on PostgreSQL wrote the SQLite store file ${this.dbFile}`);
  }
}

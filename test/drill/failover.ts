/**
 * Failover drill (issue 18; SPEC 17): a desk of two Phoenix processes on one PostgreSQL database
 * against the TWS test server, the leader killed again and again at seeded moments.
 *
 * Real parts: a real PostgreSQL server (test/support/postgres.ts), Phoenix as two REAL child
 * processes (`node --import tsx src/main.ts`, BROKER=ibkr, one IB client id per start so every
 * order at the "gateway" names the process that sent it), the TWS test server and a sandbox
 * Bot API in THIS process (they outlive every kill, as IB Gateway and Telegram do). Intents are
 * posted to EITHER process's intake (a follower hands them to the leader through the database),
 * approved by tapping APPROVE in the sandbox chat (the leader's bot), and then the leader dies:
 *   - mid-submission: SIGKILL 0–600 ms after the APPROVE taps (the bracket may be half sent);
 *   - idle:           SIGKILL after the approvals were answered;
 *   - intake:         SIGKILL while intake POSTs to the leader are in flight;
 *   - gateway-drop:   the gateway drops its connections, SIGKILL 0.2–3.5 s later;
 *   - freeze:         SIGSTOP right after APPROVE taps; the follower must take over on its own
 *                     (the server ends the silent leader's session); then SIGCONT: the stale
 *                     leader must send NOTHING more (fenced) and exit with code 3.
 * After each kill the follower must take over (time from the kill to its "took over" banner:
 * the takeover time, reported p50/p99/max; SPEC: ≤ 10 s), then the dead slot is restarted as a
 * follower. Checked after every takeover (test/drill/invariants.ts, the crash drill's list):
 * never two orders for one intent at the broker; no order from a fenced leader (no PLACE_ORDER
 * from a process after it was fenced); every intent state explained by its beads; every broker
 * order backed by a USED token; the audit chain verifies; no alert lost; accepted intents are
 * durable; what the broker had before a takeover is reflected once the new leader runs.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { seededRandom } from '../../src/engine/ports.js';
import { startSandbox } from '../../src/sandbox/server.js';
import { pgPool, pgPrisma } from '../../src/store/pg.database.js';
import { PgStore } from '../../src/store/pg.store.js';
import { startPostgres, type PgServer } from '../support/postgres.js';
import { TwsTestServer } from '../support/tws/index.js';
import { brokerFacts, checkBrokerOrders, checkRecovered, checkSnapshot, type BrokerFact, type Snapshot } from './invariants.js';
import { ACCOUNT, between, checkAuditChain, counts, drillInstall, drillIntent, freePort, killGroup, pick, postIntent, PRODUCTS, sleep, spawnPhoenix, tapAs, waitCard as waitCardIn, weighted } from './kit.js';

export const FAILOVER_KINDS = ['mid-submission', 'idle', 'intake', 'gateway-drop', 'freeze'] as const;
export type FailoverKind = (typeof FAILOVER_KINDS)[number];

export interface FailoverOptions {
  readonly kills: number;
  readonly seed: number;
  /** a fixed sequence of kinds (cycled) instead of the weighted draw */
  readonly schedule?: readonly FailoverKind[];
  readonly log?: (line: string) => void;
  readonly keepDir?: boolean;
  /** a server to use (default: one started for the drill and stopped after) */
  readonly postgres?: PgServer;
  readonly startTimeoutMs?: number;
}

export interface FailoverReport {
  readonly seed: number;
  readonly kills: number;
  readonly killsByKind: Record<FailoverKind, number>;
  /** kill (or freeze) → the follower's "took over" banner, per takeover (ms) */
  readonly takeoverMs: readonly number[];
  readonly takeover: { readonly p50: number; readonly p99: number; readonly max: number };
  /** kill (or freeze) → the follower holds the lock and the next epoch (ms; from its log line) */
  readonly elected: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly starts: number;
  readonly intents: { readonly posted: number; readonly accepted202: number; readonly viaFollower: number; readonly inDb: number; readonly byState: Record<string, number> };
  readonly approveTaps: number;
  /** cards not in the chat within 8 s (held by the chat's send budget), not approved */
  readonly cardsLate: number;
  readonly broker: { readonly legs: number; readonly orderRefs: number; readonly placements: number; readonly duplicateIdErrors: number; readonly fromFencedLeaders: number };
  readonly frozenExits: readonly (number | null)[];
  readonly beads: number;
  readonly alerts: { readonly rows: number; readonly sent: number; readonly pending: number };
  readonly recoveryChecks: number;
  readonly checks: number;
  readonly violations: string[];
  readonly durationMs: number;
  readonly dir: string | null;
}

const BOT_TOKEN = '7000000005:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const WEIGHTS: Record<FailoverKind, number> = { 'mid-submission': 40, idle: 15, intake: 15, 'gateway-drop': 10, freeze: 20 };

const percentile = (xs: readonly number[], p: number) => {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

interface Run {
  readonly slot: number;
  readonly proc: ChildProcess;
  readonly clientId: number;
  out: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  dead: boolean;
}

const LEADER_READY = /Phoenix is running \((?:.|\n)*stop: {4}Ctrl\+C/;
const isLeader = (r: Run) => LEADER_READY.test(r.out);
const isFollowerReady = (r: Run) => r.out.includes('Phoenix is running as a FOLLOWER');

export async function runFailoverDrill(opts: FailoverOptions): Promise<FailoverReport> {
  const started = performance.now();
  const log = opts.log ?? (() => {});
  const rnd = seededRandom(opts.seed);
  const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  const dir = drillInstall(repoRoot, 'phoenix-failover-');
  const ownServer = !opts.postgres;
  const server = opts.postgres ?? (await startPostgres());
  const dbName = `failover_${opts.seed}_${process.pid}`;
  const url = await server.createDatabase(dbName);
  const tws = new TwsTestServer({ accounts: [ACCOUNT] });
  const ibPort = await tws.start();
  for (const p of PRODUCTS) tws.movePrice(p.symbol, p.base);
  const telegram = await startSandbox();
  const ports = [await freePort(), await freePort()];

  const violations: string[] = [];
  const seen = new Set<string>();
  const violate = (where: string, what: string) => {
    if (seen.has(what)) return;
    seen.add(what);
    violations.push(`${where}: ${what}`);
    log(`VIOLATION ${where}: ${what}`);
  };
  const killsByKind = Object.fromEntries(FAILOVER_KINDS.map((k) => [k, 0])) as Record<FailoverKind, number>;
  const takeoverMs: number[] = [];
  const electedMs: number[] = [];
  const frozenExits: (number | null)[] = [];
  const accepted202 = new Set<string>();
  const seenAlerts = new Set<string>();
  const pending = new Map<string, Record<string, unknown>>();
  /** clientId → performance.now() from which that process is fenced (a PLACE_ORDER after it is a violation) */
  const fencedFrom = new Map<number, number>();
  const runs: Run[] = [];
  let clientSeq = 300;
  let starts = 0;
  let posted = 0;
  let viaFollower = 0;
  let approveTaps = 0;
  let cardsLate = 0;
  let checks = 0;
  let recoveryChecks = 0;
  let signalSeq = 0;
  let last: Snapshot | null = null;

  const spawnRun = (slot: number): Run => {
    const clientId = ++clientSeq;
    const proc = spawnPhoenix(repoRoot, dir, {
      ibPort,
      clientId,
      databaseUrl: url,
      intakePort: ports[slot]!,
      botToken: BOT_TOKEN,
      telegramApiRoot: telegram.apiRoot,
      extra: { AUDIT_ANCHOR_FILE: join(dir, 'data', 'anchors.jsonl') }, // one journal for the desk
    });
    const run: Run = { slot, proc, clientId, out: '', dead: false, exited: new Promise((res) => proc.once('exit', (code, signal) => res({ code, signal }))) };
    void run.exited.then(() => (run.dead = true));
    const onData = (c: Buffer) => {
      run.out += c.toString('utf8');
      if (run.out.length > 400_000) run.out = run.out.slice(-200_000);
      writeFileSync(join(dir, `child-${slot}.log`), c, { flag: 'a' });
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    runs.push(run);
    starts++;
    return run;
  };

  const waitFor = async (what: string, run: Run, ok: () => boolean, ms = startTimeoutMs) => {
    const until = performance.now() + ms;
    while (!ok()) {
      if (run.dead) throw new Error(`${what}: process ${run.clientId} exited:\n${run.out.slice(-3000)}`);
      if (performance.now() > until) throw new Error(`${what}: not within ${ms} ms:\n${run.out.slice(-3000)}`);
      await sleep(10);
    }
  };

  const sigkill = async (run: Run) => {
    await killGroup(run.proc, run.exited);
  };

  const intakeOf = (run: Run) => `http://127.0.0.1:${ports[run.slot]}`;

  const makeIntent = () => {
    const p = pick(rnd, PRODUCTS);
    const seq = ++signalSeq;
    return drillIntent(p, `failover-${opts.seed}-${seq}`, `sha256:failover${seq}`, between(rnd, 60, 300), { trend: 0.9 });
  };

  const post = async (run: Run, body: Record<string, unknown>): Promise<{ intentId: string; state: string; status: number } | null> => {
    posted++;
    return postIntent(intakeOf(run), body, { pending, accepted202, violate }, 200);
  };

  const waitCard = (intentId: string, ms = 8000) => waitCardIn(telegram.apiRoot, intentId, ms);

  const tap = async (messageId: number, data: string): Promise<string | null> => {
    approveTaps++;
    return tapAs(telegram.apiRoot, messageId, data);
  };

  /** Post n intents to the leader or the follower (a follower hands them over through the database); tap APPROVE on each card. */
  const proposeAndApprove = async (leader: Run, follower: Run, n: number): Promise<string[]> => {
    const taps: string[] = [];
    for (let i = 0; i < n; i++) {
      const toFollower = rnd.next() < 0.5;
      const r = await post(toFollower ? follower : leader, makeIntent());
      if (!r || r.state !== 'PROPOSED') continue;
      if (toFollower) viaFollower++;
      if (rnd.next() < 0.15) tws.setBehavior({ orderRef: r.intentId }, { kind: 'rest' });
      const card = await waitCard(r.intentId);
      if (!card) {
        // the chat's send budget (Telegram's 20 a minute to a group) may hold a card back: not a
        // loss (the card outbox keeps it dirty until it is sent); this intent just is not approved
        cardsLate++;
        log(`  card for ${r.intentId} (posted to the ${toFollower ? 'follower' : 'leader'}) not in the chat within 8 s`);
        continue;
      }
      const q = await tap(card.messageId, card.approve);
      if (q) taps.push(q);
    }
    return taps;
  };

  const readSnapshot = async (): Promise<Snapshot> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const q = async <T>(sql: string) => (await c.query(sql)).rows as T[];
      const s: Snapshot = {
        intents: (await q<{ id: string; state: string; stateReason: string; ackedAt: Date | null }>(`SELECT id, state, "stateReason", "ackedAt" FROM "Intent"`)).map((i) => ({ ...i, ackedAt: i.ackedAt ? i.ackedAt.toISOString() : null })),
        positionBeads: await q(`SELECT seq, "intentId", payload FROM "Bead" WHERE type = 'POSITION' ORDER BY seq`),
        intentBeads: (await q<{ intentId: string | null }>(`SELECT "intentId" FROM "Bead" WHERE type = 'INTENT'`)).map((r) => r.intentId),
        tokenBeads: await q(`SELECT "intentId", payload FROM "Bead" WHERE type = 'T2_TOKEN' ORDER BY seq`),
        alertBeads: (await q<{ payload: string }>(`SELECT payload FROM "Bead" WHERE type = 'ALERT' ORDER BY seq`)).map((r) => r.payload),
        alerts: await q(`SELECT id, type, status, "messageId" FROM "Alert"`),
        alertMessages: new Map((await q<{ id: string; status: string; alertCount: number }>(`SELECT id, status, "alertCount" FROM "AlertMessage"`)).map((r) => [r.id, { status: r.status, alertCount: Number(r.alertCount) }])),
        tradeCards: new Set((await q<{ subjectId: string }>(`SELECT "subjectId" FROM "Card" WHERE kind = 'TRADE'`)).map((r) => r.subjectId)),
        beadCount: Number((await q<{ c: string }>(`SELECT COUNT(*) AS c FROM "Bead"`))[0]!.c),
      };
      await c.query('COMMIT');
      return s;
    } finally {
      await c.end();
    }
  };

  const checkAll = async (where: string, facts?: Map<string, BrokerFact>) => {
    checks++;
    const orders = checkBrokerOrders(tws, where, violate);
    // no order from a fenced leader: no PLACE_ORDER from a process after the moment it was fenced
    for (const m of tws.receivedOf('PLACE_ORDER')) {
      const from = m.clientId === undefined ? undefined : fencedFrom.get(m.clientId);
      if (from !== undefined && m.at > from) violate(where, `INV-LEADER-FENCE-1: client id ${m.clientId} placed an order ${Math.round(m.at - from)} ms after it was fenced`);
    }
    const s = await readSnapshot();
    last = s;
    if (facts) recoveryChecks += checkRecovered(where, facts, s, violate);
    checkSnapshot(where, s, orders, { violate, seenAlerts, accepted202 });
    const pool = pgPool(url, 2);
    const store = new PgStore(pgPrisma(pool), pool);
    try {
      await checkAuditChain(where, store, s.beadCount, violate);
    } finally {
      await store.close();
    }
  };

  const resolvePending = async (leader: Run) => {
    for (const [signalId, body] of [...pending]) {
      pending.delete(signalId);
      posted--;
      await post(leader, body);
    }
  };

  try {
    const slots: Run[] = [spawnRun(0)];
    await waitFor('first leader', slots[0]!, () => isLeader(slots[0]!));
    slots.push(spawnRun(1));
    await waitFor('first follower', slots[1]!, () => isFollowerReady(slots[1]!));
    await checkAll('start');
    for (let k = 1; k <= opts.kills; k++) {
      const kind = opts.schedule?.length ? opts.schedule[(k - 1) % opts.schedule.length]! : weighted(rnd, WEIGHTS);
      killsByKind[kind]++;
      const leader = slots.find((r) => !r.dead && (isLeader(r) || r.out.includes('took over as the LEADER')))!;
      const follower = slots.find((r) => r !== leader)!;
      const mark = follower.out.length; // its takeover banner comes after this
      let note = '';
      let t0 = 0;
      let wall0 = 0;
      const facts = (): Map<string, BrokerFact> => brokerFacts(tws);
      let before: Map<string, BrokerFact> = facts();
      /** the moment of the kill: the broker as it stood, and the clocks the takeover is timed from */
      const markKill = () => {
        before = facts();
        t0 = performance.now();
        wall0 = Date.now();
      };
      switch (kind) {
        case 'mid-submission': {
          await proposeAndApprove(leader, follower, between(rnd, 1, 3));
          const d = rnd.next() < 0.6 ? between(rnd, 0, 150) : between(rnd, 150, 600);
          await sleep(d);
          markKill();
          await sigkill(leader);
          note = `SIGKILL ${d} ms after the APPROVE taps`;
          break;
        }
        case 'idle': {
          const qs = await proposeAndApprove(leader, follower, between(rnd, 1, 2));
          for (const q of qs) await fetch(`${telegram.apiRoot}/sandbox/api/answer?id=${encodeURIComponent(q)}&waitMs=5000`, { signal: AbortSignal.timeout(10_000) }).catch(() => null);
          await sleep(between(rnd, 50, 600));
          markKill();
          await sigkill(leader);
          note = `${qs.length} approvals answered, then SIGKILL`;
          break;
        }
        case 'intake': {
          const n = between(rnd, 3, 8);
          const inflight = Array.from({ length: n }, () => post(leader, makeIntent()));
          const d = between(rnd, 2, 35);
          await sleep(d);
          markKill();
          await sigkill(leader);
          await Promise.all(inflight);
          note = `${n} intake POSTs in flight, SIGKILL after ${d} ms`;
          break;
        }
        case 'gateway-drop': {
          await proposeAndApprove(leader, follower, between(rnd, 0, 2));
          tws.dropConnections();
          const d = between(rnd, 200, 3500);
          await sleep(d);
          markKill();
          await sigkill(leader);
          note = `gateway dropped its connections, SIGKILL ${d} ms later`;
          break;
        }
        case 'freeze': {
          await proposeAndApprove(leader, follower, between(rnd, 1, 2));
          await sleep(between(rnd, 0, 300));
          markKill();
          process.kill(-leader.proc.pid!, 'SIGSTOP');
          note = 'SIGSTOP (frozen leader)';
          break;
        }
      }
      // the follower takes over: its banner, after the takeover line
      await waitFor(`takeover after kill #${k} [${kind}]`, follower, () => LEADER_READY.test(follower.out.slice(mark)) && follower.out.slice(mark).includes('took over as the LEADER'), 20_000);
      const took = performance.now() - t0;
      takeoverMs.push(took);
      // when it won the lock (its log line's wall-clock time; not under a shifted clock)
      const won = /"time":(\d+)[^\n]*holds the desk lock/.exec(follower.out.slice(mark));
      if (won && !process.env.FAKETIME) electedMs.push(Number(won[1]) - wall0);
      if (kind === 'freeze') {
        // from now on the frozen process is fenced: wake it up; it must send nothing and exit 3
        const wake = performance.now();
        fencedFrom.set(leader.clientId, wake);
        process.kill(-leader.proc.pid!, 'SIGCONT');
        const end = await Promise.race([leader.exited, sleep(15_000).then(() => null)]);
        frozenExits.push(end?.code ?? null);
        if (!end) {
          violate(`kill #${k} [freeze]`, 'the stale leader did not exit within 15 s of waking up');
          await sigkill(leader);
        } else if (end.code !== 3) violate(`kill #${k} [freeze]`, `the stale leader exited with ${end.code ?? end.signal}, not 3 (leadership lost)`);
        note += `; woke it: exit ${end?.code ?? end?.signal ?? 'none'}`;
      } else {
        // a SIGKILLed process cannot write again; bytes it wrote just before dying may still be
        // read after the kill, so its fence is the takeover (nothing may arrive after that)
        fencedFrom.set(leader.clientId, performance.now());
      }
      log(`kill #${k} [${kind}] ${note}; elected after ${electedMs.length ? electedMs[electedMs.length - 1] : '?'} ms, took over after ${Math.round(took)} ms`);
      await checkAll(`after kill #${k} [${kind}] (new leader live)`, before);
      await resolvePending(follower);
      // the dead slot comes back as a follower
      const fresh = spawnRun(leader.slot);
      slots[leader.slot] = fresh;
      await waitFor(`restart of slot ${leader.slot}`, fresh, () => isFollowerReady(fresh));
    }
    await checkAll('final (live)');
    // clean stop: the follower, then the leader (exit 0 both)
    for (const r of [...slots].sort((a) => (isLeader(a) || a.out.includes('took over') ? 1 : -1))) {
      if (r.dead) continue;
      process.kill(-r.proc.pid!, 'SIGTERM');
      const end = await Promise.race([r.exited, sleep(15_000).then(() => null)]);
      if (!end) {
        violate('final', `process ${r.clientId} did not stop within 15 s of SIGTERM`);
        await sigkill(r);
      } else if (end.code !== 0) violate('final', `process ${r.clientId} exited with ${end.code ?? end.signal} on SIGTERM`);
    }
    await checkAll('final (stopped)');
  } catch (e) {
    violate('drill', `aborted: ${(e as Error).message}`);
  } finally {
    for (const r of runs) if (!r.dead) await sigkill(r);
    await tws.close();
    await telegram.close();
    if (ownServer) server.stop();
  }

  const s = last as Snapshot | null;
  const byState: Record<string, number> = {};
  for (const i of s?.intents ?? []) byState[i.state] = (byState[i.state] ?? 0) + 1;
  const refs = new Set(tws.orders().map((o) => o.orderRef));
  let fromFenced = 0;
  for (const m of tws.receivedOf('PLACE_ORDER')) {
    const from = m.clientId === undefined ? undefined : fencedFrom.get(m.clientId);
    if (from !== undefined && m.at > from) fromFenced++;
  }
  const report: FailoverReport = {
    seed: opts.seed,
    kills: Object.values(killsByKind).reduce((a, b) => a + b, 0),
    killsByKind,
    takeoverMs,
    takeover: { p50: Math.round(percentile(takeoverMs, 50)), p99: Math.round(percentile(takeoverMs, 99)), max: Math.round(Math.max(0, ...takeoverMs)) },
    elected: { p50: Math.round(percentile(electedMs, 50)), p99: Math.round(percentile(electedMs, 99)), max: Math.round(Math.max(0, ...electedMs)) },
    starts,
    intents: { posted, accepted202: accepted202.size, viaFollower, inDb: s?.intents.length ?? 0, byState },
    approveTaps,
    cardsLate,
    broker: { legs: tws.orders().length, orderRefs: refs.size, placements: tws.placements.length, duplicateIdErrors: tws.duplicateIdErrors, fromFencedLeaders: fromFenced },
    frozenExits,
    beads: s?.beadCount ?? 0,
    alerts: { rows: s?.alerts.length ?? 0, sent: s?.alerts.filter((a) => a.status === 'SENT').length ?? 0, pending: s?.alerts.filter((a) => a.status === 'PENDING').length ?? 0 },
    recoveryChecks,
    checks,
    violations,
    durationMs: Math.round(performance.now() - started),
    dir: opts.keepDir ? dir : null,
  };
  if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
  return report;
}

export function formatFailoverReport(r: FailoverReport): string {
  const kv = counts;
  const lines = [
    `Failover drill, seed ${r.seed}: ${r.kills} leader kills (${kv(r.killsByKind)}), ${r.starts} process starts`,
    `  takeover:  p50 ${r.takeover.p50} ms, p99 ${r.takeover.p99} ms, max ${r.takeover.max} ms (kill → the follower's "took over" banner: broker connected, recovery done, bot and alerts running; SPEC ≤ 10 s)`,
    `  elected:   p50 ${r.elected.p50} ms, p99 ${r.elected.p99} ms, max ${r.elected.max} ms (kill → the follower holds the lock and the next epoch)`,
    `  intents:   ${r.intents.posted} posted (${r.intents.viaFollower} through a follower), ${r.intents.accepted202} accepted, ${r.intents.inDb} in the database — ${kv(r.intents.byState)}; ${r.approveTaps} APPROVE taps (${r.cardsLate} cards late, not tapped)`,
    `  broker:    ${r.broker.legs} legs for ${r.broker.orderRefs} intents, ${r.broker.placements} PLACE_ORDER messages, ${r.broker.duplicateIdErrors} duplicate-id errors, ${r.broker.fromFencedLeaders} from a fenced leader`,
    `  frozen:    stale leaders woken after the takeover exited with ${r.frozenExits.length ? r.frozenExits.join(', ') : '—'}`,
    `  audit:     ${r.beads} beads; alerts ${r.alerts.rows} (${r.alerts.sent} sent, ${r.alerts.pending} pending)`,
    `  checks:    ${r.checks} (${r.recoveryChecks} recoveries verified), ${r.violations.length} violation(s); ${(r.durationMs / 1000).toFixed(1)} s${r.dir ? `; files in ${r.dir}` : ''}`,
  ];
  if (r.violations.length) lines.push('VIOLATIONS:', ...r.violations.map((v) => `  - ${v}`));
  else lines.push('OK: no duplicate order, no order from a fenced leader, every state explained, chain intact, no alert lost.');
  return lines.join('\n');
}

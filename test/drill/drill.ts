/**
 * Crash drill (issue 9; SPEC 14 INV-IDEMPOTENT-ORDER-1, INV-POSITION-AUDIT-1,
 * INV-AUDIT-CHAIN-1, INV-OUTBOX-1; SPEC 15 "process killed mid-submission").
 *
 * A TwsTestServer runs in THIS process and keeps its orders, executions and positions for the
 * whole drill (like a real IB Gateway that outlives Phoenix). Phoenix runs as a REAL child
 * process (`node --import tsx src/main.ts`, BROKER=ibkr) on one SQLite file in a temp dir. Its
 * Telegram is a sandbox Bot API run by THIS process too (TELEGRAM_BOT_TOKEN + TELEGRAM_API_ROOT),
 * so chat, pending updates and taps outlive every kill like the real Telegram does (and the
 * sandbox chat never serves IBKR on its own: INV-SANDBOX-PAPER-1). A seeded schedule then,
 * again and again:
 *   - submits intents over HTTP (POST /v1/intents),
 *   - approves them as approver 1001 by tapping APPROVE through the sandbox console API
 *     (GET /sandbox/api/chat → the card's `v1:a:<cardId>` button → POST /sandbox/api/tap),
 *   - picks per intent how the "gateway" answers (fill, rest, reject, partial, delayed fill,
 *     never answer) and sometimes moves the market so targets or stops fill,
 *   - SIGKILLs the child: right after APPROVE taps (mid-submission), during intake, while
 *     idle, during start-up (mid-recovery), after the gateway dropped the connection (alerts
 *     in flight, reconnect pending), or after lingering past the first sweep,
 *   - restarts it on the same database file against the same gateway, with the same or a
 *     new IB client id.
 * After every kill (quiescent database) and every restart (live) the invariants are checked:
 *   (a) never two orders for one intent at the broker: per orderRef at most one parent order,
 *       at most 3 legs all linked to it, at most 3 distinct order ids ever placed; and every
 *       orderRef at the broker belongs to an intent whose approval token was USED;
 *   (b) every intent's state is explained by its beads: one INTENT bead; its POSITION beads
 *       form a continuous from→to chain starting at PROPOSED and ending at the current state;
 *   (c) the audit chain verifies (verifyAudit on the file through SqliteStore);
 *   (d) no alert is lost: every ALERT bead's alertId has its Alert row and every row its
 *       RAISED bead; rows are PENDING (outbox) or SENT (their message exists); every alert
 *       message accounts for exactly the alerts folded into it and shares their fate; no
 *       alert id seen before ever disappears;
 *   (e) intake is atomic and durable: every intent the intake answered 202 for still exists,
 *       a PROPOSED intent has its card, a cut request is either wholly there or absent;
 *   (f) restart recovery by orderRef: whatever the broker had for an intent before a start
 *       (entry filled / working / rejected, exit filled) is reflected in its state by the
 *       time "Phoenix is running" is printed; an intent that says "nothing sent" has no leg
 *       at the broker;
 *   and Phoenix never exits by itself (only our SIGKILL, or 0 on the final SIGTERM).
 * The seed fixes the schedule (what is done, which waits, which kill); the interleaving with
 * the child's own timing is real, so two runs with one seed are alike, not identical.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom, type Random } from '../../src/engine/ports.js';
import { startSandbox } from '../../src/sandbox/server.js';
import { SqliteStore } from '../../src/store/sqlite.store.js';
import { TwsTestServer, type FillBehavior, type ServerOrder } from '../support/tws/index.js';
import { brokerFacts, checkBrokerOrders, checkRecovered, checkSnapshot, type BrokerFact, type Snapshot } from './invariants.js';
import { ACCOUNT, between, checkAuditChain, counts, drillInstall, drillIntent, freePort, killGroup, pick, postIntent as postTo, PRODUCTS, sleep, spawnPhoenix, tapAs, waitCard as waitCardIn, weighted } from './kit.js';

export { drillConstitutionYaml } from './kit.js';

export const KILL_KINDS = ['mid-submission', 'intake', 'idle', 'startup', 'gateway-drop', 'linger'] as const;
export type KillKind = (typeof KILL_KINDS)[number];

export interface DrillOptions {
  /** SIGKILLs to deliver (≥ 1) */
  readonly kills: number;
  readonly seed: number;
  /** relative weights of the kill kinds (default: mid-submission 40, intake 14, idle 16, startup 12, gateway-drop 10, linger 8) */
  readonly weights?: Partial<Record<KillKind, number>>;
  /** a fixed sequence of kill kinds (cycled) instead of the weighted draw — CI uses it for coverage */
  readonly schedule?: readonly KillKind[];
  /** repository root (default: the one this file is in) */
  readonly repoRoot?: string;
  /** progress lines (default: none) */
  readonly log?: (line: string) => void;
  /** keep the temp dir (database, child logs) for inspection */
  readonly keepDir?: boolean;
  /** how long a start may take until "Phoenix is running" (default 30 s) */
  readonly startTimeoutMs?: number;
  /** linger kind: how long the child runs before the kill (default 11.5 s: past the first 10 s sweep) */
  readonly lingerMs?: number;
}

export interface DrillReport {
  readonly seed: number;
  readonly kills: number;
  readonly killsByKind: Record<KillKind, number>;
  /** starts that reached "Phoenix is running" */
  readonly restarts: number;
  readonly clientIds: number[];
  readonly intents: {
    readonly posted: number;
    readonly accepted202: number;
    readonly inDb: number;
    readonly byState: Record<string, number>;
  };
  readonly taps: { readonly approve: number; readonly answeredApproved: number };
  /** how the gateway was told to answer each proposed intent's bracket */
  readonly behaviors: Record<string, number>;
  /** intents whose broker state recovery had to reflect, summed over all starts */
  readonly recoveryChecks: number;
  readonly intakeCut: { readonly recorded: number; readonly lost: number };
  readonly broker: {
    /** orders (legs) the TWS server holds */
    readonly legs: number;
    /** distinct orderRefs (= intents) with at least one leg */
    readonly orderRefs: number;
    /** orderRefs with the full 3-leg bracket */
    readonly fullBrackets: number;
    /** orderRefs with 1–2 legs: killed between legs, never transmitted (held) */
    readonly cutBrackets: number;
    readonly placements: number;
    readonly executions: number;
    readonly duplicateIdErrors: number;
  };
  readonly beads: number;
  readonly alerts: { readonly rows: number; readonly pending: number; readonly sent: number; readonly byType: Record<string, number> };
  readonly checks: number;
  readonly violations: string[];
  readonly durationMs: number;
  readonly dir: string | null;
}

/** any well-formed token: the drill's own sandbox Bot API accepts it (like BotFather's, never a real one) */
const DRILL_BOT_TOKEN = '7000000004:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

const BASE_CLIENT_ID = 17;
const APPROVED_ANSWER = 'Approved ✅ Order sent to the broker.';

/** How the gateway answers one intent's bracket (seeded per intent). */
const BEHAVIORS: ReadonlyArray<{ w: number; label: string; b: (r: Random) => FillBehavior | null }> = [
  { w: 62, label: 'auto', b: () => null },
  { w: 10, label: 'rest', b: () => ({ kind: 'rest' }) },
  { w: 8, label: 'reject', b: () => ({ kind: 'reject', code: 201, reason: 'Order rejected - reason:Insufficient margin (drill)' }) },
  { w: 8, label: 'delayed fill', b: (r) => ({ kind: 'fill', delayMs: 100 + Math.floor(r.next() * 1200) }) },
  { w: 6, label: 'partial', b: () => ({ kind: 'partial', ratio: 0.5 }) },
  { w: 6, label: 'never', b: () => ({ kind: 'never' }) },
];

const DEFAULT_WEIGHTS: Record<KillKind, number> = { 'mid-submission': 40, intake: 14, idle: 16, startup: 12, 'gateway-drop': 10, linger: 8 };

interface ChildRun {
  readonly proc: ChildProcess;
  readonly clientId: number;
  out: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function runDrill(opts: DrillOptions): Promise<DrillReport> {
  const started = Date.now();
  const log = opts.log ?? (() => {});
  const repoRoot = opts.repoRoot ?? fileURLToPath(new URL('../..', import.meta.url));
  const rnd = seededRandom(opts.seed);
  const weights: Record<KillKind, number> = { ...DEFAULT_WEIGHTS, ...(opts.weights ?? {}) };
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  const lingerMs = opts.lingerMs ?? 11_500;

  const dir = drillInstall(repoRoot, 'phoenix-drill-');
  const dbFile = join(dir, 'data', 'phoenix.db');
  const childLog = join(dir, 'child.log');

  const server = new TwsTestServer({ accounts: [ACCOUNT] });
  const ibPort = await server.start();
  for (const p of PRODUCTS) server.movePrice(p.symbol, p.base);
  const intakePort = await freePort();
  const telegram = await startSandbox();
  const intakeUrl = `http://127.0.0.1:${intakePort}`;
  const sandboxUrl = telegram.apiRoot;

  const violations: string[] = [];
  const killsByKind: Record<KillKind, number> = { 'mid-submission': 0, intake: 0, idle: 0, startup: 0, 'gateway-drop': 0, linger: 0 };
  const clientIds: number[] = [];
  const accepted202 = new Set<string>(); // intentIds the intake answered 202 for
  const pendingSignals = new Map<string, Record<string, unknown>>(); // posted, outcome unknown (kill during intake)
  const seenAlerts = new Set<string>();
  const behaviors: Record<string, number> = {};
  let recoveryChecks = 0;
  /** intake requests cut by a kill, resolved by re-POSTing after the restart: 409 = it had been recorded, 202 = it had not */
  const intakeCut = { recorded: 0, lost: 0 };
  let posted = 0;
  let approveTaps = 0;
  let answeredApproved = 0;
  let restarts = 0;
  let checks = 0;
  let signalSeq = 0;
  let child: ChildRun | null = null;
  const spawned: ChildRun[] = [];
  let lastSnapshot: Snapshot | null = null;

  // a broken invariant usually stays broken: report each one once, where it was first seen
  const repeats = new Map<string, number>();
  const violate = (where: string, what: string) => {
    if (repeats.has(what)) {
      repeats.set(what, (repeats.get(what) ?? 0) + 1);
      return;
    }
    repeats.set(what, 0);
    const line = `${where}: ${what}`;
    violations.push(line);
    log(`VIOLATION ${line}`);
  };

  // === the child process

  const spawnChild = (clientId: number): ChildRun => {
    const proc = spawnPhoenix(repoRoot, dir, {
      ibPort,
      clientId,
      databaseUrl: 'file:./data/phoenix.db',
      intakePort,
      botToken: DRILL_BOT_TOKEN,
      telegramApiRoot: telegram.apiRoot,
      // the drill runs on the wall clock: IB Gateway's restart window (23:45-00:05 ET) would hold its entries
      extra: { IB_RESTART_WINDOW: 'off', IB_WEEKLY_LOGIN: 'off' },
    });
    const run: ChildRun = {
      proc,
      clientId,
      out: '',
      exited: new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal }))),
    };
    const onData = (c: Buffer) => {
      const s = c.toString('utf8');
      run.out += s;
      if (run.out.length > 200_000) run.out = run.out.slice(-100_000);
      try {
        writeFileSync(childLog, s, { flag: 'a' });
      } catch {
        /* best effort */
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    clientIds.push(clientId);
    spawned.push(run);
    return run;
  };

  const isReady = (run: ChildRun) => run.out.includes('Phoenix is running') && run.out.includes('  stop:    Ctrl+C');

  const waitReady = async (run: ChildRun): Promise<void> => {
    const until = Date.now() + startTimeoutMs;
    let exited = false;
    void run.exited.then(() => (exited = true));
    while (!isReady(run)) {
      if (exited) throw new Error(`Phoenix exited during start-up (client id ${run.clientId}):\n${run.out.slice(-4000)}`);
      if (Date.now() > until) throw new Error(`Phoenix did not start within ${startTimeoutMs} ms:\n${run.out.slice(-4000)}`);
      await sleep(20);
    }
  };

  const kill = async (run: ChildRun): Promise<void> => {
    const r = await killGroup(run.proc, run.exited);
    // nothing but our SIGKILL may end it: exiting on its own is a crash
    if (r.signal !== 'SIGKILL') violate(`client id ${run.clientId}`, `Phoenix exited on its own (${r.code ?? r.signal}):\n${run.out.slice(-2000)}`);
  };

  const nextClientId = (k: number) => (rnd.next() < 0.5 ? BASE_CLIENT_ID : 100 + k);

  // === HTTP helpers (intake, sandbox console)

  const makeIntent = (p: (typeof PRODUCTS)[number]): Record<string, unknown> => {
    const seq = ++signalSeq;
    return drillIntent(p, `drill-${opts.seed}-${seq}`, `sha256:drill${seq}`, between(rnd, 30, 300), { trend: 0.9, momentum: 0.7 });
  };

  /** POST one intent; records what the intake said. */
  const postIntent = async (body: Record<string, unknown>): Promise<{ intentId: string; state: string; status: number } | null> => {
    posted++;
    return postTo(intakeUrl, body, { pending: pendingSignals, accepted202, violate });
  };

  /** The card message of an intent with its APPROVE button, once the bot has sent it. */
  const waitCard = (intentId: string, timeoutMs = 6000) => waitCardIn(sandboxUrl, intentId, timeoutMs);

  const tap = async (messageId: number, data: string): Promise<string | null> => {
    approveTaps++;
    return tapAs(sandboxUrl, messageId, data);
  };

  const answerOf = async (callbackQueryId: string, waitMs: number): Promise<string | null> => {
    try {
      const res = await fetch(`${sandboxUrl}/sandbox/api/answer?id=${encodeURIComponent(callbackQueryId)}&waitMs=${waitMs}`, { signal: AbortSignal.timeout(waitMs + 5000) });
      const j = (await res.json()) as { answered: boolean; answer: { text?: string } | null };
      const text = j.answered ? (j.answer?.text ?? '') : null;
      if (text === APPROVED_ANSWER) answeredApproved++;
      return text;
    } catch {
      return null;
    }
  };

  /** Post 1..n intents, give each a gateway behaviour, wait for their cards. */
  const propose = async (n: number): Promise<{ intentId: string; card: { messageId: number; approve: string } }[]> => {
    const out: { intentId: string; card: { messageId: number; approve: string } }[] = [];
    for (let i = 0; i < n; i++) {
      const p = pick(rnd, PRODUCTS);
      const r = await postIntent(makeIntent(p));
      if (!r || r.state !== 'PROPOSED') continue;
      const label = weighted(rnd, Object.fromEntries(BEHAVIORS.map((b) => [b.label, b.w])));
      const fb = BEHAVIORS.find((b) => b.label === label)?.b(rnd) ?? null;
      if (fb) server.setBehavior({ orderRef: r.intentId }, fb);
      behaviors[label] = (behaviors[label] ?? 0) + 1;
      const card = await waitCard(r.intentId);
      if (!card) {
        log(`  card for ${r.intentId} did not show up in the sandbox chat`);
        continue;
      }
      out.push({ intentId: r.intentId, card });
    }
    return out;
  };

  /** Sometimes the market moves: targets or stops of working brackets fill. */
  const maybeMoveMarket = () => {
    if (rnd.next() >= 0.2) return;
    const p = pick(rnd, PRODUCTS);
    const to = rnd.next() < 0.5 ? p.targetHit : p.stopHit;
    server.movePrice(p.symbol, to);
    log(`  market: ${p.symbol} → ${to}`);
  };
  const restoreMarket = () => {
    for (const p of PRODUCTS) if (server.price(p.symbol) !== p.base) server.movePrice(p.symbol, p.base);
  };

  // === invariant checks

  const readSnapshot = (store: SqliteStore): Snapshot => {
    const db = store.db;
    const read = db.transaction((): Snapshot => ({
      intents: db.prepare(`SELECT id, state, stateReason, ackedAt FROM "Intent"`).all() as Snapshot['intents'],
      positionBeads: db.prepare(`SELECT seq, intentId, payload FROM "Bead" WHERE type = 'POSITION' ORDER BY seq`).all() as Snapshot['positionBeads'],
      intentBeads: (db.prepare(`SELECT intentId FROM "Bead" WHERE type = 'INTENT'`).all() as { intentId: string | null }[]).map((r) => r.intentId),
      tokenBeads: db.prepare(`SELECT intentId, payload FROM "Bead" WHERE type = 'T2_TOKEN' ORDER BY seq`).all() as Snapshot['tokenBeads'],
      alertBeads: (db.prepare(`SELECT payload FROM "Bead" WHERE type = 'ALERT' ORDER BY seq`).all() as { payload: string }[]).map((r) => r.payload),
      alerts: db.prepare(`SELECT id, type, status, messageId FROM "Alert"`).all() as Snapshot['alerts'],
      alertMessages: new Map(
        (db.prepare(`SELECT id, status, alertCount FROM "AlertMessage"`).all() as { id: string; status: string; alertCount: number }[]).map((r) => [r.id, { status: r.status, alertCount: Number(r.alertCount) }]),
      ),
      tradeCards: new Set((db.prepare(`SELECT subjectId FROM "Card" WHERE kind = 'TRADE'`).all() as { subjectId: string }[]).map((r) => r.subjectId)),
      beadCount: Number((db.prepare(`SELECT COUNT(*) AS c FROM "Bead"`).get() as { c: number }).c),
    }));
    return read.deferred();
  };

  /** (b)–(e) on the database file; (f) when `facts` (the broker before this start) are given. */
  const checkDb = async (where: string, brokerOrders: ServerOrder[], facts?: Map<string, BrokerFact>): Promise<void> => {
    checks++;
    const store = new SqliteStore(dbFile);
    try {
      const s = readSnapshot(store);
      lastSnapshot = s;
      if (facts) recoveryChecks += checkRecovered(where, facts, s, violate);
      checkSnapshot(where, s, brokerOrders, { violate, seenAlerts, accepted202 });
      // (c) audit chain
      await checkAuditChain(where, store, s.beadCount, violate);
    } finally {
      await store.close();
    }
  };

  const checkAll = async (where: string, facts?: Map<string, BrokerFact>) => {
    const orders = checkBrokerOrders(server, where, violate);
    await checkDb(where, orders, facts);
  };

  /** After a start: learn what happened to intake requests cut by the last kill (re-POST: 409 = it was recorded). */
  const resolvePendingSignals = async () => {
    for (const [signalId, body] of [...pendingSignals]) {
      pendingSignals.delete(signalId);
      posted--; // counted again by postIntent
      const r = await postIntent(body);
      if (r?.status === 409) intakeCut.recorded++;
      else if (r?.status === 202) intakeCut.lost++;
    }
  };

  // === the drill

  try {
    const startChild = async (k: number, where: string): Promise<ChildRun> => {
      const facts = brokerFacts(server);
      const run = spawnChild(nextClientId(k));
      await waitReady(run);
      restarts++;
      await checkAll(`${where} (live, client id ${run.clientId})`, facts);
      await resolvePendingSignals();
      return run;
    };

    child = await startChild(0, 'first start');
    for (let k = 1; k <= opts.kills; k++) {
      const kind = opts.schedule?.length ? opts.schedule[(k - 1) % opts.schedule.length]! : weighted(rnd, weights);
      killsByKind[kind]++;
      const t0 = Date.now();
      let note = '';
      if (!child) throw new Error('no child');
      switch (kind) {
        case 'mid-submission': {
          const cards = await propose(between(rnd, 1, 3));
          maybeMoveMarket();
          // tap APPROVE on every card back to back, then kill while they are being submitted
          for (const c of cards) await tap(c.card.messageId, c.card.approve);
          // mostly inside the submission (legs are paced ~26 ms apart), sometimes just after it
          const delay = rnd.next() < 0.6 ? between(rnd, 0, 150) : between(rnd, 150, 600);
          await sleep(delay);
          note = `${cards.length} APPROVE tap(s), SIGKILL ${delay} ms after the last`;
          break;
        }
        case 'intake': {
          const n = between(rnd, 3, 8);
          const bodies = Array.from({ length: n }, () => makeIntent(pick(rnd, PRODUCTS)));
          const inflight = bodies.map((b) => postIntent(b));
          const delay = between(rnd, 2, 35);
          await sleep(delay);
          await kill(child);
          const answered = (await Promise.all(inflight)).filter((r) => r !== null).length;
          note = `${n} intake POSTs in flight, SIGKILL after ${delay} ms (${answered} answered before)`;
          break;
        }
        case 'idle': {
          const cards = await propose(between(rnd, 1, 3));
          const ids: string[] = [];
          for (const c of cards) {
            const q = await tap(c.card.messageId, c.card.approve);
            if (q) ids.push(q);
          }
          for (const q of ids) await answerOf(q, 5000);
          maybeMoveMarket();
          const delay = between(rnd, 50, 600);
          await sleep(delay);
          note = `${cards.length} approved and answered, idle ${delay} ms`;
          break;
        }
        case 'startup': {
          await kill(child);
          await checkAll(`kill #${k} (before a start-up kill)`);
          restoreMarket();
          const run = spawnChild(nextClientId(k));
          const delay = between(rnd, 150, 2500);
          await sleep(delay);
          note = `SIGKILL ${delay} ms into start-up${isReady(run) ? ' (it was already up)' : ''}`;
          child = run;
          break;
        }
        case 'gateway-drop': {
          // the gateway drops every connection (maybe mid-submission); Phoenix raises its
          // disconnect alert and reconnects after ~2 s — the kill lands before or after that
          const cards = await propose(between(rnd, 0, 2));
          for (const c of cards) await tap(c.card.messageId, c.card.approve);
          await sleep(between(rnd, 0, 120));
          server.dropConnections();
          const delay = between(rnd, 200, 3500);
          await sleep(delay);
          note = `${cards.length} APPROVE tap(s), gateway dropped the connection, SIGKILL ${delay} ms later`;
          break;
        }
        case 'linger': {
          const cards = await propose(1);
          for (const c of cards) {
            const q = await tap(c.card.messageId, c.card.approve);
            if (q) await answerOf(q, 5000);
          }
          maybeMoveMarket();
          await sleep(lingerMs);
          note = `ran ${lingerMs} ms (sweeps: stalls, expiries, retries)`;
          break;
        }
      }
      await kill(child);
      log(`kill #${k} [${kind}] ${note} (client id ${child.clientId}, ${Date.now() - t0} ms)`);
      await checkAll(`kill #${k} [${kind}] (quiescent)`);
      restoreMarket();
      // sometimes the market moves while Phoenix is down: exits fill that only recovery can tell it about
      if (rnd.next() < 0.2) {
        const p = pick(rnd, PRODUCTS);
        const to = rnd.next() < 0.5 ? p.targetHit : p.stopHit;
        server.movePrice(p.symbol, to);
        log(`  market while down: ${p.symbol} → ${to}`);
      }
      child = await startChild(k, `restart after kill #${k}`);
    }
    // let the last start settle (its start-up heartbeat is recorded), check live, then stop it
    // gracefully and check once more
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(50)) {
      const h = (await fetch(`${intakeUrl}/healthz`).then((r) => r.json()).catch(() => null)) as { lastHeartbeat?: unknown } | null;
      if (h?.lastHeartbeat) break;
    }
    await checkAll('final (live)');
    if (child.proc.pid) process.kill(-child.proc.pid, 'SIGTERM');
    const end = await Promise.race([child.exited, sleep(15_000).then(() => null)]);
    if (!end) {
      violate('final', 'Phoenix did not stop within 15 s of SIGTERM');
      await kill(child);
    } else if (end.code !== 0) violate('final', `Phoenix exited with ${end.code ?? end.signal} on SIGTERM`);
    child = null;
    await checkAll('final (stopped)');
  } catch (e) {
    violate('drill', `aborted: ${(e as Error).message}`);
  } finally {
    // whatever happened, no child outlives the drill (only the ones it spawned, by pid)
    for (const run of spawned) await killGroup(run.proc, run.exited);
    await server.close();
    await telegram.close();
  }

  // === report
  const s = lastSnapshot as Snapshot | null;
  const byState: Record<string, number> = {};
  for (const i of s?.intents ?? []) byState[i.state] = (byState[i.state] ?? 0) + 1;
  const legsByRef = new Map<string, number>();
  for (const o of server.orders()) legsByRef.set(o.orderRef, (legsByRef.get(o.orderRef) ?? 0) + 1);
  const alertTypes: Record<string, number> = {};
  for (const a of s?.alerts ?? []) alertTypes[a.type] = (alertTypes[a.type] ?? 0) + 1;
  const report: DrillReport = {
    seed: opts.seed,
    kills: Object.values(killsByKind).reduce((a, b) => a + b, 0),
    killsByKind,
    restarts,
    clientIds,
    intents: { posted, accepted202: accepted202.size, inDb: s?.intents.length ?? 0, byState },
    taps: { approve: approveTaps, answeredApproved },
    behaviors,
    recoveryChecks,
    intakeCut,
    broker: {
      legs: server.orders().length,
      orderRefs: legsByRef.size,
      fullBrackets: [...legsByRef.values()].filter((n) => n === 3).length,
      cutBrackets: [...legsByRef.values()].filter((n) => n < 3).length,
      placements: server.placements.length,
      executions: server.executions.length,
      duplicateIdErrors: server.duplicateIdErrors,
    },
    beads: s?.beadCount ?? 0,
    alerts: {
      rows: s?.alerts.length ?? 0,
      pending: s?.alerts.filter((a) => a.status === 'PENDING').length ?? 0,
      sent: s?.alerts.filter((a) => a.status === 'SENT').length ?? 0,
      byType: alertTypes,
    },
    checks,
    violations,
    durationMs: Date.now() - started,
    dir: opts.keepDir ? dir : null,
  };
  if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
  return report;
}

/** A human-readable summary of a report. */
export function formatReport(r: DrillReport): string {
  const kv = counts;
  const lines = [
    `Crash drill, seed ${r.seed}: ${r.kills} SIGKILLs (${kv(r.killsByKind)}), ${r.restarts} starts reached "Phoenix is running", client ids used: ${[...new Set(r.clientIds)].length}`,
    `  intents:   ${r.intents.posted} posted, ${r.intents.accepted202} accepted (202), ${r.intents.inDb} in the database — ${kv(r.intents.byState)}`,
    `  intake:    ${r.intakeCut.recorded + r.intakeCut.lost} requests cut by a kill: ${r.intakeCut.recorded} had been recorded (re-POST 409, same intent), ${r.intakeCut.lost} had not (re-POST 202)`,
    `  approvals: ${r.taps.approve} APPROVE taps, ${r.taps.answeredApproved} answered "${APPROVED_ANSWER}" before a kill; gateway behaviours: ${kv(r.behaviors)}`,
    `  broker:    ${r.broker.legs} orders (legs) for ${r.broker.orderRefs} intents: ${r.broker.fullBrackets} full brackets, ${r.broker.cutBrackets} cut between legs (held, never transmitted); ${r.broker.placements} PLACE_ORDER messages, ${r.broker.executions} executions, ${r.broker.duplicateIdErrors} duplicate-id errors`,
    `  audit:     ${r.beads} beads; alerts: ${r.alerts.rows} rows (${r.alerts.pending} pending, ${r.alerts.sent} sent) — ${kv(r.alerts.byType)}`,
    `  checks:    ${r.checks} invariant checks (after every kill and every start; ${r.recoveryChecks} intent-at-broker recoveries verified), ${r.violations.length} violation(s)`,
    `  runtime:   ${(r.durationMs / 1000).toFixed(1)} s${r.dir ? `; files kept in ${r.dir}` : ''}`,
  ];
  if (r.violations.length) lines.push('VIOLATIONS:', ...r.violations.map((v) => `  - ${v}`));
  else lines.push('OK: no duplicate order, every state explained by its beads, audit chain intact, no alert lost.');
  return lines.join('\n');
}

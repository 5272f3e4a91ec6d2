/**
 * Alert flood (SPEC 16): 10,000 alerts in 60 s into one Telegram group chat, through the
 * sandbox Bot API with Telegram's rate limits on, in real time. Reports messages sent, 429s,
 * time from the first (CRITICAL) alert to its message, alerts accounted for by what the
 * messages say, and peak RSS.
 *
 * Side by side, when the Debian package `prometheus-alertmanager` is installed: the same
 * flood is posted to Alertmanager's /api/v2/alerts, its Telegram receiver pointed at a
 * second sandbox (api_url), measured the same way (messages the sandbox accepted, VmHWM of
 * its process). Alertmanager runs with its DEFAULT timing (group_wait 30 s, group_interval
 * 5 m, repeat_interval 4 h) and its default Telegram template; alerts carry the labels an
 * operator would give them (alertname = type, severity, and the instrument or gate code),
 * the text goes in the `summary` annotation. Alertmanager stops once ours has drained and
 * at least group_wait + 15 s after the flood (its next notification per group would come
 * only after group_interval, 5 minutes later).
 *
 * Both sides run at the same time (same machine load). Ours is the real service started as
 * `npm start` runs it (its bot on the sandbox), the flood written into its alert outbox;
 * its RSS (VmHWM: the peak) is read from /proc like Alertmanager's.
 *
 * Then, on its own (not sharing the CPU with the comparison above), the baseline for the
 * peak: the same service and flood run the way `npm start` ran before issue 17, the
 * TypeScript source through tsx (`node --import tsx src/main.ts`). Before issue 17 this bench
 * measured a test rig instead (flood writer, sender and harness in one tsx process: 310 MiB
 * in issue 17's figures), not the service; BENCH_FLOOD_BASELINE=0 skips the tsx run.
 *
 *   benchAlertFlood()      → Record<string, unknown> (all figures)
 *   benchAlertFloodRows()  → rows for bench/index.ts
 * Env: BENCH_ALERT_FLOOD_MS (default 60000), BENCH_ALERTS (default 10000), BENCH_FLOOD_BASELINE.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { countAlertsInText } from '../src/alerts/render.js';
import { alertDef, type AlertDraft, type AlertType } from '../src/engine/index.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { freePort } from '../test/support/ports.js';
import type { BenchRow } from './stats.js';

const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const TOKEN = '7000000017:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'; // shaped like a BotFather token: the service validates it
const CHAT = -1001001;
const SELF = fileURLToPath(import.meta.url);
const ROOT = join(import.meta.dirname, '..');

type Row = BenchRow;

// === The flood (same for both sides)

const SYMBOLS = ['MES', 'ES', 'NQ', 'MNQ', 'AAPL', 'MSFT', 'CL', 'GC'];
const KINDS: AlertType[] = ['POSITION_STALLED', 'ORDER_REJECTED', 'INTENT_BLOCKED', 'PACING_VIOLATION', 'STATE_CONFLICT'];

interface FloodItem {
  readonly type: AlertType;
  readonly key: string;
  readonly summary: string;
  readonly extra: Record<string, string>;
}

function floodItem(i: number): FloodItem {
  const sym = SYMBOLS[i % SYMBOLS.length] as string;
  const type = i === 0 ? 'POSITION_STALLED' : (KINDS[i % KINDS.length] as AlertType);
  switch (type) {
    case 'POSITION_STALLED':
      return { type, key: sym, summary: `BUY 1 ${sym}: no broker acknowledgement for 61 s. Not retried; check the broker.`, extra: { instrument: sym } };
    case 'ORDER_REJECTED':
      return { type, key: sym, summary: `SELL 1 ${sym} rejected by broker: insufficient margin. Not retried.`, extra: { instrument: sym } };
    case 'INTENT_BLOCKED': {
      const code = i % 2 ? 'KILL' : 'DAILY_LOSS';
      return { type, key: `${code}/${sym}`, summary: `BUY 1 ${sym} (orb) blocked: ${i % 2 ? 'kill flag active' : 'daily loss cap reached'}`, extra: { code, instrument: sym } };
    }
    case 'PACING_VIOLATION':
      return { type, key: sym, summary: `IBKR error 100: max rate of messages per second exceeded (${sym})`, extra: { instrument: sym } };
    default:
      return { type, key: sym, summary: `Stale market state on ${sym}: entries paused for 5 min`, extra: { instrument: sym } };
  }
}

function toDraft(it: FloodItem, i: number, at: number): AlertDraft {
  return {
    type: it.type,
    at,
    payload: {
      summary: it.summary,
      intentId: `in_${i}`,
      ...(it.type === 'INTENT_BLOCKED' ? { facts: { code: it.extra.code ?? '' } } : { instrumentKey: it.extra.instrument ?? '' }),
    },
  };
}

function toAlertmanager(it: FloodItem, i: number, at: number, perOccurrence: boolean): Record<string, unknown> {
  return {
    labels: { alertname: it.type, severity: alertDef(it.type).severity, ...it.extra, ...(perOccurrence ? { occurrence: String(i) } : {}) },
    annotations: { summary: it.summary, runbook: alertDef(it.type).runbook },
    startsAt: new Date(at).toISOString(),
  };
}

/** Run `step(i0, i1)` every `tickMs` until `total` items were produced over `durationMs`. */
async function paced(total: number, durationMs: number, tickMs: number, step: (from: number, to: number) => Promise<void>): Promise<void> {
  const ticks = Math.max(1, Math.round(durationMs / tickMs));
  const start = Date.now();
  let done = 0;
  for (let k = 1; k <= ticks; k++) {
    const to = Math.round((total * k) / ticks);
    await step(done, to);
    done = to;
    const wait = start + k * tickMs - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

const peakRssOf = (pid: number | 'self', field = 'VmHWM'): number => {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
};

// === Our side: the real service, as `npm start` runs it

/** Node arguments that run the service the way `npm start` did before issue 17: the source through tsx. */
export function tsxStartArgs(): string[] {
  const tsx = pathToFileURL(createRequire(join(ROOT, 'package.json')).resolve('tsx')).href;
  return ['--import', tsx, join(ROOT, 'src', 'main.ts')];
}

/**
 * Start Phoenix exactly as `npm start` does (package.json "start", replayed by
 * test/e2e/service.ts; or with `nodeArgs`, e.g. tsxStartArgs()) in a temp dir, its bot pointed at the sandbox Bot API; then write
 * the flood into its alert outbox from THIS process (the Alert table of its SQLite file, as
 * the engine would: the service's alert sender picks new rows up by rowid, whoever wrote
 * them). Its RSS is read from /proc like Alertmanager's: the whole service (bot, intake,
 * metrics, jobs, alert sender), not a test rig.
 */
export async function runOurs(apiRoot: string, onStart: (t0: number) => void, nodeArgs?: string[]): Promise<Record<string, unknown>> {
  const { npmStartArgs, freePort: port } = await import('../test/e2e/service.js');
  const { SqliteStore } = await import('../src/store/sqlite.store.js');
  const total = Number(process.env.BENCH_ALERTS ?? 10_000);
  const floodMs = Number(process.env.BENCH_ALERT_FLOOD_MS ?? 60_000);
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-alert-bench-'));
  cpSync(join(ROOT, 'config'), join(dir, 'config'), { recursive: true });
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    INTAKE_PORT: String(await port()),
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: apiRoot,
    TELEGRAM_CHAT_ID: String(CHAT),
    TELEGRAM_APPROVERS: '1001',
    LOG_LEVEL: 'warn',
  };
  const child = spawn(process.execPath, nodeArgs ?? npmStartArgs(), { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let store: InstanceType<typeof SqliteStore> | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the service printed no ready banner within 60 s:\n${out}`)), 60_000);
      const onData = (c: Buffer) => {
        out += c.toString();
        if (out.includes('Phoenix is running')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
      child.once('exit', (code) => reject(new Error(`the service exited with ${code}:\n${out}`)));
    });
    const pid = child.pid!;
    store = new SqliteStore(join(dir, 'data', 'phoenix.db'));
    const s = store;
    const rssBeforeFlood = peakRssOf(pid, 'VmRSS');
    const t0 = Date.now();
    onStart(t0);
    await paced(total, floodMs, 100, async (from, to) => {
      const now = Date.now();
      await s.tx(async (tx) => {
        for (let i = from; i < to; i++) tx.alerts.enqueue(toDraft(floodItem(i), i, now));
      });
    });
    const floodEnd = Date.now();
    const deadline = floodEnd + 15 * 60_000;
    let backlog = await s.tx((tx) => tx.alerts.backlog());
    while (backlog > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      backlog = await s.tx((tx) => tx.alerts.backlog());
    }
    const drainedAt = Date.now();
    // alerts the service raised itself meanwhile (a job running late on a busy machine, …): in the chat too, not the flood's
    const own = s.db.prepare(`SELECT type, status FROM "Alert" WHERE coalesce(json_extract(payload, '$.intentId'), '') NOT LIKE 'in\\_%' ESCAPE '\\'`).all() as { type: string; status: string }[];
    return { t0, floodEnd, drainedAt, backlog, peakRss: peakRssOf(pid), rssBeforeFlood, ownAlerts: own.map((a) => a.type), ownSent: own.filter((a) => a.status === 'SENT').length };
  } finally {
    await store?.close();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    rmSync(dir, { recursive: true, force: true });
  }
}

// === Alertmanager side

interface AmRun {
  readonly url: string;
  readonly proc: ChildProcess;
  readonly dir: string;
}

async function startAlertmanager(apiRoot: string): Promise<AmRun> {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-am-'));
  const port = await freePort();
  // Defaults on purpose: no group_wait / group_interval / repeat_interval overrides.
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    [
      'route:',
      '  receiver: telegram',
      "  group_by: ['alertname']",
      'receivers:',
      '  - name: telegram',
      '    telegram_configs:',
      `      - api_url: ${apiRoot}`,
      `        bot_token: '${TOKEN}'`,
      `        chat_id: ${CHAT}`,
      '        send_resolved: false',
      '',
    ].join('\n'),
  );
  const proc = spawn(
    ALERTMANAGER,
    [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`alertmanager exited: ${log}`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) return { url, proc, dir };
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGKILL');
  throw new Error(`alertmanager did not become ready: ${log}`);
}

async function floodAlertmanager(url: string, total: number, floodMs: number, perOccurrence: boolean): Promise<number> {
  const t0 = Date.now();
  await paced(total, floodMs, 100, async (from, to) => {
    const now = Date.now();
    const body = [];
    for (let i = from; i < to; i++) body.push(toAlertmanager(floodItem(i), i, now, perOccurrence));
    const res = await fetch(`${url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`alertmanager refused alerts: ${res.status} ${await res.text()}`);
  });
  return t0;
}

// === Measuring what the chat got

interface ChatFigures {
  messages: number;
  rejected429: number;
  rejected400: number;
  firstCriticalMs: number | null;
  accounted: number;
  overLimit: number;
}

function chatFigures(sandbox: Sandbox, t0: number, count: (text: string) => number, isCritical: (text: string) => boolean): ChatFigures {
  const calls = sandbox.calls.filter((c) => c.method === 'sendMessage');
  const ok = calls.filter((c) => c.ok);
  const texts = sandbox.chat(CHAT).filter((m) => m.from_bot);
  const firstCrit = ok.find((c) => isCritical(String(c.payload.text ?? '')));
  return {
    messages: ok.length,
    rejected429: calls.filter((c) => c.status === 429).length,
    rejected400: calls.filter((c) => c.status === 400).length,
    firstCriticalMs: firstCrit ? firstCrit.at - t0 : null,
    accounted: texts.reduce((n, m) => n + count(m.text), 0),
    overLimit: texts.filter((m) => m.text.length > 4096).length,
  };
}

/** Alertmanager's default Telegram message lists each alert as "Labels: … Annotations: …". */
const countAmAlerts = (text: string): number => (text.match(/^Labels:/gm) ?? []).length;
const amCritical = (text: string): boolean => /severity = CRITICAL/.test(text);

async function measureAlertmanager(perOccurrence: boolean, total: number, floodMs: number, stopWhen: Promise<unknown>): Promise<Record<string, unknown>> {
  const sandbox = await startSandbox({ rateLimits: true });
  const am = await startAlertmanager(sandbox.apiRoot);
  try {
    const t0 = await floodAlertmanager(am.url, total, floodMs, perOccurrence);
    // give it group_wait (30 s default) + 15 s after the flood, and at least as long as ours took
    await Promise.all([stopWhen, new Promise((r) => setTimeout(r, 45_000))]);
    const peakRss = peakRssOf(am.proc.pid ?? 0);
    const f = chatFigures(sandbox, t0, countAmAlerts, amCritical);
    return { ...f, accountedPct: (100 * f.accounted) / total, peakRssMiB: peakRss / 2 ** 20, windowS: (Date.now() - t0) / 1000 };
  } finally {
    // wait for Alertmanager to exit: it keeps writing its data dir for a moment after SIGTERM
    const exited = am.proc.exitCode !== null ? Promise.resolve() : new Promise<void>((r) => am.proc.once('exit', () => r()));
    am.proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    await sandbox.close();
    rmSync(am.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}

export async function benchAlertFlood(): Promise<Record<string, unknown>> {
  const total = Number(process.env.BENCH_ALERTS ?? 10_000);
  const floodMs = Number(process.env.BENCH_ALERT_FLOOD_MS ?? 60_000);
  const sandbox = await startSandbox({ rateLimits: true });
  try {
    let oursT0 = 0;
    let oursDone: Promise<Record<string, unknown>> = Promise.resolve({});
    const started = new Promise<void>((resolve, reject) => {
      oursDone = runOurs(sandbox.apiRoot, (t0) => {
        oursT0 = t0;
        resolve();
      });
      oursDone.catch(reject);
    });
    await started;
    const haveAm = existsSync(ALERTMANAGER);
    const amRuns = haveAm
      ? [measureAlertmanager(false, total, floodMs, oursDone), measureAlertmanager(true, total, floodMs, oursDone)]
      : [];
    const result = await oursDone;
    const all = chatFigures(sandbox, oursT0, countAlertsInText, (t) => t.includes('CRITICAL'));
    const f = { ...all, accounted: all.accounted - Number(result.ownSent ?? 0) };
    const ours = {
      ...f,
      ownAlerts: result.ownAlerts,
      accountedPct: (100 * f.accounted) / total,
      peakRssMiB: Number(result.peakRss) / 2 ** 20,
      rssBeforeFloodMiB: Number(result.rssBeforeFlood) / 2 ** 20,
      allAccountedAfterS: (Number(result.drainedAt) - oursT0) / 1000,
      backlogLeft: result.backlog,
    };
    const [amLabels, amPerOccurrence] = await Promise.all(amRuns);
    const baseline = process.env.BENCH_FLOOD_BASELINE === '0' ? undefined : await floodBaseline();
    return {
      alerts: total,
      floodS: floodMs / 1000,
      chat: `group ${CHAT} (sandbox, Telegram rate limits on)`,
      phoenix: ours,
      ...(baseline ? { phoenixViaTsx: baseline } : {}),
      ...(haveAm
        ? {
            alertmanager: amLabels,
            alertmanagerOnePerOccurrence: amPerOccurrence,
            alertmanagerNote: 'prometheus-alertmanager (Debian) with default group_wait 30 s, group_interval 5 m, repeat_interval 4 h, group_by [alertname], default Telegram template; labels: alertname, severity, instrument/code (second run: + a unique occurrence label)',
          }
        : { alertmanager: `not installed (${ALERTMANAGER}); apt-get install prometheus-alertmanager to compare` }),
    };
  } finally {
    await sandbox.close();
  }
}

/** The same flood into the service run from source through tsx (its own sandbox, nothing else running): the peak's baseline. */
async function floodBaseline(): Promise<Record<string, unknown>> {
  const sandbox = await startSandbox({ rateLimits: true });
  try {
    const r = await runOurs(sandbox.apiRoot, () => {}, tsxStartArgs());
    return { peakRssMiB: Number(r.peakRss) / 2 ** 20, rssBeforeFloodMiB: Number(r.rssBeforeFlood) / 2 ** 20, backlogLeft: r.backlog };
  } finally {
    await sandbox.close();
  }
}

/** The flood as rows for `npm run bench` (bench/index.ts). */
export async function benchAlertFloodRows(): Promise<Row[]> {
  const r = await benchAlertFlood();
  process.stderr.write(`alert flood: ${JSON.stringify(r, null, 1)}\n`);
  const p = r.phoenix as ChatFigures & { accountedPct: number; peakRssMiB: number; allAccountedAfterS: number };
  const am = typeof r.alertmanager === 'object' ? (r.alertmanager as ChatFigures & { accountedPct: number; peakRssMiB: number }) : undefined;
  const tsxRun = r.phoenixViaTsx as { peakRssMiB: number } | undefined;
  const amOcc = typeof r.alertmanagerOnePerOccurrence === 'object' ? (r.alertmanagerOnePerOccurrence as ChatFigures & { accountedPct: number }) : undefined;
  const vs = (v: number | null | undefined, unit: string) => (am ? `Alertmanager: ${v === null || v === undefined ? 'none' : `${Number(v).toFixed(unit === '%' ? 2 : 1)} ${unit}`}` : 'Alertmanager not installed');
  const rows: Row[] = [
    { name: 'alert flood: messages sent (10,000 alerts / 60 s)', value: p.messages, unit: 'msgs', baseline: vs(am?.messages, 'msgs'), target: '≤ 20/min, 0 × 429' },
    { name: 'alert flood: 429s received', value: p.rejected429, unit: '', baseline: vs(am?.rejected429, '') },
    { name: 'alert flood: first CRITICAL message after', value: (p.firstCriticalMs ?? NaN) / 1000, unit: 's', baseline: vs(am?.firstCriticalMs === null || am === undefined ? null : am.firstCriticalMs / 1000, 's'), target: '≤ 1 s' },
    { name: 'alert flood: alerts accounted', value: p.accountedPct, unit: '%', baseline: vs(am?.accountedPct, '%'), target: '100%' },
    { name: 'alert flood: all accounted after', value: p.allAccountedAfterS, unit: 's' },
    {
      name: 'alert flood: peak RSS of the service, npm start (compiled JavaScript; before the flood: see log)',
      value: p.peakRssMiB,
      unit: 'MiB',
      baseline: [tsxRun ? `same service via tsx ${tsxRun.peakRssMiB.toFixed(0)} MiB` : 'tsx run skipped', vs(am?.peakRssMiB, 'MiB')].join('; '),
      ...(tsxRun ? { ratio: p.peakRssMiB / tsxRun.peakRssMiB } : {}),
      target: '≤ 150 MB (143 MiB)',
    },
  ];
  if (amOcc) rows.push({ name: 'alert flood: Alertmanager, one label set per occurrence', value: amOcc.accountedPct, unit: '% accounted', baseline: `${amOcc.messages} msgs, ${amOcc.rejected400} refused (400, e.g. too long)` });
  return rows;
}

if (process.argv[1] === SELF) {
  benchAlertFlood().then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (e: Error) => {
      process.stderr.write(`${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}

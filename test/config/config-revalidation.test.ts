/**
 * Chaos vector "config change revalidation" (SPEC 15; SPEC 2 Configuration, SPEC 4, SPEC 13).
 * A changed config/constitution is re-validated at start-up:
 *   - a broken constitution fails closed (the real `npm start` entry point exits with every
 *     problem listed, before it opens the database or binds a port);
 *   - a changed valid constitution gives another CONFIG digest, recorded in a CONFIG bead at
 *     each start, so the audit shows when the limits changed;
 *   - an intent approved under the old limits is re-checked by the gates at submission under
 *     the new limits (restart on the same database file with a tighter risk cap).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { SimBroker } from '../../src/broker/sim/index.js';
import { ConfigError, loadConfig, type AppConfig } from '../../src/config/load.js';
import { verifyAudit } from '../../src/engine/audit.usecase.js';
import { seededRandom, silentLogger } from '../../src/engine/ports.js';
import { startService, type Service } from '../../src/service.js';
import { expectBeads } from '../support/beads-checked.js';
import { FakeClock, flushMicrotasks } from '../support/fake-clock.js';
import { mainArgs, runToExit } from '../e2e/service.js';
import { approver, CHAT_ID, IN_SESSION } from '../support/harness.js';
import { baseIntent } from '../fuzz/support.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const REPO_CONSTITUTION = parseYaml(readFileSync(join(repoRoot, 'config/constitution.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;

/** The repository's constitution with some limits changed (or broken). */
function constitutionYaml(limits: Record<string, unknown> = {}, extra: Record<string, Record<string, unknown>> = {}): string {
  const doc = structuredClone(REPO_CONSTITUTION);
  doc.limits = { ...doc.limits, ...limits };
  for (const [section, values] of Object.entries(extra)) doc[section] = { ...doc[section], ...values };
  return toYaml(doc);
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'phoenix-cv-config-'));
  mkdirSync(join(dir, 'config'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeConstitution(text: string): void {
  writeFileSync(join(dir, 'config/constitution.yaml'), text);
}

function config(): AppConfig {
  return loadConfig({ DATABASE_URL: `file:${join(dir, 'data/phoenix.db')}`, CONSTITUTION_PATH: 'config/constitution.yaml', SIM_PROFILE: 'INSTANT' }, dir);
}

function configProblems(env: Record<string, string> = {}): string[] {
  try {
    loadConfig({ DATABASE_URL: `file:${join(dir, 'data/phoenix.db')}`, CONSTITUTION_PATH: 'config/constitution.yaml', ...env }, dir);
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  return [];
}

/** Run the real entry point (what `npm start` runs) in `dir`; resolves with its exit code and output. */
const runMain = (env: Record<string, string>) => runToExit('main', mainArgs(), dir, env);

describe('CV config change revalidation', () => {
  it('CV config change revalidation: a broken constitution fails closed at start-up — every problem listed, exit 2, no database, no port', async () => {
    // several problems at once: all of them are reported, each with its path
    writeConstitution(constitutionYaml({ maxRiskPerTradeUsd: -5, minDvs: 1.5, maxLeverage: 3 }, { approval: { tokenTtlSec: 900 }, session: { open: '9:30' } }));
    const problems = configProblems();
    const joined = problems.join('\n');
    expect(problems.length).toBeGreaterThanOrEqual(5);
    // each names the setting and its line, the value given, and the fix in plain words
    expect(joined).toMatch(/constitution limits\.maxRiskPerTradeUsd \(config\/constitution\.yaml line \d+\): must be a positive amount in dollars, got -5 → set a value like 15/);
    expect(joined).toMatch(/constitution limits\.minDvs \(config\/constitution\.yaml line \d+\): must be a score from 0 to 1, got 1\.5 → set a value like 0\.8/);
    expect(joined).toMatch(/constitution limits\.maxLeverage \(config\/constitution\.yaml line \d+\): unknown key → remove it or correct its spelling; the keys here are dailyLossCapUsd, /);
    expect(joined).toMatch(/approval\.tokenTtlSec \(config\/constitution\.yaml line \d+\): must be a whole number of seconds from 1 to 300 \(approval tokens live at most 5 minutes\), got 900 → set 300 or less/);
    expect(joined).toMatch(/session\.open \(config\/constitution\.yaml line \d+\): must be a time HH:MM on the 24-hour clock, got "9:30" → write it as "09:30"/);
    // environment problems are listed in the same message as the constitution's
    expect(configProblems({ TRADING_MODE: 'yolo' }).join('\n')).toMatch(/TRADING_MODE: must be observe, paper or live[\s\S]*maxRiskPerTradeUsd|maxRiskPerTradeUsd[\s\S]*TRADING_MODE/);
    // not YAML at all
    writeConstitution('limits: [unclosed\n  maxRiskPerTradeUsd: 15');
    expect(configProblems().join('\n')).toMatch(/^config\/constitution\.yaml line 1, column 10: not valid YAML: /m);
    // a missing file
    rmSync(join(dir, 'config/constitution.yaml'));
    expect(configProblems().join('\n')).toMatch(/does not exist/);

    // the real entry point: exits 2 with the list, before touching the database or the port
    writeConstitution(constitutionYaml({ maxRiskPerTradeUsd: 0 }, { approval: { tokenTtlSec: 900 } }));
    const run = await runMain({ CONSTITUTION_PATH: 'config/constitution.yaml', INTAKE_PORT: '1', DATABASE_URL: 'file:./data/phoenix.db' });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/Phoenix will not start: 2 configuration problems/);
    expect(run.stderr).toMatch(/limits\.maxRiskPerTradeUsd \(config\/constitution\.yaml line \d+\): must be a positive amount in dollars, got 0 → set a value like 15/);
    expect(run.stderr).toMatch(/approval\.tokenTtlSec \(config\/constitution\.yaml line \d+\): .*, got 900 → set 300 or less/);
    expect(run.stdout).not.toMatch(/Phoenix is running/);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  }, 40_000);

  describe('restarts on one database file', () => {
    const clock = new FakeClock(IN_SESSION);
    let service: Service | null = null;
    let seed = 100;
    afterEach(async () => {
      await service?.stop();
      service = null;
    });

    async function boot(cfg: AppConfig): Promise<{ service: Service; sim: SimBroker }> {
      const sim = new SimBroker({ clock, random: seededRandom(++seed), profile: 'INSTANT', prices: { MES: 6010.25 } });
      const s = await startService({ config: cfg, clock, random: seededRandom(++seed), logger: silentLogger, broker: sim, chatId: CHAT_ID, telegramLabel: 'none', intakePort: 0, sweepEveryMs: 0 });
      service = s;
      await settle(s);
      return { service: s, sim };
    }
    async function settle(s: Service): Promise<void> {
      for (let i = 0; i < 3; i++) {
        await flushMicrotasks();
        await s.app.engine.pendingEvents();
      }
    }
    async function configBeads(s: Service): Promise<Record<string, unknown>[]> {
      const page = await s.app.store.tx((tx) => tx.beads.page(0, 10_000));
      return expectBeads(page, 'CONFIG').map((b) => JSON.parse(b.payload) as Record<string, unknown>);
    }
    async function beadsOf(s: Service, intentId: string, type: string): Promise<Record<string, unknown>[]> {
      return expectBeads(await s.app.store.tx((tx) => tx.beads.listByIntent(intentId)), type).map((b) => JSON.parse(b.payload) as Record<string, unknown>);
    }

    it('CV config change revalidation: a changed constitution gives a different CONFIG digest, and each start records its own CONFIG bead', async () => {
      writeConstitution(constitutionYaml({ maxRiskPerTradeUsd: 50 }));
      const generous = config();
      writeConstitution(constitutionYaml({ maxRiskPerTradeUsd: 15 }));
      const tight = config();
      writeConstitution(constitutionYaml({ maxRiskPerTradeUsd: 15 }));
      expect(config().digest).toBe(tight.digest); // same content → same digest (stable)
      expect(generous.digest).toMatch(/^[0-9a-f]{64}$/);
      expect(generous.digest).not.toBe(tight.digest);

      const first = await boot(generous);
      await first.service.stop();
      service = null;
      const second = await boot(tight);
      const beads = await configBeads(second.service);
      expect(beads.map((b) => b.digest)).toEqual([generous.digest, tight.digest]);
      expect(beads.every((b) => b.mode === 'paper' && b.broker === 'sim' && b.constitution === 'default')).toBe(true);
      expect((await verifyAudit(second.service.app.store)).ok).toBe(true);
    });

    it('CV config change revalidation: approved under a $50 risk cap while the broker is down, restarted with a $15 cap → the submission re-check denies RISK_PER_TRADE, token REJECTED, nothing sent', async () => {
      writeConstitution(constitutionYaml({ maxRiskPerTradeUsd: 50 }));
      const generous = config();
      const first = await boot(generous);
      // (6010.25 − 6005) × 1 × 5 = $26.25: inside the old cap, over the new one
      const res = await fetch(`${first.service.intake.url}/v1/intents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...baseIntent('FUT', 'cv-config-1', clock.now()), stopLoss: 6005 }) });
      expect(res.status).toBe(202);
      const { intentId, state, denials } = (await res.json()) as { intentId: string; state: string; denials: unknown[] };
      expect(state).toBe('PROPOSED');
      expect(denials).toEqual([]);
      const card = await first.service.app.store.tx((tx) => tx.cards.bySubject(intentId, 'TRADE'));
      expect(card).not.toBeNull();
      first.sim.faults.disconnect();
      await settle(first.service);
      const d = await first.service.app.engine.decide(card!.id, 'APPROVE', approver);
      expect(d.kind).toBe('approved');
      if (d.kind !== 'approved') return;
      expect(d.submit.kind).toBe('waiting');
      const approvalGate = (await beadsOf(first.service, intentId, 'GATE')).find((g) => g.stage === 'APPROVAL');
      expect(approvalGate?.denials).toEqual([]);
      await first.service.stop();
      service = null;

      await clock.advance(60_000); // a minute later (the token is still valid)
      writeConstitution(constitutionYaml({ maxRiskPerTradeUsd: 15 }));
      const tight = config();
      const second = await boot(tight);
      // the broker drops and comes back: the waiting submission is retried under the NEW limits
      second.sim.faults.disconnect();
      await settle(second.service);
      second.sim.faults.reconnect();
      await settle(second.service);
      await second.service.app.engine.retryWaiting(); // what the jobs do; a no-op if the reconnect already did it
      await settle(second.service);

      const intent = await second.service.app.store.tx((tx) => tx.intents.get(intentId));
      expect(intent?.state).toBe('CANCELLED');
      expect(intent?.stateReason).toMatch(/RISK_PER_TRADE|risk \$26\.25 > cap \$15\.00/);
      const submitGates = (await beadsOf(second.service, intentId, 'GATE')).filter((g) => g.stage === 'SUBMIT');
      expect(submitGates.length).toBeGreaterThanOrEqual(1);
      expect(submitGates.at(-1)!.denials).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'RISK_PER_TRADE', message: 'risk $26.25 > cap $15.00' })]));
      const tokens = (await beadsOf(second.service, intentId, 'T2_TOKEN')).map((t) => [t.event, t.reason ?? null]);
      expect(tokens).toEqual([
        ['ISSUED', null],
        ['REJECTED', 'gate re-check failed: RISK_PER_TRADE'],
      ]);
      expect((await beadsOf(second.service, intentId, 'POSITION')).map((p) => `${String(p.from)}>${String(p.to)}`)).toEqual(['PROPOSED>APPROVED', 'APPROVED>CANCELLED']);
      // nothing reached either broker, and the audit shows both configurations
      expect((await second.sim.findByOrderRef(intentId)).orders).toEqual([]);
      await first.sim.connect(); // the old session's broker: nothing there either
      expect((await first.sim.findByOrderRef(intentId)).orders).toEqual([]);
      await first.sim.disconnect();
      expect(await second.service.app.store.tx((tx) => tx.orders.listByIntent(intentId))).toEqual([]);
      expect((await configBeads(second.service)).map((b) => b.digest)).toEqual([generous.digest, tight.digest]);
      expect((await verifyAudit(second.service.app.store)).ok).toBe(true);
    });
  });
});

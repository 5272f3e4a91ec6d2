/**
 * Crash drill (issue 9): Phoenix as a real child process against the in-process TWS test
 * server, SIGKILLed at seeded moments (mid-submission, intake, idle, start-up, after the
 * sweeps) and restarted on the same database; invariants checked after every kill and
 * every start. See test/drill/drill.ts.
 *
 *   npx tsx scripts/crash-drill.ts --kills 50 --seed 1 [--weights intake=50,idle=50] [--keep] [--quiet]
 *
 * Exit code 0: no violation; 1: at least one violation; 2: bad arguments.
 */
import { formatReport, KILL_KINDS, runDrill, type KillKind } from '../test/drill/drill.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const kills = Number(arg('kills') ?? 50);
const seed = Number(arg('seed') ?? 1);
if (!Number.isInteger(kills) || kills < 1 || !Number.isInteger(seed)) {
  process.stderr.write('usage: npx tsx scripts/crash-drill.ts --kills N (≥ 1) --seed S [--keep] [--quiet]\n');
  process.exit(2);
}
const quiet = process.argv.includes('--quiet');
// --weights mid-submission=50,intake=20,idle=20,startup=10,linger=0 (default: see test/drill/drill.ts)
const weights: Partial<Record<KillKind, number>> = {};
for (const part of (arg('weights') ?? '').split(',').filter(Boolean)) {
  const [k, v] = part.split('=');
  if (!k || !KILL_KINDS.includes(k as KillKind) || !Number.isFinite(Number(v))) {
    process.stderr.write(`--weights: unknown kind or weight in "${part}" (kinds: ${KILL_KINDS.join(', ')})\n`);
    process.exit(2);
  }
  weights[k as KillKind] = Number(v);
}

const report = await runDrill({
  kills,
  seed,
  keepDir: process.argv.includes('--keep'),
  weights,
  log: quiet ? undefined : (line) => process.stdout.write(`${line}\n`),
});
process.stdout.write(`\n${formatReport(report)}\n`);
process.exit(report.violations.length ? 1 : 0);

/**
 * Failover drill (issue 18): two Phoenix processes on one PostgreSQL database against the TWS
 * test server; the leader is SIGKILLed (or frozen with SIGSTOP) at seeded moments and the
 * follower must take over. See test/drill/failover.ts.
 *
 *   npx tsx scripts/failover-drill.ts --kills 20 --seed 1 [--keep] [--quiet]
 *
 * Needs Debian's postgresql package (the drill starts its own server). Exit code 0: no
 * violation; 1: at least one violation; 2: bad arguments.
 */
import { formatFailoverReport, runFailoverDrill } from '../test/drill/failover.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const kills = Number(arg('kills') ?? 20);
const seed = Number(arg('seed') ?? 1);
if (!Number.isInteger(kills) || kills < 1 || !Number.isInteger(seed)) {
  process.stderr.write('usage: npx tsx scripts/failover-drill.ts --kills N (≥ 1) --seed S [--keep] [--quiet]\n');
  process.exit(2);
}
const quiet = process.argv.includes('--quiet');
const report = await runFailoverDrill({ kills, seed, keepDir: process.argv.includes('--keep'), log: quiet ? undefined : (line) => process.stdout.write(`${line}\n`) });
process.stdout.write(`\n${formatFailoverReport(report)}\n`);
process.exit(report.violations.length ? 1 : 0);
